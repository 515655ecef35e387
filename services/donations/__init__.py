"""The donations service. See docs/services/donations.md."""
