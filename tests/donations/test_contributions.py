"""Contributions and their corrections: whole đồng, within the period, unique receipts, collected by a member
of a collecting team, never counted twice on a retry, corrected only by one reversing entry."""

from __future__ import annotations

import asyncio

import pytest

from tests.donations.conftest import OFFICIAL, Service, collector, outbox_types

pytestmark = pytest.mark.integration


async def _raised(service: Service) -> int:
    return int(await service.db.fetchval("donations", "SELECT COALESCE(sum(amount_vnd), 0) FROM ledger_entries"))


async def test_a_member_records_what_their_team_collected(service: Service):
    campaign_id = await service.open_campaign()
    r = await service.contribute(campaign_id, 3, 1_500_000, receipt="PT-0001", donor_kind="household",
                                 donor_ref="hh-17", public_name="Gia đình ông Lê Văn Tâm", channel="bank_transfer")
    assert r.status_code == 201, r.text
    assert r.json()["raised_vnd"] == 1_500_000
    [event] = await outbox_types(service.db, "donations.contribution.recorded.v1")
    assert event["subject"] == campaign_id  # a campaign's ledger stays in order on one key
    assert (event["amount_vnd"], event["channel"], event["team_id"], event["collected_by_resident_id"]) == (
        1_500_000, "bank_transfer", "team-03", "member-03")
    assert event["donor_kind"] == "household" and event["in_kind"] is False
    # the donor's identity and public name stay in the ward's report, never in an event
    assert "hh-17" not in str(event) and "Tâm" not in str(event)


async def test_a_refused_contribution_is_a_problem_and_leaves_nothing(service: Service):
    """The wiring: money in a float is refused by the schema, a rule by the handler; both answer an RFC 9457 problem
    and write nothing (the rules themselves: test_handlers.py)."""
    campaign_id = await service.open_campaign()
    assert (await service.contribute(campaign_id, 1, 100_000, receipt="PT-1")).status_code == 201
    for amount, receipt, status, says in [(100_000.5, "PT-2", 422, "schema"), (200_000, "PT-1", 409, "already used"),
                                          (0, "PT-3", 422, "greater than 0")]:
        r = await service.contribute(campaign_id, 1, amount, receipt=receipt)  # type: ignore[arg-type]
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert says in r.json()["detail"]
    not_collecting = await service.contribute(campaign_id, 5, 100_000, team_id="team-01")
    assert not_collecting.status_code == 403
    assert await _raised(service) == 100_000
    assert await service.db.fetchval("donations", "SELECT count(*) FROM ledger_entries") == 1


async def test_a_retried_request_with_the_same_idempotency_key_counts_once(service: Service):
    campaign_id = await service.open_campaign()
    first, *retries = await asyncio.gather(*(
        service.contribute(campaign_id, 4, 750_000, receipt="PT-77", key="collect-77") for _ in range(5)))
    assert {r.status_code for r in [first, *retries]} == {201}
    assert len({r.json()["contribution_id"] for r in [first, *retries]}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in [first, *retries]) == 4
    assert await _raised(service) == 750_000
    changed = await service.contribute(campaign_id, 4, 900_000, receipt="PT-77", key="collect-77")
    assert changed.status_code == 422 and "different request" in changed.json()["detail"]
    assert len(await outbox_types(service.db, "donations.contribution.recorded.v1")) == 1


async def test_corrections_are_single_reversing_entries_linked_to_the_original(service: Service):
    campaign_id = await service.open_campaign()
    c1 = (await service.contribute(campaign_id, 6, 2_000_000, receipt="PT-6")).json()["contribution_id"]
    c2 = (await service.contribute(campaign_id, 7, 1_000_000, receipt="PT-7")).json()["contribution_id"]

    async def reverse(cid: str, headers: dict = OFFICIAL, **body: object):
        return await service.client.post(f"/v1/contributions/{cid}/reversals",
                                         json={"kind": "refund", "reason": "người góp xin hoàn lại", **body},
                                         headers=headers)

    assert (await reverse(c1, headers=collector(6))).status_code == 403
    too_much = await reverse(c1, amount_vnd=2_000_001)
    assert too_much.status_code == 422 and "cannot exceed" in too_much.json()["detail"]
    partial = await reverse(c1, amount_vnd=500_000)
    assert partial.status_code == 201 and partial.json()["raised_vnd"] == 2_500_000
    again = await reverse(c1, kind="void")
    assert again.status_code == 422 and "already reversed" in again.json()["detail"]
    voided = await reverse(c2, kind="void", reason="ghi nhầm phiếu thu")
    assert voided.status_code == 201
    reversal_of_a_reversal = await reverse(voided.json()["reversal_id"])
    assert reversal_of_a_reversal.status_code == 404
    assert (await reverse("no-such-id")).status_code == 404

    rows = await service.db.fetch("donations", "SELECT entry_kind, amount_vnd, reverses_entry_id FROM ledger_entries "
                                  "WHERE reverses_entry_id IS NOT NULL ORDER BY seq")
    assert [(r["entry_kind"], r["amount_vnd"], r["reverses_entry_id"]) for r in rows] == [
        ("refund", -500_000, c1), ("void", -1_000_000, c2)]
    assert await _raised(service) == 1_500_000
    events = await outbox_types(service.db, "donations.contribution.reversed.v1")
    assert [(e["contribution_id"], e["amount_vnd"], e["team_id"], e["kind"]) for e in events] == [
        (c1, 500_000, "team-06", "refund"), (c2, 1_000_000, "team-07", "void")]


async def test_a_team_that_collects_after_the_target_was_reached_is_credited_too(service: Service):
    """Issue 14: which teams were credited depended on the order the contributions arrived (the target's event
    held only the teams that had collected by then). Every team that collected is credited, once."""
    campaign_id = await service.open_campaign(target_vnd=15_000_000)
    for n, amount in [(1, 10_000_000), (1, 6_000_000), (2, 10_000_000), (2, 1_000_000)]:
        r = await service.contribute(campaign_id, n, amount)
        assert r.status_code == 201, r.text
    [reached] = await outbox_types(service.db, "donations.campaign.target_reached.v1")
    credited = {t for t, total in reached["team_totals"].items() if total > 0}
    later = await outbox_types(service.db, "donations.campaign.team_credited.v1")
    assert [(e["team_id"], e["total_vnd"]) for e in later] == [("team-02", 10_000_000)]
    assert credited | {e["team_id"] for e in later} == {"team-01", "team-02"}
