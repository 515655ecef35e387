"""Open311 GeoReport v2 (issue 17), driven as an Open311 client does: services and requests read as JSON
(``.json`` and without), a request POSTed form-encoded. Reads show only what the public may see (no description,
no point, no address as typed; crime tips and drug reports never); the identifying arguments of a POST are kept
nowhere; errors are Open311's array with the right status, never problem details, never a 5xx."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import auth
from tests.incidents.conftest import GROUP, OTHER_GROUP, WARD
from tests.incidents.test_public import client, everything_stored, public_app

pytestmark = pytest.mark.integration

POLICE = auth("police", WARD, sub="police-1")
EMAIL, FIRST, LAST, PHONE = "tu.nguyen@example.org", "Tư", "Nguyễn Thị", "0912345678"
DEVICE, API_KEY = "device-7f3a9c", "key-of-an-open311-app"
TYPED_ADDRESS = "Trước nhà số 17 hẻm 5 Trần Phú"
LAT, LONG = "19.80555", "105.77666"
FORM = {"jurisdiction_id": WARD, "service_code": "public_order", "attribute[group_id]": GROUP, "lat": LAT,
        "long": LONG, "address_string": TYPED_ADDRESS, "description": "Đèn đường hẻm 5 hỏng ba hôm nay",
        "email": EMAIL, "first_name": FIRST, "last_name": LAST, "phone": PHONE, "device_id": DEVICE,
        "account_id": "acct-42", "api_key": API_KEY, "media_url": "https://photos.example.org/den-hong.jpg"}
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}


def errors(r, status: int) -> str:
    """An Open311 error answer: the array of {code, description}, as JSON, with ``status``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    body = r.json()
    assert isinstance(body, list) and body and set(body[0]) == {"code", "description"}, body
    assert body[0]["code"] == status
    return body[0]["description"]


