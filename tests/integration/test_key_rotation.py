"""Key rotation on real PostgreSQL: personal data written under one key is re-encrypted under the next while the
service keeps writing (`wardctl keys rotate`), every value still reads the same through the service's API, and
the old key can then leave the configuration."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from datetime import date

import pytest

from services.incidents.bootstrap import build as build_incidents
from services.registry.bootstrap import build as build_registry
from services.registry.repository import national_id_context
from shared import keyrotation
from shared.crypto import KeyRing, PersonalDataProtector
from shared.db import create_pool
from shared.devstack.stack import ROOT
from tests.conftest import auth, settings_for
from tests.harness import client_for
from tests.incidents.conftest import registry_facts, seed
from tests.registry.conftest import Api
from tests.unit.test_keys import old_format_encrypt

pytestmark = pytest.mark.integration


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def keyring_env(pii: dict[str, str], active: str, index: dict[str, str] | None = None,
                index_active: str | None = None) -> dict[str, str]:
    env = {"PII_KEYS": json.dumps(pii), "PII_ACTIVE_KEY_ID": active}
    if index is not None:
        env.update(INDEX_KEYS=json.dumps(index), INDEX_ACTIVE_KEY_ID=index_active or "")
    return env


def as_settings(env: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in env.items()}


async def wardctl(*args: str, **env: str) -> tuple[int, str, str]:
    """`wardctl ...` as an operator runs it from a shell, with the service's environment."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shared.cli", *args, cwd=ROOT, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    return proc.returncode or 0, out.decode(), err.decode()


def national_id(i: int) -> str:
    return f"0012030{i:05d}"


async def test_registry_rotates_national_ids_to_the_new_key_while_it_keeps_writing(db, started) -> None:
    legacy, k1, k2, i1, i2 = (new_key() for _ in range(5))
    # 1. Written under k1 (and one row in the format of before keyrings, under the former single PII_KEY).
    first = keyring_env({"k1": k1, "legacy": legacy}, "k1", {"i1": i1, "legacy": legacy}, "i1")
    app1 = build_registry(settings_for("registry", db, None, **as_settings(first)))
    await started(app1.state.runtime, wait_assigned=False)
    async with client_for(app1, "http://registry") as client:
        api = Api(client)
        await api.ward()
        group = await api.group()
        household = await api.household(group["group_id"])
        ids = {}
        for i in range(23):
            ids[(await api.resident(household["household_id"], f"Người {i}", national_id=national_id(i)))["resident_id"]] = national_id(i)
    old_rid = next(iter(ids))
    old_index = PersonalDataProtector(index=KeyRing.parse("INDEX_KEYS", json.dumps({"legacy": legacy}), "legacy"))
    conn = await db.connect("registry")
    try:
        await conn.execute("UPDATE residents SET national_id_cipher = $2, national_id_index = $3 WHERE id = $1", old_rid,
                           old_format_encrypt(legacy, ids[old_rid], national_id_context(old_rid)),
                           old_index.blind_index(ids[old_rid], "national_id"))
    finally:
        await conn.close()
    await app1.state.runtime.stop()

    # 2. k2 and i2 become active (every replica restarted with them); rotate while residents keep being registered.
    second = keyring_env({"k1": k1, "k2": k2, "legacy": legacy}, "k2", {"i1": i1, "i2": i2, "legacy": legacy}, "i2")
    app2 = build_registry(settings_for("registry", db, None, **as_settings(second)))
    await started(app2.state.runtime, wait_assigned=False)
    env = {"DATABASE_URL": db.app_url("registry"), **second}
    code, out, err = await wardctl("keys", "status", "registry", **env)
    assert code == 0, err
    assert "residents.national_id_cipher: k1=22, legacy=1" in out and "residents.national_id_index: i1=22, legacy=1" in out
    async with client_for(app2, "http://registry") as client:
        api = Api(client)

        rotating = True

        async def keep_writing() -> int:
            """Register residents for as long as the rotation runs (at least 10)."""
            i = 100
            while rotating or i < 110:
                ids[(await api.resident(household["household_id"], f"Người {i}", national_id=national_id(i)))["resident_id"]] = national_id(i)
                i += 1
            return i - 100

        writer = asyncio.create_task(keep_writing())
        code, out, err = await wardctl("keys", "rotate", "registry", "--batch-size", "5", **env)
        rotating = False
        assert await writer >= 10
        assert code == 0, err
        assert "residents.national_id_cipher: 23 rewritten" in out, out  # the 23 old rows; new ones came as k2
        # a national ID under the old index is still found while the rotation runs, and after it
        dup = await api.call("POST", "/v1/residents", json={"household_id": household["household_id"], "full_name": "X",
                                                              "sex": "male", "national_id": ids[old_rid]})
        assert dup.status_code == 409, dup.text
    await app2.state.runtime.stop()

    code, out, _ = await wardctl("keys", "status", "registry", **env)
    n = len(ids)
    assert f"residents.national_id_cipher: k2={n}\n" in out and f"residents.national_id_index: i2={n}\n" in out, out
    again = await wardctl("keys", "rotate", "registry", **env)
    assert "residents.national_id_cipher: 0 rewritten" in again[1]  # resumable: nothing left to do

    # 3. The old keys leave the configuration: every resident reads the same through the API.
    third = keyring_env({"k2": k2}, "k2", {"i2": i2}, "i2")
    app3 = build_registry(settings_for("registry", db, None, **as_settings(third)))
    await started(app3.state.runtime, wait_assigned=False)
    async with client_for(app3, "http://registry") as client:
        for rid, number in ids.items():
            r = await client.get(f"/v1/residents/{rid}", headers=auth("police"))
            assert r.status_code == 200 and r.json()["national_id"] == number, (rid, r.text)
        dup = await Api(client).call("POST", "/v1/residents", json={"household_id": household["household_id"], "full_name": "Y",
                                                                     "sex": "male", "national_id": national_id(5)})
        assert dup.status_code == 409


