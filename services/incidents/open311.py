"""Open311 GeoReport v2 (issue 17), pure: the services offered, how an incident reads as a service request, how a
POSTed request becomes a report, and Open311's errors. The routes are in ``api_open311.py``; what maps to what is in
docs/services/incidents.md ("Open311").

What the public may see of a request is what the public read routes show of a report (``/v1/public/nearby``, the
public feed): its id, category, residential group, state and outcome, and when it was received. Never the
description, the point (the public's precision is the group: ``geo.Precision.GROUP``), the address as typed, the
evidence, who works on it or who reported it. Crime tips never appear, not even as a count.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.incidents import geo
from services.incidents.domain import OPEN_STATES
from shared.clock import in_ward_time
from shared.errors import InvalidInput, ProblemError

#: The services (request types) Open311 offers: every category but ``drugs``. A drug report names people, is a
#: denunciation by nature, and a public request list showing "drugs, group X, received 21:04" helps find who made
#: it; it goes through the anonymous tip routes. ``(service_name, description, group, keywords)``.
SERVICES: dict[str, tuple[str, str, str, list[str]]] = {
    "theft": ("Trộm cắp tài sản (theft)", "A theft or a theft attempt: a bicycle, a motorbike, a shop.",
              "security", ["theft", "trộm cắp"]),
    "fraud": ("Lừa đảo (fraud)", "A scam or fraud attempt: calls, messages, door-to-door.", "security",
              ["fraud", "lừa đảo"]),
    "fire": ("Cháy nổ, nguy cơ cháy (fire hazard)", "A fire hazard: blocked escape ways, unsafe wiring, gas.",
             "safety", ["fire", "cháy nổ"]),
    "dispute": ("Tranh chấp, mâu thuẫn (dispute)", "A dispute between neighbours; may go to the group's mediation "
                "team.", "neighbourhood", ["dispute", "tranh chấp", "hòa giải"]),
    "public_order": ("Trật tự công cộng (public order)", "Noise, brawls, blocked lanes, broken street lights.",
                     "neighbourhood", ["public order", "trật tự", "noise"]),
    "other": ("Khác (other)", "Anything else the ward should know.", "neighbourhood", ["other", "khác"]),
}
CATEGORIES = list(SERVICES)

#: The attribute of every service's definition naming the residential group (the ward's unit of place): required,
#: since a report belongs to a group (its ward is the group's). ``address_id`` may carry the same id.
GROUP_ATTRIBUTE = "group_id"
STATUS_NOTES = {
    "solved": "resolved", "unfounded": "resolved: unfounded", "transferred": "resolved: transferred to another "
    "authority", "referred_to_mediation": "referred to the group's mediation team", "mediated": "settled by "
    "mediation", "merged": "a duplicate, merged into another request",
}
AGENCY = "Công an phường và Ủy ban nhân dân phường (ward police and people's committee)"
MAX_IDS = 50
#: When what this endpoint offers last changed (discovery's ``changeset``).
CHANGESET = "2026-12-03T00:00:00+07:00"


class Open311Error(Exception):
    """An error answered as Open311's array ``[{code, description}]`` with ``status`` as the HTTP status."""

    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.headers = status, description, headers or {}

    @classmethod
    def from_problem(cls, exc: ProblemError) -> Open311Error:
        # Open311 answers a request it cannot take with 400 (the platform's 422 "invalid input" / "rule violated").
        status = 400 if exc.status == 422 else exc.status
        return cls(status, exc.detail, dict(exc.headers))

    def body(self) -> list[dict[str, Any]]:
        return [{"code": self.status, "description": self.description}]


def services_list() -> list[dict[str, Any]]:
    return [{"service_code": code, "service_name": name, "description": description, "metadata": True,
             "type": "realtime", "keywords": ",".join(keywords), "group": group}
            for code, (name, description, group, keywords) in SERVICES.items()]


def definition(code: str, groups: list[dict[str, Any]]) -> dict[str, Any]:
    if code not in SERVICES:
        raise Open311Error(404, f"service_code {code!r} not found")
    return {"service_code": code, "attributes": [{
        "variable": True, "code": GROUP_ATTRIBUTE, "datatype": "singlevaluelist", "required": True,
        "datatype_description": "The residential group (tổ dân phố) where it happened: its id",
        "order": 1, "description": "Tổ dân phố (residential group)",
        "values": [{"key": g["group_id"], "name": g["name"]} for g in groups],
    }]}


def _w3c(value: datetime | None) -> str | None:
    return None if value is None else in_ward_time(value).isoformat(timespec="seconds")


def status(row: dict[str, Any]) -> str:
    return "open" if row["state"] in OPEN_STATES else "closed"


