"""Handlers of evidence files (issue 18): who may add a file to an incident, who may see one, and the chain of
custody every upload, list view and download leaves (``evidence_custody``, and an audit row in the keyed chain).

Readers are the police and the ward's officials of the incident's ward (not city officials, admins, teams or
residents: a file may show a face, a house, a tipster's vantage point). Uploaders are those, the identified
reporter of the incident, and an anonymous tipster holding the follow-up code and secret. Nothing identifying an
uploader who is not staff is kept: the custody log and the file's row say "reporter" or "anonymous" (the audit
trail keeps, as for the report itself, the reporter's pseudonym or "anonymous")."""

from __future__ import annotations

from typing import Any

from services.incidents.commands import AddEvidence, DownloadEvidence, ListEvidence
from services.incidents.domain import (
    check_camera,
    check_not_future,
    ensure_footage_may_be_cited,
    secret_matches,
)
from services.incidents.handlers import _REPORTER, ANONYMOUS
from shared import clock
from shared.actor import Principal, Role
from shared.application import Created
from shared.errors import Forbidden, NotFound
from shared.paging import PageRequest

#: Who sees and downloads evidence, and adds it as staff.
EVIDENCE_STAFF: tuple[Role, ...] = (Role.POLICE, Role.WARD_OFFICIAL)

Row = dict[str, Any]


def evidence_view(row: Row, *, with_uploader: bool = False) -> dict[str, Any]:
    view = {k: row[k] for k in ("evidence_id", "incident_id", "media_type", "size", "sha256", "uploaded_at",
                                "camera_id", "campaign_id", "footage_from", "footage_to")}
    view["metadata_removed"] = list(row["metadata_removed"])
    if with_uploader:
        view["uploaded_by"] = row["uploaded_by"]
    return view


def custody_actor(actor: Principal) -> str:
    """How the custody log names whoever acted: staff by their subject, a reporter or a tipster by role only."""
    if actor.subject == ANONYMOUS:
        return "anonymous"
    if actor.subject.startswith(_REPORTER):
        return "reporter"
    return actor.subject


async def _readable_incident(uow: Any, actor: Principal, incident_id: str) -> Row:
    """An incident whose evidence the caller may see: police and officials of its ward; another ward's answers as
    one that does not exist, a role that may not see evidence is refused."""
    inc = await uow.incidents.get(incident_id)
    actor.ensure_reaches(inc["ward_id"] if inc else None, "no such incident")
    actor.require(*EVIDENCE_STAFF)
    return inc


def ensure_may_add(actor: Principal, inc: Row | None) -> Row:
    """An incident the caller may add a file to (signed in): the police and officials of its ward, or its identified
    reporter (``actor`` is then ``handlers.reporter_actor``'s pseudonymous principal)."""
    actor.ensure_reaches(inc["ward_id"] if inc else None, "no such incident")
    assert inc is not None
    own = not inc["anonymous"] and actor.subject == _REPORTER + inc["reporter_ref"]
    if not (own or actor.has(*EVIDENCE_STAFF)):
        if actor.has(Role.CITY_OFFICIAL, Role.ADMIN, Role.TEAM_LEADER, Role.TEAM_MEMBER):
            raise Forbidden("evidence is added by the police, the ward's officials and the incident's reporter")
        raise NotFound("no such incident")
    return inc


