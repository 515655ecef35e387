"""Step 1, the registry (danh bạ): Phú Sơn ward, the Trần Phú group, its households and residents, its teams of
the five kinds, the public fire point, and a boarding house (khu nhà trọ) with lodgers, their temporary residence
(tạm trú) and the stay notices (thông báo lưu trú) the landlord files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from demo import article
from demo.client import Platform
from shared.clock import WARD_TZ, ward_today


@dataclass
class Ward:
    """What the later steps need: ids the registry gave out, and who plays which part."""

    group_id: str = ""
    group_name: str = ""
    residents: list[dict] = field(default_factory=list)         # {resident_id, full_name, sex, household_id}
    teams: dict[str, list[dict]] = field(default_factory=dict)  # kind -> [{team_id, name, members: [resident ids]}]
    boarding_house_id: str = ""
    lodgers: list[dict] = field(default_factory=list)

    def team(self, kind: str, n: int = 0) -> dict:
        return self.teams[kind][n]


#: Who serves where (indices into the group's residents): leaders first. The mediators live in households 4
#: and 5, which no dispute of the replay involves (a mediator may not mediate for their own household).
ROSTER: dict[str, list[list[int]]] = {
    "anxh": [[k] for k in range(10)],
    "security_order": [[10, 11]],
    "mediation": [[12, 13, 16]],
    "fire_prevention": [[18, 19, 20], [21, 22, 23]],
    "mobilisation": [[24 + k] for k in range(10)],
}
LANDLORD = 34


def season_start(today: date) -> date:
    """Teams are formed and staffed on 1 January of the current year: the year whose festival the replay holds."""
    return today.replace(month=1, day=1)


async def set_up(api: Platform) -> Ward:
    official = api.actor("ward-official", "ward_official")
    admin = api.actor("city-admin", "admin", ward="*")
    police = api.actor("ward-police", "police")
    ward_id = api.config.ward_id
    today = ward_today()
    w = Ward()

    # The ward is registered once per platform; a second run finds it (409) and goes on.
    await api.post("registry", "/v1/wards", admin, {"ward_id": ward_id, "name": article.WARD_NAME, "city": article.CITY},
                   ok=(201, 409))
    # Group names are unique within a ward: a re-run on the same platform replays the article in a group of its
    # own, so that every figure read back is this run's, not the sum of all runs.
    w.group_name = article.GROUP_NAME
    r = await api.post("registry", "/v1/groups", official, {"ward_id": ward_id, "name": w.group_name}, ok=(201, 409))
    if r.status_code == 409:
        w.group_name = f"{article.GROUP_NAME} (lần chạy {api.run_id})"
        r = await api.post("registry", "/v1/groups", official, {"ward_id": ward_id, "name": w.group_name})
    w.group_id = r.json()["group_id"]

    for h in range(article.HOUSEHOLDS):
        house = await api.ok("registry", "/v1/households", official,
                             {"group_id": w.group_id, "address": f"Số {2 * h + 1} phố Trần Phú"})
        for k in range(article.PER_HOUSEHOLD):
            name, sex = article.person(h * article.PER_HOUSEHOLD + k)
            res = await api.ok("registry", "/v1/residents", official,
                               {"household_id": house["household_id"], "full_name": name, "sex": sex})
            w.residents.append({"resident_id": res["resident_id"], "full_name": name, "sex": sex,
                                "household_id": house["household_id"]})

    start = season_start(today).isoformat()
    for kind, rosters in ROSTER.items():
        for n, roster in enumerate(rosters, start=1):
            team = await api.ok("registry", "/v1/teams", official, {
                "group_id": w.group_id, "kind": kind, "name": article.team_name(kind, n), "formed_on": start,
                "formation_act": f"QĐ {n}/QĐ-UBND phường Phú Sơn"})
            for pos, idx in enumerate(roster):
                await api.ok("registry", f"/v1/teams/{team['team_id']}/members", official, {
                    "resident_id": w.residents[idx]["resident_id"], "role": "leader" if pos == 0 else "member",
                    "appointed_on": start})
            w.teams.setdefault(kind, []).append(
                {"team_id": team["team_id"], "name": article.team_name(kind, n),
                 "members": [w.residents[i]["resident_id"] for i in roster]})

    await api.ok("registry", "/v1/facilities", official, {
        "group_id": w.group_id, "kind": "fire_point", "name": "Điểm phòng cháy, chữa cháy công cộng",
        "location": "Đầu ngõ 12 phố Trần Phú", "installed_on": start})
    await _boarding_house(api, w, official, police, today)
    return w


async def _boarding_house(api: Platform, w: Ward, official, police, today: date) -> None:
    """A boarding house with two rented rooms; four lodgers on temporary residence; the landlord files stay
    notices for three of them, so the police's checks-due list shows the fourth."""
    landlord = w.residents[LANDLORD]
    house = await api.ok("registry", "/v1/boarding-houses", official, {
        "group_id": w.group_id, "name": "Khu nhà trọ Trần Phú", "address": "Ngõ 20 phố Trần Phú",
        "landlord_resident_id": landlord["resident_id"], "rooms": ["P101", "P102"]})
    w.boarding_house_id = house["boarding_house_id"]
    landlord_actor = api.actor("landlord", "resident", resident_id=landlord["resident_id"])
    arrived = datetime.now(WARD_TZ) - timedelta(days=1)
    for room_no, room in enumerate(("P101", "P102")):
        household = await api.ok("registry", "/v1/households", official,
                                 {"group_id": w.group_id, "address": f"Phòng {room}, ngõ 20 phố Trần Phú"})
        for k in range(2):
            name, sex = article.person(100 + 2 * room_no + k)
            lodger = await api.ok("registry", "/v1/residents", official,
                                  {"household_id": household["household_id"], "full_name": name, "sex": sex})
            await api.ok("registry", "/v1/temporary-residences", police, {
                "resident_id": lodger["resident_id"], "valid_from": (today - timedelta(days=1)).isoformat(),
                "valid_until": (today + timedelta(days=180)).isoformat(), "boarding_house_id": w.boarding_house_id,
                "room": room})
            if len(w.lodgers) < 3:
                await api.ok("registry", "/v1/stay-notices", landlord_actor, {
                    "boarding_house_id": w.boarding_house_id, "lodger_resident_id": lodger["resident_id"], "lodger_name": name,
                    "room": room, "arrived_at": arrived.isoformat()})
            w.lodgers.append({"resident_id": lodger["resident_id"], "full_name": name, "room": room})
    await api.ok("registry", f"/v1/boarding-houses/{w.boarding_house_id}/checks", police, {
        "checked_on": today.isoformat(), "notes": "Kiểm tra tạm trú, tạm vắng định kỳ hằng tháng"})
