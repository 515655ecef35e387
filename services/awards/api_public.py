"""Routes without a token: verifying a certificate's code, and a reporter choosing to be named (or not any more).

Naming needs proof: the claim secret that the incidents service shows only to whoever follows the tip up with its
code and secret (shared/claims.py); the printed verification code alone changes nothing. Both claim routes are
rate limited per client address and per code (429 with Retry-After), across replicas.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.awards import commands, domain, schemas
from services.awards.certificate import recipient_display
from shared import ratelimit
from shared.actor import Principal
from shared.commands import dispatch, json_response, reading
from shared.errors import InvalidInput, NotFound

router = APIRouter(prefix="/v1/public", tags=["public"])

Code = Path(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9-]+$")

#: Who acts on a public route, for the audit trail: nobody identifiable (a reporter stays anonymous here too).
ANONYMOUS = Principal(subject="public", roles=frozenset(), ward_id="-")
_WRONG_PROOF = {403: {"description": "The claim secret does not match this certificate"}}


@router.get("/certificates/{code}", summary="Verify a certificate of merit by its code",
            response_model=schemas.VerifiedCertificate)
async def verify(request: Request, code: str = Code) -> Response:
    s = request.app.state.runtime.settings
    await ratelimit.limit(request, "verify", limit=s.public_rate_limit, window_s=s.public_rate_window_s)
    async with reading(request) as uow:
        a = await uow.awards.by_code(domain.normalise_code(code))
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


def _no_idempotency_key(request: Request) -> None:
    """Every anonymous caller is the one principal `public`, so a stored reply would be shared between strangers (and a
    reused key would tell one that another used it). Claiming and withdrawing are idempotent by themselves."""
    if request.headers.get("Idempotency-Key"):
        raise InvalidInput("a claim takes no Idempotency-Key: repeat the same request instead, it changes nothing twice")


async def _within_claim_limits(request: Request, code: str) -> None:
    """Counted before anything else, per client address and per code: a refused proof counts too."""
    s = request.app.state.runtime.settings
    await ratelimit.limit(request, "claim", limit=s.claim_rate_limit, window_s=s.claim_rate_window_s,
                          code=domain.normalise_code(code))


@router.post("/certificates/{code}/claim", response_model=schemas.ClaimOut, responses=_WRONG_PROOF,
             summary="A recognised reporter chooses a name to be known by (proof: the claim secret from the follow-up)")
async def claim(body: schemas.ClaimBody, request: Request, code: str = Code) -> Response:
    _no_idempotency_key(request)
    await _within_claim_limits(request, code)
    return await dispatch(request, commands.ClaimCertificate(code=code, **body.model_dump()),
                          ANONYMOUS)


@router.post("/certificates/{code}/claim/withdraw", response_model=schemas.ClaimOut, responses=_WRONG_PROOF,
             summary="The reporter takes their name off the certificate again (the same proof)")
async def withdraw_claim(body: schemas.WithdrawClaimBody, request: Request,
                         code: str = Code) -> Response:
    _no_idempotency_key(request)
    await _within_claim_limits(request, code)
    return await dispatch(request, commands.WithdrawClaim(code=code, **body.model_dump()),
                          ANONYMOUS)
