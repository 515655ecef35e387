"""Handlers of the places' commands (issue 18): "me too" on a report, signed in or anonymous, and an official's
merge of a duplicate into another report. The reads by place (map, lists, nearby duplicates) are in
``api_places.py``; the rules of points and distances in ``geo.py``.

Reporter protection holds here as at intake: a supporter is run (and audited) as ``handlers.reporter_actor`` (a
pseudonym, or "anonymous"), counted by that pseudonym, and no event names or places anyone finer than the group."""

from __future__ import annotations

import uuid
from typing import Any

from services.incidents import views
from services.incidents.commands import MergeIncidents, SupportIncident, SupportIncidentAnonymously
from services.incidents.domain import State, hash_secret, is_open, new_follow_up_code, new_secret
from services.incidents.geo import sees_crime_tips
from services.incidents.handlers import _REPORTER, ANONYMOUS, Row, _facts
from shared import clock
from shared.actor import Principal, Role
from shared.application import Created
from shared.contracts.incidents import IncidentsMerged, IncidentSupported
from shared.errors import InvalidInput, NotFound, RuleViolation

#: Who merges duplicate reports.
MERGERS: tuple[Role, ...] = (Role.WARD_OFFICIAL, Role.POLICE)
MERGED = "merged"


async def _supportable(uow: Any, actor: Principal, incident_id: str) -> Row:
    """The incident a supporter adds themselves to (locked): of their ward, and a crime tip only for those who
    may know tips exist (to anyone else one answers as one that does not exist); still open."""
    inc = await uow.incidents.get(incident_id, for_update=True)
    actor.ensure_reaches(inc["ward_id"] if inc else None, "no such incident")
    assert inc is not None
    if inc["is_crime_tip"] and not sees_crime_tips(actor):
        raise NotFound("no such incident")
    if not is_open(inc["state"]):
        raise RuleViolation("only an open report can be supported")
    return inc


async def _counted(uow: Any, inc: Row) -> int:
    supporters = await uow.places.recount(inc["incident_id"])
    uow.emit(IncidentSupported(**_facts(inc), supporters=supporters))
    return supporters


async def handle_support(cmd: SupportIncident, uow: Any, actor: Principal) -> dict[str, Any]:
    """A signed-in person's "me too": once per person (their reporter pseudonym); a reporter's own report already
    counts them."""
    if not actor.subject.startswith(_REPORTER):
        raise RuntimeError("a supporter runs as reporter_actor(...): the audit trail must not name them")
    inc = await _supportable(uow, actor, cmd.incident_id)
    key = actor.subject.removeprefix(_REPORTER)
    own = not inc["anonymous"] and inc["reporter_ref"] == key
    added = not own and await uow.places.add_supporter(inc["incident_id"], key, anonymous=False)
    supporters = await _counted(uow, inc) if added else inc["supporters"]
    uow.audit("incident", inc["incident_id"], ward_id=inc["ward_id"],
              details={"supporters": supporters, "counted": added})
    return {"incident_id": inc["incident_id"], "supporters": supporters, "counted": added}


async def handle_support_anonymously(cmd: SupportIncidentAnonymously, uow: Any, actor: Principal) -> Created:
    """Someone without a token says "me too": counted, with nothing of them kept (a random key), and a follow-up
    code and secret (its hash stored) to follow the report with."""
    if actor.subject != ANONYMOUS:
        raise RuntimeError("an anonymous supporter runs as the anonymous reporter")
    inc = await _supportable(uow, actor, cmd.incident_id)
    code, secret = new_follow_up_code(), new_secret()
    await uow.places.add_supporter(inc["incident_id"], f"anonymous:{uuid.uuid4()}", anonymous=True,
                                   follow_up_code=code, secret_hash=hash_secret(secret))
    supporters = await _counted(uow, inc)
    uow.audit("incident", inc["incident_id"], ward_id=inc["ward_id"], details={"supporters": supporters})
    return Created({"incident_id": inc["incident_id"], "supporters": supporters, "follow_up_code": code,
                    "secret": secret,
                    "notice": "Keep the code and the secret: they are shown only now and cannot be recovered."})


async def handle_merge(cmd: MergeIncidents, uow: Any, actor: Principal) -> dict[str, Any]:
    """Merge a duplicate (``incident_id``) into another open report of the same ward (``into``): the duplicate is
    closed with outcome ``merged``; its reporter and supporters count on the survivor (each person once, its own
    reporter never); both trails record it, the audit trail too; IncidentsMerged (and the survivor's new count)."""
    actor.require(*MERGERS)
    if cmd.incident_id == cmd.into:
        raise InvalidInput("a report cannot be merged into itself")
    locked: dict[str, Row] = {}
    for incident_id in sorted((cmd.incident_id, cmd.into)):  # one lock order: two merges cannot deadlock
        inc = await uow.incidents.get(incident_id, for_update=True)
        actor.ensure_reaches(inc["ward_id"] if inc else None, "no such incident")
        locked[incident_id] = inc
    dup, into = locked[cmd.incident_id], locked[cmd.into]
    if dup["ward_id"] != into["ward_id"]:  # a city official reaches both wards; a merge stays in one
        raise RuleViolation("reports of different wards cannot be merged")
    if not (is_open(dup["state"]) and is_open(into["state"])):
        raise RuleViolation("only two open reports can be merged")
    now = clock.now()
    await uow.incidents.update(dup["incident_id"], state=State.CLOSED.value, outcome=MERGED, closed_at=now,
                               resolution_note=cmd.reason)
    await uow.places.mark_merged(dup["incident_id"], into["incident_id"])
    await uow.incidents.add_transition(dup["incident_id"], "merge", dup["state"], State.CLOSED.value, actor.subject,
                                       f"merged into {into['incident_id']}: {cmd.reason}")
    await uow.incidents.add_transition(into["incident_id"], "absorb", into["state"], into["state"], actor.subject,
                                       f"{dup['incident_id']} merged into it: {cmd.reason}")
    if dup["reporter_ref"] != into["reporter_ref"]:
        await uow.places.add_supporter(into["incident_id"], dup["reporter_ref"], anonymous=dup["anonymous"])
    await uow.places.carry_supporters(dup["incident_id"], into["incident_id"], into["reporter_ref"])
    uow.emit(IncidentsMerged(**_facts(dup), into=into["incident_id"]))
    supporters = await _counted(uow, into)
    uow.audit("incident", dup["incident_id"], ward_id=dup["ward_id"],
              details={"from": dup["state"], "to": State.CLOSED.value, "merged_into": into["incident_id"],
                       "supporters": supporters})
    after = await uow.incidents.get(dup["incident_id"])
    return views.summary(after) | {"merged_into": into["incident_id"], "into_supporters": supporters}


HANDLERS = {
    SupportIncident: handle_support,
    SupportIncidentAnonymously: handle_support_anonymously,
    MergeIncidents: handle_merge,
}