async def handle_add_evidence(cmd: AddEvidence, uow: Any, actor: Principal) -> Created:
    if cmd.follow_up_code is not None:
        inc = await uow.incidents.by_follow_up_code(cmd.follow_up_code.strip().upper())
        if inc is None or actor.subject != ANONYMOUS or not secret_matches(cmd.secret or "", inc["secret_hash"]):
            raise NotFound("no tip with this code and secret")  # one answer: no oracle for valid codes
    else:
        inc = ensure_may_add(actor, await uow.incidents.get(cmd.incident_id))
    now = clock.now()
    campaign_id = None
    if cmd.camera_id is not None:
        check_camera(await uow.projections.camera(cmd.camera_id), inc["ward_id"], cmd.camera_id)
        check_not_future(cmd.footage_to or cmd.footage_from, now)
        campaign_id = (await uow.projections.camera(cmd.camera_id)).get("funded_by_campaign_id")
        cited = {r["camera_id"] for r in await uow.incidents.footage(inc["incident_id"])}
        if cmd.camera_id not in cited:  # the file is footage of this camera: the incident cites it
            ensure_footage_may_be_cited(inc["state"], cited, cmd.camera_id)
            await uow.incidents.add_footage(inc["incident_id"], cmd.camera_id, cmd.footage_from, cmd.footage_to)
    row = {
        "evidence_id": cmd.evidence_id, "incident_id": inc["incident_id"], "ward_id": inc["ward_id"],
        "media_type": cmd.media_type, "kind": cmd.kind, "size": cmd.size, "sha256": cmd.sha256,
        "storage_key": cmd.storage_key, "metadata_removed": list(cmd.metadata_removed),
        "uploaded_by": custody_actor(actor), "uploaded_at": now, "camera_id": cmd.camera_id,
        "campaign_id": campaign_id, "footage_from": cmd.footage_from, "footage_to": cmd.footage_to,
    }
    await uow.evidence.add(row)
    await uow.evidence.record_custody([row], "uploaded", row["uploaded_by"], [str(r) for r in actor.roles])
    uow.audit("evidence", cmd.evidence_id, ward_id=inc["ward_id"],
              details={"incident_id": inc["incident_id"], "sha256": cmd.sha256, "size": cmd.size,
                       "media_type": cmd.media_type, "camera_id": cmd.camera_id})
    return Created(evidence_view(row))


async def handle_list_evidence(cmd: ListEvidence, uow: Any, actor: Principal) -> dict[str, Any]:
    inc = await _readable_incident(uow, actor, cmd.incident_id)
    found = await uow.evidence.list(inc["incident_id"], PageRequest(cmd.limit, cmd.cursor))
    if found["items"]:
        await uow.evidence.record_custody(found["items"], "listed", custody_actor(actor),
                                          [str(r) for r in actor.roles])
    uow.audit("incident", inc["incident_id"], ward_id=inc["ward_id"],
              details={"evidence_listed": [r["evidence_id"] for r in found["items"]]})
    return {**found, "items": [evidence_view(r, with_uploader=True) for r in found["items"]]}


async def handle_download_evidence(cmd: DownloadEvidence, uow: Any, actor: Principal) -> dict[str, Any]:
    inc = await _readable_incident(uow, actor, cmd.incident_id)
    row = await uow.evidence.get(inc["incident_id"], cmd.evidence_id)
    if row is None:
        raise NotFound("no such evidence file")
    await uow.evidence.record_custody([row], "downloaded", custody_actor(actor), [str(r) for r in actor.roles])
    uow.audit("evidence", row["evidence_id"], ward_id=inc["ward_id"],
              details={"incident_id": inc["incident_id"], "sha256": row["sha256"], "downloaded": True})
    return {**evidence_view(row), "storage_key": row["storage_key"]}


async def custody_log(uow: Any, actor: Principal, incident_id: str, evidence_id: str, page: PageRequest) -> Row:
    """The chain of custody of one file (a read: reading the log is not itself an act on the file)."""
    inc = await _readable_incident(uow, actor, incident_id)
    row = await uow.evidence.get(inc["incident_id"], evidence_id)
    if row is None:
        raise NotFound("no such evidence file")
    found = await uow.evidence.custody(evidence_id, page)
    return {"evidence_id": evidence_id, "sha256": row["sha256"], **found}


HANDLERS = {
    AddEvidence: handle_add_evidence,
    ListEvidence: handle_list_evidence,
    DownloadEvidence: handle_download_evidence,
}
