"""The proof an anonymous reporter gives to be named on their certificate of merit (awards), and its verifier.

Only the reporter holds the tip's follow-up secret (the incidents service keeps a hash of it). From it and the
tip's ``reporter_ref``, the incidents service derives a *claim secret*, which it shows only to whoever follows the
tip up with its code and secret. What leaves the incidents service, in ``IncidentResolved``, is a *verifier*: a
hash of the claim secret, bound to the ``reporter_ref``. The awards service keeps the verifier and accepts a
claim (or its withdrawal) with the matching claim secret; it never sees the follow-up secret, and a claim
secret cannot be turned back into it, nor used at the incidents service.

Both secrets are random (the follow-up secret has 192 bits), so a plain hash is enough: nothing to brute-force.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_CLAIM = b"ward-platform:award-claim:v1:"
_VERIFIER = b"ward-platform:award-claim-verifier:v1:"


def claim_secret(follow_up_secret: str, reporter_ref: str) -> str:
    """The claim secret of one tip (incidents derives it when the reporter shows the follow-up secret)."""
    mac = hmac.new(follow_up_secret.encode(), _CLAIM + reporter_ref.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def claim_verifier(claim: str, reporter_ref: str) -> str:
    """What awards keeps to check a claim secret: a hash of it, bound to the reporter_ref it belongs to."""
    return hashlib.sha256(_VERIFIER + reporter_ref.encode() + b":" + claim.encode()).hexdigest()


def claim_matches(claim: str, reporter_ref: str, verifier: str | None) -> bool:
    return verifier is not None and hmac.compare_digest(claim_verifier(claim, reporter_ref), verifier)
