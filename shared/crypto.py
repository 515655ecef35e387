"""Protection of personal data at rest (national ID numbers, reporters' identities).

* ``encrypt``/``decrypt`` - AES-256-GCM with a random nonce; the associated data binds a ciphertext to its
  row and purpose, so a value copied into another row does not decrypt.
* ``blind_index`` - a keyed HMAC for equality look-ups (is this national ID already registered?) without
  storing the value in the clear.
* ``pseudonym`` - a stable keyed pseudonym (e.g. a reporter reference that awards can credit without knowing
  who it is).

Keys come from ``PII_KEY`` (base64 of 32 bytes). Distinct sub-keys are derived per purpose with HKDF, so the
index and pseudonyms cannot be used to decrypt, nor the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(master)


class PersonalDataProtector:
    def __init__(self, key_b64: str) -> None:
        master = base64.b64decode(key_b64)
        if len(master) != 32:
            raise ValueError("PII_KEY must be base64 of exactly 32 bytes")
        self._aead = AESGCM(_derive(master, "ward-platform/encrypt"))
        self._index_key = _derive(master, "ward-platform/blind-index")
        self._pseudonym_key = _derive(master, "ward-platform/pseudonym")

    def encrypt(self, plaintext: str, context: str) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, token: bytes, context: str) -> str:
        if not token or token[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        return self._aead.decrypt(token[1:13], token[13:], context.encode()).decode()

    def blind_index(self, value: str, purpose: str) -> str:
        return hmac.new(self._index_key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def pseudonym(self, value: str, purpose: str, length: int = 24) -> str:
        digest = hmac.new(self._pseudonym_key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode().rstrip("=").lower()[:length]
