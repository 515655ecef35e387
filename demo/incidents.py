"""Step 3, incidents and mediation (tin báo, tố giác tội phạm; hòa giải ở cơ sở).

* Two crime tips, one of them anonymous: the police cite footage of the cameras the campaign bought and
  crack a drug case and a theft case.
* Ten disputes (bất hòa, xích mích): each reported → referred to mediation → a case opens in mediation (through
  Kafka) → the team leader assigns mediators → a session → mediated successfully → the incident is resolved as
  mediated (through Kafka again).
* Police warnings (gọi hỏi, răn đe) for people showing signs of violations."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from demo.client import Actor, Platform
from demo.donations import Campaign
from demo.ward import Ward
from shared.clock import WARD_TZ, ward_today

#: The disputing parties (indices of the group's residents): none lives in a mediator's household (4 and 5).
PARTIES = [(a, b) for a, b in zip(list(range(0, 12, 2)) + [24, 26, 28, 30],
                                  list(range(1, 12, 2)) + [25, 27, 29, 31], strict=True)]
DISPUTES = [
    "Tranh chấp lối đi chung giữa hai nhà",
    "Xích mích do nước thải chảy sang nhà bên cạnh",
    "Bất hòa vì tiếng ồn karaoke ban đêm",
    "Mâu thuẫn về ranh giới tường rào",
    "Xích mích do để xe chắn cửa nhà hàng xóm",
    "Tranh chấp tiền góp họ giữa hai hộ",
    "Bất hòa do cây nhà bên đổ lá sang mái nhà",
    "Xích mích vì chó thả rông cắn gà",
    "Mâu thuẫn về việc sửa nhà làm nứt tường chung",
    "Bất hòa do đổ rác không đúng nơi quy định",
]


@dataclass
class Cases:
    tips: list[str] = field(default_factory=list)
    anonymous_follow_up: dict[str, str] = field(default_factory=dict)
    disputes: list[str] = field(default_factory=list)
    mediation_cases: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _police(api: Platform) -> Actor:
    return api.actor("area-police", "police")


async def wait_for_group(api: Platform, w: Ward) -> None:
    """Incidents knows the group from the registry's events; its briefing of the group answers once it does."""
    month = ward_today().strftime("%Y-%m")
    await api.eventually("incidents to learn the Trần Phú group from the registry",
                         lambda: api.get("incidents", f"/v1/briefings/{w.group_id}/{month}", _police(api)))


async def _camera_known(api: Platform, police: Actor, camera: str) -> bool:
    cameras = await api.list_all("incidents", "/v1/cameras", police, in_service="true")
    return any(c["camera_id"] == camera for c in cameras)


async def crime_tips(api: Platform, w: Ward, campaign: Campaign, cases: Cases) -> None:
    police = _police(api)
    reporter = w.residents[7]
    identified = api.actor(f"resident-{reporter['resident_id']}", "resident", resident_id=reporter["resident_id"])
    anonymous = api.actor("someone", "resident")
    seen = datetime.now(WARD_TZ) - timedelta(hours=3)
    tips = [
        (identified, "drugs", "Có người tụ tập sử dụng ma túy tại ngõ 20 vào ban đêm",
         {"reporter": {"full_name": reporter["full_name"]}}, campaign.camera_ids[2]),
        (anonymous, "theft", "Xe máy bị lấy trộm trước nhà văn hóa lúc rạng sáng", {"anonymous": True},
         campaign.camera_ids[3]),
    ]
    for who, category, text, identity, camera in tips:
        body = {"category": category, "is_crime_tip": True, "description": text,
                "place": {"group_id": w.group_id, "address": "Phố Trần Phú"}, "happened_at": seen.isoformat(),
                **identity}
        # An anonymous tip takes no Idempotency-Key: its reply holds a secret the service does not keep.
        tip = await api.ok("incidents", "/v1/incidents", who, body, idempotent=not identity.get("anonymous"))
        incident = tip["incident_id"]
        if "follow_up_code" in tip:
            cases.anonymous_follow_up = {"follow_up_code": tip["follow_up_code"], "secret": tip["secret"]}
        await api.ok("incidents", f"/v1/incidents/{incident}/triage", police, {"category": category,
                                                                                "is_crime_tip": True})
        await api.ok("incidents", f"/v1/incidents/{incident}/assign", police,
                     {"kind": "police", "officer": police.subject, "note": "Cảnh sát khu vực xác minh"})
        await api.ok("incidents", f"/v1/incidents/{incident}/start", police, {"note": "Trích xuất camera"})
        # Incidents learns the cameras from the registry's events: wait until its list of cameras shows this one.
        await api.eventually(f"incidents to learn camera {camera} from the registry",
                             lambda camera=camera: _camera_known(api, police, camera))
        await api.ok("incidents", f"/v1/incidents/{incident}/footage", police, {
            "camera_id": camera, "footage_from": (seen - timedelta(minutes=30)).isoformat(),
            "footage_to": (seen + timedelta(minutes=30)).isoformat()})
        await api.ok("incidents", f"/v1/incidents/{incident}/resolve", police, {
            "outcome": "solved", "note": f"Phá chuyên án {'ma túy' if category == 'drugs' else 'trộm cắp tài sản'} "
                                         "nhờ hình ảnh camera an ninh"})
        cases.tips.append(incident)


