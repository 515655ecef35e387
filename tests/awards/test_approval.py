"""Criteria propose nominations with their evidence; the council reviews; the issuer decides; awards are
granted, verified, revoked; anonymous reporters stay anonymous unless they choose otherwise."""

from __future__ import annotations

import json

import pypdfium2 as pdfium
import pytest

from services.awards import domain
from services.awards.bootstrap import build
from services.awards.certificate import ANONYMOUS_REPORTER
from shared.claims import claim_secret
from tests.awards.conftest import CITY_OFFICIAL, WARD_OFFICIAL, Service, started  # noqa: F401 - fixture
from tests.awards.seed import (
    CRITERIA,
    ISSUERS,
    MEDIATION_TEAM,
    REPORTER,
    REPORTER_CLAIM_SECRET,
    WARD,
    incident_events,
    mediation_events,
    registry_events,
)
from tests.conftest import auth
from tests.harness import assert_indistinguishable, serve

pytestmark = pytest.mark.integration

MEDIATOR_CRITERION = CRITERIA[2]  # a mediator with at least 5 successful mediations, from the ward chairman
TEAM_CRITERION = CRITERIA[0]  # a mediation team with at least 10, from the city chairman
REPORTER_CRITERION = CRITERIA[3]


def _pdf_text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    return doc[0].get_textpage().get_text_range().replace("\r", "")


async def test_criteria_propose_with_evidence_once_and_the_issuer_grants_after_review(svc):
    med = mediation_events()
    await svc.feed(*registry_events(), *med)
    await svc.configure(ISSUERS, [MEDIATOR_CRITERION, TEAM_CRITERION])

    proposed = await svc.evaluate()
    by_ref = {p["recipient_ref"]: p for p in proposed}
    assert set(by_ref) == {"r-hung", "r-lan", MEDIATION_TEAM}  # Minh has 4, below the threshold of 5
    assert by_ref["r-lan"]["recipient_name"] == "Phạm Thị Lan"
    assert set(by_ref[MEDIATION_TEAM]["evidence_event_ids"]) == {str(e.id) for e in med}
    assert by_ref[MEDIATION_TEAM]["issuer"] == "city_chairman"
    assert await svc.evaluate() == []  # an achievement already nominated is not proposed again

    team = by_ref[MEDIATION_TEAM]
    nid = team["nomination_id"]
    # The issuer decides only after the council's review.
    r = await svc.client.post(f"/v1/nominations/{nid}/approve", json={"decision_number": "9/QĐ-UBND",
                              "decision_date": "2024-08-10"}, headers=CITY_OFFICIAL)
    assert r.status_code == 422 and "reviewed" in r.json()["detail"]
    assert (await svc.client.post(f"/v1/nominations/{nid}/review", json={"council_minutes_ref": "BB 05/HĐTĐKT"},
                                  headers=WARD_OFFICIAL)).status_code == 200
    # A ward official cannot sign for the city chairman.
    r = await svc.client.post(f"/v1/nominations/{nid}/approve", json={"decision_number": "9/QĐ-UBND",
                              "decision_date": "2024-08-10"}, headers=WARD_OFFICIAL)
    assert r.status_code == 403
    # The city chairman of Thanh Hóa city is configured until 30 June 2025 (the city level changed in 2025).
    r = await svc.client.post(f"/v1/nominations/{nid}/approve", json={"decision_number": "9/QĐ-UBND",
                              "decision_date": "2025-08-10"}, headers=CITY_OFFICIAL)
    assert r.status_code == 422 and "no city_chairman is configured" in r.json()["detail"]
    assert await svc.db.fetchval("awards", "SELECT count(*) FROM awards") == 0  # nothing half written

    granted = await svc.grant(team, number="9/QĐ-UBND", review=False)
    assert granted["status"] == "approved"
    r = await svc.client.post(f"/v1/nominations/{nid}/reject", json={"reason": "Đổi ý"}, headers=CITY_OFFICIAL)
    assert r.status_code == 422  # a decision is final

    [event] = await svc.outbox("awards.award.granted.v1")
    assert event["recipient_kind"] == "collective" and event["recipient_name"] == "Tổ hòa giải Trần Phú"
    assert event["issuer"] == "city_chairman" and event["decision_number"] == "9/QĐ-UBND"
    assert event["verification_code"] == granted["verification_code"] and event["year"] == 2024
    assert event["achievement_ids"] == team["achievement_ids"]
    [public] = await svc.outbox("public.awards.award.granted.v1")
    assert "recipient_ref" not in public and "verification_code" not in public
    assert [e["nomination_id"] for e in await svc.outbox("awards.nomination.approved.v1")] == [nid]
    assert len(await svc.outbox("awards.nomination.proposed.v1")) == 3
    assert len(await svc.outbox("awards.nomination.reviewed.v1")) == 1


