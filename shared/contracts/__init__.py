"""Integration-event contracts, one module per publishing service.

Every module defines only Pydantic event models (``shared.events.Event`` subclasses); ``make schemas``
writes their JSON Schemas to ``shared/contracts/schemas/`` and the catalogue to ``docs/events.md``.
"""
