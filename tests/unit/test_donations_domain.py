"""The donations rules without I/O: the households' vote, contributions, reversals, pledges, the balance, the
target, and the events' shapes."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from services.donations import domain
from services.donations.domain import CampaignState, InstalmentPlan, VoteRecord
from shared.contracts.donations import CameraPurchase, ContributionRecorded, ExpenseRecorded
from shared.errors import InvalidInput, RuleViolation

CAMPAIGN = CampaignState("c1", date(2024, 6, 1), date(2024, 8, 31), closed=False)


@pytest.mark.parametrize(("households", "vote", "opens"), [
    (120, VoteRecord(61, 59, 0), True),
    (120, VoteRecord(60, 0, 0), False),      # exactly half is not more than half
    (120, VoteRecord(59, 1, 0), False),      # a majority of the votes cast, not of the households
    (3, VoteRecord(2, 1, 0), True),
])
def test_a_campaign_opens_only_with_more_than_half_of_the_registrys_households_in_favour(households, vote, opens):
    if opens:
        domain.check_vote(vote, "g", households)
    else:
        with pytest.raises(RuleViolation, match="more than half"):
            domain.check_vote(vote, "g", households)


def test_an_impossible_vote_record_is_refused():
    with pytest.raises(InvalidInput):
        domain.check_vote(VoteRecord(6, -1, 0), "g", 10)
    with pytest.raises(RuleViolation, match="more votes"):
        domain.check_vote(VoteRecord(6, 5, 0), "g", 10)
    with pytest.raises(RuleViolation, match="have not reached donations yet"):
        domain.check_vote(VoteRecord(1, 0, 0), "g", 0)


def test_every_team_with_a_positive_collection_is_credited_once():
    assert domain.teams_to_credit({"t1": 5, "t2": 0, "t3": 7}, []) == {"t1": 5, "t3": 7}
    assert domain.teams_to_credit({"t1": 5, "t2": 3, "t3": 7}, ["t1", "t3"]) == {"t2": 3}
    assert domain.teams_to_credit({"t1": 0}, ["t1"]) == {}


def test_contributions_are_accepted_only_within_the_period_and_while_open():
    domain.check_accepts_entries(CAMPAIGN, date(2024, 6, 1), today=date(2024, 7, 1))
    domain.check_accepts_entries(CAMPAIGN, date(2024, 8, 31), today=date(2024, 9, 5))
    with pytest.raises(RuleViolation, match="accepts contributions from"):
        domain.check_accepts_entries(CAMPAIGN, date(2024, 5, 31), today=date(2024, 7, 1))
    with pytest.raises(RuleViolation, match="accepts contributions from"):
        domain.check_accepts_entries(CAMPAIGN, date(2024, 9, 1), today=date(2024, 9, 5))
    with pytest.raises(InvalidInput, match="future"):
        domain.check_accepts_entries(CAMPAIGN, date(2024, 7, 2), today=date(2024, 7, 1))
    closed = CampaignState("c1", date(2024, 6, 1), date(2024, 8, 31), closed=True)
    with pytest.raises(RuleViolation, match="closed"):
        domain.check_accepts_entries(closed, date(2024, 7, 1), today=date(2024, 7, 1))


def _contribution(**kw: object) -> int:
    args = {"channel": "cash", "amount_vnd": 500_000, "in_kind_description": None, "donor_kind": "household",
            "donor_ref": "hh-1", "public_name": None}
    args.update(kw)
    return domain.check_contribution(**args)  # type: ignore[arg-type]


def test_money_is_whole_positive_dong_and_in_kind_gifts_are_not_valued():
    assert _contribution() == 500_000
    assert _contribution(channel="in_kind", amount_vnd=None, in_kind_description="2 bao xi măng") == 0
    for bad in (0, -1, domain.MAX_ENTRY_VND + 1, None):
        with pytest.raises(InvalidInput):
            _contribution(amount_vnd=bad)
    with pytest.raises(InvalidInput, match="not valued"):
        _contribution(channel="in_kind", amount_vnd=100, in_kind_description="x")
    with pytest.raises(InvalidInput, match="description"):
        _contribution(channel="in_kind", amount_vnd=None, in_kind_description="  ")


def test_an_anonymous_donor_is_never_named_and_others_are_identified():
    assert _contribution(donor_kind="anonymous", donor_ref=None) == 500_000
    with pytest.raises(InvalidInput, match="anonymous"):
        _contribution(donor_kind="anonymous", donor_ref=None, public_name="Ông A")
    with pytest.raises(InvalidInput, match="donor_ref"):
        _contribution(donor_kind="organisation", donor_ref=None)


def test_a_reversal_takes_back_at_most_the_original_and_only_once():
    assert domain.reversal_amount(1_000_000, None, already_reversed=False) == 1_000_000
    assert domain.reversal_amount(1_000_000, 400_000, already_reversed=False) == 400_000
    assert domain.reversal_amount(0, None, already_reversed=False) == 0  # voiding an in-kind gift
    with pytest.raises(RuleViolation, match="cannot exceed"):
        domain.reversal_amount(1_000_000, 1_000_001, already_reversed=False)
    with pytest.raises(InvalidInput):
        domain.reversal_amount(1_000_000, 0, already_reversed=False)
    with pytest.raises(RuleViolation, match="already reversed"):
        domain.reversal_amount(1_000_000, None, already_reversed=True)


def test_pledge_instalments_are_ordered_inside_the_period_and_add_up():
    plan = [InstalmentPlan(1, date(2024, 6, 15), 1_000_000), InstalmentPlan(2, date(2024, 7, 15), 2_000_000)]
    domain.check_pledge(3_000_000, plan, CAMPAIGN)
    with pytest.raises(InvalidInput, match="add up"):
        domain.check_pledge(2_500_000, plan, CAMPAIGN)
    with pytest.raises(InvalidInput, match="numbered"):
        domain.check_pledge(3_000_000, list(reversed(plan)), CAMPAIGN)
    late = [plan[0], InstalmentPlan(2, date(2024, 9, 15), 2_000_000)]
    with pytest.raises(RuleViolation, match="within the campaign"):
        domain.check_pledge(3_000_000, late, CAMPAIGN)
    with pytest.raises(InvalidInput, match="in order"):
        domain.check_pledge(3_000_000, [InstalmentPlan(1, date(2024, 7, 1), 1_000_000),
                                        InstalmentPlan(2, date(2024, 6, 20), 2_000_000)], CAMPAIGN)


def test_an_expense_never_exceeds_the_balance():
    domain.check_expense_within_balance(5_000_000, 5_000_000)
    with pytest.raises(RuleViolation, match="exceeds"):
        domain.check_expense_within_balance(5_000_001, 5_000_000)


def test_the_target_is_reached_once():
    assert domain.target_newly_reached(60_000_000, 60_000_000, already_reached=False)
    assert not domain.target_newly_reached(60_000_000, 59_999_999, already_reached=False)
    assert not domain.target_newly_reached(60_000_000, 61_000_000, already_reached=True)


def test_events_carry_whole_dong_and_no_donor():
    assert "donor_ref" not in ContributionRecorded.model_fields and "public_name" not in ContributionRecorded.model_fields
    with pytest.raises(ValidationError):
        ContributionRecorded(ward_id="w", subject="c", contribution_id="x", campaign_id="c", amount_vnd=-1,
                             in_kind=False, channel="cash", donor_kind="anonymous")
    event = ExpenseRecorded(ward_id="w", subject="c", expense_id="e", campaign_id="c", group_id="g", item="Camera",
                            amount_vnd=1, invoice_ref="HĐ 1",
                            cameras=[CameraPurchase(name="Camera 1", location="Ngõ 1", group_id="g")])
    assert event.cameras[0].installed_on is None
    public = event.to_public().model_dump()  # other wards see what was bought and how many cameras, not where
    assert public["cameras_count"] == 1 and "cameras" not in public and "invoice_ref" not in public
