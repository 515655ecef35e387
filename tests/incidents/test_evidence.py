"""Evidence files on incidents (issue 18), on both stores (a local directory; S3 against moto's server):
metadata stripped before storage, the type from the content, size limits with nothing half written, the hash
recorded is the hash served, access for police and the ward's officials only, a chain of custody of every list
view and download, an anonymous tipster's upload that keeps nothing of them, camera footage and its campaign."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image

from services.incidents.bootstrap import build
from tests.conftest import auth, settings_for
from tests.incidents.conftest import CAMERA, GROUP, OLD_CAMERA, registry_facts, seed
from tests.incidents.evidence_stores import moto_endpoint, store_settings, stored_objects  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

LIMITS = {"evidence_max_image_bytes": 300_000, "evidence_max_video_bytes": 2_000_000,
          "evidence_max_document_bytes": 200_000}
ADDRESS = "203.0.113.77"
AGENT = "Zalo/1.0 (iPhone 15 Pro)"
RESIDENT = {"resident_id": "r-an", "sub": "user-an"}
POLICE = auth("police", sub="officer-binh")
OFFICIAL = auth("ward_official", sub="official-chi")
TIP = {"category": "theft", "is_crime_tip": True, "description": "Có người lạ cạy khoá xe máy ở hẻm 12",
       "place": {"group_id": GROUP, "address": "Hẻm 12 Trần Phú"}}
REPORT = {**TIP, "is_crime_tip": False, "reporter": {"full_name": "Nguyễn Văn An", "phone": "0912 345 678"}}


# -- files -------------------------------------------------------------------------------------------------------
def photo_with_gps_and_device(size: tuple[int, int] = (320, 240), fmt: str = "JPEG") -> bytes:
    """A photo as a phone takes it: GPS position, Make, Model, a serial number, a capture time, a comment."""
    im = Image.new("RGB", size, (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "Apple"                       # Make
    exif[0x0110] = "iPhone 15 Pro"               # Model
    exif[0x0131] = "17.1.2"                      # Software
    exif[0x0132] = "2026:11:20 21:03:00"         # DateTime
    exif.get_ifd(0x8769)[0xA431] = "SN-C39XK2"   # BodySerialNumber
    exif.get_ifd(0x8825).update({1: "N", 2: (21.0, 1.0, 42.6), 3: "E", 4: (105.0, 51.0, 3.1)})
    out = io.BytesIO()
    im.save(out, fmt, exif=exif.tobytes(), **({"comment": b"Nguyen Van An"} if fmt == "JPEG" else {}))
    return out.getvalue()


def video_with_location(fmt: str = "mp4") -> bytes:
    """An MP4 (or an iPhone's QuickTime .mov) whose container says where and on what it was filmed."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format=fmt, options={"movflags": "use_metadata_tags"}) as c:
        stream = c.add_stream("mpeg4" if fmt == "mp4" else "h264", rate=10, width=64, height=64, pix_fmt="yuv420p")
        c.metadata.update({"location": "+21.0285+105.8542/", "com.apple.quicktime.make": "Apple",
                           "com.apple.quicktime.model": "iPhone 15 Pro"})
        for i in range(5):
            for packet in stream.encode(av.VideoFrame.from_image(Image.new("RGB", (64, 64), (i * 40, 0, 0)))):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
    return out.getvalue()


def pdf_with_author() -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Author"] = "Nguyen Van An"
    pdf.docinfo["/Producer"] = "Scanner of iPhone 15 Pro"
    with pdf.open_metadata() as meta:
        meta["dc:creator"] = ["Nguyen Van An"]
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


IDENTIFYING = (b"iPhone", b"Apple", b"SN-C39XK2", b"Nguyen Van An", b"105.8542", b"2026:11:20")


# -- the service ---------------------------------------------------------------------------------------------------
@pytest.fixture
async def app(db, started, store_settings):  # noqa: F811
    await seed(db, registry_facts())
    made = build(settings_for("incidents", db, None, **store_settings, **LIMITS))
    await started(made.state.runtime, wait_assigned=False)
    return made


def client(app, address: str = ADDRESS) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://incidents", headers={"User-Agent": AGENT})


async def store_of(app, c: httpx.AsyncClient):
    """The service's store (made on first use: an empty list view of a fresh incident makes it)."""
    if getattr(app.state, "evidence_store", None) is None:
        from services.incidents.api_evidence import _ready_store

        class _Req:
            def __init__(self, a):
                self.app = a

        await _ready_store(_Req(app))
    return app.state.evidence_store


async def incident(c: httpx.AsyncClient) -> str:
    made = await c.post("/v1/incidents", json=REPORT, headers=auth("resident", **RESIDENT))
    assert made.status_code == 201, made.text
    return made.json()["incident_id"]


async def upload(c: httpx.AsyncClient, incident_id: str, body: bytes, headers=POLICE, **params) -> httpx.Response:
    return await c.post(f"/v1/incidents/{incident_id}/evidence", content=body, params=params,
                        headers={**headers, "Content-Type": "application/octet-stream"})


async def rows(db, table: str) -> list[dict]:
    return [dict(r) for r in await db.fetch("incidents", f"SELECT * FROM {table} ORDER BY 1")]


# -- stripping, and the hash of what is served -------------------------------------------------------------------
async def test_a_photo_keeps_no_gps_nor_device_tags_in_what_is_stored_or_served(app, db):
    original = photo_with_gps_and_device()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the test photo does carry a position
    async with client(app) as c:
        incident_id = await incident(c)
        made = await upload(c, incident_id, original)
        assert made.status_code == 201, made.text
        receipt = made.json()
        assert receipt["media_type"] == "image/jpeg" and receipt["incident_id"] == incident_id
        assert {"exif", "gps", "device", "comment"} <= set(receipt["metadata_removed"])

        objects = await stored_objects(await store_of(app, c))
        assert list(objects) == [f"evidence/{receipt['evidence_id']}"]
        stored = next(iter(objects.values()))
        served = await c.get(f"/v1/incidents/{incident_id}/evidence/{receipt['evidence_id']}/content",
                             headers=POLICE)
        assert served.status_code == 200
    for content in (stored, served.content):
        image = Image.open(io.BytesIO(content))
        assert image.format == "JPEG" and image.size == (320, 240)
        exif = image.getexif()
        assert len(exif) == 0 and not exif.get_ifd(0x8825) and 0x010F not in exif and 0x0110 not in exif
        assert not any(k in image.info for k in ("exif", "comment", "xmp", "icc_profile"))
        assert not any(marker in content for marker in IDENTIFYING)
    assert served.content == stored
    assert hashlib.sha256(served.content).hexdigest() == receipt["sha256"] == (await rows(db, "evidence_files"))[0][
        "sha256"]
    assert receipt["size"] == len(served.content)
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"


async def test_png_webp_video_and_pdf_are_stored_without_their_metadata(app, db):
    files = [("image/png", photo_with_gps_and_device(fmt="PNG")), ("image/webp", photo_with_gps_and_device(fmt="WEBP")),
             ("video/mp4", video_with_location()), ("application/pdf", pdf_with_author()),
             ("video/mp4", video_with_location("mov"))]  # an iPhone's .mov: stored as MP4, without re-encoding
    async with client(app) as c:
        incident_id = await incident(c)
        for media_type, body in files:
            assert any(marker in body for marker in IDENTIFYING), media_type  # the originals do carry them
            made = await upload(c, incident_id, body)
            assert made.status_code == 201, (media_type, made.text)
            assert made.json()["media_type"] == media_type and made.json()["metadata_removed"]
            served = await c.get(f"/v1/incidents/{incident_id}/evidence/{made.json()['evidence_id']}/content",
                                 headers=POLICE)
            assert not any(marker in served.content for marker in IDENTIFYING), (media_type, served.content[:200])
            assert hashlib.sha256(served.content).hexdigest() == made.json()["sha256"]
        objects = await stored_objects(await store_of(app, c))
    assert len(objects) == 5 and not any(m in body for body in objects.values() for m in IDENTIFYING)


# -- the type from the content, the size limits, nothing half written -------------------------------------------
async def test_a_file_named_jpg_that_is_something_else_is_refused_by_its_content(app, db):
    async with client(app) as c:
        incident_id = await incident(c)
        for body in (b"<html><script>alert(1)</script></html>" * 10, b"MZ\x90\x00" + bytes(5000),
                     b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 100):  # the last claims JPEG, and is not one
            refused = await c.post(f"/v1/incidents/{incident_id}/evidence", content=body, headers={
                **POLICE, "Content-Type": "image/jpeg", "Content-Disposition": 'attachment; filename="IMG_1.jpg"'})
            assert refused.status_code == 415, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"].endswith("#unsupported-media-type")
        assert await stored_objects(await store_of(app, c)) == {}
    assert await rows(db, "evidence_files") == [] and await rows(db, "evidence_custody") == []


async def test_an_oversize_file_is_refused_with_a_problem_and_nothing_is_half_written(app, db):
    big = photo_with_gps_and_device() + bytes(LIMITS["evidence_max_image_bytes"])  # a JPEG, over the image limit
    async with client(app) as c:
        incident_id = await incident(c)
        declared = await upload(c, incident_id, big)

        async def chunked():  # no Content-Length: refused while it streams in
            for i in range(0, len(big), 16384):
                yield big[i:i + 16384]

        streamed = await c.post(f"/v1/incidents/{incident_id}/evidence", content=chunked(), headers=POLICE)
        # a small PDF may be larger than a photo would be allowed, but not than a document
        pdf = pdf_with_author() + b"%" + bytes(LIMITS["evidence_max_document_bytes"])
        document = await upload(c, incident_id, pdf)
        store = await store_of(app, c)
        assert await stored_objects(store) == {}
    for refused in (declared, streamed, document):
        assert refused.status_code == 413, refused.text
        assert refused.json()["type"].endswith("#content-too-large")
    assert await rows(db, "evidence_files") == [] and await rows(db, "evidence_custody") == []
    assert await db.fetchval("incidents", "SELECT count(*) FROM audit_log WHERE target_type = 'evidence'") == 0


async def test_a_refusal_after_the_file_was_stored_leaves_no_object(app, db):
    """The camera check comes after the file is cleaned and stored: its refusal deletes the object again."""
    async with client(app) as c:
        incident_id = await incident(c)
        for camera in (OLD_CAMERA, "cam-unknown"):
            refused = await upload(c, incident_id, photo_with_gps_and_device(), camera_id=camera)
            assert refused.status_code == 422, refused.text
        assert await stored_objects(await store_of(app, c)) == {}
    assert await rows(db, "evidence_files") == []


# -- who may add and who may see ---------------------------------------------------------------------------------
async def test_only_police_and_the_wards_officials_list_and_download(app, db):
    async with client(app) as c:
        incident_id = await incident(c)
        # the identified reporter adds a photo to their own report; another resident may not
        own = await upload(c, incident_id, photo_with_gps_and_device(), headers=auth("resident", **RESIDENT))
        assert own.status_code == 201, own.text
        stranger = await upload(c, incident_id, photo_with_gps_and_device(),
                                headers=auth("resident", resident_id="r-binh"))
        assert stranger.status_code == 404
        evidence_id = own.json()["evidence_id"]
        content = f"/v1/incidents/{incident_id}/evidence/{evidence_id}/content"
        for who, status in ((auth("resident", **RESIDENT), 403), (auth("resident", resident_id="r-x"), 403),
                            (auth("team_leader"), 403), (auth("city_official"), 403),
                            (auth("police", ward="other-ward"), 404), (auth("ward_official", ward="other-ward"), 404)):
            for path in (content, f"/v1/incidents/{incident_id}/evidence",
                         f"/v1/incidents/{incident_id}/evidence/{evidence_id}/custody"):
                answer = await c.get(path, headers=who)
                assert answer.status_code == status, (path, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"
        assert (await c.get(content, headers=OFFICIAL)).status_code == 200
        assert (await c.get(content, headers=POLICE)).status_code == 200
        listed = (await c.get(f"/v1/incidents/{incident_id}/evidence", headers=POLICE)).json()["items"]
    assert [(e["evidence_id"], e["uploaded_by"]) for e in listed] == [(evidence_id, "reporter")]
    custody = [r["action"] for r in await rows(db, "evidence_custody")]
    assert custody == ["uploaded", "downloaded", "downloaded", "listed"]  # the refused reads left no trace


async def test_every_list_view_and_download_is_in_the_chain_of_custody(app, db):
    async with client(app) as c:
        incident_id = await incident(c)
        made = (await upload(c, incident_id, photo_with_gps_and_device())).json()
        evidence_id, path = made["evidence_id"], f"/v1/incidents/{incident_id}/evidence"
        await c.get(path, headers=OFFICIAL)
        for who in (POLICE, OFFICIAL, POLICE):
            assert (await c.get(f"{path}/{evidence_id}/content", headers=who)).status_code == 200
        log = (await c.get(f"{path}/{evidence_id}/custody", headers=OFFICIAL)).json()
    assert log["evidence_id"] == evidence_id and log["sha256"] == made["sha256"]
    assert [(e["action"], e["actor"], e["sha256"]) for e in log["items"]] == [
        ("uploaded", "officer-binh", made["sha256"]), ("listed", "official-chi", made["sha256"]),
        ("downloaded", "officer-binh", made["sha256"]), ("downloaded", "official-chi", made["sha256"]),
        ("downloaded", "officer-binh", made["sha256"])]
    assert [e["actor_roles"] for e in log["items"]][:2] == [["police"], ["ward_official"]]
    # each act is also a row of the keyed audit chain
    audited = await db.fetch("incidents", "SELECT actor, command FROM audit_log WHERE command LIKE 'evidence.%' "
                                          "ORDER BY seq")
    assert [(r["actor"], r["command"]) for r in audited] == [
        ("officer-binh", "evidence.add"), ("official-chi", "evidence.list"), ("officer-binh", "evidence.download"),
        ("official-chi", "evidence.download"), ("officer-binh", "evidence.download")]


# -- an anonymous tipster ----------------------------------------------------------------------------------------
async def test_an_anonymous_tipster_uploads_with_code_and_secret_and_nothing_identifying_is_kept(app, db):
    async with client(app) as c:
        tip = (await c.post("/v1/public/tips", json=TIP)).json()
        code, secret = tip["follow_up_code"], tip["secret"]
        path = f"/v1/public/tips/{code}/evidence"
        photo = photo_with_gps_and_device()
        wrong = await c.post(path, content=photo, headers={"Tip-Secret": "not-the-secret"})
        unknown = await c.post("/v1/public/tips/TB-NOPE-NOPE/evidence", content=photo, headers={"Tip-Secret": secret})
        assert wrong.status_code == unknown.status_code == 404 and wrong.json()["detail"] == unknown.json()["detail"]
        made = await c.post(path, content=photo, headers={"Tip-Secret": secret, "Content-Type": "image/jpeg"})
        assert made.status_code == 201, made.text
        lower = await c.post(f"/v1/public/tips/{code.lower()}/evidence", content=photo, headers={"Tip-Secret": secret})
        assert lower.status_code == 201
        listed = (await c.get(f"/v1/incidents/{tip['incident_id']}/evidence", headers=POLICE)).json()["items"]
        objects = await stored_objects(await store_of(app, c))
    assert {e["uploaded_by"] for e in listed} == {"anonymous"}
    # nothing of the tipster anywhere in the schema: no address, no agent, no device, no position
    tables = [r["table_name"] for r in await db.fetch(
        "incidents", "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
    everything = json.dumps([dict(r) for t in tables for r in await db.fetch("incidents", f'SELECT * FROM "{t}"')],
                            default=str)
    for trace in (ADDRESS, AGENT, "iPhone", "Apple", "105.8542", "SN-C39XK2", secret):
        assert trace not in everything, trace
    assert not any(m in body for body in objects.values() for m in IDENTIFYING)
    actors = {r["actor"] for r in await db.fetch("incidents", "SELECT actor FROM audit_log "
                                                               "WHERE command = 'evidence.add'")}
    assert actors == {"anonymous"}
    custody = {r["actor"] for r in await rows(db, "evidence_custody") if r["action"] == "uploaded"}
    assert custody == {"anonymous"}


# -- camera footage -----------------------------------------------------------------------------------------------
async def test_footage_is_tied_to_a_registered_camera_and_its_campaign(app, db):
    async with client(app) as c:
        incident_id = await incident(c)
        made = await upload(c, incident_id, video_with_location(), camera_id=CAMERA,
                            footage_from="2026-11-20T20:55:00+07:00", footage_to="2026-11-20T21:05:00+07:00")
        assert made.status_code == 201, made.text
        assert made.json()["camera_id"] == CAMERA and made.json()["campaign_id"] == "c-1"
        detail = (await c.get(f"/v1/incidents/{incident_id}", headers=POLICE)).json()
        no_camera = await upload(c, incident_id, photo_with_gps_and_device(),
                                 footage_from="2026-11-20T20:55:00+07:00")
        assert no_camera.status_code == 422
    assert CAMERA in json.dumps(detail)  # the incident now cites that camera's footage
    assert (await rows(db, "incident_footage"))[0]["camera_id"] == CAMERA


async def test_an_idempotent_retry_answers_the_first_upload_and_keeps_one_object(app, db):
    async with client(app) as c:
        incident_id = await incident(c)
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first = await upload(c, incident_id, photo_with_gps_and_device(), headers={**POLICE, **key})
        again = await upload(c, incident_id, photo_with_gps_and_device(), headers={**POLICE, **key})
        assert first.status_code == again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
        objects = await stored_objects(await store_of(app, c))
    assert list(objects) == [f"evidence/{first.json()['evidence_id']}"]
    assert len(await rows(db, "evidence_files")) == 1


def test_a_store_directory_is_under_the_data_directory_in_make_run():
    from shared.devstack.stack import service_env

    env = service_env("incidents", "postgresql://postgres:pw@127.0.0.1:1/ward", "127.0.0.1:1",
                      data_dir=Path("/data/here"))
    assert env["EVIDENCE_DIR"] == "/data/here/evidence"


async def test_anonymous_uploads_are_counted_per_address_and_per_code(db, started, tmp_path):
    await seed(db, registry_facts())
    limited = build(settings_for("incidents", db, None, evidence_dir=str(tmp_path / "evidence"),
                                 public_rate_limit=3, **LIMITS))
    await started(limited.state.runtime, wait_assigned=False)
    async with client(limited) as c:
        tip = (await c.post("/v1/public/tips", json=TIP)).json()
        path = f"/v1/public/tips/{tip['follow_up_code']}/evidence"
        answers = [(await c.post(path, content=b"x", headers={"Tip-Secret": "guess"})).status_code for _ in range(4)]
    assert answers == [404, 404, 404, 429]
    async with client(limited, address="198.51.100.9") as elsewhere:  # the code's own count, from any address
        again = await elsewhere.post(path, content=photo_with_gps_and_device(), headers={"Tip-Secret": tip["secret"]})
    assert again.status_code == 429 and "retry-after" in again.headers
