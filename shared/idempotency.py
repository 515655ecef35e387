"""Idempotency records at rest: sealed responses and a retention period.

A command's first response is kept so that a retry with the same ``Idempotency-Key`` gets the same answer
without running again (``shared.application.Application.handle``). That response may hold personal data (a registrar's reply
holds the decrypted national ID, the phone, the birth date; others name parties, donors, recipients), so it is
never stored in clear:

* ``seal``/``unseal`` - the response, together with the request's hash, is AES-GCM encrypted under the service's
  own ``IDEMPOTENCY_KEY`` (one key per service, for this purpose only: every service, since every reply may name
  people), with the service, the caller and the key as associated data: a sealed record copied into another
  caller's row or another service's table does not open. The request's hash is inside the seal, not beside it: a
  plain SHA-256 of a body whose only unknown is a 12-digit national ID could be reversed by trying them all. A
  retry answers exactly what the first call answered, even after the record changed (unlike "keep a reference and
  render again"). A key replaced within the retention period goes to ``IDEMPOTENCY_RETIRED_KEYS`` so that the
  records it sealed still open; a record no configured key opens answers 409, it never runs the command twice.
* ``housekeeping`` - records older than ``IDEMPOTENCY_RETENTION_HOURS`` (24 h by default, as Stripe) are
  deleted by a job every service runs; a retry after that runs as a new request. Records a previous version
  wrote in clear are sealed by the same job.

The key comes from the runtime through ``_protector`` only, so that it can be re-pointed in one place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Any

import asyncpg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)


class Sealer:
    """AES-256-GCM under keys derived (HKDF-SHA-256) from the service's ``IDEMPOTENCY_KEY`` and retired keys. A
    sealed record starts with a version byte and the first 8 bytes of its key's fingerprint, so that a record sealed
    under a retired key is opened with that key. ``purpose`` separates the keys derived from one secret for other
    uses (the feed's webhook signing secrets: ``purpose="webhook-secret"`` under ``FEED_KEY``)."""

    _VERSION = b"\x01"

    def __init__(self, service: str, active: str, retired: list[str] | tuple[str, ...] = (), *,
                 purpose: str = "idempotency") -> None:
        def derive(secret: str) -> bytes:
            return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                        info=f"ward-platform/{purpose}/v1/{service}".encode()).derive(secret.encode())

        keys = [derive(k) for k in (active, *retired)]
        self._active = keys[0]
        self._by_id = {hashlib.sha256(k).digest()[:8]: AESGCM(k) for k in keys}

    def encrypt(self, plaintext: str, context: str) -> bytes:
        nonce = os.urandom(12)
        key_id = hashlib.sha256(self._active).digest()[:8]
        return self._VERSION + key_id + nonce + self._by_id[key_id].encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, token: bytes, context: str) -> str:
        if token[:1] != self._VERSION or token[1:9] not in self._by_id:
            raise LookupError("sealed under a key this service no longer holds")
        return self._by_id[token[1:9]].decrypt(token[9:21], token[21:], context.encode()).decode()


def _protector(runtime: Any) -> Sealer | None:
    """What seals this service's records (the runtime builds it from IDEMPOTENCY_KEY)."""
    return getattr(runtime, "idempotency_sealer", None)


def _context(service: str, principal: str, key: str) -> str:
    # Lengths first: no two different (principal, key) pairs give the same context.
    return f"idempotency/v1/{service}/{len(principal)}:{principal}/{len(key)}:{key}"


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
