"""The seven services: registry, incidents, mediation, donations, awards, feed, identity. Each imports only ``shared``."""