async def test_a_nomination_by_hand_over_http_refuses_bad_input_and_other_roles(svc):
    """The rules themselves are in test_handlers.py; here, how they answer over HTTP."""
    await svc.feed(*registry_events())
    base = {"year": 2024, "recipient_kind": "individual", "recipient_ref": "r-lan", "title": "Cá nhân tiêu biểu",
            "issuer": "ward_chairman"}
    r = await svc.client.post(f"/v1/wards/{WARD}/nominations", json=base, headers=WARD_OFFICIAL)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "needs evidence" in r.json()["detail"]
    body = {**base, "evidence_note": "Biên bản họp tổ dân phố Trần Phú số 3/BB"}
    r = await svc.client.post(f"/v1/wards/{WARD}/nominations", json={**body, "surprise": 1}, headers=WARD_OFFICIAL)
    assert r.status_code == 422  # unknown fields are refused
    r = await svc.client.post(f"/v1/wards/{WARD}/nominations", json={**body, "ward_id": "dong-ve"},
                              headers=WARD_OFFICIAL)
    assert r.status_code == 422  # the ward is the path's, not the body's
    for headers in (auth("resident", WARD), auth("police", WARD), auth("ward_official", "other-ward")):
        r = await svc.client.post(f"/v1/wards/{WARD}/nominations", json=body, headers=headers)
        assert r.status_code == 403
    assert await svc.db.fetchval("awards", "SELECT count(*) FROM nominations") == 0
    # With an Idempotency-Key, a retried request (its JSON in another key order) nominates once.
    headers = {**WARD_OFFICIAL, "Idempotency-Key": "nominate-lan-2024"}
    first = await svc.client.post(f"/v1/wards/{WARD}/nominations", json=body, headers=headers)
    again = await svc.client.post(f"/v1/wards/{WARD}/nominations", headers={**headers, "content-type": "application/json"},
                                  content=json.dumps(dict(reversed(list(body.items())))))
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await svc.db.fetchval("awards", "SELECT count(*) FROM nominations") == 1


async def test_certificate_verification_and_revocation(svc):
    await svc.feed(*registry_events(), *mediation_events())
    await svc.configure(ISSUERS, [MEDIATOR_CRITERION])
    lan = next(p for p in await svc.evaluate() if p["recipient_ref"] == "r-lan")
    award = await svc.grant(lan, number="15/QĐ-UBND")
    code = award["verification_code"]

    r = await svc.client.post(f"/v1/awards/{award['award_id']}/certificate", headers=WARD_OFFICIAL)
    assert r.status_code == 201
    pdf = await svc.client.get(f"/v1/awards/{award['award_id']}/certificate.pdf", headers=WARD_OFFICIAL)
    assert pdf.headers["content-type"] == "application/pdf"
    text = _pdf_text(pdf.content)
    for expected in ("GIẤY KHEN", "CHỦ TỊCH ỦY BAN NHÂN DÂN PHƯỜNG PHÚ SƠN", "Cá nhân: Phạm Thị Lan",
                     "Hòa giải viên tiêu biểu năm 2024", "Quyết định số 15/QĐ-UBND ngày 10 tháng 08 năm 2024",
                     f"Mã xác thực: {code}", "Lê Thị Phương"):
        assert expected in text
    [issued] = await svc.outbox("awards.certificate.issued.v1")
    assert issued["sha256"] == r.json()["sha256"]

    verified = await svc.client.get(f"/v1/public/certificates/{code.lower()}")  # no token; case does not matter
    assert verified.status_code == 200
    assert verified.json()["valid"] is True and verified.json()["recipient"] == "Phạm Thị Lan"
    assert (await svc.client.get("/v1/public/certificates/GK-2024-NOPE-NOPE")).status_code == 404

    # Revocation is the issuer's: the city cannot revoke the ward's award.
    revoke = {"reason": "Thành tích không đúng sự thật", "revoked_on": "2024-10-01"}
    r = await svc.client.post(f"/v1/awards/{award['award_id']}/revoke", json=revoke, headers=CITY_OFFICIAL)
    assert r.status_code == 403
    r = await svc.client.post(f"/v1/awards/{award['award_id']}/revoke", json=revoke, headers=WARD_OFFICIAL)
    assert r.status_code == 200
    verified = (await svc.client.get(f"/v1/public/certificates/{code}")).json()
    assert verified["valid"] is False and verified["status"] == "revoked"
    assert verified["revoked_reason"] == revoke["reason"]
    [revoked] = await svc.outbox("awards.award.revoked.v1")
    assert revoked["verification_code"] == code and revoked["reason"] == revoke["reason"]
    [public] = await svc.outbox("public.awards.award.revoked.v1")  # other wards learn that, never why
    assert (public["award_id"], public["revoked_on"]) == (award["award_id"], "2024-10-01")
    assert "reason" not in public and code not in str(public)
    assert (await svc.client.post(f"/v1/awards/{award['award_id']}/revoke", json=revoke,
                                  headers=WARD_OFFICIAL)).status_code == 422
    festival = (await svc.client.get(f"/v1/wards/{WARD}/festival/2024", headers=WARD_OFFICIAL)).json()
    assert festival["awards"] == []  # a revoked award is not read out at the festival


