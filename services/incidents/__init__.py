"""The incidents service. See docs/services/incidents.md."""