async def wait_for_mediation_team(api: Platform, w: Ward) -> None:
    team = w.team("mediation")
    official = api.actor("ward-official", "ward_official")

    async def ready() -> bool:
        teams = await api.list_all("mediation", "/v1/teams", official)
        return any(t["team_id"] == team["team_id"] and t["compliant"] for t in teams)

    await api.eventually("mediation to learn the Trần Phú mediation team and its mediators", ready)


async def dispute(api: Platform, w: Ward, n: int, cases: Cases) -> None:
    police = _police(api)
    official = api.actor("ward-official", "ward_official")
    team = w.team("mediation")
    leader = api.actor(f"mediator-{team['members'][0]}", "team_leader", resident_id=team["members"][0],
                       team_ids=[team["team_id"]])
    mediators = [team["members"][0], team["members"][1]]
    a, b = (w.residents[i] for i in PARTIES[n])
    reporter = api.actor(f"resident-{a['resident_id']}", "resident", resident_id=a["resident_id"])
    incident = (await api.ok("incidents", "/v1/incidents", reporter, {
        "category": "dispute", "description": DISPUTES[n], "place": {"group_id": w.group_id},
        "reporter": {"full_name": a["full_name"]}}))["incident_id"]
    await api.ok("incidents", f"/v1/incidents/{incident}/triage", police, {"category": "dispute"})
    await api.ok("incidents", f"/v1/incidents/{incident}/refer-to-mediation", police, {
        "summary": DISPUTES[n], "parties": [{"resident_id": p["resident_id"], "display_name": p["full_name"]} for p in (a, b)]})

    async def case_opened() -> dict[str, Any] | None:
        listed = await api.list_all("mediation", "/v1/cases", official, referral_incident_id=incident)
        return listed[0] if listed else None

    case = await api.eventually(f"mediation to open the case referred by incident {incident}", case_opened)
    case_id = case["case_id"]
    await api.ok("mediation", f"/v1/cases/{case_id}/mediators", leader, {"mediator_ids": mediators})
    await api.ok("mediation", f"/v1/cases/{case_id}/sessions", leader, {
        "held_at": case["received_at"], "place": "Nhà văn hóa tổ dân phố Trần Phú", "mediator_ids": mediators,
        "parties_present": [1, 2], "notes": "Phân tích đúng sai, tìm nguyên nhân mâu thuẫn"})
    await api.ok("mediation", f"/v1/cases/{case_id}/success", leader, {
        "agreement": "Hai bên thống nhất thỏa thuận, giữ tình làng nghĩa xóm",
        "carry_out_how": "Các bên tự nguyện thực hiện", "carry_out_by": (ward_today() + timedelta(days=15)).isoformat()})

    async def mediated() -> bool:
        detail = await api.get("incidents", f"/v1/incidents/{incident}", police)
        return detail["outcome"] == "mediated"

    await api.eventually(f"incident {incident} to be resolved as mediated", mediated)
    cases.disputes.append(incident)
    cases.mediation_cases.append(case_id)


async def disputes(api: Platform, w: Ward, cases: Cases) -> None:
    await wait_for_mediation_team(api, w)
    # The ten disputes are independent of each other: they run side by side, as they would in a ward.
    await asyncio.gather(*(dispute(api, w, n, cases) for n in range(len(DISPUTES))))


async def warnings(api: Platform, w: Ward, cases: Cases) -> None:
    police = _police(api)
    unnotified = w.lodgers[-1]
    for kind, person, reason in (
        ("summons", unnotified, "Lưu trú tại khu nhà trọ chưa được thông báo lưu trú"),
        ("admonition", w.residents[35], "Có biểu hiện tụ tập gây mất trật tự công cộng ban đêm"),
    ):
        warning = await api.ok("incidents", "/v1/warnings", police, {
            "group_id": w.group_id, "kind": kind, "person": {"resident_id": person["resident_id"],
                                                             "full_name": person["full_name"]},
            "reason": reason, "issued_on": ward_today().isoformat()})
        cases.warnings.append(warning["warning_id"])
