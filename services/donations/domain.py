"""Rules of fundraising campaigns (cuộc vận động ủng hộ): the households' vote that opens one, what a
contribution may be, how a correction reverses an entry, pledges (cam kết ủng hộ) and their instalments, and
expenses paid from the balance; who may do what (the caller is a ``Principal``, plain data); which teams are
credited when a campaign reaches its target.

Amounts are whole đồng (VND) as Python ints, never floats. No I/O here: the handlers load, call these, save.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.actor import Principal, Role
from shared.contracts.donations import Channel, DonorKind
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation

#: A sanity ceiling for one entry (10 billion đồng): a typo of a few zeros is refused, not booked.
MAX_ENTRY_VND = 10_000_000_000

#: Who collects: members of a campaign's mobilisation teams (tổ vận động).
COLLECTORS = (Role.TEAM_MEMBER, Role.TEAM_LEADER)
#: The team kind that collects for campaigns.
MOBILISATION = "mobilisation"


# -- who may do what (the caller as data) ---------------------------------------------------------------------
def ensure_official(actor: Principal) -> None:
    """Ward officials open and close campaigns, correct the ledger and approve expenses."""
    actor.require(Role.WARD_OFFICIAL)


def ensure_collector(actor: Principal) -> None:
    actor.require(*COLLECTORS)


def ensure_may_propose_expense(actor: Principal) -> None:
    actor.require(Role.WARD_OFFICIAL, Role.TEAM_LEADER)


def ensure_official_or_collector(actor: Principal) -> None:
    actor.require(Role.WARD_OFFICIAL, *COLLECTORS)


def collector_of(actor: Principal, team_id: str, campaign_team_ids: Iterable[str], is_active_member: bool) -> str:
    """The caller collects for ``team_id``: a current member of a team that collects for this campaign. Returns
    the resident id the entry is credited to."""
    if actor.resident_id is None:
        raise Forbidden("only a team member identified as a resident may record what they collected")
    if team_id not in set(campaign_team_ids):
        raise RuleViolation(f"team {team_id} does not collect for this campaign")
    if not is_active_member:
        raise Forbidden("you are not a current member of this team")
    return actor.resident_id


def check_four_eyes(proposed_by: str, approver: Principal) -> None:
    """Four eyes: an expense is approved by another official than the one who proposed it."""
    if proposed_by == approver.subject:
        raise Forbidden("an expense is approved by another official than the one who proposed it")


# -- opening a campaign ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VoteRecord:
    """The record of the households' meeting (biên bản họp hộ dân) that decided the campaign."""

    in_favour: int
    against: int
    abstained: int


def check_vote(vote: VoteRecord, group_id: str, registered_households: int) -> None:
    """A campaign opens only if more than half of ALL the households of the group were in favour, counted as the
    registry holds them (``registered_households``: donations' projection of the registry's households), never as
    the caller states them.

    Why of all households and not of the votes cast: the contributions are voluntary but the campaign speaks
    for the group; a meeting that few attended must not decide for everyone.
    """
    if min(vote.in_favour, vote.against, vote.abstained) < 0:
        raise InvalidInput("vote counts cannot be negative")
    if registered_households <= 0:
        raise RuleViolation(
            f"the registry's households of group {group_id} have not reached donations yet: donations counts the "
            "households entitled to vote from the registry's events; retry once they have "
            f"(GET /v1/groups/{group_id} shows the count donations holds)")
    if vote.in_favour + vote.against + vote.abstained > registered_households:
        raise RuleViolation(
            f"more votes ({vote.in_favour + vote.against + vote.abstained}) than the {registered_households} "
            "households the registry holds for this group")
    if vote.in_favour * 2 <= registered_households:
        raise RuleViolation(
            f"the households did not approve the campaign: {vote.in_favour} of {registered_households} households "
            "of the group in favour, more than half are needed"
        )


def check_vote_before_start(held_on: date, starts_on: date) -> None:
    if held_on > starts_on:
        raise RuleViolation("the households must vote before the campaign starts")


