"""Idempotency records at rest: sealed responses and a retention period.

A command's first response is kept so that a retry with the same ``Idempotency-Key`` gets the same answer
without running again (``shared.commands.execute``). That response may hold personal data (a registrar's reply
holds the decrypted national ID, the phone, the birth date), so in a service that holds personal data it is never
stored in clear:

* ``seal``/``unseal`` - the response, together with the request's hash, is AES-GCM encrypted under the service's
  personal-data encryption key (``PII_KEYS``: registry, incidents), with the service, the caller and the key as
  associated data: a sealed record copied into another caller's row or another service's table does not open.
  The request's hash is inside the seal, not beside it: a plain SHA-256 of a body whose only unknown is a
  12-digit national ID could be reversed by trying them all. A retry answers exactly what the first call
  answered, even after the record changed (unlike "keep a reference and render again").
* A service given no personal-data key (mediation, donations, awards: ``shared.settings.PERSONAL_DATA_KEYS``)
  stores the response and the request's hash as they are: its replies repeat only what its own tables keep in
  clear (parties' and honour-roll names), and only for the retention below.
* ``housekeeping`` - records older than ``IDEMPOTENCY_RETENTION_HOURS`` (24 h by default, as Stripe) are
  deleted by a job every service runs; a retry after that runs as a new request. Records a previous version
  wrote in clear are sealed by the same job.

The key comes from the runtime through ``_protector`` only, so that it can be re-pointed in one place.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import asyncpg

log = logging.getLogger(__name__)


def _protector(runtime: Any) -> Any | None:
    """What seals this service's records: its personal-data protector if it holds an encryption key, else None."""
    pii = getattr(runtime, "pii", None)
    return pii if pii is not None and getattr(pii, "encryption", None) is not None else None


def _context(service: str, principal: str, key: str) -> str:
    # Lengths first: no two different (principal, key) pairs give the same context.
    return f"idempotency/v1/{service}/{len(principal)}:{principal}/{len(key)}:{key}"


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + path.encode() + b"\n" + body).hexdigest()


def seals(runtime: Any) -> bool:
    return _protector(runtime) is not None


def seal(runtime: Any, principal: str, key: str, request: str, response: bytes) -> bytes:
    envelope = json.dumps({"request": request, "response": response.decode()}, ensure_ascii=False)
    return _protector(runtime).encrypt(envelope, _context(runtime.service, principal, key))


def unseal(runtime: Any, principal: str, key: str, sealed: bytes) -> tuple[str, bytes]:
    """The request's hash and the response (raises when the record cannot be opened: no key, or tampered)."""
    protector = _protector(runtime)
    if protector is None:
        raise LookupError("this service holds no key to open a sealed record")
    envelope = json.loads(protector.decrypt(bytes(sealed), _context(runtime.service, principal, key)))
    return envelope["request"], envelope["response"].encode()


async def housekeeping(conn: asyncpg.Connection, runtime: Any, retention_hours: float) -> dict[str, int]:
    """Delete records past the retention period; seal any record still in clear (written before sealing)."""
    deleted = await conn.fetchval(
        "WITH gone AS (DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1) "
        "RETURNING 1) SELECT count(*) FROM gone",
        float(retention_hours) * 3600,
    )
    legacy = []
    if seals(runtime):
        legacy = await conn.fetch(
            "SELECT principal, key, request_hash, response_body FROM idempotency_keys WHERE NOT sealed FOR UPDATE"
        )
    for row in legacy:
        await conn.execute(
            "UPDATE idempotency_keys SET request_hash = '', response_body = $3, sealed = true "
            "WHERE principal = $1 AND key = $2",
            row["principal"], row["key"],
            seal(runtime, row["principal"], row["key"], row["request_hash"], bytes(row["response_body"])),
        )
    if deleted or legacy:
        log.info("idempotency records purged", extra={"deleted": deleted, "sealed": len(legacy)})
    return {"deleted": deleted, "sealed": len(legacy)}
