"""Personal data at rest: after keyed commands of every service (each POST/PATCH route, with an
``Idempotency-Key``, with a national ID, a phone, a birth date and people's names in the data), a search of every
text, bytea, json and array column of every table of every schema, as the superuser, finds none of them in clear,
except in the columns made to hold them (listed below, each with its reason). The search walks
information_schema, so a table added later is searched too; a POST/PATCH route added later fails the coverage
check until it is driven here (or listed, with its reason, as not driven)."""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from PIL import Image

from services.awards.bootstrap import build as build_awards
from services.donations.bootstrap import build as build_donations
from services.feed.bootstrap import build as build_feed
from services.identity.bootstrap import build as build_identity
from services.incidents.bootstrap import build as build_incidents
from services.mediation.bootstrap import build as build_mediation
from services.notify.bootstrap import build as build_notify
from services.registry.bootstrap import build as build_registry
from services.registry.commands import RegisterWard
from shared.clock import ward_today
from shared.contracts.incidents import IncidentResolved
from shared.contracts.registry import (
    FacilityRegistered,
    GroupCreated,
    HouseholdRegistered,
    ResidentRegistered,
    TeamFormed,
    TeamMemberJoined,
    WardRegistered,
)
from tests.conftest import auth
from tests.harness import ServiceUnderTest, serve
from tests.integration.conftest import eventually

pytestmark = pytest.mark.integration

WARD = "phu-son"
NATIONAL_ID = "079203004567"
PHONE = "0987654321"
ZALO_USER_ID = "4108652974313599188"  # a Zalo follower's user id: it names a person as a number does
BIRTH_DATE = "1953-11-29"
RESIDENT = "Trịnh Thị Khuê"          # a registered resident: a mediator, a party, a donor, an award's recipient
LODGER = "Hà Văn Lữ"                  # a lodger named in a stay notice
REPORTER = "Đinh Thị Báo"             # an identified reporter: only ever encrypted
WARNED = "Lò Văn Cảnh"                # a person warned by the police: only ever encrypted
OTHER_PARTY = "Quách Văn Đối"         # the other party of a dispute
INVITEE = "Phan Văn Già"              # a respected person invited to a mediation session

#: The columns made to hold people's names (schema.table.column) and why. Everything else must hold none.
NAME_COLUMNS = {
    "registry.residents.full_name": "the population register",
    "registry.stay_notices.lodger_name": "the stay notice the law asks for",
    "mediation.residents.full_name": "projection of the register (a party's household)",
    "mediation.team_members.full_name": "projection of the register (the mediators)",
    "mediation.case_parties.display_name": "the parties of the record book",
    "mediation.case_mediators.full_name": "the mediators of the record book",
    "mediation.sessions.invitees": "who was invited to a session (Art. 21)",
    "donations.team_members.full_name": "projection of the register (the collectors)",
    "donations.ledger_entries.public_name": "the honour roll, only when the donor asked",
    "donations.pledges.public_name": "the honour roll, only when the donor asked",
    "awards.names.name": "projection of the register (a certificate names its recipient)",
    "awards.nominations.recipient_name": "the nomination",
    "awards.awards.recipient_name": "the award",
    "awards.awards.certificate_pdf": "the certificate of merit",
    "identity.accounts.display_name": "whom an account belongs to (the console greets them; officials find them)",
    # Internal events carry residents' names to the services that project them (never national IDs, phones).
    **{f"{s}.outbox.payload": "internal events name residents" for s in
       ("registry", "incidents", "mediation", "donations", "awards")},
}
#: The column made to hold a resident's phone (clear: the register's contact detail).
PHONE_COLUMNS = {"registry.residents.phone": "the population register"}

#: Routes not driven here, and why.
NOT_DRIVEN = {
    ("incidents", "POST", "/v1/follow-up"): "a read (the secret travels in a body), not a command",
    ("incidents", "POST", "/v1/public/tips"): "anonymous, no token: refuses an Idempotency-Key; every table is "
                                                "scanned for the caller in tests/incidents/test_public.py",
    ("incidents", "POST", "/v1/incidents/{incident_id}/reporter-disclosure"): "a read the audit trail records: "
                                                                             "refuses an Idempotency-Key (its reply "
                                                                             "is never kept; "
                                                                             "tests/incidents/test_intake_and_roles.py)",
    ("incidents", "POST", "/v1/public/supporters/follow-up"): "a read (the secret travels in a body), not a command "
                                                             "(driven without a key in drive_incidents)",
    ("incidents", "POST", "/v1/public/incidents/{incident_id}/supporters"): "anonymous, no token: refuses an "
                                                                           "Idempotency-Key (its reply holds a "
                                                                           "secret; driven without one in "
                                                                           "drive_incidents)",
    ("incidents", "POST", "/v1/public/tips/{follow_up_code}/evidence"): "anonymous, no token: refuses an "
                                                                       "Idempotency-Key (driven without one in "
                                                                       "drive_incidents)",
    ("awards", "POST", "/v1/public/certificates/{code}/claim"): "anonymous: refuses an Idempotency-Key "
                                                                "(tests/awards/test_approval.py)",
    ("awards", "POST", "/v1/public/certificates/{code}/claim/withdraw"): "anonymous: refuses an Idempotency-Key",
    **{("identity", "POST", path): "anonymous: refuses an Idempotency-Key (driven without one in drive_identity)"
       for path in ("/v1/password", "/v1/sessions", "/v1/sessions/refresh", "/v1/sessions/sign-out")},
}


def _needles(value: str) -> list[bytes]:
    forms = {value, json.dumps(value)[1:-1]}  # as typed, and as JSON escapes it
    return [f.encode() for f in forms]


