"""The six services: registry, incidents, mediation, donations, awards, feed. Each imports only ``shared``."""
