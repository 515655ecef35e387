"""The feed service: this platform's public events for other wards (pull, stream and webhooks)."""