#: The feed's API keys the test was shown (each once): secrets, never in clear at rest (only their SHA-256).
API_KEYS: list[str] = []
#: The webhooks' signing secrets the test was shown (each once): never in clear at rest (sealed under FEED_KEY).
WEBHOOK_SECRETS: list[str] = []
#: What the identity service was given or showed: a password, reset codes, refresh tokens, a second-factor secret.
IDENTITY_SECRETS: list[str] = []


async def scan(admin_url: str) -> dict[str, set[str]]:
    """Every (datum -> columns) where one of the personal values is found in clear, as the superuser."""
    found: dict[str, set[str]] = {}
    wanted = {"national_id": [NATIONAL_ID], "phone": [PHONE, PHONE[1:], ZALO_USER_ID], "birth_date": [BIRTH_DATE],
              "name": [RESIDENT, LODGER, REPORTER, WARNED, OTHER_PARTY, INVITEE],
              "api_key": [k[len("wfk_") + 13:] for k in API_KEYS],  # the secret after wfk_<key id>_
              "webhook_secret": [s[len("whsec_"):] for s in WEBHOOK_SECRETS],
              "identity_secret": list(IDENTITY_SECRETS)}
    conn = await asyncpg.connect(admin_url)
    try:
        columns = await conn.fetch(
            "SELECT c.table_schema, c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND c.data_type IN ('text', 'character varying', 'character', 'bytea', 'json', 'jsonb', 'ARRAY')")
        assert len(columns) > 100  # every service's tables are there
        for col in columns:
            ident = f'"{col["table_schema"]}"."{col["table_name"]}"'
            column = f'"{col["column_name"]}"'
            as_bytes = column if col["data_type"] == "bytea" else f"convert_to({column}::text, 'UTF8')"
            for datum, values in wanted.items():
                for value in values:
                    for needle in _needles(value):
                        hit = await conn.fetchval(
                            f"SELECT EXISTS (SELECT 1 FROM {ident} WHERE position($1::bytea IN {as_bytes}) > 0)",
                            needle)
                        if hit:
                            found.setdefault(datum, set()).add(
                                f"{col['table_schema']}.{col['table_name']}.{col['column_name']}:{value}")
    finally:
        await conn.close()
    return found


class Driver:
    """Sends each command with a fresh Idempotency-Key, insists on success, and notes the route it reached."""

    def __init__(self, service: str, svc: ServiceUnderTest) -> None:
        self.service, self.svc, self.app = service, svc, svc.app
        self.covered: set[tuple[str, str, str]] = set()

    async def __call__(self, method: str, path: str, body: Any, headers: dict[str, str], *,
                       content: bytes | None = None) -> dict:
        """A JSON body, or (``content``) a raw one: an upload."""
        sent = {"content": content} if content is not None else {"json": body}
        r = await self.svc.client.request(method, path, **sent,
                                          headers={**headers, "Idempotency-Key": f"k-{uuid.uuid4()}"})
        assert r.status_code in (200, 201, 202), (path, r.status_code, r.text)
        self.covered.add((self.service, method, _template(self.app, method, path)))
        return r.json()

    def uncovered(self) -> set[tuple[str, str, str]]:
        every = {(self.service, m.upper(), path) for path, ops in self.app.openapi()["paths"].items()
                 for m in ops if m.upper() in ("POST", "PATCH", "PUT", "DELETE")}
        return every - self.covered - set(NOT_DRIVEN)


def photo_naming_people() -> bytes:
    """A small JPEG as a phone takes it, whose EXIF and comment name the reporter and carry a phone, a national ID
    and a birth date (the service strips them before storing it; nothing of them may reach a column)."""
    exif = Image.Exif()
    exif[0x010F] = "Apple"                                  # Make
    exif[0x0110] = "iPhone 15 Pro"                          # Model
    exif[0x013B] = REPORTER                                 # Artist
    exif[0x8298] = f"{PHONE} {NATIONAL_ID} {BIRTH_DATE}"    # Copyright
    exif.get_ifd(0x8825).update({1: "N", 2: (19.0, 48.0, 3.1), 3: "E", 4: (105.0, 46.0, 35.2)})
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, "JPEG", exif=exif.tobytes(),
                                                    comment=f"{REPORTER} {PHONE}".encode())
    return out.getvalue()


def _template(app: FastAPI, method: str, path: str) -> str:
    """The documented path template a request reached."""
    for template, ops in app.openapi()["paths"].items():
        if method.lower() in ops and re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), path):
            return template
    raise AssertionError(f"no route for {method} {path}")


OFFICIAL = auth("ward_official", WARD, sub="official-1")
POLICE = auth("police", WARD, sub="police-1")


