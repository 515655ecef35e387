"""The secrets of sign-in, each kept in the only form it needs:

* passwords: argon2id hashes (argon2-cffi's ``PasswordHasher``, its RFC 9106 defaults); a hash made under older
  parameters is replaced at the next successful sign-in. An unknown sign-in name is checked against a hash made at
  start, so a sign-in costs the same whether or not the name exists.
* reset codes and refresh tokens: random (``secrets.token_urlsafe``, 144 and 192 bits), shown once, stored as their
  SHA-256; compared by looking the hash up, never by comparing strings.
* second-factor secrets (TOTP, RFC 6238, pyotp): AES-GCM-sealed under ``IDENTITY_KEY`` (``shared.idempotency.Sealer``
  with its own purpose), bound to the account: a sealed secret copied into another account's row does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.idempotency import Sealer

ISSUER_NAME = "Ward platform"
TOTP_PURPOSE = "totp-secret"
_hasher = PasswordHasher()  # argon2id, RFC 9106's second recommended option (64 MiB, 3 passes)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


#: What an unknown name's password is checked against: made once, at import, so no attempt pays for making it.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def verify_password(stored: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs a new hash). ``stored`` None (no such account, or no password yet) costs a real verification."""
    try:
        ok = _hasher.verify(stored if stored is not None else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return (ok and stored is not None), (stored is not None and _hasher.check_needs_rehash(stored))


def new_code() -> str:
    """A one-time reset code: 144 bits, in groups a person can copy."""
    raw = secrets.token_urlsafe(18)
    return "-".join(raw[i:i + 6] for i in range(0, 24, 6))


def new_refresh_token() -> str:
    return "wrt_" + secrets.token_urlsafe(24)


def digest(value: str) -> str:
    return hashlib.sha256(value.strip().encode()).hexdigest()


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER_NAME)


def totp_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step whose code this is (the current one, or one step either side for clock drift), or None. A step
    at or before ``last_step`` is refused: a code is accepted once, even within its window."""
    totp = pyotp.TOTP(secret)
    now = int(at.timestamp()) // totp.interval
    code = code.strip()
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and (last_step is None or step > last_step):
            return step
    return None


def _context(account_id: str) -> str:
    return f"{TOTP_PURPOSE}/v1/{len(account_id)}:{account_id}"


def seal_totp(sealer: Sealer, account_id: str, secret: str) -> bytes:
    return sealer.encrypt(secret, _context(account_id))


def unseal_totp(sealer: Sealer, account_id: str, sealed: bytes) -> str:
    return sealer.decrypt(bytes(sealed), _context(account_id))
