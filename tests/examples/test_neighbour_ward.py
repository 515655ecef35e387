"""The example subscriber (examples/neighbour-ward) as a neighbour runs it: its dashboard fold, its cursor and
deduplication across restarts (against a fake feed speaking the feed's HTTP contract), and its webhook verifier
(tampered and replayed deliveries refused), without any platform running."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from neighbour import dashboard
from neighbour.pull import FeedRefused, Follower
from neighbour.server import make_server, serve_in_background
from neighbour.store import Store
from neighbour.webhooks import APPLIED, DUPLICATE, Receiver, Rejected
from standardwebhooks.webhooks import Webhook

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def ce(type_: str, ward: str = "phu-son", **data: object) -> dict:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:ward-platform:x", "type": type_,
            "subject": str(data.get("campaign_id") or uuid.uuid4()), "time": "2026-12-03T01:00:00Z",
            "datacontenttype": "application/json", "wardid": ward, "data": {"ward_id": ward, **data}}


def story() -> list[dict]:
    cid = "cmp-1"
    return [
        ce(dashboard.INCIDENT_RESOLVED, category="theft", outcome="solved", is_crime_tip=True),
        ce(dashboard.INCIDENT_RESOLVED, category="theft", outcome="unfounded", is_crime_tip=False),
        ce(dashboard.INCIDENT_RESOLVED, category="drugs", outcome="solved", is_crime_tip=True),
        ce(dashboard.CASE_CLOSED, outcome="succeeded", kind="family"),
        ce(dashboard.CASE_CLOSED, outcome="failed", kind="neighbours"),
        ce(dashboard.CASE_CLOSED, outcome="succeeded", kind="other_civil"),
        ce(dashboard.CAMPAIGN_OPENED, campaign_id=cid, name="Cameras", target_vnd=60_000_000),
        ce(dashboard.TARGET_REACHED, campaign_id=cid, target_vnd=60_000_000, raised_vnd=61_000_000),
        ce(dashboard.EXPENSE_RECORDED, campaign_id=cid, amount_vnd=20_000_000, cameras_count=4),
        ce(dashboard.EXPENSE_RECORDED, campaign_id=cid, amount_vnd=15_000_000, cameras_count=3),
        ce(dashboard.CAMPAIGN_CLOSED, campaign_id=cid, raised_vnd=62_000_000, spent_vnd=35_000_000,
           balance_vnd=27_000_000),
        ce(dashboard.EXPENSE_RECORDED, campaign_id=cid, amount_vnd=1, cameras_count=0),  # after the close: not counted
        ce(dashboard.AWARD_GRANTED, award_id="a1"),
        ce(dashboard.AWARD_GRANTED, award_id="a2"),
        ce(dashboard.AWARD_REVOKED, award_id="a1"),
        ce("public.registry.team.formed.v1", team_id="t1"),  # not on the dashboard, still counted as seen
    ]


# -- the dashboard ------------------------------------------------------------------------------------------
def test_the_dashboard_folds_resolved_incidents_mediations_money_and_awards():
    state = dashboard.empty()
    for event in story():
        state = dashboard.fold(state, event)
    assert state["incidents_resolved"] == {"theft": 2, "drugs": 1}
    assert state["mediations"] == {"succeeded": 2, "failed": 1}
    assert dashboard.totals(state) == {"raised_vnd": 62_000_000, "spent_vnd": 35_000_000, "campaigns_closed": 1,
                                       "awards_in_force": 1}
    assert state["awards"] == {"granted": 2, "revoked": 1}
    assert state["events"] == 16 and state["by_ward"] == {"phu-son": 16}
    text = dashboard.render_text(state, "c1")
    assert "theft 2" in text and "62.000.000 VND" in text and "2 granted, 1 revoked" in text


def test_money_spent_is_summed_from_expenses_while_a_campaign_is_open():
    state = dashboard.empty()
    for event in story()[6:10]:
        state = dashboard.fold(state, event)
    assert dashboard.totals(state)["raised_vnd"] == 61_000_000
    assert dashboard.totals(state)["spent_vnd"] == 35_000_000
    assert dashboard.totals(state)["campaigns_closed"] == 0


def test_an_incident_resolved_twice_is_counted_once_with_its_latest_outcome():
    # what the platform publishes for a dispute: resolved (referred_to_mediation), then resolved (mediated)
    incident = str(uuid.uuid4())
    first = ce(dashboard.INCIDENT_RESOLVED, category="dispute", outcome="referred_to_mediation", incident_id=incident)
    second = ce(dashboard.INCIDENT_RESOLVED, category="dispute", outcome="mediated", incident_id=incident)
    other = ce(dashboard.INCIDENT_RESOLVED, category="dispute", outcome="solved", incident_id=str(uuid.uuid4()))
    state = dashboard.empty()
    for event in (first, second, other):
        state = dashboard.fold(state, event)
    assert state["incidents_resolved"] == {"dispute": 2}
    assert state["resolved_incidents"][incident] == "mediated"
    assert state["events"] == 3


def test_a_state_saved_before_incidents_were_tracked_still_folds():
    state = dashboard.empty()
    del state["resolved_incidents"]  # a dashboard saved by an earlier version of the example
    state = dashboard.fold(state, story()[0])
    assert state["incidents_resolved"] == {"theft": 1}


def test_the_state_file_s_directory_is_created_on_a_first_run(tmp_path):
    store = Store(tmp_path / "state" / "neighbour.sqlite3")
    assert store.apply(story()[:1], cursor="c1") == 1
    store.close()


def test_fold_does_not_change_the_state_it_is_given():
    state = dashboard.empty()
    dashboard.fold(state, story()[0])
    assert state == dashboard.empty()


# -- the store: one transaction for the batch and its cursor; ids applied once --------------------------------
def test_a_batch_and_its_cursor_are_saved_together_and_an_event_is_applied_once(tmp_path):
    events = story()
    store = Store(tmp_path / "s.db")
    assert store.apply(events[:5], cursor="c5") == 5
    assert store.apply(events[3:8], cursor="c8") == 3  # 3 and 4 again (at-least-once): not counted twice
    store.close()

    again = Store(tmp_path / "s.db")  # a restart
    assert again.cursor() == "c8"
    assert again.state()["incidents_resolved"] == {"theft": 2, "drugs": 1}
    assert again.state()["mediations"] == {"succeeded": 2, "failed": 1}
    assert [e["id"] for e in again.applied()] == [e["id"] for e in events[:8]]


def test_a_batch_that_fails_half_way_leaves_neither_its_events_nor_its_cursor(tmp_path):
    store = Store(tmp_path / "s.db")
    store.apply(story()[:2], cursor="c2")
    broken = [story()[2], {"type": dashboard.CASE_CLOSED}]  # no id: the insert fails after the first event
    with pytest.raises(KeyError):
        store.apply(broken, cursor="c4")
    assert store.cursor() == "c2"
    assert store.state()["events"] == 2
    assert len(store.applied()) == 2


# -- pulling: restart anywhere, no gap, no duplicate ----------------------------------------------------------
class FakeFeed:
    """The feed's pull contract: cursor = position, ``Feed-Next-Cursor`` always, 401 for a revoked key. With
    ``lag`` it answers from a cursor ``lag`` events behind the one asked (at-least-once redelivery)."""

    def __init__(self, events: list[dict], key: str = "wfk_key1_secret") -> None:
        self.events, self.key, self.lag, self.requests = events, key, 0, 0
        self.revoked = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if request.headers.get("Authorization") != f"Bearer {self.key}" or self.revoked:
            return httpx.Response(401, json={"title": "Unauthorized", "detail": "unknown or revoked key"})
        after = request.url.params.get("after")
        start = max(0, int(after.removeprefix("p")) - self.lag) if after else 0
        limit = int(request.url.params.get("limit", 100))
        batch = self.events[start:start + limit]
        cursor = f"p{start + len(batch)}" if batch else (after or "p0")
        return httpx.Response(200, content=json.dumps(batch).encode(), headers={
            "Content-Type": "application/cloudevents-batch+json", "Feed-Next-Cursor": cursor})

    def follower(self, store: Store, key: str | None = None) -> Follower:
        client = httpx.Client(base_url="http://feed.test", transport=httpx.MockTransport(self.handler))
        return Follower("http://feed.test", key or self.key, store, wait=0, limit=3, client=client, say=lambda _: None)


def test_the_subscriber_resumes_after_its_restart_without_gap_or_duplicate(tmp_path):
    events = story()
    feed = FakeFeed(events[:7])
    store = Store(tmp_path / "n.db")
    f = feed.follower(store)
    assert f.poll_once() == 3 and f.poll_once() == 3
    store.close()  # the subscriber stops between two batches; the feed gains events meanwhile
    feed.events = events
    store = Store(tmp_path / "n.db")
    f = feed.follower(store)
    while f.poll_once():
        pass
    assert [e["id"] for e in store.applied()] == [e["id"] for e in events]
    assert store.state()["events"] == len(events)
    assert f.poll_once() == 0 and store.cursor() == f"p{len(events)}"  # caught up: the cursor stays


def test_events_served_again_after_the_feed_restarts_are_not_counted_twice(tmp_path):
    events = story()
    feed = FakeFeed(events)
    store = Store(tmp_path / "n.db")
    f = feed.follower(store)
    f.poll_once()
    feed.lag = 2  # the feed answers from a little before our cursor: the overlap is dropped by event id
    while f.poll_once():
        pass
    assert [e["id"] for e in store.applied()] == [e["id"] for e in events]
    state = dashboard.empty()
    for event in events:
        state = dashboard.fold(state, event)
    assert store.state() == state


def test_a_revoked_key_stops_the_subscriber_with_the_feeds_reason(tmp_path):
    feed = FakeFeed(story())
    f = feed.follower(Store(tmp_path / "n.db"))
    f.poll_once()
    feed.revoked = True
    with pytest.raises(FeedRefused, match="401"):
        f.run()


def test_a_feed_that_is_down_is_retried_from_the_saved_cursor(tmp_path, monkeypatch):
    feed = FakeFeed(story())
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] in (2, 3):
            raise httpx.ConnectError("connection refused")
        return feed.handler(request)

    monkeypatch.setattr("neighbour.pull.time.sleep", lambda _: None)
    store = Store(tmp_path / "n.db")
    client = httpx.Client(base_url="http://feed.test", transport=httpx.MockTransport(flaky))
    f = Follower("http://feed.test", feed.key, store, wait=0, limit=4, client=client, say=lambda _: None)
    f.run(stop=lambda: store.state()["events"] == len(feed.events) or calls["n"] > 20)
    assert [e["id"] for e in store.applied()] == [e["id"] for e in feed.events]


# -- webhooks: tampered and replayed deliveries refused --------------------------------------------------------
def signed(event: dict, secret: str = SECRET, when: datetime | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event)
    when = when or datetime.now(UTC)
    sig = Webhook(secret).sign(event["id"], when, body)
    return body.encode(), {"webhook-id": event["id"], "webhook-timestamp": str(int(when.timestamp())),
                           "webhook-signature": sig, "Content-Type": "application/cloudevents+json"}


def test_a_signed_delivery_is_applied_and_the_same_delivery_again_is_not(tmp_path):
    store = Store(tmp_path / "w.db")
    receiver = Receiver(SECRET, store)
    event = story()[0]
    body, headers = signed(event)
    assert receiver.receive(body, headers) == APPLIED
    assert receiver.receive(body, headers) == DUPLICATE  # a replay (or a retry): acknowledged, not applied
    again = signed(event, when=datetime.now(UTC) - timedelta(seconds=30))  # re-signed retry, same webhook-id
    assert receiver.receive(*again) == DUPLICATE
    assert store.state()["incidents_resolved"] == {"theft": 1}


@pytest.mark.parametrize("tamper", ["body", "signature", "webhook-id", "timestamp", "secret", "missing", "garbage"])
def test_a_tampered_delivery_is_refused_and_changes_nothing(tmp_path, tamper):
    store = Store(tmp_path / "w.db")
    receiver = Receiver(SECRET, store)
    event = story()[3]
    body, headers = signed(event, secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB" if tamper == "secret" else SECRET)
    if tamper == "body":
        body = body.replace(b'"succeeded"', b'"failed"')
    elif tamper == "signature":
        headers["webhook-signature"] = "v1," + "A" * 43 + "="
    elif tamper == "webhook-id":
        headers["webhook-id"] = str(uuid.uuid4())
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 1)
    elif tamper == "missing":
        del headers["webhook-signature"]
    elif tamper == "garbage":
        headers["webhook-signature"] = "not-a-signature"
    with pytest.raises(Rejected):
        receiver.receive(body, headers)
    assert store.state() == dashboard.empty()


def test_a_delivery_replayed_after_the_tolerance_is_refused(tmp_path):
    store = Store(tmp_path / "w.db")
    receiver = Receiver(SECRET, store)
    body, headers = signed(story()[0], when=datetime.now(UTC) - timedelta(minutes=6))  # captured, sent later
    with pytest.raises(Rejected, match="too old"):
        receiver.receive(body, headers)
    body, headers = signed(story()[0], when=datetime.now(UTC) + timedelta(minutes=6))
    with pytest.raises(Rejected, match="too new"):
        receiver.receive(body, headers)
    assert store.state() == dashboard.empty()


def test_during_a_secret_rotation_both_secrets_verify(tmp_path):
    new_secret = "whsec_" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC"
    receiver = Receiver([SECRET, new_secret], Store(tmp_path / "w.db"))
    assert receiver.receive(*signed(story()[0], secret=SECRET)) == APPLIED
    assert receiver.receive(*signed(story()[1], secret=new_secret)) == APPLIED


def test_the_receiver_and_dashboard_over_http(tmp_path):
    store = Store(tmp_path / "w.db")
    server = make_server(store, "127.0.0.1", 0, Receiver(SECRET, store))
    serve_in_background(server)
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        event = story()[12]
        body, headers = signed(event)
        assert httpx.post(f"{base}/webhook", content=body, headers=headers).status_code == 202
        assert httpx.post(f"{base}/webhook", content=body, headers=headers).status_code == 200
        tampered = httpx.post(f"{base}/webhook", content=body.replace(b"a1", b"a9"), headers=headers)
        assert tampered.status_code == 400 and tampered.json()["error"] == "rejected"
        snap = httpx.get(f"{base}/dashboard.json").json()
        assert snap["dashboard"]["awards"] == {"granted": 1, "revoked": 0}
        assert [e["via"] for e in snap["recent"]] == ["webhook"]
        page = httpx.get(f"{base}/")
        assert page.status_code == 200 and "1 granted, 0 revoked" in page.text
    finally:
        server.shutdown()
        server.server_close()
