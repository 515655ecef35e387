"""Step 4, awards (thi đua, khen thưởng): the festival (Ngày hội toàn dân bảo vệ an ninh Tổ quốc). The issuers
and the year's criteria are configured, nominations are proposed from the achievements the other services'
events earned, reviewed by the council, approved by the ward chairman and the city chairman, and certificates of
merit (Giấy khen) granted; one PDF is issued, downloaded and checked with the public verification endpoint."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from demo.client import DemoError, Platform
from demo.ward import Ward
from shared.clock import ward_today

ISSUERS = {
    "ward_chairman": {"title": "Chủ tịch Ủy ban nhân dân phường Phú Sơn",
                      "authority": "Ủy ban nhân dân phường Phú Sơn", "valid_from": "2020-01-01"},
    "city_chairman": {"title": "Chủ tịch Ủy ban nhân dân thành phố Thanh Hóa",
                      "authority": "Ủy ban nhân dân thành phố Thanh Hóa", "valid_from": "2020-01-01"},
}


def criteria(year: int) -> list[dict[str, Any]]:
    """Who the article's festival honours, as criteria: the city chairman the mediation team (10 successful
    mediations) and the mobilisation teams (the camera campaign reached its target); the ward the mediators, the
    reporters of solved tips, the group whose cameras helped crack cases, and the fire-prevention teams."""
    return [
        {"achievement_kind": "mediations_succeeded", "holder_kind": "collective", "min_count": 10,
         "title": f"Đã có thành tích xuất sắc trong công tác hòa giải ở cơ sở năm {year}", "issuer": "city_chairman"},
        {"achievement_kind": "campaign_target_reached", "holder_kind": "collective", "min_amount_vnd": 5_000_000,
         "title": "Đã có thành tích vận động nhân dân lắp đặt camera an ninh", "issuer": "city_chairman"},
        {"achievement_kind": "mediations_succeeded", "holder_kind": "individual", "min_count": 5,
         "title": f"Hòa giải viên tiêu biểu năm {year}", "issuer": "ward_chairman"},
        {"achievement_kind": "tips_solved", "holder_kind": "reporter", "min_count": 1,
         "title": "Đã có thành tích phát hiện, tố giác tội phạm", "issuer": "ward_chairman"},
        {"achievement_kind": "cameras_helped", "holder_kind": "collective", "min_count": 2,
         "title": "Camera an ninh giúp phá án ma túy, trộm cắp tài sản", "issuer": "ward_chairman"},
        {"achievement_kind": "fire_prevention_activity", "holder_kind": "collective", "min_count": 3,
         "title": "Tổ PCCC liên gia hoạt động hiệu quả", "issuer": "ward_chairman"},
    ]


@dataclass
class Festival:
    year: int
    award_ids: list[str] = field(default_factory=list)
    certificate: dict[str, Any] = field(default_factory=dict)
    anonymous_recognition: list[dict[str, Any]] = field(default_factory=list)
    #: What a claim on the anonymous reporter's certificate did: with the printed code alone, with the follow-up's
    #: claim secret, and its withdrawal (status and the name the public verification then shows).
    anonymous_claim: list[tuple[str, int, str]] = field(default_factory=list)


def expected_achievements(w: Ward) -> Counter:
    """(kind, holder_kind) -> how many of this run's achievements must have arrived before nominating."""
    return Counter({("mediations_succeeded", "collective"): 1, ("mediations_succeeded", "individual"): 2,
                    ("campaign_target_reached", "collective"): len(w.teams["mobilisation"]),
                    ("tips_solved", "reporter"): 2, ("cameras_helped", "collective"): 1,
                    ("fire_prevention_activity", "collective"): len(w.teams["fire_prevention"])})


def _ready(row: dict[str, Any]) -> bool:
    """An achievement that meets its criterion (the events behind it have all arrived)."""
    minimum = {"mediations_succeeded": 10, "tips_solved": 1, "cameras_helped": 2, "fire_prevention_activity": 3}
    return row["count"] >= minimum.get(row["kind"], 0) and (row["kind"] != "campaign_target_reached"
                                                            or row["amount_vnd"] > 0)


async def follow_up(api: Platform, code_and_secret: dict[str, str]) -> dict[str, Any]:
    """What the anonymous reporter sees with their follow-up code and secret (POST: the secret stays out of URLs)."""
    someone = api.actor("someone", "resident")
    return (await api.post("incidents", "/v1/follow-up", someone, code_and_secret, ok=(200,),
                           idempotent=False)).json()