async def test_an_interrupted_rotation_resumes_where_it_stopped(db, started) -> None:
    k1, k2, i1 = new_key(), new_key(), new_key()
    first = keyring_env({"k1": k1}, "k1", {"i1": i1}, "i1")
    app = build_registry(settings_for("registry", db, None, **as_settings(first)))
    await started(app.state.runtime, wait_assigned=False)
    async with client_for(app, "http://registry") as client:
        api = Api(client)
        await api.ward()
        household = await api.household((await api.group())["group_id"])
        for i in range(12):
            await api.resident(household["household_id"], f"Người {i}", national_id=national_id(i))
    settings = settings_for("registry", db, None, **as_settings(keyring_env({"k1": k1, "k2": k2}, "k2", {"i1": i1}, "i1")))
    pii = settings.protector()

    class Interrupted(Exception):
        pass

    def stop_after_first_batch(column: str, n: int) -> None:
        raise Interrupted

    pool = await create_pool(db.app_url("registry"), "registry", min_size=1, max_size=1)
    try:
        with pytest.raises(Interrupted):
            await keyrotation.rotate(pool, "registry", pii, batch_size=5, progress=stop_after_first_batch)
        async with pool.acquire() as conn:
            assert (await keyrotation.status(conn, "registry"))["residents.national_id_cipher"] == {"k1": 7, "k2": 5}
        assert await keyrotation.rotate(pool, "registry", pii, batch_size=5) == {"residents.national_id_cipher": 7}
        async with pool.acquire() as conn:
            assert (await keyrotation.status(conn, "registry"))["residents.national_id_cipher"] == {"k2": 12}
    finally:
        await pool.close()


