"""Follow a feed by pull: ``GET /v1/events?after=<cursor>&wait=<s>`` (long-poll), one batch at a time."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

import httpx

from neighbour.store import Store

BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"


class FeedRefused(Exception):
    """The feed refused us for good (401/403: a revoked or wrong key, a disabled subscriber; 422: bad cursor)."""


class Follower:
    def __init__(self, feed_url: str, api_key: str, store: Store, *, wait: int = 25, limit: int = 100,
                 wards: Sequence[str] = (), types: Sequence[str] = (), client: httpx.Client | None = None,
                 say: Callable[[str], None] = print) -> None:
        self.store = store
        self.wait, self.limit = wait, limit
        self.filters = [("ward", w) for w in wards] + [("type", t) for t in types]
        self.say = say
        self.client = client or httpx.Client(base_url=feed_url.rstrip("/"), timeout=wait + 15)
        self.client.headers["Authorization"] = f"Bearer {api_key}"
        self.client.headers["Accept"] = BATCH_MEDIA_TYPE

    def poll_once(self) -> int:
        """One request: fetch the batch after the saved cursor, apply it and the next cursor together.
        Returns how many events were new."""
        cursor = self.store.cursor()
        params: list[tuple[str, str | int]] = [("limit", self.limit), ("wait", self.wait), *self.filters]
        if cursor:
            params.append(("after", cursor))
        r = self.client.get("/v1/events", params=params)
        if r.status_code in (401, 403, 422):
            raise FeedRefused(f"{r.status_code} {_detail(r)}")
        r.raise_for_status()
        events = r.json()
        next_cursor = r.headers.get("Feed-Next-Cursor") or cursor
        return self.store.apply(events, cursor=next_cursor, via="pull")

    def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Poll until ``stop()``; transient failures (the feed restarting, 5xx, timeouts) back off and retry from
        the saved cursor, so nothing is lost and nothing counted twice."""
        delay = 1.0
        while not stop():
            try:
                new = self.poll_once()
            except FeedRefused:
                raise
            except (httpx.HTTPError, ValueError) as exc:  # ValueError: a body that is not JSON
                self.say(f"feed unavailable ({type(exc).__name__}: {exc}); retrying in {delay:.0f}s")
                time.sleep(delay + random.uniform(0, delay / 2))
                delay = min(delay * 2, 30.0)
                continue
            delay = 1.0
            if new:
                self.say(f"applied {new} new event(s); cursor {self.store.cursor()}")


def _detail(r: httpx.Response) -> str:
    try:
        body = r.json()
        return str(body.get("detail") or body.get("title") or body)
    except ValueError:
        return r.text[:200]
