"""The article's figures, each read back from the services' own read APIs (never from the replay's input), and
compared with what the article states."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from demo import article
from demo.client import Platform
from demo.donations import Campaign
from demo.festival import Festival, follow_up
from demo.incidents import Cases
from demo.ward import Ward
from shared.clock import ward_today


@dataclass(frozen=True)
class Figure:
    fact: str
    article: str
    value: Any
    source: str
    ok: bool


@dataclass
class Summary:
    figures: list[Figure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.figures) and all(f.ok for f in self.figures)

    def value(self, fact: str) -> Any:
        return next(f.value for f in self.figures if f.fact == fact)

    def add(self, fact: str, article_says: str, value: Any, source: str, check: Callable[[Any], bool]) -> None:
        self.figures.append(Figure(fact, article_says, value, source, bool(check(value))))

    def render(self) -> str:
        rows = [("", "fact", "article", "read back", "from")]
        rows += [("ok" if f.ok else "MISMATCH", f.fact, f.article, _show(f.value), f.source) for f in self.figures]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        verdict = "every figure matches the article" if self.ok else "SOME FIGURES DO NOT MATCH THE ARTICLE"
        return "\n".join([*lines, "", verdict])


def _show(value: Any) -> str:
    if isinstance(value, int) and value >= 100_000:
        return f"{value:,} VND".replace(",", ".")
    if isinstance(value, (set, frozenset, list, tuple)):
        return ", ".join(sorted(str(v) for v in value))
    return str(value)


async def read_back(api: Platform, w: Ward, campaign: Campaign, cases: Cases, festival: Festival) -> Summary:
    s = Summary()
    official = api.actor("ward-official", "ward_official")
    police = api.actor("area-police", "police")
    ward_id = api.config.ward_id

    teams = await api.list_all("registry", "/v1/teams", official, group_id=w.group_id)
    kinds = Counter(t["kind"] for t in teams)
    src = "registry GET /v1/teams"
    s.add("ANXH teams (tổ ANXH)", "10", kinds["anxh"], src, lambda v: v == article.TEAMS["anxh"])
    s.add("security-and-order teams (tổ bảo vệ ANTT)", "1", kinds["security_order"], src,
          lambda v: v == article.TEAMS["security_order"])
    s.add("compliant mediation teams (tổ hòa giải)", "strengthened",
          sum(1 for t in teams if t["kind"] == "mediation" and t["compliant"]), src, lambda v: v == 1)
    s.add("inter-household fire-prevention teams (tổ PCCC liên gia)", "2", kinds["fire_prevention"], src,
          lambda v: v == article.TEAMS["fire_prevention"])
    s.add("mobilisation teams (tổ vận động)", "10", kinds["mobilisation"], src,
          lambda v: v == article.TEAMS["mobilisation"])

    src = "registry GET /v1/facilities"
    points = await api.list_all("registry", "/v1/facilities", official, group_id=w.group_id, kind="fire_point")
    s.add("public fire-fighting points", "1", len(points), src, lambda v: v == article.FIRE_POINTS)
    cameras = await api.list_all("registry", "/v1/facilities", official, group_id=w.group_id, kind="security_camera")
    s.add("security cameras bought by the campaign", "installed",
          sum(1 for c in cameras if c["funded_by_campaign_id"] == campaign.campaign_id), src, lambda v: v >= 1)

    report = await api.get("donations", f"/v1/campaigns/{campaign.campaign_id}/report", official)
    src = "donations transparency report"
    low, high = article.RAISED_RANGE_VND
    s.add("raised for security cameras", "nearly 60.000.000 VND", report["raised_vnd"], src,
          lambda v: low <= v < high)
    s.add("mobilisation teams that collected", "10", sum(1 for t in report["by_team"] if t["raised_vnd"] > 0), src,
          lambda v: v == article.TEAMS["mobilisation"])
    s.add("campaign target reached", "yes", report["target_reached_on"] is not None, src, lambda v: v is True)

    year = ward_today().year
    book = await api.get("mediation", f"/v1/teams/{w.team('mediation')['team_id']}/record-book/{year}", official)
    s.add("disputes mediated successfully (hòa giải thành)", "10", book["part_ii"]["succeeded"],
          f"mediation record book {year}", lambda v: v == article.MEDIATIONS_SUCCEEDED)

    incidents = await api.list_all("incidents", "/v1/incidents", police, group_id=w.group_id)
    solved = sorted(i["category"] for i in incidents if i["is_crime_tip"] and i["outcome"] == "solved")
    s.add("crime tips solved (drugs, theft)", "several cases cracked", solved, "incidents GET /v1/incidents",
          lambda v: {"drugs", "theft"} <= set(v))
    s.add("disputes resolved as mediated", "10", sum(1 for i in incidents if i["outcome"] == "mediated"),
          "incidents GET /v1/incidents", lambda v: v == article.MEDIATIONS_SUCCEEDED)

    month = ward_today().strftime("%Y-%m")
    briefing = await api.get("incidents", f"/v1/briefings/{w.group_id}/{month}", police)
    src = f"incidents briefing (giao ban) {month}"
    s.add("briefing: warnings (gọi hỏi, răn đe)", "summoned and warned", briefing["warnings"]["total"], src,
          lambda v: v >= 1)
    s.add("briefing: successful mediations", "10", briefing["mediations"]["by_status"].get("succeeded", 0), src,
          lambda v: v == article.MEDIATIONS_SUCCEEDED)

    listed = await api.get("awards", f"/v1/wards/{ward_id}/festival/{festival.year}", official)
    ours = [a for a in listed["awards"] if a["award_id"] in set(festival.award_ids)]
    src = f"awards festival list {festival.year}"
    s.add("Giấy khen granted at the festival", "many", len(ours), src, lambda v: v >= 2)
    s.add("award issuers", "city chairman; the ward", {a["issuer"] for a in ours}, src,
          lambda v: v == article.ISSUERS)
    s.add("recipients", "collectives and individuals", {a["recipient_kind"] for a in ours}, src,
          lambda v: {"collective", "individual"} <= v)
    cert = festival.certificate
    s.add("certificate PDF verified (public endpoint)", "Giấy khen", cert["verified"]["valid"] and cert["is_pdf"],
          "awards GET /v1/public/certificates/{code}", lambda v: v is True)
    seen = await follow_up(api, cases.anonymous_follow_up)
    s.add("anonymous reporter recognised (follow-up code only)", "crimes detected and reported",
          sorted(a["issuer"] for a in seen["recognition"]), "incidents POST /v1/follow-up",
          lambda v: v == ["ward_chairman"])
    s.add("anonymous reporter named only with the follow-up's claim secret", "protecting whoever gave them",
          [(status, shown) for _, status, shown in festival.anonymous_claim],
          "awards POST /v1/public/certificates/{code}/claim",
          # refused with the printed code alone; named with the claim secret; anonymous again once withdrawn
          lambda v: [status for status, _ in v] == [403, 200, 200] and v[0][1] == v[2][1] != v[1][1])
    return s
