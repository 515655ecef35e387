"""Loading the records a command names, under the registry's rule that another ward's records answer exactly as
unknown ones (so that ids cannot be probed across wards)."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from shared.actor import Principal, Role
from shared.errors import InvalidInput


class _Rows(Protocol):
    async def get(self, id_: str, *, lock: bool = False) -> dict[str, Any] | None: ...


def new_id() -> str:
    return str(uuid.uuid4())


async def load(rows: _Rows, id_: Any, actor: Principal, what: str, *, lock: bool = False) -> dict[str, Any]:
    """A record named in the path: 404 when unknown or of another ward (the same answer)."""
    row = await rows.get(str(id_), lock=lock)
    actor.ensure_reaches(None if row is None else row["ward_id"], f"unknown {what} {id_}")
    assert row is not None
    return row


async def reference(rows: _Rows, id_: Any, ward_id: str, field: str, what: str) -> dict[str, Any]:
    """A record named in a request body: it must exist and belong to ``ward_id`` (422 otherwise)."""
    row = await rows.get(str(id_))
    if row is None or row["ward_id"] != ward_id:
        raise InvalidInput(f"{field}: unknown {what} {id_}")  # another ward's: the same answer
    return row


async def anchor(rows: _Rows, id_: Any, actor: Principal, field: str, what: str) -> dict[str, Any]:
    """The record a new one hangs from (a household's group): it must exist in a ward the caller may act for
    (422 otherwise, the same answer for an unknown one and another ward's)."""
    row = await rows.get(str(id_))
    if row is None or not actor.can_access_ward(row["ward_id"]):
        raise InvalidInput(f"{field}: unknown {what} {id_}")
    return row


#: At most this many of a token's teams are looked up for the groups their leader works in.
MAX_LED_TEAMS = 20


async def led_groups(uow: Any, actor: Principal) -> frozenset[str]:
    """The residential groups a team leader works in: the groups of the teams their token names (``team_ids``),
    of a ward they act for. Empty for anyone else."""
    if not actor.has(Role.TEAM_LEADER):
        return frozenset()
    groups = set()
    for team_id in sorted(actor.team_ids)[:MAX_LED_TEAMS]:
        team = await uow.teams.get(team_id)
        if team is not None and actor.can_access_ward(team["ward_id"]):
            groups.add(team["group_id"])
    return frozenset(groups)