async def test_an_anonymous_reporter_is_recognised_by_pseudonym_and_named_only_by_choice(svc):
    await svc.feed(*incident_events())
    await svc.configure(ISSUERS, [REPORTER_CRITERION])
    [nomination] = await svc.evaluate()
    assert nomination["recipient_kind"] == "reporter" and nomination["recipient_ref"] == REPORTER
    assert nomination["recipient_name"] is None
    award = await svc.grant(nomination, number="21/QĐ-UBND")
    [granted] = await svc.outbox("awards.award.granted.v1")
    assert granted["recipient_kind"] == "reporter" and granted["recipient_ref"] == REPORTER
    assert granted["recipient_name"] is None

    await svc.client.post(f"/v1/awards/{award['award_id']}/certificate", headers=WARD_OFFICIAL)
    pdf = await svc.client.get(f"/v1/awards/{award['award_id']}/certificate.pdf", headers=WARD_OFFICIAL)
    assert f"Cá nhân: {ANONYMOUS_REPORTER}" in _pdf_text(pdf.content)
    code = award["verification_code"]
    assert (await svc.client.get(f"/v1/public/certificates/{code}")).json()["recipient"] == ANONYMOUS_REPORTER

    # Whoever holds only the printed code (it is on the certificate, and verifiable by anyone) changes nothing.
    before = await svc.db.fetch("awards", "SELECT claimed_name, certificate_sha256 FROM awards")
    for body in ({"display_name": "Kẻ mạo danh"},  # the old claim: no proof at all
                 {"display_name": "Kẻ mạo danh", "claim_secret": "x" * 43},  # a wrong proof
                 {"display_name": "Kẻ mạo danh", "claim_secret": claim_secret("another-follow-up-secret", REPORTER)}):
        r = await svc.client.post(f"/v1/public/certificates/{code}/claim", json=body)
        assert r.status_code in (403, 422), r.text
        assert r.headers["content-type"] == "application/problem+json"
    r = await svc.client.post(f"/v1/public/certificates/{code}/claim/withdraw", json={"claim_secret": "x" * 43})
    assert r.status_code == 403
    assert await svc.db.fetch("awards", "SELECT claimed_name, certificate_sha256 FROM awards") == before
    assert (await svc.client.get(f"/v1/public/certificates/{code}")).json()["recipient"] == ANONYMOUS_REPORTER

    # Every anonymous caller is one principal: a stored reply would be shared between strangers, so no key is taken.
    for route, body in (("claim", {"display_name": "Anh Tư chợ Vườn Hoa", "claim_secret": REPORTER_CLAIM_SECRET}),
                        ("claim/withdraw", {"claim_secret": REPORTER_CLAIM_SECRET})):
        r = await svc.client.post(f"/v1/public/certificates/{code}/{route}", headers={"Idempotency-Key": "k-1"},
                                  json=body)
        assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
    assert await svc.db.fetchval("awards", "SELECT count(*) FROM idempotency_keys") == 0
    assert await svc.db.fetch("awards", "SELECT claimed_name, certificate_sha256 FROM awards") == before

    # The reporter, with the claim secret the follow-up showed them, chooses to be named.
    r = await svc.client.post(f"/v1/public/certificates/{code}/claim",
                              json={"display_name": "Anh Tư chợ Vườn Hoa", "claim_secret": REPORTER_CLAIM_SECRET})
    assert r.status_code == 200, r.text
    assert (await svc.client.get(f"/v1/public/certificates/{code}")).json()["recipient"] == "Anh Tư chợ Vườn Hoa"
    # The certificate already issued is rendered again with the chosen name.
    pdf = await svc.client.get(f"/v1/awards/{award['award_id']}/certificate.pdf", headers=WARD_OFFICIAL)
    assert "Cá nhân: Anh Tư chợ Vườn Hoa" in _pdf_text(pdf.content)
    # Someone else with the code still cannot replace it.
    r = await svc.client.post(f"/v1/public/certificates/{code}/claim", json={"display_name": "Kẻ mạo danh",
                                                                             "claim_secret": "y" * 43})
    assert r.status_code == 403
    assert (await svc.client.get(f"/v1/public/certificates/{code}")).json()["recipient"] == "Anh Tư chợ Vườn Hoa"
    # The chosen name never leaves in an event, nor lands in the audit trail.
    outbox = await svc.db.fetch("awards", "SELECT payload FROM outbox")
    assert not [r for r in outbox if "Anh Tư".encode() in bytes(r["payload"])]
    audit = await svc.db.fetch("awards", "SELECT details::text AS d, actor FROM audit_log WHERE command = 'award.claim'")
    assert audit and all("Anh Tư" not in row["d"] and row["actor"] == "public" for row in audit)
    assert not await svc.db.fetch("awards", "SELECT 1 FROM audit_log WHERE details::text LIKE $1",
                                  f"%{REPORTER_CLAIM_SECRET}%")

    # With the same proof the reporter withdraws: the certificate reads "anonymous" again, the PDF too.
    r = await svc.client.post(f"/v1/public/certificates/{code}/claim/withdraw",
                              json={"claim_secret": REPORTER_CLAIM_SECRET})
    assert r.status_code == 200 and r.json()["claimed"] is False
    assert (await svc.client.get(f"/v1/public/certificates/{code}")).json()["recipient"] == ANONYMOUS_REPORTER
    assert await svc.db.fetchval("awards", "SELECT claimed_name FROM awards WHERE verification_code = $1", code) is None
    pdf = await svc.client.get(f"/v1/awards/{award['award_id']}/certificate.pdf", headers=WARD_OFFICIAL)
    assert f"Cá nhân: {ANONYMOUS_REPORTER}" in _pdf_text(pdf.content) and "Anh Tư" not in _pdf_text(pdf.content)
    # Only a reporter's award can be claimed.
    assert json.loads((await svc.client.post("/v1/public/certificates/GK-2024-AAAA-BBBB/claim",
                                             json={"display_name": "Ai đó", "claim_secret": "z" * 43})).text
                      )["status"] == 404


