"""The mediation service. See docs/services/mediation.md."""
