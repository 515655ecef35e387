"""Handlers of other services' events, each ``(event, uow)`` in a unit of work joining the inbox transaction
(``Application.on_events``); raising rejects the event (retried, then dead-lettered)."""

from __future__ import annotations

import uuid
from typing import Any

from services.registry.handlers_places import save_facility
from shared.contracts.donations import ExpenseRecorded

# Facility ids derived from (expense, camera position): a redelivered or republished expense maps to the same
# ids, so the cameras are registered once even if the inbox were bypassed.
_FACILITY_NS = uuid.UUID("6f1c7a52-3d0e-4b8e-9a51-0c7f2f4b9d11")


def camera_facility_id(expense_id: str, position: int) -> str:
    return str(uuid.uuid5(_FACILITY_NS, f"donations-expense:{expense_id}:camera:{position}"))


async def on_expense_recorded(event: ExpenseRecorded, uow: Any) -> None:
    """Donations bought cameras with a campaign's money: each becomes a security-camera facility."""
    for position, camera in enumerate(event.cameras):
        group = await uow.groups.get(camera.group_id)
        # Untrusted input: the camera's group must be a group of the ward the event speaks for.
        if group is None or group["ward_id"] != event.ward_id:
            raise ValueError(f"camera {position} of expense {event.expense_id}: unknown group in ward {event.ward_id}")
        await save_facility(uow, {
            "facility_id": camera_facility_id(event.expense_id, position), "ward_id": event.ward_id,
            "group_id": group["group_id"], "kind": "security_camera", "name": camera.name,
            "location": camera.location, "installed_on": camera.installed_on,
            "funded_by_campaign_id": event.campaign_id, "funded_by_expense_id": event.expense_id,
        })


#: The events this service consumes (bootstrap registers them; deploy/render.py derives the Kafka ACLs from them).
HANDLERS = {ExpenseRecorded: on_expense_recorded}
