"""The notify service's use cases.

Event handlers keep the projections (people from identity; tips, groups, teams and their leaders, residences and
boarding houses from the other services) and, for a fact someone must act on, work out who from those projections
alone, and tell each of them once: one ``notifications`` row per (person, fact) whatever the redeliveries (its id is
derived from the two, and the table's unique key refuses a second), with ``deliveries`` planned by the person's
preferences and verified contacts, released when services/notify/timing.py says (quiet hours, digest).

Commands are the person's own: contact points (sealed; a 6-digit code proves each), preferences per kind, marking
notifications read. No SQL, no HTTP here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.notify import commands as cmds
from services.notify import domain, timing
from services.notify.domain import Message
from shared.actor import Principal
from shared.contracts import awards, donations, identity, incidents, mediation, registry
from shared.errors import NotFound, RuleViolation
from shared.idempotency import Sealer

Uow = Any
_NS = uuid.UUID("6f0c1f0e-7a53-4c1e-9a43-0d5e1b0b17a1")


@dataclass(frozen=True, kw_only=True)
class NotifyConfig:
    """What the handlers need of the settings: links, the ward's time zone, how far ahead to warn, the sealer (no
    default: contacts are sealed under the service's key, bootstrap.contact_sealer, or a test's, never a fallback)."""

    sealer: Sealer
    console_url: str = "http://127.0.0.1:8008"
    timezone: str = "Asia/Ho_Chi_Minh"
    tip_warn_days: int = 3
    residence_warn_days: int = 7
    now: Any = None  # a clock for tests: () -> datetime

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def clock(self) -> datetime:
        return self.now() if self.now is not None else datetime.now(UTC)


def config(uow: Uow) -> NotifyConfig:
    return uow.config


def notification_id(person_id: str, fact_key: str) -> str:
    return str(uuid.uuid5(_NS, f"{len(person_id)}:{person_id}|{fact_key}"))


async def tell(uow: Uow, ward_id: str, person_ids: Iterable[str], message: Message) -> list[str]:
    """Tell each person once of the fact (a person already told, or whose account is disabled, is skipped); plan
    the deliveries by their preferences and verified contacts. The ids of the notifications made now."""
    cfg = config(uow)
    now = cfg.clock()
    made = []
    for person_id in sorted(set(person_ids)):
        person = await uow.people.get(person_id)
        if person is not None and person["disabled"]:
            continue
        nid = notification_id(person_id, message.fact_key)
        added = await uow.notifications.add({
            "notification_id": nid, "person_id": person_id, "ward_id": ward_id, "kind": message.kind,
            "fact_key": message.fact_key, "urgent": message.urgent, "title": message.title, "body": message.body,
            "link": domain.link(cfg.console_url, message.path), "created_at": now})
        if not added:
            continue
        made.append(nid)
        preference = (await uow.preferences.of(person_id)).get(message.kind)
        channels, digest = domain.channels_for(message.kind, preference, await uow.contacts.verified(person_id))
        not_before = timing.release_at(now, urgent=message.urgent, digest=digest, tz=cfg.tz)
        for channel in channels:
            await uow.deliveries.add({"delivery_id": str(uuid.uuid5(uuid.UUID(nid), channel)),
                                      "notification_id": nid, "channel": channel, "not_before": not_before,
                                      "digest": digest, "updated_at": now})
    return made


def _ids(people: Iterable[dict[str, Any]]) -> list[str]:
    return [p["person_id"] for p in people]


async def _police(uow: Uow, ward_id: str) -> list[str]:
    return _ids(await uow.people.with_role(ward_id, "police"))


async def _officer_or_police(uow: Uow, ward_id: str, officer_ref: str | None) -> list[str]:
    """The officer on the case; nobody assigned yet: every police officer of the ward."""
    return [officer_ref] if officer_ref else await _police(uow, ward_id)


async def _group_name(uow: Uow, ward_id: str, group_id: str | None) -> str:
    return domain.group_label(await uow.projections.groups(ward_id), group_id)


# -- projections ----------------------------------------------------------------------------------------------
async def on_account_changed(event: identity.AccountChanged, uow: Uow) -> None:
    await uow.people.put({"person_id": event.account_id, "ward_id": event.ward_id, "roles": list(event.roles),
                          "resident_id": event.resident_id, "team_ids": list(event.team_ids),
                          "disabled": event.disabled, "updated_at": event.occurred_at})


async def on_group_created(event: registry.GroupCreated, uow: Uow) -> None:
    await uow.projections.put_group(event.group_id, event.ward_id, event.name)


async def on_team_formed(event: registry.TeamFormed, uow: Uow) -> None:
    await uow.projections.put_team(event.team_id, event.ward_id, event.group_id, event.kind)


async def on_member(event: registry.TeamMemberJoined | registry.TeamMemberRoleChanged, uow: Uow) -> None:
    await uow.projections.put_team(event.team_id, event.ward_id, event.group_id, event.kind)
    await uow.projections.put_member(event.team_id, event.resident_id, event.role)


async def on_member_left(event: registry.TeamMemberLeft, uow: Uow) -> None:
    await uow.projections.put_member(event.team_id, event.resident_id, None)


async def on_incident_reported(event: incidents.IncidentReported, uow: Uow) -> None:
    await uow.projections.put_tip(event.incident_id, event.ward_id, event.group_id, category=event.category,
                                  is_crime_tip=event.is_crime_tip)


async def on_incident_triaged(event: incidents.IncidentTriaged, uow: Uow) -> None:
    await uow.projections.put_tip(event.incident_id, event.ward_id, event.group_id, category=event.category,
                                  is_crime_tip=event.is_crime_tip, deadline_on=event.deadline_on)


async def on_incident_assigned(event: incidents.IncidentAssigned, uow: Uow) -> None:
    await uow.projections.put_tip(event.incident_id, event.ward_id, event.group_id, officer_ref=event.officer_ref,
                                  team_id=event.team_id)
    tip = await uow.projections.tip(event.incident_id)
    group = await _group_name(uow, event.ward_id, event.group_id)
    if event.officer_ref:
        await tell(uow, event.ward_id, [event.officer_ref],
                   domain.tip_assigned(event.incident_id, tip["category"], group, event.officer_ref))
    elif event.team_id:
        leaders = _ids(await uow.people.leaders_of(event.team_id))
        await tell(uow, event.ward_id, leaders,
                   domain.tip_assigned(event.incident_id, tip["category"], group, event.team_id))


async def on_deadline_extended(event: incidents.IncidentDeadlineExtended, uow: Uow) -> None:
    await uow.projections.put_tip(event.incident_id, event.ward_id, event.group_id, deadline_on=event.deadline_on,
                                  is_crime_tip=True)


async def on_incident_overdue(event: incidents.IncidentOverdue, uow: Uow) -> None:
    await uow.projections.put_tip(event.incident_id, event.ward_id, event.group_id, category=event.category,
                                  is_crime_tip=True, deadline_on=event.deadline_on)
    tip = await uow.projections.tip(event.incident_id)
    await tell(uow, event.ward_id, await _officer_or_police(uow, event.ward_id, tip["officer_ref"]),
               domain.tip_overdue(event.incident_id, event.deadline_on,
                                  await _group_name(uow, event.ward_id, event.group_id)))


async def on_incident_done(event: incidents.IncidentResolved | incidents.IncidentClosed, uow: Uow) -> None:
    await uow.projections.put_tip(event.incident_id, event.ward_id, event.group_id, closed=True)


async def on_incident_reopened(event: incidents.IncidentReopened, uow: Uow) -> None:
    await uow.projections.put_tip(event.incident_id, event.ward_id, event.group_id, closed=False)


async def on_tip_answered(event: Any, uow: Uow) -> None:
    """TipAnswered {incident_id, ward_id, group_id, message_id, officer_ref}: the officer who asked reads it."""
    tip = await uow.projections.tip(event.incident_id)
    officer = event.officer_ref or (tip or {}).get("officer_ref")
    await tell(uow, event.ward_id, await _officer_or_police(uow, event.ward_id, officer),
               domain.tip_answered(event.incident_id, event.message_id))


async def on_case_opened(event: mediation.CaseOpened, uow: Uow) -> None:
    """A new case has no mediator: the leader of its mediation team (of its group's, if none named) assigns one;
    no team known, the ward's officials."""
    teams = [event.team_id] if event.team_id else await uow.projections.teams_of(event.group_id, "mediation")
    leaders = [p for team_id in teams for p in _ids(await uow.people.leaders_of(team_id))]
    if not leaders:
        leaders = _ids(await uow.people.with_role(event.ward_id, "ward_official"))
    await tell(uow, event.ward_id, leaders,
               domain.case_waiting(event.case_id, event.kind, await _group_name(uow, event.ward_id, event.group_id)))


async def on_residence(event: registry.TemporaryResidenceRegistered | registry.TemporaryResidenceRenewed,
                       uow: Uow) -> None:
    await uow.projections.put_residence(event.declaration_id, event.ward_id, event.resident_id, event.group_id,
                                        event.valid_until)


async def on_residence_ended(event: registry.TemporaryResidenceEnded, uow: Uow) -> None:
    await uow.projections.put_residence(event.declaration_id, event.ward_id, event.resident_id, event.group_id,
                                        None, ended=True)


async def on_residence_expired(event: registry.TemporaryResidenceExpired, uow: Uow) -> None:
    """The resident is told to register again; the ward's police and the group's leaders, to check whether they
    still stay."""
    await uow.projections.put_residence(event.declaration_id, event.ward_id, event.resident_id, event.group_id,
                                        None, ended=True)
    own = _ids(await uow.people.residents([event.resident_id]))
    await tell(uow, event.ward_id, own,
               domain.residence_expired(event.declaration_id, event.expired_on, own=True, group=""))
    group = await _group_name(uow, event.ward_id, event.group_id)
    checkers = await _police(uow, event.ward_id) + _ids(await uow.people.group_leaders(event.group_id))
    await tell(uow, event.ward_id, [p for p in checkers if p not in own],
               domain.residence_expired(event.declaration_id, event.expired_on, own=False, group=group))


async def on_boarding_house(event: registry.BoardingHouseRegistered, uow: Uow) -> None:
    await uow.projections.put_boarding_house(event.boarding_house_id, event.ward_id, event.group_id,
                                             event.landlord_resident_id)


async def on_stay_notified(event: registry.StayNotified, uow: Uow) -> None:
    """A late stay notice: the ward's police and the group's leaders review it (the lodger is never named)."""
    if not event.late:
        return
    await tell(uow, event.ward_id,
               await _police(uow, event.ward_id) + _ids(await uow.people.group_leaders(event.group_id)),
               domain.stay_late(event.notice_id, await _group_name(uow, event.ward_id, event.group_id)))


async def on_pledge_overdue(event: donations.PledgeInstalmentOverdue, uow: Uow) -> None:
    """The leader of the mobilisation team that took the pledge follows it up; none, the ward's officials."""
    people = _ids(await uow.people.leaders_of(event.team_id)) if event.team_id else []
    if not people:
        people = _ids(await uow.people.with_role(event.ward_id, "ward_official"))
    await tell(uow, event.ward_id, people,
               domain.pledge_overdue(event.pledge_id, event.instalment_number, event.due_on, event.campaign_id))


async def on_expense_proposed(event: donations.ExpenseProposed, uow: Uow) -> None:
    """Every other official of the ward may give the second approval (never its proposer)."""
    officials = [p for p in _ids(await uow.people.with_role(event.ward_id, "ward_official")) if p != event.proposed_by]
    await tell(uow, event.ward_id, officials,
               domain.expense_second_approval(event.expense_id, event.campaign_id, event.amount_vnd))


async def _decided(event: awards.NominationApproved | awards.NominationRejected, uow: Uow, approved: bool) -> None:
    """The nominee: a resident's account, or a team's leaders. A reporter is reached only through their follow-up
    (the incidents service), never here."""
    if event.recipient_kind == "individual":
        people = _ids(await uow.people.residents([event.recipient_ref]))
    elif event.recipient_kind == "collective":
        people = _ids(await uow.people.leaders_of(event.recipient_ref))
    else:
        return
    await tell(uow, event.ward_id, people, domain.award_decided(event.nomination_id, approved))


async def on_nomination_approved(event: awards.NominationApproved, uow: Uow) -> None:
    await _decided(event, uow, True)


async def on_nomination_rejected(event: awards.NominationRejected, uow: Uow) -> None:
    await _decided(event, uow, False)


# -- the scheduled job --------------------------------------------------------------------------------------------
async def scan(uow: Uow) -> dict[str, int]:
    """Crime tips whose deadline is near (the officer, or the ward's police) and temporary residences about to
    expire (the resident), from the projected dates: each told once (the fact key holds the date)."""
    cfg = config(uow)
    today: date = cfg.clock().astimezone(cfg.tz).date()
    told = {"tip.deadline_near": 0, "residence.expiring": 0}
    for tip in await uow.projections.tips_due_by(today + timedelta(days=cfg.tip_warn_days)):
        if tip["deadline_on"] < today:
            continue  # past: IncidentOverdue says so
        group = await _group_name(uow, tip["ward_id"], tip["group_id"])
        told["tip.deadline_near"] += len(await tell(
            uow, tip["ward_id"], await _officer_or_police(uow, tip["ward_id"], tip["officer_ref"]),
            domain.tip_deadline_near(tip["incident_id"], tip["deadline_on"], group)))
    for residence in await uow.projections.residences_until(today + timedelta(days=cfg.residence_warn_days)):
        if residence["valid_until"] < today:
            continue
        people = _ids(await uow.people.residents([residence["resident_id"]]))
        told["residence.expiring"] += len(await tell(
            uow, residence["ward_id"], people,
            domain.residence_expiring(residence["declaration_id"], residence["valid_until"])))
    return told


async def handle_scan(cmd: cmds.Scan, uow: Uow, actor: Principal) -> dict[str, int]:  # noqa: ARG001 - the system's
    return await scan(uow)


# -- the person's own commands --------------------------------------------------------------------------------
def contact_view(row: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    address = sealer.decrypt(bytes(row["address_sealed"]), domain.contact_context(row["person_id"], row["channel"]))
    return {"channel": row["channel"], "address_hint": domain.address_hint(row["channel"], address),
            "verified": row["verified_at"] is not None}


async def handle_put_contact(cmd: cmds.PutContact, uow: Uow, actor: Principal) -> dict[str, Any]:
    """Store the address sealed, unverified, and a new code. The result carries the code and the address for the
    adapter to send (services/notify/api.py); the HTTP answer never shows them."""
    channel = domain.check_channel(cmd.channel)
    address = domain.normalise_address(channel, cmd.address)
    cfg = config(uow)
    person = actor.subject
    await uow.contacts.put(person, channel, cfg.sealer.encrypt(address, domain.contact_context(person, channel)))
    code = domain.new_code()
    await uow.contacts.put_code(person, channel, domain.code_digest(person, channel, code),
                                cfg.clock() + timedelta(seconds=domain.CODE_LIFE_S))
    uow.audit("contact", f"{person}/{channel}", ward_id=actor.ward_id, details={"channel": channel})
    return {"channel": channel, "address": address, "code": code,
            "address_hint": domain.address_hint(channel, address), "verified": False}


async def handle_verify_contact(cmd: cmds.VerifyContact, uow: Uow, actor: Principal) -> dict[str, Any]:
    channel = domain.check_channel(cmd.channel)
    person = actor.subject
    contact = await uow.contacts.get(person, channel)
    if contact is None:
        raise NotFound("no such contact point")
    cfg = config(uow)
    pending = await uow.contacts.code(person, channel)
    if pending is None or pending["expires_at"] <= cfg.clock() or pending["attempts"] >= domain.MAX_CODE_ATTEMPTS:
        raise RuleViolation("no valid code for this contact point: ask for a new one")
    if not domain.code_matches(pending["code_hash"], person, channel, cmd.code):
        # Not an error raised here: the failed attempt must be committed (5 and the code is void); the HTTP
        # adapter answers 422 for it.
        await uow.contacts.count_attempt(person, channel)
        uow.audit("contact", f"{person}/{channel}", ward_id=actor.ward_id, details={"verified": False})
        return {**contact_view(contact, cfg.sealer), "wrong_code": True,
                "attempts_left": domain.MAX_CODE_ATTEMPTS - pending["attempts"] - 1}
    await uow.contacts.verify(person, channel, cfg.clock())
    await uow.contacts.drop_code(person, channel)
    uow.audit("contact", f"{person}/{channel}", ward_id=actor.ward_id, details={"verified": True})
    return contact_view(await uow.contacts.get(person, channel), cfg.sealer)


async def handle_delete_contact(cmd: cmds.DeleteContact, uow: Uow, actor: Principal) -> dict[str, Any]:
    channel = domain.check_channel(cmd.channel)
    if not await uow.contacts.delete(actor.subject, channel):
        raise NotFound("no such contact point")
    uow.audit("contact", f"{actor.subject}/{channel}", ward_id=actor.ward_id, details={"deleted": True})
    return {"channel": channel, "deleted": True}


async def handle_set_preference(cmd: cmds.SetPreference, uow: Uow, actor: Principal) -> dict[str, Any]:
    kind = domain.check_kind(cmd.kind)
    wanted = {domain.check_channel(c) for c in cmd.channels}
    channels = [c for c in domain.CHANNELS if c in wanted]
    await uow.preferences.put(actor.subject, kind, channels, cmd.digest)
    uow.audit("preference", f"{actor.subject}/{kind}", ward_id=actor.ward_id,
              details={"channels": channels, "digest": cmd.digest})
    return {"kind": kind, "channels": channels, "digest": cmd.digest}


async def handle_mark_read(cmd: cmds.MarkRead, uow: Uow, actor: Principal) -> dict[str, Any]:
    row = await uow.notifications.get(actor.subject, cmd.notification_id)
    if row is None:
        raise NotFound("no such notification")
    await uow.notifications.mark_read(actor.subject, cmd.notification_id, config(uow).clock())
    uow.audit("notification", cmd.notification_id, ward_id=row["ward_id"])
    return notification_view(await uow.notifications.get(actor.subject, cmd.notification_id))


async def handle_read_all(cmd: cmds.ReadAll, uow: Uow, actor: Principal) -> dict[str, Any]:  # noqa: ARG001
    marked = await uow.notifications.read_all(actor.subject, config(uow).clock())
    uow.audit("notification", "*", ward_id=actor.ward_id, details={"marked": marked})
    return {"marked": marked}


def notification_view(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("notification_id", "kind", "urgent", "title", "body", "link", "created_at",
                                "read_at")}


def delivery_view(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("delivery_id", "notification_id", "channel", "status", "not_before", "digest",
                                    "attempts", "sent_at", "updated_at")}


HANDLERS = {
    cmds.PutContact: handle_put_contact,
    cmds.VerifyContact: handle_verify_contact,
    cmds.DeleteContact: handle_delete_contact,
    cmds.SetPreference: handle_set_preference,
    cmds.MarkRead: handle_mark_read,
    cmds.ReadAll: handle_read_all,
    cmds.Scan: handle_scan,
}
