"""Handlers for the residential groups' areas (issue 18): a ward official draws a group's area on the ward's map."""

from __future__ import annotations

from typing import Any

from services.registry import domain, views
from services.registry.commands import SetGroupArea
from services.registry.handlers_common import load
from shared.actor import Principal
from shared.contracts.registry import GroupAreaSet


async def handle_set_group_area(cmd: SetGroupArea, uow: Any, actor: Principal) -> dict[str, Any]:
    """Set (or replace) a group's area; answers it as a GeoJSON Feature. The event carries the geometry: an area
    is no one's personal data, and its bounded size always fits a message."""
    group = await load(uow.groups, cmd.group_id, actor, "group", lock=True)
    actor.require(*domain.AREA_EDITORS)
    gid = group["group_id"]
    area = domain.area_row(cmd.geometry.type, cmd.geometry.coordinates)
    await uow.group_areas.put({"group_id": gid, "ward_id": group["ward_id"], **area})
    uow.emit(GroupAreaSet(
        ward_id=group["ward_id"], subject=gid, group_id=gid, geometry=area["geometry"],
        bbox=[area["min_lon"], area["min_lat"], area["max_lon"], area["max_lat"]]))
    uow.audit("group", gid, ward_id=group["ward_id"], details={"area_vertices": area["vertex_count"]})
    return views.area_feature(await uow.group_areas.of_group(gid))


HANDLERS = {
    SetGroupArea: handle_set_group_area,
}
