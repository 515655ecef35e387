"""The incidents lifecycle table, crime-tip deadlines and intake rules, without I/O."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from services.incidents.commands import ReportIncident
from services.incidents.domain import (
    TRANSITIONS,
    Action,
    State,
    add_months,
    crime_tip_deadline,
    extended_deadline,
    hash_secret,
    is_overdue,
    new_follow_up_code,
    new_secret,
    next_state,
    secret_matches,
)
from shared.errors import InvalidInput, RuleViolation

S, A = State, Action


def test_the_happy_path_is_received_triaged_assigned_in_progress_resolved_closed():
    state = S.RECEIVED
    for action in (A.TRIAGE, A.ASSIGN, A.START, A.RESOLVE, A.CLOSE):
        state = next_state(state, action, outcome="solved" if action is A.CLOSE else None)
    assert state is S.CLOSED


@pytest.mark.parametrize("state, action", [
    (S.RECEIVED, A.RESOLVE), (S.RECEIVED, A.ASSIGN), (S.TRIAGED, A.START), (S.CLOSED, A.CLOSE),
    (S.IN_PROGRESS, A.CLOSE), (S.RECEIVED, A.REOPEN), (S.IN_PROGRESS, A.TRIAGE), (S.RECEIVED, A.REFER_TO_MEDIATION),
])
def test_illegal_transitions_are_refused(state, action):
    assert (state, action) not in TRANSITIONS
    with pytest.raises(RuleViolation):
        next_state(state, action)


def test_reopening_returns_a_resolved_or_closed_incident_to_work():
    assert next_state(S.CLOSED, A.REOPEN, outcome="solved") is S.IN_PROGRESS
    assert next_state(S.RESOLVED, A.REOPEN, outcome="unfounded") is S.IN_PROGRESS


def test_a_referral_waits_for_the_mediation_outcome():
    assert next_state(S.TRIAGED, A.REFER_TO_MEDIATION) is S.RESOLVED
    with pytest.raises(RuleViolation):
        next_state(S.RESOLVED, A.CLOSE, outcome="referred_to_mediation")
    with pytest.raises(RuleViolation):
        next_state(S.RESOLVED, A.REOPEN, outcome="referred_to_mediation")
    assert next_state(S.RESOLVED, A.MEDIATED, outcome="referred_to_mediation") is S.RESOLVED
    assert next_state(S.RESOLVED, A.RETURN_TO_POLICE, outcome="referred_to_mediation") is S.ASSIGNED
    with pytest.raises(RuleViolation):  # a mediation outcome for an incident police solved themselves
        next_state(S.RESOLVED, A.MEDIATED, outcome="solved")


def test_crime_tip_deadline_is_20_days_extendable_once_to_2_months():
    received = date(2026, 12, 31)
    first = crime_tip_deadline(received)
    assert first == date(2027, 1, 20)
    assert extended_deadline(received, first, False, None) == date(2027, 2, 28)  # month end clamps
    assert extended_deadline(received, first, False, date(2027, 2, 10)) == date(2027, 2, 10)
    with pytest.raises(RuleViolation, match="only once"):
        extended_deadline(received, date(2027, 2, 10), True, None)
    with pytest.raises(RuleViolation, match="at most 2 months"):
        extended_deadline(received, first, False, date(2027, 3, 1))
    with pytest.raises(InvalidInput):
        extended_deadline(received, first, False, date(2027, 1, 10))
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)


def test_overdue_once_per_deadline_and_only_while_open():
    deadline = date(2026, 11, 20)
    assert not is_overdue(S.IN_PROGRESS, deadline, None, date(2026, 11, 20))  # the last day still counts
    assert is_overdue(S.IN_PROGRESS, deadline, None, date(2026, 11, 21))
    assert not is_overdue(S.IN_PROGRESS, deadline, deadline, date(2026, 11, 22))  # already flagged
    assert not is_overdue(S.RESOLVED, deadline, None, date(2026, 11, 21))
    assert is_overdue(S.ASSIGNED, date(2027, 1, 20), deadline, date(2027, 1, 21))  # the extended one passed too
    assert not is_overdue(S.RECEIVED, None, None, date(2030, 1, 1))  # not a crime tip


def test_follow_up_secret_is_checked_against_its_hash_only():
    secret = new_secret()
    stored = hash_secret(secret)
    assert secret not in stored and secret_matches(secret, stored)
    assert not secret_matches(secret + "x", stored) and not secret_matches(secret, None)
    codes = {new_follow_up_code() for _ in range(200)}
    assert len(codes) == 200 and all(c.startswith("TB-") for c in codes)


def _report(**over) -> dict:
    body = {"category": "dispute", "place": {"group_id": "g"}, "description": "Tranh chấp lối đi",
            "reporter": {"full_name": "Trần Thị Bình"}}
    body.update(over)
    return body


def test_an_anonymous_report_carries_no_reporter_and_drops_file_metadata():
    with pytest.raises(ValidationError):
        ReportIncident.model_validate(_report(anonymous=True))
    with pytest.raises(ValidationError):
        ReportIncident.model_validate(_report(reporter=None))
    evidence = [{"media_type": "video/mp4", "size_bytes": 5, "sha256": "b" * 64, "file_name": "VID_Binh.mp4",
                 "captured_at": "2026-11-01T10:00:00+07:00"}]
    anon = ReportIncident.model_validate(_report(anonymous=True, reporter=None, evidence=evidence))
    assert anon.stored_evidence() == [{"media_type": "video/mp4", "size_bytes": 5, "sha256": "b" * 64}]
    named = ReportIncident.model_validate(_report(evidence=evidence))
    assert named.stored_evidence()[0]["file_name"] == "VID_Binh.mp4"


def test_intake_rejects_malformed_places_and_duplicate_cameras():
    with pytest.raises(ValidationError):
        ReportIncident.model_validate(_report(place={"group_id": "g", "latitude": 10.0}))
    with pytest.raises(ValidationError):
        ReportIncident.model_validate(_report(footage=[{"camera_id": "c"}, {"camera_id": "c"}]))
    with pytest.raises(ValidationError):
        ReportIncident.model_validate(_report(happened_at="2026-11-01T10:00:00"))  # no time zone