async def test_claims_are_rate_limited_per_code_and_per_address_with_retry_after(db, started):  # noqa: F811
    async with serve(build, "awards", db, started, kind=Service, claim_rate_limit=3, claim_rate_window_s=3600) as svc:
        await svc.feed(*incident_events())
        await svc.configure(ISSUERS, [REPORTER_CRITERION])
        [nomination] = await svc.evaluate()
        code = (await svc.grant(nomination))["verification_code"]
        wrong = {"display_name": "Kẻ mạo danh", "claim_secret": "x" * 43}
        answers = [await svc.client.post(f"/v1/public/certificates/{code}/claim", json=wrong) for _ in range(3)]
        assert [r.status_code for r in answers] == [403, 403, 403]
        refused = await svc.client.post(f"/v1/public/certificates/{code}/claim", json=wrong)
        assert refused.status_code == 429 and refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
        # Past the limit even the right proof waits (the counter does not tell right from wrong), and nothing changes.
        right = {"display_name": "Anh Tư", "claim_secret": REPORTER_CLAIM_SECRET}
        assert (await svc.client.post(f"/v1/public/certificates/{code}/claim", json=right)).status_code == 429
        assert (await svc.client.post(f"/v1/public/certificates/{code}/claim/withdraw",
                                      json={"claim_secret": REPORTER_CLAIM_SECRET})).status_code == 429
        assert await svc.db.fetchval("awards", "SELECT claimed_name FROM awards") is None
        # Counted per client address too: other codes from the same address are refused as well.
        assert (await svc.client.post("/v1/public/certificates/GK-2024-AAAA-BBBB/claim", json=wrong)).status_code == 429
        # The counters hold no client address, only keyed pseudonyms and codes.
        buckets = [r["bucket"] for r in await svc.db.fetch("awards", "SELECT bucket FROM rate_limits")]
        assert buckets and not [b for b in buckets if "127.0.0.1" in b or "testclient" in b]


