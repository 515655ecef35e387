"""Step 2, donations (vận động ủng hộ): the camera campaign. The 10 mobilisation teams (tổ vận động) collect
from the households, the target is reached once, an approved expense buys the security cameras, and the
registry registers them as facilities from donations' event (through Kafka)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from demo.client import Platform
from demo.ward import Ward
from shared.clock import ward_today

TARGET_VND = 55_000_000
#: What each team collected from four households: 5,965,000 đồng a team, 59,650,000 in all ("nearly 60 million").
TEAM_COLLECTIONS_VND = (2_000_000, 1_500_000, 1_000_000, 1_465_000)
CAMERAS = [("Camera ngã ba Trần Phú - Lê Lợi", "Ngã ba Trần Phú - Lê Lợi"),
           ("Camera đầu ngõ 12", "Đầu ngõ 12 phố Trần Phú"),
           ("Camera ngõ 20", "Ngõ 20 phố Trần Phú"),
           ("Camera nhà văn hóa", "Trước nhà văn hóa tổ dân phố Trần Phú")]
CAMERAS_COST_VND = 48_000_000


@dataclass
class Campaign:
    campaign_id: str
    expense_id: str
    camera_ids: list[str]


async def run(api: Platform, w: Ward) -> Campaign:
    ward_id = api.config.ward_id
    today = ward_today()
    organiser = api.actor("front-committee", "ward_official")   # ban công tác mặt trận proposes
    treasurer = api.actor("ward-vice-chairman", "ward_official")  # another official approves the expense
    teams = w.teams["mobilisation"]

    # Donations learns the group's households and the teams from the registry's events (through Kafka): wait on
    # its reads until it knows what the registry holds, then open the campaign. The households' vote is checked
    # against the households donations counts for the group, not a number the organiser states.
    registered = len(await api.list_all("registry", "/v1/households", organiser, group_id=w.group_id))

    async def households_known() -> int | None:
        r = await api.request("donations", "GET", f"/v1/groups/{w.group_id}", organiser)
        return registered if r.status_code == 200 and r.json()["households"] == registered else None

    async def teams_known() -> bool:
        known = {t["team_id"]: {m["resident_id"] for m in t["members"]} for t in await api.list_all(
            "donations", "/v1/teams", organiser, group_id=w.group_id, kind="mobilisation")}
        return all(set(t["members"]) <= known.get(t["team_id"], set()) for t in teams)

    households = await api.eventually("the group's households to reach donations", households_known)
    await api.eventually("the mobilisation teams and their members to reach donations", teams_known)
    campaign = await api.ok("donations", "/v1/campaigns", organiser, {
        "ward_id": ward_id, "group_id": w.group_id, "name": "Lắp đặt camera an ninh tổ dân phố Trần Phú",
        "purpose": "Mua và lắp đặt camera an ninh phục vụ bảo vệ an ninh trật tự", "target_vnd": TARGET_VND,
        "starts_on": (today - timedelta(days=20)).isoformat(), "ends_on": (today + timedelta(days=10)).isoformat(),
        "organiser": "Ban công tác mặt trận tổ dân phố Trần Phú", "team_ids": [t["team_id"] for t in teams],
        "vote": {"record_ref": f"BB họp hộ dân {api.run_id}", "held_on": (today - timedelta(days=25)).isoformat(),
                 "in_favour": households - 2, "against": 1, "abstained": 1}})
    campaign_id = campaign["campaign_id"]

    donors = sorted({r["household_id"] for r in w.residents})
    receipt = 0
    for n, team in enumerate(teams):
        leader_id = team["members"][0]
        collector = api.actor(f"collector-{leader_id}", "team_leader", resident_id=leader_id, team_ids=[team["team_id"]])
        for k, amount in enumerate(TEAM_COLLECTIONS_VND):
            receipt += 1
            body = {"team_id": team["team_id"], "channel": "cash" if k % 2 == 0 else "bank_transfer",
                    "amount_vnd": amount, "receipt_number": f"PT-{api.run_id}-{receipt:03d}",
                    "received_on": (today - timedelta(days=(n + k) % 15)).isoformat(), "donor_kind": "household",
                    "donor_ref": donors[(n * 4 + k) % len(donors)]}
            await api.ok("donations", f"/v1/campaigns/{campaign_id}/contributions", collector, body)

    expense = await api.ok("donations", f"/v1/campaigns/{campaign_id}/expenses", organiser, {
        "item": f"Mua và lắp đặt {len(CAMERAS)} camera an ninh", "amount_vnd": CAMERAS_COST_VND,
        "invoice_ref": f"HĐ {api.run_id}", "paid_on": today.isoformat(),
        "cameras": [{"name": name, "location": where, "group_id": w.group_id, "installed_on": today.isoformat()}
                    for name, where in CAMERAS]})
    await api.ok("donations", f"/v1/expenses/{expense['expense_id']}/approve", treasurer,
                 {"approval_ref": f"QĐ chi {api.run_id}/QĐ-UBND"})

    async def cameras_registered() -> list[str] | None:
        listed = await api.list_all("registry", "/v1/facilities", organiser, group_id=w.group_id,
                                    kind="security_camera")
        ids = [f["facility_id"] for f in listed if f.get("funded_by_expense_id") == expense["expense_id"]]
        return ids if len(ids) == len(CAMERAS) else None

    camera_ids = await api.eventually("the cameras bought by the campaign to appear in the registry",
                                      cameras_registered)
    return Campaign(campaign_id, expense["expense_id"], camera_ids)
