"""Routes without a token: verifying a certificate's code, and a reporter choosing to be named (or not any more).

Naming needs proof: the claim secret that the incidents service shows only to whoever follows the tip up with its
code and secret (shared/claims.py); the printed verification code alone changes nothing. Both claim routes are
rate limited per client address and per code (429 with Retry-After), across replicas.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.awards import commands, domain, ratelimit
from services.awards import repository as repo
from services.awards.certificate import recipient_display
from shared.auth import Principal
from shared.commands import Outcome, execute, json_response
from shared.errors import InvalidInput, NotFound, TooManyRequests

router = APIRouter(prefix="/v1/public", tags=["public"])

Code = Path(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9-]+$")

#: Who acts on a public route, for the audit trail: nobody identifiable (a reporter stays anonymous here too).
ANONYMOUS = Principal(subject="public", roles=frozenset(), ward_id="-")


@router.get("/certificates/{code}", summary="Verify a certificate of merit by its code")
async def verify(request: Request, code: str = Code) -> Response:
    async with request.app.state.runtime.pool.acquire() as conn:
        a = await repo.award_by_code(conn, domain.normalise_code(code))
    if a is None:
        raise NotFound("no certificate has this verification code")
    return json_response({
        "verification_code": a["verification_code"],
        "valid": a["status"] == "granted",
        "status": a["status"],
        "recipient": recipient_display(a),
        "recipient_kind": a["recipient_kind"],
        "title": a["title"],
        "issuer": a["issuer"],
        "issuer_title": a["issuer_title"],
        "decision_number": a["decision_number"],
        "decision_date": a["decision_date"],
        "year": a["year"],
        "revoked_on": a["revoked_on"],
        "revoked_reason": a["revoked_reason"],
    })


@functools.lru_cache(maxsize=8)
def _address_key(service_key: bytes) -> bytes:
    """A key for the counters' address pseudonyms, derived (HKDF) from the service's own secret: awards holds no
    personal-data key, and the database must not learn client addresses from the counters."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"ward-platform:awards:rate-limit-address:v1").derive(service_key)


def _address_pseudonym(service_key: bytes, address: str) -> str:
    return hmac.new(_address_key(service_key), address.encode(), hashlib.sha256).hexdigest()[:32]


def _no_idempotency_key(request: Request) -> None:
    """Every anonymous caller is the one principal `public`, so a stored reply would be shared between strangers (and a
    reused key would tell one that another used it). Claiming and withdrawing are idempotent by themselves."""
    if request.headers.get("Idempotency-Key"):
        raise InvalidInput("a claim takes no Idempotency-Key: repeat the same request instead, it changes nothing twice")


async def _within_claim_limits(request: Request, code: str) -> None:
    """Count this request per client address (as a keyed pseudonym, never the address) and per code; refuse past
    the limit. Counted before anything else, in its own statement: a refused proof counts too."""
    runtime = request.app.state.runtime
    s = runtime.settings
    address = _address_pseudonym(runtime.audit_keys.keys[runtime.audit_keys.current_id],
                                 request.client.host if request.client else "unknown")
    waits = [await ratelimit.hit(runtime.pool, bucket, limit=s.claim_rate_limit, window_s=s.claim_rate_window_s)
             for bucket in (f"claim:addr:{address}", f"claim:code:{domain.normalise_code(code)}")]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        raise TooManyRequests("too many claim attempts; try again later", retry_after_s=wait)


@router.post("/certificates/{code}/claim",
             summary="A recognised reporter chooses a name to be known by (proof: the claim secret from the follow-up)",
             responses={403: {"description": "The claim secret does not match this certificate"}})
async def claim(body: domain.Claim, request: Request, code: str = Code) -> Response:
    _no_idempotency_key(request)
    await _within_claim_limits(request, code)

    async def handler(conn) -> Outcome:  # noqa: ANN001
        result = await commands.claim(conn, code, body)
        # The audit row says an award was claimed, never by whom or under which name.
        return Outcome(body=result, target_type="award", target_id=result["award_id"], ward_id=result["ward_id"])

    return await execute(request.app.state.runtime.pool, request, ANONYMOUS, "award.claim", handler)


@router.post("/certificates/{code}/claim/withdraw",
             summary="The reporter takes their name off the certificate again (the same proof)",
             responses={403: {"description": "The claim secret does not match this certificate"}})
async def withdraw_claim(body: domain.ClaimWithdrawal, request: Request, code: str = Code) -> Response:
    _no_idempotency_key(request)
    await _within_claim_limits(request, code)

    async def handler(conn) -> Outcome:  # noqa: ANN001
        result = await commands.withdraw_claim(conn, code, body)
        return Outcome(body=result, target_type="award", target_id=result["award_id"], ward_id=result["ward_id"])

    return await execute(request.app.state.runtime.pool, request, ANONYMOUS, "award.claim-withdraw", handler)
