"""The awards service. See docs/services/awards.md."""
