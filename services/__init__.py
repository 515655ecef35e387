"""The five services: registry, incidents, mediation, donations, awards. Each imports only ``shared``."""