def check_campaign_teams(team_ids: Iterable[str], teams: Mapping[str, Mapping[str, Any]], ward_id: str) -> list[str]:
    """The collecting teams: known teams of the campaign's ward, all mobilisation teams. Returns them sorted."""
    chosen = sorted(set(team_ids))
    for team_id in chosen:
        team = teams.get(team_id)
        if team is None or team["ward_id"] != ward_id:
            raise InvalidInput(f"team {team_id} is not a known team of this ward")
        if team["kind"] != MOBILISATION:
            raise RuleViolation(f"team {team_id} is not a mobilisation team (tổ vận động)")
    return chosen


def check_campaign_period(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise InvalidInput("the campaign ends before it starts")


def check_target(target_vnd: int) -> None:
    if not 0 < target_vnd <= MAX_ENTRY_VND * 10:
        raise InvalidInput("the target must be a positive whole number of đồng")


@dataclass(frozen=True)
class CampaignState:
    """What the ledger rules need to know of a campaign, loaded under its row lock."""

    campaign_id: str
    starts_on: date
    ends_on: date
    closed: bool


def check_accepts_entries(campaign: CampaignState, received_on: date, today: date) -> None:
    """A contribution or pledge is accepted only during the campaign's period, and not after it was closed."""
    if campaign.closed:
        raise RuleViolation("the campaign is closed")
    if received_on > today:
        raise InvalidInput("a contribution cannot be received in the future")
    if not campaign.starts_on <= received_on <= campaign.ends_on:
        raise RuleViolation(
            f"the campaign accepts contributions from {campaign.starts_on} to {campaign.ends_on}, not on {received_on}"
        )


def check_contribution(
    *, channel: Channel, amount_vnd: int | None, in_kind_description: str | None, donor_kind: DonorKind,
    donor_ref: str | None, public_name: str | None,
) -> int:
    """Validate a contribution's money and donor; return the amount to book (0 for an in-kind gift)."""
    if channel == "in_kind":
        # In-kind gifts are described, not valued: putting a price on a gift would inflate the total raised.
        if amount_vnd not in (None, 0):
            raise InvalidInput("an in-kind gift is described, not valued: leave amount_vnd out")
        if not (in_kind_description or "").strip():
            raise InvalidInput("an in-kind gift needs a description")
        amount = 0
    else:
        if amount_vnd is None or amount_vnd <= 0:
            raise InvalidInput("amount_vnd must be a whole number of đồng greater than 0")
        if amount_vnd > MAX_ENTRY_VND:
            raise InvalidInput(f"amount_vnd above {MAX_ENTRY_VND} đồng is refused as a likely typing error")
        if in_kind_description:
            raise InvalidInput("only in-kind gifts carry a description")
        amount = amount_vnd
    if donor_kind == "anonymous":
        if donor_ref or public_name:
            raise InvalidInput("an anonymous contribution names no donor and has no public name")
    elif not (donor_ref or "").strip():
        raise InvalidInput(f"a {donor_kind} donor needs donor_ref (the id or the organisation's name)")
    return amount


def check_receipt_unused(receipt_number: str, used: bool) -> None:
    """A receipt number is used once in a campaign."""
    if used:
        raise Conflict(f"receipt number {receipt_number} is already used in this campaign")


def reversal_amount(original_vnd: int, requested_vnd: int | None, already_reversed: bool) -> int:
    """How much a reversing entry takes back: by default all of it, never more than the original, and a
    contribution is reversed at most once (a second mistake is a new contribution, then its own reversal)."""
    if already_reversed:
        raise RuleViolation("this contribution was already reversed")
    amount = original_vnd if requested_vnd is None else requested_vnd
    if requested_vnd is not None and requested_vnd <= 0 and original_vnd > 0:
        raise InvalidInput("a reversal takes back a positive amount")
    if amount > original_vnd:
        raise RuleViolation(f"a reversal cannot exceed the original contribution of {original_vnd} đồng")
    return amount


@dataclass(frozen=True)
class InstalmentPlan:
    number: int
    due_on: date
    amount_vnd: int


def check_pledge(total_vnd: int, instalments: list[InstalmentPlan], campaign: CampaignState) -> None:
    """A pledge's instalments are numbered 1..n, in date order, inside the campaign, and add up to the total."""
    if total_vnd <= 0 or total_vnd > MAX_ENTRY_VND:
        raise InvalidInput("total_vnd must be a positive whole number of đồng")
    if not instalments:
        raise InvalidInput("a pledge needs at least one instalment")
    if [i.number for i in instalments] != list(range(1, len(instalments) + 1)):
        raise InvalidInput("instalments must be numbered 1, 2, 3, ... in order")
    if any(a.due_on > b.due_on for a, b in zip(instalments, instalments[1:], strict=False)):
        raise InvalidInput("instalments must fall due in order")
    if any(i.amount_vnd <= 0 for i in instalments):
        raise InvalidInput("each instalment must be a positive amount")
    if sum(i.amount_vnd for i in instalments) != total_vnd:
        raise InvalidInput("the instalments do not add up to the pledged total")
    if instalments[-1].due_on > campaign.ends_on or instalments[0].due_on < campaign.starts_on:
        raise RuleViolation("every instalment must fall due within the campaign's period")


def check_can_close(closed: bool) -> None:
    if closed:
        raise Conflict("the campaign is already closed")


# -- expenses -------------------------------------------------------------------------------------------------
def check_expense_amount(amount_vnd: int) -> None:
    if not 0 < amount_vnd <= MAX_ENTRY_VND:
        raise InvalidInput("amount_vnd must be a positive whole number of đồng")


def check_not_approved(approved_by: str | None) -> None:
    if approved_by is not None:
        raise Conflict("this expense is already approved")


def check_expense_within_balance(amount_vnd: int, balance_vnd: int) -> None:
    """Money is spent only from what was raised: an expense never exceeds the balance."""
    if amount_vnd > balance_vnd:
        raise RuleViolation(f"the expense of {amount_vnd} đồng exceeds the campaign's balance of {balance_vnd} đồng")


def target_newly_reached(target_vnd: int, raised_vnd: int, already_reached: bool) -> bool:
    """The target counts as reached once, the first time the net total gets there (a later reversal that
    takes the total back under it does not un-reach it, and reaching it again announces nothing)."""
    return not already_reached and raised_vnd >= target_vnd


def teams_to_credit(team_totals: Mapping[str, int], credited: Iterable[str]) -> dict[str, int]:
    """Which teams a campaign that reached its target credits now: every team whose net collection is positive
    and that was not credited yet. Called when the target is reached (all teams that collected so far) and after
    each later ledger change (a team whose first collection came later): so every team that collected for the
    campaign is credited, once, whatever the order the contributions arrived in. A credit is not withdrawn when
    a later reversal takes the team's total back to zero (a reversal after the target was reached changes the
    totals, not who helped reach it)."""
    done = set(credited)
    return {t: v for t, v in sorted(team_totals.items()) if v > 0 and t not in done}


# -- pledges paid by instalments ------------------------------------------------------------------------------
def check_instalment_payment(pledge: Mapping[str, Any] | None, campaign_id: str,
                             instalments: Mapping[int, Mapping[str, Any]], number: int, amount_vnd: int) -> None:
    """A contribution that pays an instalment: of a pledge of this campaign, not paid yet, for its exact amount."""
    if pledge is None or pledge["campaign_id"] != campaign_id:
        raise NotFound("no such pledge in this campaign")
    inst = instalments.get(number)
    if inst is None:
        raise NotFound("no such instalment")
    if inst["paid"]:
        raise Conflict("this instalment is already paid")
    if amount_vnd != inst["amount_vnd"]:
        raise RuleViolation(f"instalment {inst['number']} is {inst['amount_vnd']} đồng, not {amount_vnd}")


def instalment_status(paid: bool, flagged_on: date | None) -> str:
    return "paid" if paid else ("overdue" if flagged_on else "due")
