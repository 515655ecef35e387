"""The rules of grassroots mediation, without I/O (services/mediation/domain.py)."""

from __future__ import annotations

from datetime import date

import pytest

from services.mediation import domain
from services.mediation.domain import Action, Member, Party, Status
from shared.contracts.mediation import CaseRefused, CaseSucceeded
from shared.errors import RuleViolation


# -- the legal period for assignment: 2 working days from receipt (Art. 20) ------------------------------------
@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 3, 2), date(2026, 3, 4)),  # Monday -> Wednesday
        (date(2026, 3, 5), date(2026, 3, 9)),  # Thursday -> Monday: the weekend does not count
        (date(2026, 3, 6), date(2026, 3, 10)),  # Friday -> Tuesday
        (date(2026, 3, 7), date(2026, 3, 10)),  # received on a Saturday -> Tuesday
    ],
)
def test_assignment_is_due_two_working_days_after_receipt(received: date, due: date) -> None:
    assert domain.assignment_due(received) == due


def test_assignment_is_late_after_the_due_date_or_while_still_unassigned_past_it() -> None:
    due = date(2026, 3, 4)
    assert not domain.assignment_late(due, date(2026, 3, 4), today=date(2026, 3, 20))
    assert domain.assignment_late(due, date(2026, 3, 5), today=date(2026, 3, 20))
    assert not domain.assignment_late(due, None, today=date(2026, 3, 4))
    assert domain.assignment_late(due, None, today=date(2026, 3, 5))


# -- the lifecycle: no case is reopened after it ended -----------------------------------------------------------
@pytest.mark.parametrize("ended", sorted(domain.ENDED))
@pytest.mark.parametrize("action", [a for a in Action if a is not Action.FOLLOW_UP])
def test_an_ended_case_cannot_be_reopened_or_changed(ended: Status, action: Action) -> None:
    with pytest.raises(RuleViolation, match="cannot be reopened"):
        domain.ensure_allowed(ended, action)


def test_no_action_leads_from_an_ended_state_back_to_an_open_one() -> None:
    for action, sources in domain.ALLOWED.items():
        if sources & domain.ENDED:
            assert action is Action.FOLLOW_UP  # the only thing done after the end, and it changes no state


def test_mediation_steps_need_assigned_mediators() -> None:
    with pytest.raises(RuleViolation, match="while the case is received"):
        domain.ensure_allowed(Status.RECEIVED, Action.HOLD_SESSION)
    with pytest.raises(RuleViolation):
        domain.ensure_allowed(Status.RECEIVED, Action.SUCCEED)
    domain.ensure_allowed(Status.IN_MEDIATION, Action.SUCCEED)


def test_only_a_successful_case_has_its_agreement_followed_up() -> None:
    domain.ensure_allowed(Status.SUCCEEDED, Action.FOLLOW_UP)
    for status in (Status.FAILED, Status.WITHDRAWN, Status.IN_MEDIATION):
        with pytest.raises(RuleViolation):
            domain.ensure_allowed(status, Action.FOLLOW_UP)


# -- matters that may not be mediated ------------------------------------------------------------------------------
def test_every_excluded_ground_cites_the_law_and_the_decree() -> None:
    assert set(domain.EXCLUDED_GROUNDS) == {
        "harms_state_or_public_interest", "void_marriage_or_civil_transaction", "criminal_offence",
        "administrative_violation", "excluded_by_other_law",
    }
    for g in domain.EXCLUDED_GROUNDS.values():
        assert "Art. 3(1)" in g.legal_basis and "Law 35/2013/QH13" in g.legal_basis
        assert "Decree 15/2014" in g.legal_basis
        assert g.legal_basis in g.reason and g.description_vi


def test_an_unknown_ground_is_refused_with_the_list() -> None:
    with pytest.raises(RuleViolation, match="criminal_offence"):
        domain.ground("too_hard")


# -- who may mediate -------------------------------------------------------------------------------------------------
MEDIATOR = Member("r-an", "hh-1", "Nguyễn Thị An", "female", "member")


def test_a_mediator_of_a_partys_household_or_a_party_is_excluded() -> None:
    assert domain.mediator_conflict(MEDIATOR, [Party("Trần Văn B", "r-b", "hh-1"), Party("C")]) == (
        "the mediator lives in the same household as a party")
    assert domain.mediator_conflict(MEDIATOR, [Party("An", "r-an", "hh-9")]) == "the mediator is a party to the case"
    assert domain.mediator_conflict(MEDIATOR, [Party("Trần Văn B", "r-b", "hh-2"), Party("Unregistered")]) is None


def test_team_compliance_needs_a_leader_three_mediators_and_a_woman() -> None:
    leader = Member("r1", "h1", "A", "male", "leader")
    men = [leader, Member("r2", "h2", "B", "male", "member"), Member("r3", "h3", "C", "male", "member")]
    assert domain.team_compliance(men) == ["no woman among the mediators"]
    assert domain.team_compliance([*men[1:], MEDIATOR]) == ["no team leader (tổ trưởng)"]
    assert domain.team_compliance([leader, MEDIATOR]) == ["2 mediators; the law requires at least 3"]
    assert domain.team_compliance([*men, MEDIATOR]) == []


def test_record_book_result_column() -> None:
    assert domain.result_label_vi("succeeded") == "Thành"
    assert domain.result_label_vi("failed") == "Không thành"
    assert domain.result_label_vi("in_mediation") == "Đang hòa giải"


# -- contracts: what leaves the service ------------------------------------------------------------------------------
def test_case_events_carry_no_summary_parties_or_agreement() -> None:
    for cls in (CaseSucceeded, CaseRefused):
        assert not {"summary", "parties", "agreement", "display_name"} & set(cls.model_fields)
    event = CaseSucceeded(ward_id="phu-son", subject="c1", case_id="c1", group_id="g1", team_id="t1",
                          referral_incident_id="inc-1", kind="neighbours", mediator_ids=["r1"],
                          concluded_on=date(2026, 5, 1))
    public = event.to_public()
    assert public is not None and "mediator_ids" not in public.model_dump()
    assert public.event_type == "public.mediation.case.succeeded.v1"