async def test_incidents_rotates_reporters_and_warned_persons(db, started) -> None:
    legacy, k1, k2 = new_key(), new_key(), new_key()
    pseudonym = {"PSEUDONYM_KEY": new_key()}
    await seed(db, registry_facts())
    first = {**keyring_env({"k1": k1, "legacy": legacy}, "k1"), **pseudonym}
    app1 = build_incidents(settings_for("incidents", db, None, **as_settings(first)))
    await started(app1.state.runtime, wait_assigned=False)
    resident = {"resident_id": "r-an", "sub": "user-an"}
    report = {"category": "theft", "is_crime_tip": True, "description": "Xe máy bị lấy trộm",
              "place": {"group_id": "g-tran-phu", "address": "12 Trần Phú"},
              "happened_at": "2026-11-20T21:00:00+07:00",
              "reporter": {"full_name": "Nguyễn Văn An", "phone": "0912 345 678"}}
    warning = {"group_id": "g-tran-phu", "kind": "admonition", "reason": "tụ tập",
               "person": {"resident_id": "r-e", "full_name": "Lê Văn Em"}, "issued_on": date.today().isoformat()}
    async with client_for(app1, "http://incidents") as client:
        made = await client.post("/v1/incidents", json=report, headers=auth("resident", **resident))
        assert made.status_code == 201, made.text
        incident_id = made.json()["incident_id"]
        assert (await client.post("/v1/warnings", json=warning, headers=auth("police"))).status_code == 201
    await app1.state.runtime.stop()

    env = {"DATABASE_URL": db.app_url("incidents"), **keyring_env({"k1": k1, "k2": k2}, "k2"), **pseudonym}
    code, out, err = await wardctl("keys", "rotate", "incidents", **env)
    assert code == 0, err
    assert "incidents.reporter_identity: 1 rewritten" in out and "warnings.person: 1 rewritten" in out, out
    assert "incidents.reporter_identity: k2=1" in out and "warnings.person: k2=1" in out

    after = {**keyring_env({"k2": k2}, "k2"), **pseudonym}
    app2 = build_incidents(settings_for("incidents", db, None, **as_settings(after)))
    await started(app2.state.runtime, wait_assigned=False)
    async with client_for(app2, "http://incidents") as client:
        disclosed = await client.post(f"/v1/incidents/{incident_id}/reporter-disclosure", headers=auth("police"))
        assert disclosed.status_code == 200, disclosed.text
        assert disclosed.json()["reporter"]["full_name"] == "Nguyễn Văn An"
        month = date.today().strftime("%Y-%m")
        seen = (await client.get(f"/v1/warnings?month={month}", headers=auth("police"))).json()["items"]
        assert seen[0]["person"]["full_name"] == "Lê Văn Em"
        # the pseudonym key did not change: the reporter still finds their report
        mine = (await client.get("/v1/incidents", headers=auth("resident", **resident))).json()["items"]
        assert [i["incident_id"] for i in mine] == [incident_id]


async def test_a_value_under_a_key_no_longer_configured_stops_the_rotation_and_names_the_row(db, started) -> None:
    k1, k2, i1 = new_key(), new_key(), new_key()
    app = build_registry(settings_for("registry", db, None, **as_settings(keyring_env({"k1": k1}, "k1", {"i1": i1}, "i1"))))
    await started(app.state.runtime, wait_assigned=False)
    async with client_for(app, "http://registry") as client:
        api = Api(client)
        await api.ward()
        household = await api.household((await api.group())["group_id"])
        rid = (await api.resident(household["household_id"], "Trần Thị B", "female", national_id=national_id(1)))["resident_id"]
    env = {"DATABASE_URL": db.app_url("registry"), **keyring_env({"k2": k2}, "k2", {"i1": i1}, "i1")}  # k1 dropped too soon
    code, out, err = await wardctl("keys", "rotate", "registry", **env)
    assert code == 1 and f"residents.national_id_cipher of id={rid}" in err and "'k1'" in err, (out, err)
    assert national_id(1) not in out + err
    assert "Traceback" not in err


async def test_status_and_rotate_of_a_service_without_personal_data_need_no_key(db) -> None:
    code, out, err = await wardctl("keys", "status", "donations", DATABASE_URL=db.app_url("donations"))
    assert code == 0 and "encrypts no personal data" in out, err
