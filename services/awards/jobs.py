"""Scheduled work of the awards service (``Application.job``: ``work(uow)`` as the system actor)."""

from __future__ import annotations

from typing import Any

from services.awards.handlers import propose_by_criteria
from shared.clock import ward_today


async def evaluate_criteria(uow: Any) -> int:
    """Daily: apply this year's criteria of every ward, so new achievements are proposed without waiting for an
    official to ask (officials can still run it at once: ``POST /v1/wards/{w}/nominations/evaluate``)."""
    year = ward_today().year
    proposed = 0
    for ward_id in await uow.criteria.wards_of_year(year):
        proposed += len(await propose_by_criteria(uow, ward_id, year))
    return proposed
