"""Use cases of campaigns and the ledger: each loads, applies the domain rule, saves and enqueues its events on
the caller's connection, inside the one transaction ``shared.commands.execute`` opened."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import asyncpg

from services.donations import domain
from services.donations import repository as repo
from services.donations.models import MakePledge, OpenCampaign, RecordContribution, ReverseContribution
from shared import outbox
from shared.auth import Principal
from shared.clock import ward_today
from shared.commands import Outcome
from shared.contracts.donations import (
    CampaignClosed,
    CampaignOpened,
    CampaignTargetReached,
    ContributionRecorded,
    ContributionReversed,
    Instalment,
    PledgeMade,
)
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation


def new_id() -> str:
    return str(uuid4())


async def load_campaign(conn: asyncpg.Connection, campaign_id: str, principal: Principal, *,
                        lock: bool, not_found: str = "no such campaign") -> asyncpg.Record:
    """The campaign (of a record looked up by id): of another ward, it answers as the record not existing."""
    row = await repo.get_campaign(conn, campaign_id, lock=lock)
    principal.ensure_reaches(row["ward_id"] if row else None, not_found)
    return row


def _state(row: asyncpg.Record) -> domain.CampaignState:
    return domain.CampaignState(row["campaign_id"], row["starts_on"], row["ends_on"], row["closed_on"] is not None)


async def open_campaign(conn: asyncpg.Connection, body: OpenCampaign, principal: Principal) -> Outcome:
    domain.check_target(body.target_vnd)
    domain.check_campaign_period(body.starts_on, body.ends_on)
    v = body.vote
    domain.check_vote(domain.VoteRecord(v.households_total, v.in_favour, v.against, v.abstained))
    if v.held_on > body.starts_on:
        raise RuleViolation("the households must vote before the campaign starts")
    team_ids = sorted(set(body.team_ids))
    teams = await repo.teams_by_id(conn, team_ids)
    for team_id in team_ids:
        team = teams.get(team_id)
        if team is None or team["ward_id"] != body.ward_id:
            raise InvalidInput(f"team {team_id} is not a known team of this ward")
        if team["kind"] != "mobilisation":
            raise RuleViolation(f"team {team_id} is not a mobilisation team (tổ vận động)")
    campaign_id = new_id()
    await repo.insert_campaign(conn, {
        "campaign_id": campaign_id, "ward_id": body.ward_id, "group_id": body.group_id, "name": body.name,
        "purpose": body.purpose, "target_vnd": body.target_vnd, "starts_on": body.starts_on,
        "ends_on": body.ends_on, "organiser": body.organiser, "vote_record_ref": v.record_ref,
        "vote_held_on": v.held_on, "households_total": v.households_total, "households_in_favour": v.in_favour,
        "households_against": v.against, "households_abstained": v.abstained, "opened_by": principal.subject,
    }, team_ids)
    await outbox.enqueue(conn, CampaignOpened(
        ward_id=body.ward_id, subject=campaign_id, campaign_id=campaign_id, group_id=body.group_id, name=body.name,
        purpose=body.purpose, target_vnd=body.target_vnd, starts_on=body.starts_on, ends_on=body.ends_on,
        team_ids=team_ids, organiser=body.organiser, decision_ref=v.record_ref))
    return Outcome(body={"campaign_id": campaign_id, "team_ids": team_ids}, target_type="campaign",
                   target_id=campaign_id, ward_id=body.ward_id, status=201)


async def _check_collector(conn: asyncpg.Connection, campaign_id: str, team_id: str, principal: Principal) -> str:
    """The caller collects for ``team_id``: a current member of a team that collects for this campaign."""
    if principal.resident_id is None:
        raise Forbidden("only a team member identified as a resident may record what they collected")
    if team_id not in await repo.campaign_team_ids(conn, campaign_id):
        raise RuleViolation(f"team {team_id} does not collect for this campaign")
    if not await repo.is_active_member(conn, team_id, principal.resident_id):
        raise Forbidden("you are not a current member of this team")
    return principal.resident_id


async def _after_ledger_change(conn: asyncpg.Connection, campaign: asyncpg.Record) -> int:
    """Announce the target the first time the net total reaches it (the caller holds the campaign's lock)."""
    raised = await repo.raised_vnd(conn, campaign["campaign_id"])
    if domain.target_newly_reached(campaign["target_vnd"], raised, campaign["target_reached_on"] is not None):
        today = ward_today()
        if await repo.mark_target_reached(conn, campaign["campaign_id"], today):
            await outbox.enqueue(conn, CampaignTargetReached(
                ward_id=campaign["ward_id"], subject=campaign["campaign_id"], campaign_id=campaign["campaign_id"],
                group_id=campaign["group_id"], target_vnd=campaign["target_vnd"], raised_vnd=raised,
                team_totals=await repo.team_totals(conn, campaign["campaign_id"]), reached_on=today))
    return raised


async def record_contribution(conn: asyncpg.Connection, campaign_id: str, body: RecordContribution,
                              principal: Principal) -> Outcome:
    campaign = await load_campaign(conn, campaign_id, principal, lock=True)
    collector = await _check_collector(conn, campaign_id, body.team_id, principal)
    received_on = body.received_on or ward_today()
    domain.check_accepts_entries(_state(campaign), received_on, ward_today())
    amount = domain.check_contribution(
        channel=body.channel, amount_vnd=body.amount_vnd, in_kind_description=body.in_kind_description,
        donor_kind=body.donor_kind, donor_ref=body.donor_ref, public_name=body.public_name)
    if await repo.receipt_used(conn, campaign_id, body.receipt_number):
        raise Conflict(f"receipt number {body.receipt_number} is already used in this campaign")
    await _check_instalment(conn, campaign_id, body, amount)
    contribution_id = new_id()
    try:
        await repo.insert_entry(conn, {
            "entry_id": contribution_id, "campaign_id": campaign_id, "entry_kind": "contribution",
            "amount_vnd": amount, "channel": body.channel, "team_id": body.team_id,
            "collected_by_resident_id": collector, "donor_kind": body.donor_kind, "donor_ref": body.donor_ref,
            "public_name": body.public_name, "receipt_number": body.receipt_number,
            "in_kind_description": body.in_kind_description, "received_on": received_on,
            "pledge_id": body.pledge_id, "instalment_number": body.instalment_number,
            "recorded_by": principal.subject,
        })
    except asyncpg.UniqueViolationError as exc:  # the campaign lock makes this unreachable; the index is the backstop
        raise Conflict("this receipt number is already used in this campaign") from exc
    await outbox.enqueue(conn, ContributionRecorded(
        ward_id=campaign["ward_id"], subject=campaign_id, contribution_id=contribution_id, campaign_id=campaign_id,
        amount_vnd=amount, in_kind=body.channel == "in_kind", channel=body.channel, team_id=body.team_id,
        collected_by_resident_id=collector, donor_kind=body.donor_kind, group_id=campaign["group_id"],
        received_on=received_on))
    raised = await _after_ledger_change(conn, campaign)
    return Outcome(body={"contribution_id": contribution_id, "amount_vnd": amount, "raised_vnd": raised},
                   target_type="contribution", target_id=contribution_id, ward_id=campaign["ward_id"], status=201,
                   details={"campaign_id": campaign_id, "amount_vnd": amount})


async def _check_instalment(conn: asyncpg.Connection, campaign_id: str, body: RecordContribution, amount: int) -> None:
    if body.pledge_id is None and body.instalment_number is None:
        return
    if body.pledge_id is None or body.instalment_number is None:
        raise InvalidInput("paying an instalment needs both pledge_id and instalment_number")
    pledge = await repo.get_pledge(conn, body.pledge_id)
    if pledge is None or pledge["campaign_id"] != campaign_id:
        raise NotFound("no such pledge in this campaign")
    state = {r["number"]: r for r in await repo.instalments(conn, body.pledge_id)}
    inst = state.get(body.instalment_number)
    if inst is None:
        raise NotFound("no such instalment")
    if inst["paid"]:
        raise Conflict("this instalment is already paid")
    if amount != inst["amount_vnd"]:
        raise RuleViolation(f"instalment {inst['number']} is {inst['amount_vnd']} đồng, not {amount}")


async def reverse_contribution(conn: asyncpg.Connection, contribution_id: str, body: ReverseContribution,
                               principal: Principal) -> Outcome:
    original = await repo.get_entry(conn, contribution_id)
    if original is None or original["entry_kind"] != "contribution":
        raise NotFound("no such contribution")
    campaign = await load_campaign(conn, original["campaign_id"], principal, lock=True,
                                   not_found="no such contribution")
    amount = domain.reversal_amount(original["amount_vnd"], body.amount_vnd,
                                    await repo.is_reversed(conn, contribution_id))
    reversal_id = new_id()
    try:
        await repo.insert_entry(conn, {
            "entry_id": reversal_id, "campaign_id": campaign["campaign_id"], "entry_kind": body.kind,
            "amount_vnd": -amount, "channel": original["channel"], "team_id": original["team_id"],
            "donor_kind": original["donor_kind"], "donor_ref": original["donor_ref"],
            "received_on": ward_today(), "reverses_entry_id": contribution_id, "reason": body.reason,
            "recorded_by": principal.subject,
        })
    except asyncpg.UniqueViolationError as exc:
        raise RuleViolation("this contribution was already reversed") from exc
    await outbox.enqueue(conn, ContributionReversed(
        ward_id=campaign["ward_id"], subject=campaign["campaign_id"], reversal_id=reversal_id,
        contribution_id=contribution_id, campaign_id=campaign["campaign_id"], amount_vnd=amount,
        team_id=original["team_id"], reason=body.reason, kind=body.kind))
    raised = await _after_ledger_change(conn, campaign)
    return Outcome(body={"reversal_id": reversal_id, "amount_vnd": amount, "raised_vnd": raised},
                   target_type="contribution", target_id=contribution_id, ward_id=campaign["ward_id"], status=201,
                   details={"reversal_id": reversal_id, "kind": body.kind, "amount_vnd": amount})


async def make_pledge(conn: asyncpg.Connection, campaign_id: str, body: MakePledge, principal: Principal) -> Outcome:
    campaign = await load_campaign(conn, campaign_id, principal, lock=True)
    await _check_collector(conn, campaign_id, body.team_id, principal)
    state = _state(campaign)
    today = ward_today()
    domain.check_accepts_entries(state, today, today)
    domain.check_contribution(channel="cash", amount_vnd=body.total_vnd, in_kind_description=None,
                              donor_kind=body.donor_kind, donor_ref=body.donor_ref, public_name=body.public_name)
    plan = [domain.InstalmentPlan(i.number, i.due_on, i.amount_vnd) for i in body.instalments]
    domain.check_pledge(body.total_vnd, plan, state)
    pledge_id = new_id()
    await repo.insert_pledge(conn, {
        "pledge_id": pledge_id, "campaign_id": campaign_id, "donor_kind": body.donor_kind,
        "donor_ref": body.donor_ref, "public_name": body.public_name, "team_id": body.team_id,
        "total_vnd": body.total_vnd, "recorded_by": principal.subject,
    }, [(p.number, p.due_on, p.amount_vnd) for p in plan])
    await outbox.enqueue(conn, PledgeMade(
        ward_id=campaign["ward_id"], subject=campaign_id, pledge_id=pledge_id, campaign_id=campaign_id,
        total_vnd=body.total_vnd, team_id=body.team_id, donor_kind=body.donor_kind,
        instalments=[Instalment(number=p.number, due_on=p.due_on, amount_vnd=p.amount_vnd) for p in plan]))
    return Outcome(body={"pledge_id": pledge_id}, target_type="pledge", target_id=pledge_id,
                   ward_id=campaign["ward_id"], status=201)


async def close_campaign(conn: asyncpg.Connection, campaign_id: str, principal: Principal) -> Outcome:
    campaign = await load_campaign(conn, campaign_id, principal, lock=True)
    if campaign["closed_on"] is not None:
        raise Conflict("the campaign is already closed")
    today: date = ward_today()
    await repo.close_campaign(conn, campaign_id, today)
    raised = await repo.raised_vnd(conn, campaign_id)
    spent = await repo.spent_vnd(conn, campaign_id)
    await outbox.enqueue(conn, CampaignClosed(
        ward_id=campaign["ward_id"], subject=campaign_id, campaign_id=campaign_id, group_id=campaign["group_id"],
        raised_vnd=raised, spent_vnd=spent, balance_vnd=raised - spent, closed_on=today))
    return Outcome(body={"campaign_id": campaign_id, "closed_on": today.isoformat(), "raised_vnd": raised,
                         "spent_vnd": spent, "balance_vnd": raised - spent},
                   target_type="campaign", target_id=campaign_id, ward_id=campaign["ward_id"])
