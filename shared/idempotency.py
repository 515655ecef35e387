"""Idempotency records at rest: sealed responses and a retention period.

A command's first response is kept so that a retry with the same ``Idempotency-Key`` gets the same answer
without running again (``shared.commands.execute``). That response may hold personal data (a registrar's reply
holds the decrypted national ID, the phone, the birth date), so it is never stored in clear:

* ``seal``/``unseal`` - the response is AES-GCM encrypted under the service's data key, with the service, the
  caller and the key as associated data: a sealed response copied into another row, another caller's row or
  another service's table does not decrypt. This is what Stripe-like stores do with the response they replay,
  and unlike "keep a reference and render again", the retry answers exactly what the first call answered,
  even after the record changed.
* ``fingerprint`` - the request (method, path, body) is compared through a keyed HMAC, not a plain hash: a
  plain SHA-256 of a body whose only unknown is a 12-digit national ID could be reversed by trying them all.
* ``housekeeping`` - records older than ``IDEMPOTENCY_RETENTION_HOURS`` (24 h by default, as Stripe) are
  deleted by a job every service runs; a retry after that runs as a new request. Records written before
  responses were sealed are sealed by the same job.

The key comes from ``runtime.pii`` through ``_protector`` only, so that a new keyring can be put in one place.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Protocol

import asyncpg

log = logging.getLogger(__name__)


class Protector(Protocol):
    def encrypt(self, plaintext: str, context: str) -> bytes: ...
    def decrypt(self, token: bytes, context: str) -> str: ...
    def blind_index(self, value: str, purpose: str) -> str: ...


def _protector(runtime: Any) -> Protector:
    """The key idempotency records are sealed with: the service's data key (re-point here for a new keyring)."""
    return runtime.pii


def _context(service: str, principal: str, key: str) -> str:
    # Lengths first: no two different (principal, key) pairs give the same context.
    return f"idempotency/v1/{service}/{len(principal)}:{principal}/{len(key)}:{key}"


def legacy_hash(method: str, path: str, body: bytes) -> str:
    """The unkeyed request hash of records written before sealing (still compared until the job seals them)."""
    return hashlib.sha256(method.encode() + path.encode() + b"\n" + body).hexdigest()


def fingerprint(runtime: Any, method: str, path: str, body: bytes) -> str:
    return _protector(runtime).blind_index(legacy_hash(method, path, body), "idempotency-request")


def seal(runtime: Any, principal: str, key: str, response: bytes) -> bytes:
    return _protector(runtime).encrypt(response.decode(), _context(runtime.service, principal, key))


def unseal(runtime: Any, principal: str, key: str, sealed: bytes) -> bytes:
    return _protector(runtime).decrypt(bytes(sealed), _context(runtime.service, principal, key)).encode()


async def housekeeping(conn: asyncpg.Connection, runtime: Any, retention_hours: float) -> dict[str, int]:
    """Delete records past the retention period; seal any record still in clear (written before sealing)."""
    deleted = await conn.fetchval(
        "WITH gone AS (DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1) "
        "RETURNING 1) SELECT count(*) FROM gone",
        float(retention_hours) * 3600,
    )
    legacy = await conn.fetch(
        "SELECT principal, key, request_hash, response_body FROM idempotency_keys WHERE NOT sealed FOR UPDATE"
    )
    for row in legacy:
        await conn.execute(
            "UPDATE idempotency_keys SET request_hash = $3, response_body = $4, sealed = true "
            "WHERE principal = $1 AND key = $2",
            row["principal"], row["key"],
            _protector(runtime).blind_index(row["request_hash"], "idempotency-request"),
            seal(runtime, row["principal"], row["key"], bytes(row["response_body"])),
        )
    if deleted or legacy:
        log.info("idempotency records purged", extra={"deleted": deleted, "sealed": len(legacy)})
    return {"deleted": deleted, "sealed": len(legacy)}
