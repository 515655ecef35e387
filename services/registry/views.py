"""How registry records are shown: the national ID is decrypted only for the roles that may see it; a team shows
its active members and its compliance, derived from them (never stored, so it cannot go stale)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.registry.domain import ActiveMember, ComplianceIssue, compliance_issues, place, sees_national_id
from services.registry.repository import national_id_context
from shared.actor import Principal
from shared.crypto import PersonalDataProtector

_HIDDEN = {"national_id_cipher", "national_id_index", "created_at"}


def plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in _HIDDEN}


def resident(row: Mapping[str, Any], actor: Principal, pii: PersonalDataProtector) -> dict[str, Any]:
    body = plain(row)
    body["has_national_id"] = row["national_id_cipher"] is not None
    if sees_national_id(actor) and row["national_id_cipher"] is not None:
        body["national_id"] = pii.decrypt(bytes(row["national_id_cipher"]), national_id_context(row["resident_id"]))
    return body


def compliance_details(kind: str, members: list[Mapping[str, Any]]) -> list[ComplianceIssue]:
    return compliance_issues(kind, [ActiveMember(m["resident_id"], m["role"], m["sex"]) for m in members])


def compliance(kind: str, members: list[Mapping[str, Any]]) -> list[str]:
    """The issues' English sentences, as the team events carry them."""
    return [i.message for i in compliance_details(kind, members)]


def team(row: Mapping[str, Any], members: list[Mapping[str, Any]]) -> dict[str, Any]:
    issues = compliance_details(row["kind"], members)
    body = plain(row)
    body.update(compliant=not issues, compliance=[i.as_json() for i in issues],
                compliance_issues=[i.message for i in issues],
                members=[{k: v for k, v in m.items() if k != "left_on"} for m in members])
    return body


def placed(row: Mapping[str, Any], precision: str) -> dict[str, Any]:
    """A facility or boarding house with its ``place`` at the viewer's precision (never the raw coordinates)."""
    body = {k: v for k, v in plain(row).items() if k not in ("latitude", "longitude")}
    body["place"] = place(row, precision)
    return body


def area_feature(row: Mapping[str, Any]) -> dict[str, Any]:
    """A group's area as a GeoJSON Feature (RFC 7946) with properties ``group_id``, ``name`` (no Feature ``id``:
    every id of this API is named for what it is)."""
    return {"type": "Feature", "geometry": row["geometry"],
            "bbox": [row["min_lon"], row["min_lat"], row["max_lon"], row["max_lat"]],
            "properties": {"group_id": row["group_id"], "name": row["name"], "ward_id": row["ward_id"],
                           "updated_at": row["updated_at"]}}
