"""The use cases of the donations service: one handler per command, and the scheduled check of pledge
instalments (the projections of the registry's events are in consumers.py). Each loads through the unit of work's repositories, applies the rules
of domain.py, saves, emits its events and names what it changed for the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import uuid4

from services.donations import domain
from services.donations.commands import (
    ApproveExpense,
    CloseCampaign,
    MakePledge,
    OpenCampaign,
    ProposeExpense,
    RecordContribution,
    ReverseContribution,
)
from services.donations.uow import DonationsUnitOfWork
from shared.actor import Principal
from shared.application import Created
from shared.clock import ward_today
from shared.contracts.donations import (
    CameraPurchase,
    CampaignClosed,
    CampaignOpened,
    CampaignTargetReached,
    CampaignTeamCredited,
    ContributionRecorded,
    ContributionReversed,
    ExpenseProposed,
    ExpenseRecorded,
    Instalment,
    PledgeInstalmentOverdue,
    PledgeMade,
)
from shared.errors import InvalidInput, NotFound

Uow = DonationsUnitOfWork  # or its fake: the same repositories


def new_id() -> str:
    return str(uuid4())


async def load_campaign(uow: Uow, campaign_id: str, actor: Principal, *, lock: bool,
                        not_found: str = "no such campaign") -> Mapping[str, Any]:
    """The campaign (of a record looked up by id): of another ward, it answers as the record not existing."""
    row = await uow.campaigns.get(campaign_id, lock=lock)
    actor.ensure_reaches(row["ward_id"] if row else None, not_found)
    assert row is not None
    return row


def _state(row: Mapping[str, Any]) -> domain.CampaignState:
    return domain.CampaignState(row["campaign_id"], row["starts_on"], row["ends_on"], row["closed_on"] is not None)


# -- campaigns ------------------------------------------------------------------------------------------------
async def handle_open_campaign(cmd: OpenCampaign, uow: Uow, actor: Principal) -> Created:
    domain.ensure_official(actor)
    actor.ensure_ward(cmd.ward_id)
    domain.check_target(cmd.target_vnd)
    domain.check_campaign_period(cmd.starts_on, cmd.ends_on)
    v = cmd.vote
    households = await uow.households.count(cmd.ward_id, cmd.group_id)
    domain.check_vote(domain.VoteRecord(v.in_favour, v.against, v.abstained), cmd.group_id, households)
    domain.check_vote_before_start(v.held_on, cmd.starts_on)
    team_ids = domain.check_campaign_teams(cmd.team_ids, await uow.teams.by_id(sorted(set(cmd.team_ids))),
                                           cmd.ward_id)
    campaign_id = new_id()
    await uow.campaigns.add({
        "campaign_id": campaign_id, "ward_id": cmd.ward_id, "group_id": cmd.group_id, "name": cmd.name_,
        "purpose": cmd.purpose, "target_vnd": cmd.target_vnd, "starts_on": cmd.starts_on,
        "ends_on": cmd.ends_on, "organiser": cmd.organiser, "vote_record_ref": v.record_ref,
        "vote_held_on": v.held_on, "households_total": households, "households_in_favour": v.in_favour,
        "households_against": v.against, "households_abstained": v.abstained, "opened_by": actor.subject,
    }, team_ids)
    uow.emit(CampaignOpened(
        ward_id=cmd.ward_id, subject=campaign_id, campaign_id=campaign_id, group_id=cmd.group_id, name=cmd.name_,
        purpose=cmd.purpose, target_vnd=cmd.target_vnd, starts_on=cmd.starts_on, ends_on=cmd.ends_on,
        team_ids=team_ids, organiser=cmd.organiser, decision_ref=v.record_ref))
    uow.audit("campaign", campaign_id, ward_id=cmd.ward_id)
    return Created({"campaign_id": campaign_id, "team_ids": team_ids, "households_total": households})


async def handle_close_campaign(cmd: CloseCampaign, uow: Uow, actor: Principal) -> dict[str, Any]:
    domain.ensure_official(actor)
    campaign = await load_campaign(uow, cmd.campaign_id, actor, lock=True)
    domain.check_can_close(campaign["closed_on"] is not None)
    today: date = ward_today()
    await uow.campaigns.close(cmd.campaign_id, today)
    raised = await uow.ledger.raised_vnd(cmd.campaign_id)
    spent = await uow.expenses.spent_vnd(cmd.campaign_id)
    uow.emit(CampaignClosed(
        ward_id=campaign["ward_id"], subject=cmd.campaign_id, campaign_id=cmd.campaign_id,
        group_id=campaign["group_id"], raised_vnd=raised, spent_vnd=spent, balance_vnd=raised - spent,
        closed_on=today))
    uow.audit("campaign", cmd.campaign_id, ward_id=campaign["ward_id"])
    return {"campaign_id": cmd.campaign_id, "closed_on": today, "raised_vnd": raised, "spent_vnd": spent,
            "balance_vnd": raised - spent}


# -- the ledger -----------------------------------------------------------------------------------------------
async def _after_ledger_change(uow: Uow, campaign: Mapping[str, Any]) -> int:
    """Announce the target the first time the net total reaches it, and credit every team that collected for a
    campaign that reached it, once (the caller holds the campaign's lock)."""
    campaign_id = campaign["campaign_id"]
    raised = await uow.ledger.raised_vnd(campaign_id)
    reached_on = campaign["target_reached_on"]
    newly = domain.target_newly_reached(campaign["target_vnd"], raised, reached_on is not None)
    if newly:
        reached_on = ward_today()
        newly = await uow.campaigns.mark_target_reached(campaign_id, reached_on)
    if reached_on is None:
        return raised
    totals = await uow.ledger.team_totals(campaign_id)
    due = domain.teams_to_credit(totals, await uow.campaigns.credited_teams(campaign_id))
    for team_id, total in due.items():
        await uow.campaigns.credit_team(campaign_id, team_id, total)
    if newly:
        uow.emit(CampaignTargetReached(
            ward_id=campaign["ward_id"], subject=campaign_id, campaign_id=campaign_id,
            group_id=campaign["group_id"], target_vnd=campaign["target_vnd"], raised_vnd=raised,
            team_totals=totals, reached_on=reached_on))
    else:
        for team_id, total in due.items():
            uow.emit(CampaignTeamCredited(
                ward_id=campaign["ward_id"], subject=campaign_id, campaign_id=campaign_id,
                group_id=campaign["group_id"], team_id=team_id, total_vnd=total, reached_on=reached_on))
    return raised


async def _check_instalment(uow: Uow, cmd: RecordContribution, amount: int) -> None:
    if cmd.pledge_id is None and cmd.instalment_number is None:
        return
    if cmd.pledge_id is None or cmd.instalment_number is None:
        raise InvalidInput("paying an instalment needs both pledge_id and instalment_number")
    pledge = await uow.pledges.get(cmd.pledge_id)
    instalments = {r["number"]: r for r in await uow.pledges.instalments(cmd.pledge_id)} if pledge else {}
    domain.check_instalment_payment(pledge, cmd.campaign_id, instalments, cmd.instalment_number, amount)


async def handle_record_contribution(cmd: RecordContribution, uow: Uow, actor: Principal) -> Created:
    domain.ensure_collector(actor)
    campaign = await load_campaign(uow, cmd.campaign_id, actor, lock=True)
    member = actor.resident_id is not None and await uow.teams.is_active_member(cmd.team_id, actor.resident_id)
    collector = domain.collector_of(actor, cmd.team_id, await uow.campaigns.team_ids(cmd.campaign_id), member)
    today = ward_today()
    received_on = cmd.received_on or today
    domain.check_accepts_entries(_state(campaign), received_on, today)
    amount = domain.check_contribution(
        channel=cmd.channel, amount_vnd=cmd.amount_vnd, in_kind_description=cmd.in_kind_description,
        donor_kind=cmd.donor_kind, donor_ref=cmd.donor_ref, public_name=cmd.public_name)
    domain.check_receipt_unused(cmd.receipt_number, await uow.ledger.receipt_used(cmd.campaign_id, cmd.receipt_number))
    await _check_instalment(uow, cmd, amount)
    contribution_id = new_id()
    await uow.ledger.add({
        "entry_id": contribution_id, "campaign_id": cmd.campaign_id, "entry_kind": "contribution",
        "amount_vnd": amount, "channel": cmd.channel, "team_id": cmd.team_id,
        "collected_by_resident_id": collector, "donor_kind": cmd.donor_kind, "donor_ref": cmd.donor_ref,
        "public_name": cmd.public_name, "receipt_number": cmd.receipt_number,
        "in_kind_description": cmd.in_kind_description, "received_on": received_on,
        "pledge_id": cmd.pledge_id, "instalment_number": cmd.instalment_number, "recorded_by": actor.subject,
    })
    uow.emit(ContributionRecorded(
        ward_id=campaign["ward_id"], subject=cmd.campaign_id, contribution_id=contribution_id,
        campaign_id=cmd.campaign_id, amount_vnd=amount, in_kind=cmd.channel == "in_kind", channel=cmd.channel,
        team_id=cmd.team_id, collected_by_resident_id=collector, donor_kind=cmd.donor_kind,
        group_id=campaign["group_id"], received_on=received_on))
    raised = await _after_ledger_change(uow, campaign)
    uow.audit("contribution", contribution_id, ward_id=campaign["ward_id"],
              details={"campaign_id": cmd.campaign_id, "amount_vnd": amount})
    return Created({"contribution_id": contribution_id, "amount_vnd": amount, "raised_vnd": raised})


async def handle_reverse_contribution(cmd: ReverseContribution, uow: Uow, actor: Principal) -> Created:
    domain.ensure_official(actor)
    original = await uow.ledger.get(cmd.contribution_id)
    if original is None or original["entry_kind"] != "contribution":
        raise NotFound("no such contribution")
    campaign = await load_campaign(uow, original["campaign_id"], actor, lock=True, not_found="no such contribution")
    amount = domain.reversal_amount(original["amount_vnd"], cmd.amount_vnd,
                                    await uow.ledger.is_reversed(cmd.contribution_id))
    reversal_id = new_id()
    await uow.ledger.add({
        "entry_id": reversal_id, "campaign_id": campaign["campaign_id"], "entry_kind": cmd.kind,
        "amount_vnd": -amount, "channel": original["channel"], "team_id": original["team_id"],
        "donor_kind": original["donor_kind"], "donor_ref": original["donor_ref"],
        "received_on": ward_today(), "reverses_entry_id": cmd.contribution_id, "reason": cmd.reason,
        "recorded_by": actor.subject,
    })
    uow.emit(ContributionReversed(
        ward_id=campaign["ward_id"], subject=campaign["campaign_id"], reversal_id=reversal_id,
        contribution_id=cmd.contribution_id, campaign_id=campaign["campaign_id"], amount_vnd=amount,
        team_id=original["team_id"], reason=cmd.reason, kind=cmd.kind))
    raised = await _after_ledger_change(uow, campaign)
    uow.audit("contribution", cmd.contribution_id, ward_id=campaign["ward_id"],
              details={"reversal_id": reversal_id, "kind": cmd.kind, "amount_vnd": amount})
    return Created({"reversal_id": reversal_id, "amount_vnd": amount, "raised_vnd": raised})


# -- pledges --------------------------------------------------------------------------------------------------
async def handle_make_pledge(cmd: MakePledge, uow: Uow, actor: Principal) -> Created:
    domain.ensure_collector(actor)
    campaign = await load_campaign(uow, cmd.campaign_id, actor, lock=True)
    member = actor.resident_id is not None and await uow.teams.is_active_member(cmd.team_id, actor.resident_id)
    domain.collector_of(actor, cmd.team_id, await uow.campaigns.team_ids(cmd.campaign_id), member)
    state = _state(campaign)
    today = ward_today()
    domain.check_accepts_entries(state, today, today)
    domain.check_contribution(channel="cash", amount_vnd=cmd.total_vnd, in_kind_description=None,
                              donor_kind=cmd.donor_kind, donor_ref=cmd.donor_ref, public_name=cmd.public_name)
    plan = [domain.InstalmentPlan(i.number, i.due_on, i.amount_vnd) for i in cmd.instalments]
    domain.check_pledge(cmd.total_vnd, plan, state)
    pledge_id = new_id()
    await uow.pledges.add({
        "pledge_id": pledge_id, "campaign_id": cmd.campaign_id, "donor_kind": cmd.donor_kind,
        "donor_ref": cmd.donor_ref, "public_name": cmd.public_name, "team_id": cmd.team_id,
        "total_vnd": cmd.total_vnd, "recorded_by": actor.subject,
    }, [(p.number, p.due_on, p.amount_vnd) for p in plan])
    uow.emit(PledgeMade(
        ward_id=campaign["ward_id"], subject=cmd.campaign_id, pledge_id=pledge_id, campaign_id=cmd.campaign_id,
        total_vnd=cmd.total_vnd, team_id=cmd.team_id, donor_kind=cmd.donor_kind,
        instalments=[Instalment(number=p.number, due_on=p.due_on, amount_vnd=p.amount_vnd) for p in plan]))
    uow.audit("pledge", pledge_id, ward_id=campaign["ward_id"])
    return Created({"pledge_id": pledge_id})


async def flag_overdue_instalments(uow: Uow) -> int:
    """The scheduled check: flag, once each, the instalments past their due date and unpaid; returns how many."""
    today = ward_today()
    flagged = 0
    for row in await uow.pledges.unflagged_overdue(today):
        if await uow.pledges.flag_overdue(row["pledge_id"], row["number"], today):
            flagged += 1
            uow.emit(PledgeInstalmentOverdue(
                ward_id=row["ward_id"], subject=row["campaign_id"], pledge_id=row["pledge_id"],
                campaign_id=row["campaign_id"], instalment_number=row["number"], due_on=row["due_on"],
                amount_vnd=row["amount_vnd"], team_id=row["team_id"]))
    return flagged


# -- expenses (khoản chi) -------------------------------------------------------------------------------------
async def handle_propose_expense(cmd: ProposeExpense, uow: Uow, actor: Principal) -> Created:
    domain.ensure_may_propose_expense(actor)
    campaign = await load_campaign(uow, cmd.campaign_id, actor, lock=False)
    domain.check_expense_amount(cmd.amount_vnd)
    expense_id = new_id()
    await uow.expenses.add({
        "expense_id": expense_id, "campaign_id": cmd.campaign_id, "item": cmd.item, "amount_vnd": cmd.amount_vnd,
        "invoice_ref": cmd.invoice_ref, "paid_on": cmd.paid_on,
        "cameras": [c.model_dump(mode="json") for c in cmd.cameras], "proposed_by": actor.subject,
    })
    uow.audit("expense", expense_id, ward_id=campaign["ward_id"],
              details={"campaign_id": cmd.campaign_id, "amount_vnd": cmd.amount_vnd})
    uow.emit(ExpenseProposed(ward_id=campaign["ward_id"], subject=campaign["campaign_id"], expense_id=expense_id,
                             campaign_id=cmd.campaign_id, group_id=campaign["group_id"], amount_vnd=cmd.amount_vnd,
                             proposed_by=actor.subject))
    return Created({"expense_id": expense_id, "status": "proposed"})


async def handle_approve_expense(cmd: ApproveExpense, uow: Uow, actor: Principal) -> dict[str, Any]:
    domain.ensure_official(actor)
    expense = await uow.expenses.get(cmd.expense_id)
    if expense is None:
        raise NotFound("no such expense")
    # The campaign's row lock serialises approvals: two approvals cannot both spend the same balance.
    campaign = await load_campaign(uow, expense["campaign_id"], actor, lock=True, not_found="no such expense")
    expense = await uow.expenses.get(cmd.expense_id)  # re-read under the lock
    assert expense is not None
    domain.check_not_approved(expense["approved_by"])
    domain.check_four_eyes(expense["proposed_by"], actor)
    raised = await uow.ledger.raised_vnd(campaign["campaign_id"])
    spent = await uow.expenses.spent_vnd(campaign["campaign_id"])
    domain.check_expense_within_balance(expense["amount_vnd"], raised - spent)
    await uow.expenses.approve(cmd.expense_id, actor.subject, cmd.approval_ref)
    uow.emit(ExpenseRecorded(
        ward_id=campaign["ward_id"], subject=campaign["campaign_id"], expense_id=cmd.expense_id,
        campaign_id=campaign["campaign_id"], group_id=campaign["group_id"], item=expense["item"],
        amount_vnd=expense["amount_vnd"], invoice_ref=expense["invoice_ref"],
        cameras=[CameraPurchase.model_validate(c) for c in expense["cameras"]], paid_on=expense["paid_on"]))
    uow.audit("expense", cmd.expense_id, ward_id=campaign["ward_id"],
              details={"approval_ref": cmd.approval_ref, "amount_vnd": expense["amount_vnd"]})
    return {"expense_id": cmd.expense_id, "status": "approved",
            "balance_vnd": raised - spent - expense["amount_vnd"]}


HANDLERS = {
    OpenCampaign: handle_open_campaign,
    CloseCampaign: handle_close_campaign,
    RecordContribution: handle_record_contribution,
    ReverseContribution: handle_reverse_contribution,
    MakePledge: handle_make_pledge,
    ProposeExpense: handle_propose_expense,
    ApproveExpense: handle_approve_expense,
}
