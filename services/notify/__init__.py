"""The notify service: who must act, told once, by their channels (issue 17, docs/services/notify.md)."""