async def test_an_open311_client_lists_files_and_follows_a_request(db, started, caplog):
    app = await public_app(db, started)
    caplog.set_level(logging.DEBUG)
    async with client(app) as open311:
        endpoint = (await open311.get("/open311/v2/discovery.json")).json()["endpoints"][0]
        assert endpoint["url"] == "http://incidents/open311/v2" and endpoint["formats"] == ["application/json"]
        listed = await open311.get("/open311/v2/services.json", params={"jurisdiction_id": WARD})
        assert listed.status_code == 200 and listed.headers["content-type"] == "application/json"
        services = listed.json()
        assert {s["service_code"] for s in services} == {"theft", "fraud", "fire", "dispute", "public_order", "other"}
        assert all(set(s) == SERVICE_FIELDS and s["metadata"] is True and s["type"] == "realtime" for s in services)
        assert (await open311.get("/open311/v2/services")).json() == services  # without the suffix, the same

        definition = (await open311.get("/open311/v2/services/public_order.json",
                                        params={"jurisdiction_id": WARD})).json()
        attribute = definition["attributes"][0]
        assert definition["service_code"] == "public_order" and attribute["code"] == "group_id"
        assert attribute["required"] is True and attribute["datatype"] == "singlevaluelist"
        assert {v["key"]: v["name"] for v in attribute["values"]} == {GROUP: "Tổ dân phố Trần Phú",
                                                                       OTHER_GROUP: "Tổ dân phố Lê Lợi"}

        # POST as GeoReport v2 sends it: application/x-www-form-urlencoded.
        filed = await open311.post("/open311/v2/requests.json", data=FORM)
        assert filed.status_code == 201, filed.text
        assert filed.request.headers["content-type"] == "application/x-www-form-urlencoded"
        [receipt] = filed.json()
        rid = receipt["service_request_id"]
        assert receipt["account_id"] is None and receipt["follow_up_code"].startswith("TB-") and receipt["secret"]
        assert "contact details were not kept" in receipt["service_notice"]
        assert "media_url was not fetched" in receipt["service_notice"]

        # The police have an ordinary, anonymous report with the point as given and the address as typed.
        seen = (await open311.get(f"/v1/incidents/{rid}", headers=POLICE)).json()
        assert seen["anonymous"] is True and seen["is_crime_tip"] is False and seen["category"] == "public_order"
        assert seen["place"]["latitude"] == float(LAT) and seen["place"]["address"] == TYPED_ADDRESS
        disclosed = (await open311.post(f"/v1/incidents/{rid}/reporter-disclosure", headers=POLICE)).json()
        assert disclosed["reporter"] is None

        # The public read: only what the public may see.
        [one] = (await open311.get(f"/open311/v2/requests/{rid}.json")).json()
        assert set(one) == REQUEST_FIELDS
        assert one["status"] == "open" and one["service_code"] == "public_order" and one["address_id"] == GROUP
        assert one["address"] == "Tổ dân phố Trần Phú"  # the group's name, never the address as typed
        assert one["description"] is None and one["lat"] is None and one["long"] is None
        assert one["media_url"] is None and one["requested_datetime"].endswith("+07:00")
        assert (await open311.get(f"/open311/v2/requests/{rid}")).json() == [one]

        # A crime tip, and a drug report, never appear; a report the police make a crime tip disappears.
        tip = await open311.post("/v1/public/tips", json={"category": "theft", "is_crime_tip": True,
                                                          "place": {"group_id": GROUP},
                                                          "description": "Có người lạ cạy khoá xe máy"})
        drugs = await open311.post("/v1/public/tips", json={"category": "drugs", "place": {"group_id": GROUP},
                                                            "description": "Tụ tập lạ ở cuối hẻm"})
        later = await open311.post("/open311/v2/requests", data={**FORM, "service_code": "theft",
                                                                 "description": "Mất xe đạp trước cổng"})
        assert tip.status_code == drugs.status_code == later.status_code == 201
        later_id = later.json()[0]["service_request_id"]
        listed = (await open311.get("/open311/v2/requests.json")).json()
        assert [r["service_request_id"] for r in listed] == [later_id, rid]
        for hidden in (tip.json()["incident_id"], drugs.json()["incident_id"]):
            assert "not found" in errors(await open311.get(f"/open311/v2/requests/{hidden}.json"), 404)
        assert (await open311.post(f"/v1/incidents/{later_id}/triage", headers=POLICE,
                                   json={"is_crime_tip": True})).status_code == 200
        errors(await open311.get(f"/open311/v2/requests/{later_id}.json"), 404)

        # The police resolve it: closed, with the outcome as a note; the filters narrow.
        for step, body in [("triage", {}), ("assign", {"kind": "police", "officer": "police-1"}), ("start", {}),
                           ("resolve", {"outcome": "solved", "note": "Đã báo điện lực thay bóng, anh Hùng xử lý"})]:
            assert (await open311.post(f"/v1/incidents/{rid}/{step}", headers=POLICE, json=body)).status_code == 200
        [closed] = (await open311.get("/open311/v2/requests.json", params={"status": "closed"})).json()
        assert closed["service_request_id"] == rid and closed["status"] == "closed"
        assert closed["status_notes"] == "resolved" and "Hùng" not in json.dumps(closed, ensure_ascii=False)
        assert closed["updated_datetime"] >= closed["requested_datetime"]
        assert (await open311.get("/open311/v2/requests.json", params={"status": "open"})).json() == []
        assert (await open311.get("/open311/v2/requests.json", params={"service_code": "fire"})).json() == []
        by_id = await open311.get("/open311/v2/requests.json",
                                  params={"service_request_id": f"{rid},{tip.json()['incident_id']}"})
        assert [r["service_request_id"] for r in by_id.json()] == [rid]
        window = {"start_date": "2020-01-01T00:00:00+07:00", "end_date": "2020-02-01T00:00:00Z"}
        assert (await open311.get("/open311/v2/requests.json", params=window)).json() == []
        assert (await open311.get("/open311/v2/requests.json", params={"jurisdiction_id": WARD})).json() == [closed]

    # Nothing of the person, their device or the app is kept, nor logged; the address as typed is the police's.
    stored = await everything_stored(db)
    for sent in (EMAIL, FIRST, LAST, PHONE, DEVICE, API_KEY, "acct-42", "photos.example.org"):
        assert sent not in stored and json.dumps(sent)[1:-1] not in stored, sent
    logged = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    for sent in (EMAIL, PHONE, DEVICE, API_KEY, receipt["secret"]):
        assert sent not in logged