async def run(api: Platform, w: Ward, anonymous_tip: dict[str, str]) -> Festival:
    ward_id = api.config.ward_id
    year = ward_today().year
    official = api.actor("ward-official", "ward_official")
    council = api.actor("emulation-council", "ward_official")  # Hội đồng thi đua - khen thưởng phường
    city = api.actor("city-official", "city_official", ward="*")
    deciders = {"ward_chairman": api.actor("ward-chairman", "ward_official"), "city_chairman": city}

    for issuer, body in ISSUERS.items():
        await api.ok("awards", f"/v1/wards/{ward_id}/issuers/{issuer}", deciders[issuer], body)
    configured = await api.list_all("awards", f"/v1/wards/{ward_id}/criteria", official, year=year)
    have = {(c["achievement_kind"], c["holder_kind"], c["issuer"], c["title"]) for c in configured}
    for c in criteria(year):  # configured once a year: a re-run adds none
        if (c["achievement_kind"], c["holder_kind"], c["issuer"], c["title"]) not in have:
            await api.ok("awards", f"/v1/wards/{ward_id}/criteria", official, {"year": year, **c})

    # The achievements come from registry, mediation, incidents and donations events: wait until all are in.
    want = expected_achievements(w)

    async def achievements_in() -> bool:
        rows = await api.list_all("awards", f"/v1/wards/{ward_id}/achievements", official, year=year)
        mine = Counter((r["kind"], r["holder_kind"]) for r in rows
                       if r["group_id"] == w.group_id and r["award_id"] is None and _ready(r))
        return all(mine[k] >= n for k, n in want.items())

    await api.eventually("awards to record the achievements of the Trần Phú group", achievements_in)

    proposed = (await api.ok("awards", f"/v1/wards/{ward_id}/nominations/evaluate", official,
                             {"year": year}))["proposed"]
    if not proposed:
        raise DemoError("the criteria proposed no nomination")
    festival = Festival(year)
    for n, nomination in enumerate(proposed, start=1):
        nid = nomination["nomination_id"]
        await api.ok("awards", f"/v1/nominations/{nid}/review", council,
                     {"council_minutes_ref": f"BB {api.run_id}/HĐTĐKT"})
        issuer = nomination["issuer"]
        suffix = "QĐ-UBND" if issuer == "ward_chairman" else "QĐ-UBND.TP"
        approved = await api.ok("awards", f"/v1/nominations/{nid}/approve", deciders[issuer], {
            "decision_number": f"{n}-{api.run_id}/{suffix}", "decision_date": ward_today().isoformat()})
        festival.award_ids.append(approved["award_id"])

    # One certificate: the mediation team's Giấy khen of the city chairman, printed and verified.
    team_award = next((a for a, p in zip(festival.award_ids, proposed, strict=True)
                       if p["recipient_ref"] == w.team("mediation")["team_id"]), festival.award_ids[0])
    issued = await api.ok("awards", f"/v1/awards/{team_award}/certificate", city)
    pdf = await api.get_bytes("awards", f"/v1/awards/{team_award}/certificate.pdf", city)
    verified = await api.get("awards", f"/v1/public/certificates/{issued['verification_code']}", None)
    festival.certificate = {"award_id": team_award, "verification_code": issued["verification_code"],
                            "pdf_bytes": len(pdf.content), "is_pdf": pdf.content.startswith(b"%PDF"),
                            "content_type": pdf.headers.get("content-type"), "verified": verified}

    # The anonymous reporter's Giấy khen reaches incidents through Kafka; they learn of it with their code alone.
    async def recognised() -> list[dict[str, Any]]:
        return (await follow_up(api, anonymous_tip))["recognition"]

    festival.anonymous_recognition = await api.eventually(
        "the anonymous reporter to see their Giấy khen through the follow-up code", recognised)

    # Only the reporter can put a name on it: the printed code alone changes nothing; the claim secret that only the
    # follow-up shows names them, and takes the name off again (left anonymous, as the article's reporter is).
    code = festival.anonymous_recognition[0]["verification_code"]
    claim_secret = (await follow_up(api, anonymous_tip))["claim_secret"]
    path = f"/v1/public/certificates/{code}"

    async def attempt(step: str, route: str, body: dict[str, str], ok: int) -> None:
        r = await api.post("awards", path + route, None, body, ok=(ok,), idempotent=False)
        shown = (await api.get("awards", path, None))["recipient"]
        festival.anonymous_claim.append((step, r.status_code, shown))

    await attempt("printed code only", "/claim", {"display_name": "Kẻ mạo danh", "claim_secret": "x" * 43}, 403)
    await attempt("claim secret", "/claim", {"display_name": "Người tố giác ở Trần Phú",
                                             "claim_secret": claim_secret}, 200)
    await attempt("withdrawn", "/claim/withdraw", {"claim_secret": claim_secret}, 200)
    return festival