async def test_certificate_verification_is_rate_limited_per_address(db, started):  # noqa: F811
    async with serve(build, "awards", db, started, kind=Service, public_rate_limit=2, public_rate_window_s=3600) as svc:
        answers = [await svc.client.get("/v1/public/certificates/GK-2024-AAAA-BBBB") for _ in range(3)]
        assert [r.status_code for r in answers] == [404, 404, 429]  # enumerating codes is bounded
        assert int(answers[-1].headers["Retry-After"]) >= 1


async def test_bad_input_gets_a_problem_and_writes_nothing(svc):
    r = await svc.client.post(f"/v1/wards/{WARD}/criteria", json={"year": 2024, "achievement_kind": "tips_solved",
                              "holder_kind": "collective", "min_count": 1, "title": "Khen", "issuer": "ward_chairman"},
                              headers=WARD_OFFICIAL)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = await svc.client.post(f"/v1/wards/{WARD}/issuers/president", json=ISSUERS["ward_chairman"],
                              headers=WARD_OFFICIAL)
    assert r.status_code == 422
    r = await svc.client.post(f"/v1/wards/{WARD}/issuers/city_chairman", json=ISSUERS["city_chairman"],
                              headers=WARD_OFFICIAL)
    assert r.status_code == 403  # the city's authority is configured by the city
    assert await svc.db.fetchval("awards", "SELECT count(*) FROM criteria") == 0
    assert await svc.db.fetchval("awards", "SELECT count(*) FROM issuers") == 0
    assert (await svc.client.get(f"/v1/wards/{WARD}/festival/2024")).status_code == 401
    assert domain.HOLDER_KINDS["tips_solved"] == {"reporter"}


async def test_the_daily_job_proposes_this_years_nominations(svc):
    from shared.clock import ward_today

    year = ward_today().year
    events = [e.model_copy(update={"concluded_on": e.concluded_on.replace(year=year)}) for e in mediation_events()]
    await svc.feed(*registry_events(), *events)
    await svc.configure(ISSUERS, [{**MEDIATOR_CRITERION}], year=year)
    await svc.app.state.runtime.run_job("evaluate-criteria")
    assert await svc.app.state.runtime.run_job("evaluate-criteria") == 0  # nothing proposed twice
    rows = await svc.db.fetch("awards", "SELECT recipient_ref, origin FROM nominations ORDER BY recipient_ref")
    assert [(r["recipient_ref"], r["origin"]) for r in rows] == [("r-hung", "criterion"), ("r-lan", "criterion")]


async def test_another_wards_nominations_and_awards_answer_as_ones_that_do_not_exist(svc):
    await svc.feed(*registry_events())
    await svc.configure(ISSUERS, [])
    made = await svc.client.post(f"/v1/wards/{WARD}/nominations", headers=WARD_OFFICIAL, json={
        "year": 2024, "recipient_kind": "collective", "recipient_ref": MEDIATION_TEAM, "title": "Tập thể tiêu biểu",
        "issuer": "ward_chairman", "evidence_note": "10 vụ hòa giải thành"})
    assert made.status_code == 201, made.text
    nomination = made.json()
    other = await svc.client.post(f"/v1/wards/{WARD}/nominations", headers=WARD_OFFICIAL, json={
        "year": 2024, "recipient_kind": "collective", "recipient_ref": MEDIATION_TEAM, "title": "Lần hai",
        "issuer": "ward_chairman", "evidence_note": "ghi chú"})
    award = await svc.grant(nomination)
    elsewhere = auth("ward_official", "dong-ve")
    nobody = "nomination-or-award-that-is-not"
    for method, path, theirs_id, body in [
        ("POST", "/v1/nominations/{}/review", other.json()["nomination_id"], {"council_minutes_ref": "BB 1"}),
        ("POST", "/v1/nominations/{}/reject", other.json()["nomination_id"], {"reason": "không đủ"}),
        ("GET", "/v1/awards/{}", award["award_id"], None),
        ("POST", "/v1/awards/{}/revoke", award["award_id"], {"reason": "nhầm", "revoked_on": "2024-09-01"}),
        ("POST", "/v1/awards/{}/certificate", award["award_id"], None),
        ("GET", "/v1/awards/{}/certificate.pdf", award["award_id"], None),
    ]:
        theirs = await svc.client.request(method, path.format(theirs_id), json=body, headers=elsewhere)
        unknown = await svc.client.request(method, path.format(nobody), json=body, headers=elsewhere)
        assert_indistinguishable(theirs, theirs_id, unknown, nobody)
