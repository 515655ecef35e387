"""The subscriber's state in one SQLite file: the dashboard, the feed cursor, the event ids already applied.

Why one transaction per batch: the feed guarantees every event at least once from a cursor. If the cursor were
saved apart from the dashboard, a crash between the two would either skip events (cursor first) or count them
twice (dashboard first). Saved together, a restart resumes exactly where the dashboard stands. The ids of the
events applied are kept too, so an event seen twice anyway (a webhook retry whose 2xx was lost, the same event
by pull and by webhook) is applied once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from neighbour import dashboard

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS applied (
    n INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
    wardid TEXT, subject TEXT, via TEXT NOT NULL, applied_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_ids (webhook_id TEXT PRIMARY KEY, received_at REAL NOT NULL);
"""


class Store:
    def __init__(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # `--db state/neighbour.sqlite3` on a first run
        # autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT) below
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def cursor(self) -> str | None:
        with self._lock:
            return self._get("cursor")

    def state(self) -> dict[str, Any]:
        with self._lock:
            raw = self._get("dashboard")
        return json.loads(raw) if raw else dashboard.empty()

    def apply(self, events: Iterable[dict[str, Any]], *, cursor: str | None = None, via: str = "pull",
              webhook_id: str | None = None) -> int:
        """Fold the events not applied before into the dashboard and save the cursor, all in one transaction.
        Returns how many were new. With ``webhook_id``, also remember it (see ``seen_webhook``)."""
        new = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                raw = self._get("dashboard")
                state = json.loads(raw) if raw else dashboard.empty()
                for event in events:
                    inserted = self._db.execute(
                        "INSERT INTO applied (event_id, type, wardid, subject, via, applied_at) VALUES (?,?,?,?,?,?)"
                        " ON CONFLICT (event_id) DO NOTHING",
                        (str(event["id"]), event.get("type", ""), event.get("wardid"), event.get("subject"), via,
                         time.time()),
                    ).rowcount
                    if inserted:
                        state = dashboard.fold(state, event)
                        new += 1
                self._set("dashboard", json.dumps(state, sort_keys=True))
                if cursor is not None:
                    self._set("cursor", cursor)
                if webhook_id is not None:
                    self._db.execute("INSERT INTO webhook_ids VALUES (?, ?) ON CONFLICT DO NOTHING",
                                     (webhook_id, time.time()))
                self._db.execute("COMMIT")
            except BaseException:  # also Ctrl-C/SIGTERM in the middle: the batch and its cursor go together
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return new

    def _set(self, key: str, value: str) -> None:
        self._db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         (key, value))

    def seen_webhook(self, webhook_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM webhook_ids WHERE webhook_id = ?", (webhook_id,)).fetchone() is not None

    def applied(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The events applied, oldest first (what the HTML page and the tests show)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event_id, type, wardid, subject, via FROM applied ORDER BY n DESC LIMIT ?", (limit,)
            ).fetchall()
        return [dict(zip(("id", "type", "wardid", "subject", "via"), r, strict=True)) for r in reversed(rows)]
