"""The identity service's rules that need no storage: lockout over time, the claims of a token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.identity import domain

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def fresh() -> dict:
    return {"failed_attempts": 0, "lockouts": 0, "locked_until": None}


def test_a_lock_ends_and_the_next_one_is_longer():
    account = fresh()
    for _ in range(domain.LOCK_AFTER):
        account = domain.after_failure(account, NOW)
    assert domain.is_locked(account, NOW) and account["locked_until"] == NOW + timedelta(minutes=1)
    later = NOW + timedelta(minutes=1, seconds=1)
    assert not domain.is_locked(account, later)
    for _ in range(domain.LOCK_AFTER):
        account = domain.after_failure(account, later)
    assert account["locked_until"] == later + timedelta(minutes=2) and account["lockouts"] == 2


def test_fewer_failures_than_the_threshold_do_not_lock():
    account = fresh()
    for _ in range(domain.LOCK_AFTER - 1):
        account = domain.after_failure(account, NOW)
    assert not domain.is_locked(account, NOW) and account["failed_attempts"] == domain.LOCK_AFTER - 1


def test_a_tokens_claims_are_those_the_services_read():
    claims = domain.access_claims({"account_id": "acc-1", "roles": ["team_member", "resident"], "ward_id": "phu-son",
                                   "display_name": "Lan", "resident_id": "r-1", "household_id": None,
                                   "team_ids": ["t-2", "t-1"]})
    assert claims == {"sub": "acc-1", "roles": ["resident", "team_member"], "ward": "phu-son", "name": "Lan",
                      "resident_id": "r-1", "team_ids": ["t-1", "t-2"]}
