"""The registry service. See docs/services/registry.md."""