async def drive_registry(svc: ServiceUnderTest) -> tuple[Driver, dict[str, str]]:
    go = Driver("registry", svc)
    await go("POST", "/v1/wards", {"ward_id": WARD, "name": "Phường Phú Sơn", "city": "Thanh Hóa"},
             auth("admin", "*", sub="admin-1"))
    group = await go("POST", "/v1/groups", {"ward_id": WARD, "name": "Tổ dân phố Trần Phú"}, OFFICIAL)
    await go("PUT", f"/v1/groups/{group['group_id']}/area", {"type": "Polygon", "coordinates": [[
        [105.77, 19.80], [105.78, 19.80], [105.78, 19.81], [105.77, 19.81], [105.77, 19.80]]]}, OFFICIAL)
    home = await go("POST", "/v1/households", {"group_id": group["group_id"], "address": "12 Trần Phú"}, OFFICIAL)
    other = await go("POST", "/v1/households", {"group_id": group["group_id"], "address": "14 Trần Phú"}, OFFICIAL)
    person = await go("POST", "/v1/residents", {"household_id": home["household_id"], "full_name": RESIDENT, "sex": "female",
                                                "birth_date": BIRTH_DATE, "phone": PHONE, "national_id": NATIONAL_ID},
                      OFFICIAL)
    rid = person["resident_id"]
    await go("PATCH", f"/v1/residents/{rid}", {"phone": PHONE, "national_id": NATIONAL_ID, "full_name": RESIDENT},
             OFFICIAL)
    await go("PATCH", f"/v1/households/{home['household_id']}", {"head_resident_id": rid}, OFFICIAL)
    landlord = await go("POST", "/v1/residents", {"household_id": other["household_id"], "full_name": "Chủ Trọ",
                                                  "sex": "male"}, OFFICIAL)
    await go("POST", f"/v1/residents/{landlord['resident_id']}/move", {"household_id": home["household_id"]}, POLICE)
    team = await go("POST", "/v1/teams", {"group_id": group["group_id"], "kind": "mediation", "name": "Tổ hòa giải",
                                          "formed_on": "2024-01-15", "formation_act": "QĐ 12/QĐ-UBND"}, OFFICIAL)
    await go("POST", f"/v1/teams/{team['team_id']}/members",
             {"resident_id": rid, "role": "member", "appointed_on": "2024-02-01"}, OFFICIAL)
    await go("PATCH", f"/v1/teams/{team['team_id']}/members/{rid}",
             {"role": "leader", "changed_on": "2024-03-01"}, OFFICIAL)
    await go("POST", f"/v1/teams/{team['team_id']}/members/{rid}/leave", {"left_on": "2024-04-01"}, OFFICIAL)
    cam = await go("POST", "/v1/facilities", {"group_id": group["group_id"], "kind": "security_camera",
                                              "name": "Camera ngã ba", "location": "Ngã ba"}, OFFICIAL)
    await go("POST", f"/v1/facilities/{cam['facility_id']}/decommission",
             {"decommissioned_on": "2024-05-01", "reason": "hỏng"}, OFFICIAL)
    house = await go("POST", "/v1/boarding-houses", {"group_id": group["group_id"], "name": "Nhà trọ Bình An",
                                                     "address": "20 Trần Phú", "landlord_resident_id": landlord["resident_id"],
                                                     "rooms": ["P1", "P2"]}, OFFICIAL)
    await go("POST", f"/v1/boarding-houses/{house['boarding_house_id']}/checks", {"checked_on": "2024-05-02"}, POLICE)
    today = ward_today()
    stay = await go("POST", "/v1/temporary-residences", {
        "resident_id": rid, "valid_from": today.isoformat(), "valid_until": (today + timedelta(days=90)).isoformat(),
        "boarding_house_id": house["boarding_house_id"], "room": "P1"}, POLICE)
    await go("POST", f"/v1/temporary-residences/{stay['declaration_id']}/renew",
             {"valid_until": (today + timedelta(days=180)).isoformat()}, POLICE)
    await go("POST", f"/v1/temporary-residences/{stay['declaration_id']}/end", {"ended_on": today.isoformat()}, POLICE)
    await go("POST", "/v1/absences", {"resident_id": rid, "case": "other",
                                      "absent_from": (today + timedelta(days=200)).isoformat(),
                                      "absent_until": (today + timedelta(days=600)).isoformat(),
                                      "destination": "Hà Nội"}, POLICE)
    await go("POST", "/v1/stay-notices", {"boarding_house_id": house["boarding_house_id"], "lodger_name": LODGER, "room": "P2",
                                          "arrived_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat()}, POLICE)
    return go, {"group_id": group["group_id"], "resident_id": rid, "team_id": team["team_id"]}


def registry_events(group: str, resident: str, team: str, kind: str) -> list:
    """What the registry told the others: the resident (a mediator, a collector) and the team."""
    return [
        WardRegistered(ward_id=WARD, subject=WARD, name="Phường Phú Sơn", city="Thanh Hóa"),
        GroupCreated(ward_id=WARD, subject=group, group_id=group, name="Tổ dân phố Trần Phú"),
        ResidentRegistered(ward_id=WARD, subject=resident, resident_id=resident, household_id="hh-1",
                           group_id=group, full_name=RESIDENT, sex="female"),
        ResidentRegistered(ward_id=WARD, subject="r-other", resident_id="r-other", household_id="hh-2",
                           group_id=group, full_name=OTHER_PARTY, sex="male"),
        TeamFormed(ward_id=WARD, subject=team, team_id=team, group_id=group, kind=kind, compliant=True,
                   name="Tổ", formed_on=date(2024, 1, 5), formation_act="QĐ 1"),
        *[TeamMemberJoined(ward_id=WARD, subject=team, team_id=team, group_id=group, kind=kind, compliant=True,
                           resident_id=r, household_id=h, full_name=n, sex=s, role=role,
                           appointed_on=date(2024, 1, 5))
          for r, h, n, s, role in [(resident, "hh-1", RESIDENT, "female", "leader"),
                                   ("r-m2", "hh-3", "Đỗ Văn Minh", "male", "member"),
                                   ("r-m3", "hh-4", "Vũ Văn Tư", "male", "member")]],
    ]


async def drive_incidents(svc: ServiceUnderTest, ids: dict[str, str]) -> Driver:
    go = Driver("incidents", svc)
    group = ids["group_id"]
    await svc.feed(*[e for e in registry_events(group, ids["resident_id"], "t-med", "mediation")
                     if type(e) in svc.handlers],
                   FacilityRegistered(ward_id=WARD, subject="cam-1", facility_id="cam-1", group_id=group,
                                      kind="security_camera", name="Camera", location="Ngã ba"))
    resident = auth("resident", WARD, sub="resident-1", resident_id=ids["resident_id"])
    report = {"category": "dispute", "place": {"group_id": group}, "description": "Tranh chấp lối đi chung",
              "reporter": {"full_name": REPORTER, "phone": PHONE}}
    made = await go("POST", "/v1/incidents", report, resident)
    iid = made["incident_id"]
    base = f"/v1/incidents/{iid}"
    await go("POST", f"{base}/triage", {"note": "xem xét"}, POLICE)
    await go("POST", f"{base}/assign", {"kind": "police", "officer": "police-1"}, POLICE)
    await go("POST", f"{base}/start", {}, POLICE)
    await go("POST", f"{base}/footage", {"camera_id": "cam-1"}, POLICE)
    await go("POST", f"{base}/refer-to-mediation", {"summary": "Tranh chấp lối đi", "parties": [
        {"display_name": RESIDENT, "resident_id": ids["resident_id"]}, {"display_name": OTHER_PARTY}]}, POLICE)
    tip = await go("POST", "/v1/incidents", {**report, "category": "theft", "is_crime_tip": True,
                                             "description": "Mất xe máy đêm qua"}, resident)
    await go("POST", f"/v1/incidents/{tip['incident_id']}/extend-deadline", {"reason": "cần thêm thời gian"}, POLICE)
    for step in ("triage", "assign", "start"):
        await go("POST", f"/v1/incidents/{tip['incident_id']}/{step}",
                 {"kind": "police", "officer": "police-1"} if step == "assign" else {}, POLICE)
    await go("POST", f"/v1/incidents/{tip['incident_id']}/resolve", {"outcome": "solved", "note": "đã tìm ra"}, POLICE)
    await go("POST", f"/v1/incidents/{tip['incident_id']}/close", {"note": "xong"}, POLICE)
    await go("POST", f"/v1/incidents/{tip['incident_id']}/reopen", {"reason": "bên kia khiếu nại"}, POLICE)
    await go("POST", "/v1/warnings", {"group_id": group, "kind": "summons", "reason": "gây rối",
                                      "person": {"full_name": WARNED}, "issued_on": ward_today().isoformat()}, POLICE)
    # "Me too", signed in (keyed) and anonymous (no key: its reply holds a secret), its follow-up, and a merge.
    survivor = (await go("POST", "/v1/incidents", {**report, "description": "Đèn đường hỏng"}, resident))["incident_id"]
    duplicate = (await go("POST", "/v1/incidents", {**report, "description": "Đèn đường lại hỏng"},
                          auth("resident", WARD, sub="resident-2", resident_id="r-other")))["incident_id"]
    await go("POST", f"/v1/incidents/{duplicate}/supporters", None, resident)
    anonymous = await svc.client.post(f"/v1/public/incidents/{duplicate}/supporters")
    assert anonymous.status_code == 201, anonymous.text
    follow = await svc.client.post("/v1/public/supporters/follow-up", json={
        "follow_up_code": anonymous.json()["follow_up_code"], "secret": anonymous.json()["secret"]})
    assert follow.status_code == 200, follow.text
    await go("POST", f"/v1/incidents/{duplicate}/merge", {"into": survivor, "reason": "cùng một cột đèn"}, OFFICIAL)
    # Evidence: a photo whose EXIF names people, by the police (keyed) and by an anonymous tipster (no key).
    await go("POST", f"/v1/incidents/{survivor}/evidence", None,
             {**POLICE, "Content-Type": "application/octet-stream"}, content=photo_naming_people())
    tipped = await svc.client.post("/v1/public/tips", json={
        "category": "theft", "is_crime_tip": True, "description": "Có người lạ cạy khoá xe máy",
        "place": {"group_id": group}})
    assert tipped.status_code == 201, tipped.text
    uploaded = await svc.client.post(f"/v1/public/tips/{tipped.json()['follow_up_code']}/evidence",
                                     content=photo_naming_people(),
                                     headers={"Tip-Secret": tipped.json()["secret"], "Content-Type": "image/jpeg"})
    assert uploaded.status_code == 201, uploaded.text
    # Assisted intake (issue 17): a team leader files for a resident of their team's group (keyed); an Open311 client
    # files a request form-encoded with a person's contact details (no key: its reply holds a follow-up secret; the
    # routes are outside the OpenAPI document, driven here all the same): nothing of them may be kept.
    await go("POST", "/v1/incidents/assisted", {
        "resident_id": ids["resident_id"], "reporter": {"full_name": REPORTER, "phone": PHONE},
        "category": "public_order", "place": {"group_id": group}, "description": "Đèn đường hẻm 5 hỏng"},
        auth("team_leader", WARD, sub="leader-1", team_ids=["t-med"]))
    filed = await svc.client.post("/open311/v2/requests.json", data={
        "service_code": "public_order", "attribute[group_id]": group, "description": "Cống hẻm 7 bị tắc",
        "first_name": REPORTER, "last_name": RESIDENT, "phone": PHONE, "email": f"{NATIONAL_ID}@example.org",
        "device_id": BIRTH_DATE})
    assert filed.status_code == 201, filed.text
    await drive_intake(go, svc)
    return go


async def drive_intake(go: Driver, svc: ServiceUnderTest) -> None:
    """Reports in by SMS and Zalo and the two-way messages (issue 17): an anonymous tip and identified reports from
    PHONE (by SMS) and ZALO_USER_ID (by Zalo), a question naming a warned person, an answer naming a party and PHONE.
    The lines point at local providers (the app's channels, which its routes build once, are set here)."""
    from pydantic import SecretStr

    from shared.channels import channels_from
    from tests.support.providers import sms_provider, zalo_provider

    async with sms_provider() as sms, zalo_provider() as zalo:
        svc.app.state.intake_channels = channels_from(svc.app.state.runtime.settings.model_copy(update={
            "sms_gateway_url": sms.url, "sms_gateway_key_id": sms.key_id, "sms_gateway_secret": SecretStr(sms.secret),
            "zalo_oa_api_url": zalo.url, "zalo_oa_access_token": SecretStr(zalo.access_token),
            "zalo_app_id": zalo.app_id, "zalo_app_secret": SecretStr(zalo.oa_secret_key)}))
        body, headers = sms.signed({"message_id": "sms-1", "from": PHONE, "text": "Có người lạ cạy khoá xe máy"})
        await go("POST", "/v1/intake/sms", None, headers, content=body)
        code, secret = re.search(r"Ma: (TB-[A-Z0-9-]+) Mat ma: (\S+) ", sms.sent[-1]["text"]).groups()
        body, headers = sms.signed({"message_id": "sms-2", "from": PHONE, "text": f"BT {REPORTER}: mất xe đạp"})
        await go("POST", "/v1/intake/sms", None, headers, content=body)
        body, headers = zalo.signed({"event_name": "user_send_text", "sender": {"id": ZALO_USER_ID},
                                     "message": {"msg_id": "z-1", "text": f"BT {REPORTER}: mất điện thoại"}})
        await go("POST", "/v1/intake/zalo", None, headers, content=body)
        assert len(sms.sent) == 2 and len(zalo.sent) == 1
    tip = await svc.db.fetchval("incidents", "SELECT incident_id FROM incidents WHERE follow_up_code = $1", code)
    await go("POST", f"/v1/incidents/{tip}/tip-messages", {"text": f"{WARNED} có ở đó không?"}, POLICE)
    await go("POST", "/v1/follow-up/messages", {"code": code, "secret": secret,
                                                "text": f"Có, với {OTHER_PARTY}; gọi tôi {PHONE}"}, {})


async def drive_mediation(svc: ServiceUnderTest, ids: dict[str, str]) -> Driver:
    go = Driver("mediation", svc)
    group, rid = ids["group_id"], ids["resident_id"]
    await svc.feed(*[e for e in registry_events(group, rid, "t-med", "mediation") if type(e) in svc.handlers])
    official = auth("ward_official", WARD, sub="official-1")
    leader = auth("team_leader", WARD, sub="leader-1", team_ids=["t-med"], resident_id=rid)
    parties = [{"display_name": RESIDENT, "resident_id": rid}, {"display_name": OTHER_PARTY, "resident_id": "r-other"}]
    case = await go("POST", "/v1/cases", {"origin": "party_request", "group_id": group, "kind": "neighbours",
                                          "summary": "Tranh chấp lối đi", "parties": parties}, official)
    cid = case["case_id"]
    await go("POST", f"/v1/cases/{cid}/classification", {"kind": "property_or_land_boundary"}, leader)
    await go("POST", f"/v1/cases/{cid}/mediators", {"mediator_ids": ["r-m2", "r-m3"]}, leader)
    await go("POST", f"/v1/cases/{cid}/sessions", {
        "held_at": datetime.now(UTC).isoformat(), "mediator_ids": ["r-m2"], "parties_present": [1, 2],
        "invitees": [{"name": INVITEE, "relation": "người có uy tín"}]}, leader)
    await go("POST", f"/v1/cases/{cid}/success", {"agreement": "Mở lối đi 1 m", "carry_out_how": "hai bên cùng làm"},
             leader)
    await go("POST", f"/v1/cases/{cid}/follow-ups", {"checked_on": ward_today().isoformat(),
                                                     "progress": "carried_out"}, leader)
    for ending, body in [("failure", {"directed_to": "Tòa án"}), ("withdrawal", {"reason": "tự thỏa thuận"}),
                         ("refusal", {"ground": "harms_state_or_public_interest"})]:
        other = await go("POST", "/v1/cases", {"origin": "party_request", "group_id": group, "kind": "neighbours",
                                               "summary": f"Vụ {ending}", "parties": parties}, official)
        if ending == "failure":
            await go("POST", f"/v1/cases/{other['case_id']}/team", {"team_id": "t-med"}, official)
            await go("POST", f"/v1/cases/{other['case_id']}/mediators", {"mediator_ids": ["r-m2"]}, leader)
            await go("POST", f"/v1/cases/{other['case_id']}/sessions", {
                "held_at": datetime.now(UTC).isoformat(), "mediator_ids": ["r-m2"]}, leader)
        await go("POST", f"/v1/cases/{other['case_id']}/{ending}", body, leader)
    return go


async def drive_donations(svc: ServiceUnderTest, ids: dict[str, str]) -> Driver:
    go = Driver("donations", svc)
    group, rid = ids["group_id"], ids["resident_id"]
    await svc.feed(*[e for e in registry_events(group, rid, "t-vd", "mobilisation") if type(e) in svc.handlers],
                   *[HouseholdRegistered(ward_id=WARD, subject=h, household_id=h, group_id=group) for h in ("hh-1", "hh-2")])
    official = auth("ward_official", WARD, sub="official-1")
    collector = auth("team_leader", WARD, sub="collector-1", team_ids=["t-vd"], resident_id=rid)
    today = ward_today()
    campaign = await go("POST", "/v1/campaigns", {
        "ward_id": WARD, "group_id": group, "name": "Camera an ninh", "purpose": "Lắp camera", "target_vnd": 10_000_000,
        "starts_on": (today - timedelta(days=5)).isoformat(), "ends_on": (today + timedelta(days=30)).isoformat(),
        "organiser": "Ban công tác mặt trận", "team_ids": ["t-vd"],
        "vote": {"record_ref": "BB-01", "held_on": (today - timedelta(days=6)).isoformat(), "in_favour": 2}},
        official)
    camp = campaign["campaign_id"]
    gift = await go("POST", f"/v1/campaigns/{camp}/contributions", {
        "team_id": "t-vd", "channel": "cash", "amount_vnd": 500_000, "receipt_number": "R-1", "donor_kind": "resident",
        "donor_ref": rid, "public_name": RESIDENT}, collector)
    await go("POST", f"/v1/contributions/{gift['contribution_id']}/reversals", {"kind": "refund", "reason": "nhầm"}, official)
    await go("POST", f"/v1/campaigns/{camp}/pledges", {
        "team_id": "t-vd", "donor_kind": "resident", "donor_ref": rid, "public_name": RESIDENT, "total_vnd": 200_000,
        "instalments": [{"number": 1, "due_on": (today + timedelta(days=10)).isoformat(), "amount_vnd": 200_000}]},
        collector)
    await go("POST", f"/v1/campaigns/{camp}/contributions", {
        "team_id": "t-vd", "channel": "cash", "amount_vnd": 900_000, "receipt_number": "R-2", "donor_kind": "household",
        "donor_ref": "hh-1"}, collector)
    expense = await go("POST", f"/v1/campaigns/{camp}/expenses", {
        "item": "Camera", "amount_vnd": 400_000, "invoice_ref": "HĐ 1", "paid_on": today.isoformat()}, official)
    await go("POST", f"/v1/expenses/{expense['expense_id']}/approve", {"approval_ref": "QĐ 9"},
             auth("ward_official", WARD, sub="official-2"))
    await go("POST", f"/v1/campaigns/{camp}/close", {}, official)
    return go


async def drive_awards(svc: ServiceUnderTest, ids: dict[str, str]) -> Driver:
    go = Driver("awards", svc)
    group, rid = ids["group_id"], ids["resident_id"]
    await svc.feed(*[e for e in registry_events(group, rid, "t-med", "mediation") if type(e) in svc.handlers],
                   *[IncidentResolved(ward_id=WARD, subject=f"inc-{n}", incident_id=f"inc-{n}", group_id=group,
                                      category="theft", is_crime_tip=True, outcome="solved", camera_footage_used=False,
                                      camera_ids=[], reporter_ref="rep-1",
                                      resolved_at=datetime(2024, 5, n, tzinfo=UTC)) for n in (1, 2)])
    official = auth("ward_official", WARD, sub="official-1")
    city = auth("city_official", WARD, sub="city-1")
    await go("POST", f"/v1/wards/{WARD}/issuers/ward_chairman", {
        "title": "Chủ tịch UBND phường Phú Sơn", "authority": "UBND phường Phú Sơn", "signer_name": "Nguyễn Văn Ký",
        "valid_from": "2024-01-01"}, official)
    await go("POST", f"/v1/wards/{WARD}/issuers/city_chairman", {
        "title": "Chủ tịch UBND thành phố", "authority": "UBND thành phố", "valid_from": "2024-01-01"}, city)
    await go("POST", f"/v1/wards/{WARD}/criteria", {"year": 2024, "achievement_kind": "tips_solved",
                                                    "holder_kind": "reporter", "min_count": 1, "title": "Tố giác",
                                                    "issuer": "ward_chairman"}, official)
    await go("POST", f"/v1/wards/{WARD}/nominations/evaluate", {"year": 2024}, official)
    made = await go("POST", f"/v1/wards/{WARD}/nominations", {
        "year": 2024, "recipient_kind": "individual", "recipient_ref": rid, "title": "Hòa giải viên tiêu biểu",
        "issuer": "ward_chairman", "evidence_note": "10 vụ hòa giải thành"}, official)
    nid = made["nomination_id"]
    await go("POST", f"/v1/nominations/{nid}/review", {"council_minutes_ref": "BB 05"}, official)
    granted = await go("POST", f"/v1/nominations/{nid}/approve", {"decision_number": "1/QĐ", "decision_date":
                                                                  "2024-08-10"}, official)
    award_id = granted["award_id"]
    await go("POST", f"/v1/awards/{award_id}/certificate", None, official)
    await go("POST", f"/v1/awards/{award_id}/revoke", {"reason": "nhầm người", "revoked_on": "2024-09-01"}, official)
    other = await go("POST", f"/v1/wards/{WARD}/nominations", {
        "year": 2024, "recipient_kind": "individual", "recipient_ref": rid, "title": "Lần hai",
        "issuer": "ward_chairman", "evidence_note": "ghi chú"}, official)
    await go("POST", f"/v1/nominations/{other['nomination_id']}/reject", {"reason": "chưa đủ"}, official)
    return go


async def drive_feed(svc: ServiceUnderTest, ids: dict[str, str]) -> Driver:
    """The feed: the public events of the registry's (no personal data by construction), and subscribers whose
    API keys must never be stored in clear (nor in the sealed replies of their Idempotency-Keys)."""
    go = Driver("feed", svc)
    public = [e.to_public() for e in registry_events(ids["group_id"], ids["resident_id"], "t-feed", "mediation")]
    await svc.feed(*[e for e in public if e is not None])
    made = await go("POST", "/v1/subscribers", {"name": "Phường Đông Vệ", "wards": [WARD],
                                                "oauth_client_id": "dong-ve-feed"}, OFFICIAL)
    sid = made["subscriber_id"]
    rotated = await go("POST", f"/v1/subscribers/{sid}/keys", None, OFFICIAL)
    API_KEYS.extend([made["api_key"], rotated["api_key"]])
    await go("POST", f"/v1/subscribers/{sid}/keys/{made['key_id']}/revoke", None, OFFICIAL)
    # Its webhook (to a port where nothing listens: each attempt fails, and is logged).
    key = {"Authorization": f"Bearer {rotated['api_key']}"}
    hook = await go("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "start": "beginning"}, key)
    url = f"/v1/webhooks/{hook['webhook_id']}"
    WEBHOOK_SECRETS.append(hook["secret"])
    attempts: list[dict] = []

    async def attempted() -> bool:
        attempts[:] = (await svc.client.get(f"{url}/deliveries", headers=key)).json()["items"]
        return bool(attempts)

    await eventually(attempted, timeout=15)
    await go("POST", f"{url}/deliveries/{attempts[0]['delivery_id']}/redeliver", None, key)
    await go("POST", f"{url}/pause", None, key)
    await go("POST", f"{url}/resume", None, key)
    WEBHOOK_SECRETS.append((await go("POST", f"{url}/rotate-secret", None, key))["secret"])
    await go("POST", f"/v1/subscribers/{sid}/disable", None, OFFICIAL)
    return go


async def drive_identity(svc: ServiceUnderTest, ids: dict[str, str]) -> Driver:
    """Identity: accounts named after people, and the secrets of signing in, none of which may be kept in clear
    (the password as an argon2id hash, codes and refresh tokens as SHA-256, the TOTP secret sealed)."""
    go = Driver("identity", svc)
    password = "mật khẩu của Khuê 1953"
    made = await go("POST", "/v1/accounts", {"ward_id": WARD, "username": "khue.trinh", "display_name": RESIDENT,
                                             "roles": ["resident"], "resident_id": ids["resident_id"],
                                             "household_id": "hh-1"}, OFFICIAL)
    account_id = made["account"]["account_id"]
    await go("POST", f"/v1/accounts/{account_id}/roles", {"roles": ["resident", "team_member"], "team_ids": ["t-1"]},
             OFFICIAL)
    code = (await go("POST", f"/v1/accounts/{account_id}/reset-code", None, OFFICIAL))["reset_code"]
    assert (await svc.client.post("/v1/password", json={"username": "khue.trinh", "reset_code": code,
                                                        "new_password": password})).status_code == 200
    tokens = (await svc.client.post("/v1/sessions", json={"username": "khue.trinh", "password": password})).json()
    refreshed = (await svc.client.post("/v1/sessions/refresh",
                                       json={"refresh_token": tokens["refresh_token"]})).json()
    assert (await svc.client.post("/v1/sessions/sign-out",
                                  json={"refresh_token": refreshed["refresh_token"]})).status_code == 200
    await go("POST", f"/v1/accounts/{account_id}/disable", None, OFFICIAL)
    official = await go("POST", "/v1/accounts", {"ward_id": WARD, "username": "can.bo", "display_name": "Cán bộ",
                                                 "roles": ["ward_official"]}, auth("city_official", "*"))
    enrolled = (await svc.client.post("/v1/password", json={"username": "can.bo", "reset_code": official["reset_code"],
                                                            "new_password": password})).json()
    IDENTITY_SECRETS.extend([password, made["reset_code"], code, official["reset_code"], tokens["refresh_token"],
                             refreshed["refresh_token"], enrolled["second_factor"]["secret"]])
    return go


class _KeptMessages:
    """A channel adapter that keeps what it is asked to send (the notify service's verification codes)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send(self, msg: Any) -> Any:
        self.sent.append(msg)
        return None


async def drive_notify(svc: ServiceUnderTest, ids: dict[str, str]) -> Driver:
    """Notify: a person's phone number and email kept only sealed (contacts), their inbox and preferences."""
    from shared.contracts.incidents import IncidentAssigned

    go = Driver("notify", svc)
    officer = auth("police", WARD, sub="acc-notify-officer")
    sms = svc.app.state.notify_senders = {"sms": _KeptMessages(), "email": _KeptMessages()}
    await svc.feed(IncidentAssigned(ward_id=WARD, subject="i-n", incident_id="i-n", group_id="g-n",
                                    assignee_kind="police", officer_ref="acc-notify-officer"))
    await go("PUT", "/v1/contacts/sms", {"address": PHONE}, officer)
    code = re.search(r"\b([0-9]{6})\b", sms["sms"].sent[-1].text).group(1)  # type: ignore[union-attr]
    await go("POST", "/v1/contacts/sms/verify", {"code": code}, officer)
    await go("PUT", "/v1/contacts/email", {"address": "khue.trinh@example.org"}, officer)
    await go("DELETE", "/v1/contacts/email", None, officer)
    await go("PUT", "/v1/preferences/tip.assigned", {"channels": ["sms"], "digest": True}, officer)
    inbox = (await svc.client.get("/v1/notifications", headers=officer)).json()["items"]
    await go("POST", f"/v1/notifications/{inbox[0]['notification_id']}/read", None, officer)
    await go("POST", "/v1/notifications/read-all", None, officer)
    return go


async def test_no_personal_data_in_clear_outside_its_columns_after_every_keyed_command(db, started, tmp_path):
    drivers: list[Driver] = []
    async with serve(build_registry, "registry", db, started) as registry:
        go, ids = await drive_registry(registry)
        drivers.append(go)
    for service, build, drive in [("incidents", build_incidents, drive_incidents),
                                  ("mediation", build_mediation, drive_mediation),
                                  ("donations", build_donations, drive_donations),
                                  ("awards", build_awards, drive_awards),
                                  ("feed", build_feed, drive_feed),
                                  ("identity", build_identity, drive_identity),
                                  ("notify", build_notify, drive_notify)]:
        evidence = {"evidence_dir": str(tmp_path / "evidence"),  # and the group texts are filed under (issue 17)
                    "incidents_intake_group_id": ids["group_id"]} if service == "incidents" else {}
        async with serve(build, service, db, started, **evidence) as svc:
            drivers.append(await drive(svc, ids))
            assert await db.fetchval(service, "SELECT count(*) FROM idempotency_keys") > 0

    assert set().union(*(d.uncovered() for d in drivers)) == set(), "drive every command route here"
    for service in ("registry", "incidents", "mediation", "donations", "awards", "feed", "identity", "notify"):
        assert await db.fetchval(service, "SELECT count(*) FROM idempotency_keys") > 0
    for service in ("registry", "incidents", "mediation", "donations", "awards", "feed", "identity",
                    "notify"):  # all seal
        assert await db.fetchval(service, "SELECT bool_and(sealed) AND bool_and(request_hash = '') "
                                          "FROM idempotency_keys")

    # the evidence store holds the two photos, cleaned: nothing of the people their EXIF named
    stored = [f.read_bytes() for f in (tmp_path / "evidence").rglob("*") if f.is_file()]
    assert len(stored) == 2
    for value in (NATIONAL_ID, PHONE, BIRTH_DATE, REPORTER):
        assert not any(needle in blob for blob in stored for needle in _needles(value)), value

    found = await scan(db.admin_url)
    allowed = {"name": NAME_COLUMNS, "phone": PHONE_COLUMNS}
    leaks = {datum: sorted(hit for hit in hits if hit.split(":")[0] not in allowed.get(datum, {}))
             for datum, hits in found.items()}
    assert {d: h for d, h in leaks.items() if h} == {}
    assert len(API_KEYS) == 2 and "api_key" not in found
    assert len(WEBHOOK_SECRETS) == 2 and "webhook_secret" not in found
    assert len(IDENTITY_SECRETS) == 7 and "identity_secret" not in found
    # and the search works: what is allowed is found where it is kept
    assert f"registry.residents.full_name:{RESIDENT}" in found["name"]
    assert f"registry.residents.phone:{PHONE}" in found["phone"]


async def test_idempotency_records_are_sealed_replayable_and_purged_after_retention(db, started):
    async with serve(build_registry, "registry", db, started) as svc:
        runtime = svc.app.state.runtime
        headers = {**auth("admin", "*", sub="admin-1"), "Idempotency-Key": "ward-1"}
        body = {"ward_id": WARD, "name": "Phường Phú Sơn", "city": "Thanh Hóa"}
        first = await svc.client.post("/v1/wards", json=body, headers=headers)
        again = await svc.client.post("/v1/wards", json=body, headers=headers)
        assert first.status_code == again.status_code == 201 and again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        row = await db.fetch("registry", "SELECT * FROM idempotency_keys")
        assert len(row) == 1 and row[0]["sealed"] and "Phú Sơn".encode() not in bytes(row[0]["response_body"])
        # a sealed response copied to another caller's row does not open: no replay of someone else's answer
        other = {**auth("admin", "*", sub="admin-2"), "Idempotency-Key": "ward-1"}
        conn = await db.connect("registry")
        try:
            await conn.execute("INSERT INTO idempotency_keys SELECT 'admin-2', key, method, path, request_hash, "
                               "status_code, response_body, content_type, created_at, sealed FROM idempotency_keys")
        finally:
            await conn.close()
        stolen = await svc.client.post("/v1/wards", json=body, headers=other)
        assert stolen.status_code in (409, 422) and "Phú Sơn" not in stolen.text

        # past the retention the record is gone: the job deletes it (and a retry runs as a new request)
        conn = await db.connect("registry")
        try:
            await conn.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        finally:
            await conn.close()
        assert runtime.settings.idempotency_retention_hours == 24
        result = await runtime.run_job("idempotency-retention")
        assert result["deleted"] == 2
        assert await db.fetchval("registry", "SELECT count(*) FROM idempotency_keys") == 0
        retry = await svc.client.post("/v1/wards", json=body, headers=headers)
        assert retry.status_code == 409  # ran again: the ward exists (a new request, not a replay)


async def test_records_written_in_clear_before_the_upgrade_are_sealed_by_the_job(db, started):
    body = json.dumps({"ward_id": "x-ward", "name": "X", "city": "Y"}).encode()
    # The registry's commands go through the application layer, which compares a retry on the command's canonical
    # form (its fingerprint), not on the request's bytes.
    fingerprint = RegisterWard.model_validate_json(body).fingerprint()
    conn = await db.connect("registry")
    try:  # a record as an unsealed version wrote it: the response in clear, an unkeyed request fingerprint
        await conn.execute(
            "INSERT INTO idempotency_keys (principal, key, method, path, request_hash, status_code, response_body, "
            "content_type) VALUES ('admin-1', 'old', 'COMMAND', 'ward.register', $1, 201, $2, 'application/json')",
            fingerprint, json.dumps({"national_id": NATIONAL_ID}).encode())
    finally:
        await conn.close()
    async with serve(build_registry, "registry", db, started):  # the job runs when the service starts
        await eventually(lambda: db.fetchval("registry", "SELECT bool_and(sealed) FROM idempotency_keys"))
        row = (await db.fetch("registry", "SELECT * FROM idempotency_keys"))[0]
        assert NATIONAL_ID.encode() not in bytes(row["response_body"]) and row["request_hash"] != fingerprint
    async with serve(build_registry, "registry", db, started) as svc:
        replay = await svc.client.post("/v1/wards", content=body, headers={
            **auth("admin", "*", sub="admin-1"), "Idempotency-Key": "old", "Content-Type": "application/json"})
        assert replay.status_code == 201 and replay.json() == {"national_id": NATIONAL_ID}
        assert replay.headers["idempotent-replayed"] == "true"
