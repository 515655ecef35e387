"""How registry records are shown over HTTP. The national ID is decrypted only for the roles that may see it."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.registry import access, repository
from services.registry.domain import team_compliance
from services.registry.repository import national_id_context
from shared.auth import Principal
from shared.crypto import PersonalDataProtector

_HIDDEN = {"national_id_cipher", "national_id_index", "created_at"}


def plain(row: asyncpg.Record) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items() if k not in _HIDDEN}


def resident(row: asyncpg.Record, principal: Principal, pii: PersonalDataProtector) -> dict[str, Any]:
    body = plain(row)
    body["has_national_id"] = row["national_id_cipher"] is not None
    if access.sees_national_id(principal) and row["national_id_cipher"] is not None:
        body["national_id"] = pii.decrypt(bytes(row["national_id_cipher"]), national_id_context(row["id"]))
    return body


async def team(conn: asyncpg.Connection, row: asyncpg.Record) -> dict[str, Any]:
    members = await repository.active_members(conn, row["id"])
    issues = team_compliance(row["kind"], repository.as_active(members))
    body = plain(row)
    body.update(
        compliant=not issues,
        compliance_issues=issues,
        members=[dict(m) for m in members],
    )
    return body