async def test_open311_errors_are_its_array_with_the_right_status(db, started):
    app = await public_app(db, started, public_rate_limit=14, public_rate_window_s=3600)
    async with client(app, "198.51.100.31") as open311:
        assert "service_code" in errors(await open311.post("/open311/v2/requests.json",
                                                           data={k: v for k, v in FORM.items()
                                                                 if k != "service_code"}), 400)
        errors(await open311.post("/open311/v2/requests.json", data={**FORM, "service_code": "drugs"}), 404)
        assert "group" in errors(await open311.post("/open311/v2/requests.json",
                                                    data={**FORM, "attribute[group_id]": "g-nowhere"}), 400)
        errors(await open311.post("/open311/v2/requests.json", data={**FORM, "jurisdiction_id": "nowhere"}), 404)
        errors(await open311.post("/open311/v2/requests.json", data={**FORM, "lat": "north"}), 400)
        errors(await open311.post("/open311/v2/requests.json", data={**FORM, "lat": "123", "long": "5"}), 400)
        errors(await open311.post("/open311/v2/requests.json", data={**FORM, "description": "x"}), 400)
        errors(await open311.post("/open311/v2/requests.json", data=FORM, headers={"Idempotency-Key": "k"}), 400)
        errors(await open311.post("/open311/v2/requests.xml", data=FORM), 400)
        errors(await open311.post("/open311/v2/requests.json", data={**FORM, "description": "Đèn\x00 hỏng rồi"}), 400)
        errors(await open311.post("/open311/v2/requests.json", json={**FORM, "description": "Đèn\x00 hỏng rồi"}), 400)
        errors(await open311.post("/open311/v2/requests.json", files={"photo": ("a.jpg", b"\xff\xd8")},
                                  data=FORM), 400)
        errors(await open311.post("/open311/v2/requests.json", content=b"\x00\x01",
                                  headers={"Content-Type": "application/octet-stream"}), 400)
    async with client(app, "198.51.100.32") as reader:
        errors(await reader.get("/open311/v2/services/drugs.json"), 404)
        errors(await reader.get("/open311/v2/services.json", params={"jurisdiction_id": "nowhere"}), 404)
        errors(await reader.get("/open311/v2/requests.json", params={"status": "pending"}), 400)
        errors(await reader.get("/open311/v2/requests.json", params={"start_date": "yesterday"}), 400)
        errors(await reader.get("/open311/v2/requests.json", params={"start_date": "2026-01-01T00:00:00"}), 400)
        errors(await reader.get("/open311/v2/requests.json", params={"service_code": "nothing"}), 404)
        errors(await reader.get("/open311/v2/requests.json", params={"service_request_id": ",".join(["x"] * 51)}), 400)
        errors(await reader.get("/open311/v2/requests/no-such-request.json"), 404)
        errors(await reader.get("/open311/v2/requests.xml"), 400)
        # Past the public limit: 429 with Retry-After, still the array (the counter is per address and route).
        answers = [(await reader.get("/open311/v2/services.json")).status_code for _ in range(14)]
        assert answers[-1] == 429 and set(answers[:3]) == {200}
        limited = await reader.get("/open311/v2/services.json")
        errors(limited, 429)
        assert 1 <= int(limited.headers["Retry-After"]) <= 3600
    async with client(app, "198.51.100.31") as flood:  # 13 POSTs counted above: one JSON filing is taken, then 429
        first = await flood.post("/open311/v2/requests", json=FORM)
        assert first.status_code == 201 and first.json()[0]["service_request_id"], first.text
        codes = [(await flood.post("/open311/v2/requests.json", data=FORM)).status_code for _ in range(2)]
        assert codes == [429, 429]
