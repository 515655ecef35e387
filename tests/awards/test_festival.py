"""Done when: the seed's festival is reproduced from the other services' events, through the real broker.

Collectives and individuals receive Giấy khen from the city chairman and from the ward, each backed by the
events that earned it; the certificate opens and shows its Vietnamese text."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pypdfium2 as pdfium
import pytest
from aiokafka import AIOKafkaProducer

from services.awards.bootstrap import build
from services.awards.certificate import ANONYMOUS_REPORTER
from shared.events import Event, to_kafka
from tests.awards.conftest import WARD_OFFICIAL, Service
from tests.awards.seed import (
    CRITERIA,
    FIRE_TEAMS,
    GROUP,
    ISSUERS,
    MEDIATION_TEAM,
    MOBILISATION_TEAMS,
    REPORTER,
    WARD,
    all_events,
)
from tests.conftest import settings_for
from tests.integration.conftest import eventually
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration


async def publish(bootstrap: str, events: list[Event]) -> None:
    """Publish contract events as their services' relays would (CloudEvents binary mode, key = subject)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            key, value, headers = to_kafka(event)
            await producer.send(event.topic, value=value, key=key.encode(), headers=list(headers.items()))
        await producer.flush()
    finally:
        await producer.stop()


async def test_the_phu_son_festival_is_reproduced_from_the_other_services_events(db, broker, started):
    app = build(settings_for("awards", db, broker))
    await started(app.state.runtime)
    events = all_events()
    await publish(broker.bootstrap, events)
    await publish(broker.bootstrap, events[-12:])  # a redelivery: the inbox absorbs it

    async def all_recorded() -> bool:
        handled = await db.fetchval("awards", "SELECT count(*) FROM inbox WHERE outcome = 'handled'")
        return handled == len(events)

    await eventually(all_recorded, timeout=60)
    sent = {str(e.id) for e in events}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://awards") as client:
        svc = Service(app, client, db)
        await svc.configure(ISSUERS, CRITERIA)
        proposed = await svc.evaluate()
        for n, nomination in enumerate(proposed, start=1):
            prefix = "QĐ-UBND" if nomination["issuer"] == "ward_chairman" else "QĐ-UBND.TP"
            await svc.grant(nomination, number=f"{100 + n}/{prefix}", on="2024-08-10")

        festival = (await client.get(f"/v1/wards/{WARD}/festival/2024", headers=WARD_OFFICIAL)).json()
        printable = await client.get(f"/v1/wards/{WARD}/festival/2024.pdf", headers=WARD_OFFICIAL)
        mediators_award = next(a for a in festival["awards"] if a["recipient_ref"] == "r-hung")
        await client.post(f"/v1/awards/{mediators_award['award_id']}/certificate", headers=WARD_OFFICIAL)
        certificate = await client.get(f"/v1/awards/{mediators_award['award_id']}/certificate.pdf",
                                       headers=WARD_OFFICIAL)

    assert festival["ward_name"] == "Phường Phú Sơn"
    awards = festival["awards"]
    who = {(a["issuer"], a["recipient_kind"], a["recipient"]) for a in awards}
    # From the Chairman of the Thanh Hóa City People's Committee: the mediation team and the 10 mobilisation teams.
    assert ("city_chairman", "collective", "Tổ hòa giải Trần Phú") in who
    assert {a["recipient_ref"] for a in awards if a["issuer"] == "city_chairman"} == {MEDIATION_TEAM, *MOBILISATION_TEAMS}
    # From Phú Sơn ward: two mediators, the anonymous reporter, the group whose cameras helped, the fire teams.
    assert {("ward_chairman", "individual", "Lê Văn Hùng"), ("ward_chairman", "individual", "Phạm Thị Lan"),
            ("ward_chairman", "reporter", ANONYMOUS_REPORTER), ("ward_chairman", "collective", "Tổ dân phố Trần Phú"),
            ("ward_chairman", "collective", "Tổ PCCC liên gia số 1"),
            ("ward_chairman", "collective", "Tổ PCCC liên gia số 2")} <= who
    assert Counter(a["issuer"] for a in awards) == {"city_chairman": 11, "ward_chairman": 6}
    assert all(a["issuer_title"] == "Chủ tịch Ủy ban nhân dân thành phố Thanh Hóa"
               for a in awards if a["issuer"] == "city_chairman")
    # Each award is backed by the events that earned it, and only by events the other services sent.
    for a in awards:
        evidence = [e for ach in a["achievements"] for e in ach["evidence_event_ids"]]
        assert evidence and set(evidence) <= sent, a["recipient"]
    team = next(a for a in awards if a["recipient_ref"] == MEDIATION_TEAM)
    assert team["achievements"][0]["count"] == 10  # "successfully mediated 10 cases"
    raised = sum(a["achievements"][0]["amount_vnd"] for a in awards if a["recipient_ref"] in MOBILISATION_TEAMS)
    assert 55_000_000 < raised < 60_000_000  # "nearly 60 million VND"
    assert {a["recipient_ref"] for a in awards} >= {GROUP, REPORTER, *FIRE_TEAMS}

    # The awards went out on Kafka; the reporter's with no name, for the incidents service to show them.
    records = await read_topic(broker.bootstrap, "awards.awards", min_count=len(awards) + 1, timeout=30)
    granted = [json.loads(r.value) for r in records if dict(r.headers)["ce_type"] == b"awards.award.granted.v1"]
    assert {g["award_id"] for g in granted} == {a["award_id"] for a in awards}
    [reporters] = [g for g in granted if g["recipient_kind"] == "reporter"]
    assert reporters["recipient_ref"] == REPORTER and reporters["recipient_name"] is None

    # The printable list and the certificate open and read in Vietnamese.
    assert printable.status_code == 200 and printable.headers["content-type"] == "application/pdf"
    doc = pdfium.PdfDocument(printable.content)
    listing = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))).replace("\r", "")
    assert "NGÀY HỘI TOÀN DÂN BẢO VỆ AN NINH TỔ QUỐC NĂM 2024" in listing
    assert "Giấy khen của Chủ tịch Ủy ban nhân dân thành phố Thanh Hóa" in listing and "Tổ hòa giải Trần Phú" in listing
    page = pdfium.PdfDocument(certificate.content)[0]
    text = page.get_textpage().get_text_range().replace("\r", "")
    assert "GIẤY KHEN" in text and "Cá nhân: Lê Văn Hùng" in text and "Hòa giải viên tiêu biểu năm 2024" in text
    image = page.render(scale=1).to_pil().convert("L")
    assert image.getextrema()[0] < 100  # ink was drawn on the page
