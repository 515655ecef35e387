"""The feed's rules, with no I/O: API keys, cursors, who may grant which wards, what a subscriber sees, and the
structured CloudEvent a public event is served as.

* An API key is ``wfk_<key_id>_<secret>``: ``key_id`` (12 url-safe characters) names it in lists and logs; only
  the SHA-256 of the whole key is stored, so the key is shown once, when it is made.
* A cursor is opaque to clients: base64url of ``v1:<seq>`` (the feed's total order), stable across restarts.
* A subscriber is granted wards by an official who reaches every one of them (a ward official: their own ward;
  a city official or an admin for every ward: any). The same rule says who may see and manage it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shared.actor import Principal, Role
from shared.errors import Forbidden, InvalidInput, Unauthorized

KEY_PREFIX = "wfk_"
KEY_ID_LENGTH = 12
_KEY = re.compile(r"^wfk_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{20,100})$")
MANAGERS = (Role.WARD_OFFICIAL, Role.CITY_OFFICIAL, Role.ADMIN)
STATUSES = ("active", "disabled")
MAX_LIMIT, DEFAULT_LIMIT, MAX_WAIT_S = 500, 100, 30
CURSOR_VERSION = "v1"


# -- API keys ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewKey:
    key_id: str
    api_key: str  # shown once, never stored

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.api_key)


def new_key() -> NewKey:
    key_id = secrets.token_urlsafe(9)[:KEY_ID_LENGTH]  # 9 bytes -> 12 characters
    return NewKey(key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}")


def key_hash(api_key: str) -> bytes:
    return hashlib.sha256(api_key.encode()).digest()


def is_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def key_id_of(api_key: str) -> str:
    """The key id of a well-formed API key; a malformed one is refused like an unknown one (401)."""
    m = _KEY.fullmatch(api_key)
    if m is None:
        raise Unauthorized("invalid API key")
    return m.group(1)


# -- cursors -----------------------------------------------------------------------------------------------------
def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_VERSION}:{seq}".encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str | None) -> int:
    """The ``seq`` a cursor stands for (0 = before the first event); a malformed cursor is a 422."""
    if cursor is None or cursor == "":
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("malformed cursor: pass back a Feed-Next-Cursor or an SSE id unchanged") from None
    version, _, seq = text.partition(":")
    if version != CURSOR_VERSION or not seq.isdigit() or len(seq) > 18:
        raise InvalidInput("malformed cursor: pass back a Feed-Next-Cursor or an SSE id unchanged")
    return int(seq)


# -- who may grant and manage --------------------------------------------------------------------------------------
def ensure_manager(actor: Principal) -> None:
    actor.require(*MANAGERS)


def ensure_may_grant(actor: Principal, wards: Iterable[str]) -> None:
    """The caller grants only wards they reach: a ward official their own, a city official or admin any."""
    ensure_manager(actor)
    beyond = sorted(w for w in set(wards) if not actor.can_access_ward(w))
    if beyond:
        raise Forbidden("you may grant only the wards you act for: " + ", ".join(beyond))


def reaches(actor: Principal, subscriber: dict[str, Any]) -> bool:
    """A subscriber is seen and managed only by someone who could have granted all its wards."""
    return all(actor.can_access_ward(w) for w in subscriber["wards"])


def check_event_types(event_types: Sequence[str] | None, known: Iterable[str]) -> list[str] | None:
    if event_types is None:
        return None
    unknown = sorted(set(event_types) - set(known))
    if unknown:
        raise InvalidInput("not public event types: " + ", ".join(unknown))
    return sorted(set(event_types))


# -- what a subscriber sees ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subscriber:
    """An authenticated subscriber: what it may see. ``key_id`` None when it came with an OAuth token."""

    subscriber_id: str
    wards: tuple[str, ...]
    event_types: tuple[str, ...] | None
    key_id: str | None = None

    @classmethod
    def of(cls, row: dict[str, Any], key_id: str | None = None) -> Subscriber:
        types = row.get("event_types")
        return cls(row["subscriber_id"], tuple(row["wards"]), None if types is None else tuple(types), key_id)


@dataclass(frozen=True)
class Filter:
    """The wards and types a read returns: the subscriber's grant narrowed by the query, never widened."""

    wards: tuple[str, ...]
    event_types: tuple[str, ...] | None

    def admits(self, row: dict[str, Any]) -> bool:
        return row["ward_id"] in self.wards and (self.event_types is None or row["event_type"] in self.event_types)


def narrow(subscriber: Subscriber, wards: Sequence[str] | None, event_types: Sequence[str] | None) -> Filter:
    w = tuple(sorted(set(subscriber.wards) & set(wards))) if wards else tuple(sorted(subscriber.wards))
    if event_types:
        allowed = set(event_types) if subscriber.event_types is None else set(event_types) & set(subscriber.event_types)
        t: tuple[str, ...] | None = tuple(sorted(allowed))
    else:
        t = subscriber.event_types
    return Filter(w, t)


def cloud_event(row: dict[str, Any]) -> dict[str, Any]:
    """The structured-mode CloudEvent (JSON) of one stored public event."""
    time = row["time"]
    return {
        "specversion": "1.0",
        "id": str(row["event_id"]),
        "source": row["source"],
        "type": row["event_type"],
        "subject": row["subject"],
        "time": time.isoformat().replace("+00:00", "Z") if hasattr(time, "isoformat") else str(time),
        "datacontenttype": "application/json",
        "wardid": row["ward_id"],
        "data": row["data"],
    }
