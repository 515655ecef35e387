"""Rules of fundraising campaigns (cuộc vận động ủng hộ): the households' vote that opens one, what a
contribution may be, how a correction reverses an entry, pledges (cam kết ủng hộ) and their instalments, and
expenses paid from the balance.

Amounts are whole đồng (VND) as Python ints, never floats. No I/O here: commands load, call these, save.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from shared.errors import InvalidInput, RuleViolation

Channel = Literal["cash", "bank_transfer", "in_kind"]
DonorKind = Literal["household", "resident", "organisation", "anonymous"]
ReversalKind = Literal["refund", "void"]

#: A sanity ceiling for one entry (10 billion đồng): a typo of a few zeros is refused, not booked.
MAX_ENTRY_VND = 10_000_000_000


@dataclass(frozen=True)
class VoteRecord:
    """The record of the households' meeting (biên bản họp hộ dân) that decided the campaign."""

    households_total: int
    in_favour: int
    against: int
    abstained: int


def check_vote(vote: VoteRecord) -> None:
    """A campaign opens only if more than half of ALL the households entitled to vote were in favour.

    Why of all households and not of the votes cast: the contributions are voluntary but the campaign speaks
    for the group; a meeting that few attended must not decide for everyone.
    """
    if vote.households_total <= 0:
        raise InvalidInput("the vote record must count the households entitled to vote")
    if min(vote.in_favour, vote.against, vote.abstained) < 0:
        raise InvalidInput("vote counts cannot be negative")
    if vote.in_favour + vote.against + vote.abstained > vote.households_total:
        raise InvalidInput("more votes than households entitled to vote")
    if vote.in_favour * 2 <= vote.households_total:
        raise RuleViolation(
            f"the households did not approve the campaign: {vote.in_favour} of {vote.households_total} in favour, "
            "more than half are needed"
        )


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


def check_expense_within_balance(amount_vnd: int, balance_vnd: int) -> None:
    """Money is spent only from what was raised: an expense never exceeds the balance."""
    if amount_vnd > balance_vnd:
        raise RuleViolation(f"the expense of {amount_vnd} đồng exceeds the campaign's balance of {balance_vnd} đồng")


def target_newly_reached(target_vnd: int, raised_vnd: int, already_reached: bool) -> bool:
    """The target counts as reached once, the first time the net total gets there (a later reversal that
    takes the total back under it does not un-reach it, and reaching it again announces nothing)."""
    return not already_reached and raised_vnd >= target_vnd