def request_view(row: dict[str, Any]) -> dict[str, Any]:
    """A report as a GeoReport v2 service request, as the public may see it."""
    name = SERVICES[row["category"]][0]
    note = "merged" if row.get("merged_into") else row.get("outcome")
    lat, lon = geo.coordinates(None, None, geo.Precision.GROUP)  # the public's precision: the group, no point
    return {
        "service_request_id": row["incident_id"], "status": status(row),
        "status_notes": STATUS_NOTES.get(note) if note else None,
        "service_name": name, "service_code": row["category"],
        "description": None,  # the public read routes never show a report's description
        "agency_responsible": AGENCY, "service_notice": None,
        "requested_datetime": _w3c(row["received_at"]),
        "updated_datetime": _w3c(row.get("updated_at") or row["received_at"]),
        "expected_datetime": None,
        "address": row.get("group_name"), "address_id": row["group_id"], "zipcode": None,
        "lat": lat, "long": lon, "media_url": None,
    }


# -- the query of GET requests ---------------------------------------------------------------------------------------
def parse_datetime(value: str | None, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a W3C datetime, e.g. 2026-12-01T00:00:00+07:00") from exc
    if parsed.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone, e.g. 2026-12-01T00:00:00+07:00")
    return parsed


def parse_ids(value: str | None) -> list[str] | None:
    if value is None or value == "":
        return None
    ids = [v.strip() for v in value.split(",") if v.strip()]
    if not ids or len(ids) > MAX_IDS or any(len(i) > 64 for i in ids):
        raise Open311Error(400, f"service_request_id takes 1 to {MAX_IDS} ids separated by commas")
    return ids


def parse_status(value: str | None) -> bool | None:
    """None for both, True for closed, False for open."""
    if value is None or value == "":
        return None
    if value not in ("open", "closed"):
        raise Open311Error(400, "status is open or closed")
    return value == "closed"


def parse_service_code(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in SERVICES:
        raise Open311Error(404, f"service_code {value!r} not found")
    return value


# -- POST requests ---------------------------------------------------------------------------------------------------
#: Arguments of a GeoReport v2 POST that identify the person or their device: accepted (clients send them), never
#: stored, logged or passed on. Why: nothing over this route proves who sends it, so a name or number given here
#: could be anyone's, and a report kept under a stranger's name would make the police read them as its reporter.
IDENTIFYING = ("email", "first_name", "last_name", "phone", "device_id", "account_id")


def report_fields(form: dict[str, str]) -> dict[str, Any]:
    """The facts of a ReportIncident from a GeoReport v2 POST's arguments (the command validates them); raises
    Open311Error for what Open311 itself requires."""
    code = form.get("service_code") or ""
    if not code:
        raise Open311Error(400, "service_code is required")
    if code not in SERVICES:
        raise Open311Error(404, f"service_code {code!r} not found")
    group_id = form.get(f"attribute[{GROUP_ATTRIBUTE}]") or form.get("address_id") or ""
    if not group_id:
        raise Open311Error(400, f"attribute[{GROUP_ATTRIBUTE}] (or address_id) is required: the residential "
                                "group, as GET services/{service_code} lists them")
    place: dict[str, Any] = {"group_id": group_id}
    if form.get("address_string"):
        place["address"] = form["address_string"]
    lat, lon = form.get("lat") or None, form.get("long") or None
    if (lat is None) != (lon is None):
        raise Open311Error(400, "give both lat and long, or neither")
    if lat is not None and lon is not None:
        try:
            place["latitude"], place["longitude"] = float(lat), float(lon)
        except ValueError as exc:
            raise Open311Error(400, "lat and long are decimal degrees (WGS84)") from exc
    description = form.get("description") or ""
    if len(description.strip()) < 5:
        raise Open311Error(400, "description is required (at least 5 characters): what happened")
    return {"category": code, "is_crime_tip": False, "place": place, "description": description}


def notice(form: dict[str, str]) -> str:
    """The ``service_notice`` of a filed request: what became of what was sent."""
    parts = ["Received. Its status is public at GET requests/{id}. Keep follow_up_code and secret (shown only "
             "now) to add evidence or follow it privately at POST /v1/follow-up."]
    if any(form.get(k) for k in IDENTIFYING):
        parts.append("Your contact details were not kept: this route cannot verify them. To report under your "
                     "name, sign in to the ward's console.")
    if form.get("media_url"):
        parts.append("media_url was not fetched or kept: add a photo with the follow-up code.")
    return " ".join(parts)


def invalid(exc: InvalidInput) -> Open311Error:
    return Open311Error(400, exc.detail)
