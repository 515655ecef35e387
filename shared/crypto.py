"""Protection of personal data at rest (national ID numbers, reporters' identities).

Three purposes, three independent secrets, each configured only in the services that use it
(``shared.settings.PERSONAL_DATA_KEYS``):

* **encryption** (``PII_KEYS`` + ``PII_ACTIVE_KEY_ID``) - AES-256-GCM with a random nonce; the associated data
  binds a ciphertext to its row and purpose, so a value copied into another row does not decrypt. A keyring:
  every ciphertext carries the id of the key that wrote it in its header, new ones are written under the active
  key, and ``wardctl keys rotate`` rewrites the others (``shared.keyrotation``).
* **blind index** (``INDEX_KEYS`` + ``INDEX_ACTIVE_KEY_ID``) - a keyed HMAC for equality look-ups (is this
  national ID already registered?) without storing the value in the clear. A keyring as well: a stored index
  is ``<key id>:<hex>``; a look-up tries the value's index under every configured key, and the rotation
  recomputes the index from the decrypted value (an index cannot be re-keyed without the clear value).
* **pseudonym** (``PSEUDONYM_KEY``) - a stable keyed pseudonym (a reporter's ``reporter_ref``, which the awards
  service keeps as the only name it knows). One key, never rotated by the tools: a new key gives every reporter
  a new pseudonym, so earlier reports and awards no longer link to them.

Wire format of a ciphertext: ``0x02 | len(key id) | key id (ASCII) | nonce (12) | AES-GCM(ciphertext+tag)``, the
header (everything before the nonce) being part of the associated data. The format written before keyrings,
``0x01 | nonce | ciphertext``, is still read: with the key of id ``legacy`` (the old ``PII_KEY``), until
``wardctl keys rotate`` has rewritten every such value. Index values without a ``<key id>:`` prefix are
likewise the ``legacy`` key's. Each key is base64 of 32 random bytes; the AES key and the HMAC keys are derived
from it with HKDF per purpose (as before, so that the old ``PII_KEY`` reads old data as the ``legacy`` key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_V1 = 1  # before keyrings: no key id; read with the "legacy" key
_V2 = 2  # key id in the header
LEGACY_KEY_ID = "legacy"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class KeyConfigurationError(ValueError):
    """A keyring setting is malformed (shown at start-up, never with the key material)."""


class MissingKey(RuntimeError):
    """This service was not given the key this operation needs, or a ciphertext's key is not configured."""


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(master)


def decode_key(name: str, key_b64: str) -> bytes:
    try:
        raw = base64.b64decode(key_b64, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise KeyConfigurationError(f"{name} must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)")
    return raw


class KeyRing:
    """Keys by id, and the id new data is written under."""

    def __init__(self, name: str, keys: Mapping[str, bytes], active: str) -> None:
        if not keys:
            raise KeyConfigurationError(f"{name}: no keys")
        for kid in keys:
            if not KEY_ID_PATTERN.match(kid):
                raise KeyConfigurationError(f"{name}: key id {kid!r} must match {KEY_ID_PATTERN.pattern}")
        if active not in keys:
            raise KeyConfigurationError(f"{name}: the active key id {active!r} is not among the keys ({', '.join(keys)})")
        self.name = name
        self.keys = dict(keys)
        self.active = active

    @classmethod
    def parse(cls, name: str, keys_json: str, active: str | None) -> KeyRing:
        """``{"k2": "<base64 of 32 bytes>", "k1": "..."}``; ``active`` may be omitted when there is one key."""
        try:
            raw = json.loads(keys_json)
        except ValueError:
            raise KeyConfigurationError(f"{name} must be a JSON object of key id to base64 key") from None
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise KeyConfigurationError(f"{name} must be a JSON object of key id to base64 key")
        if active is None:
            if len(raw) != 1:
                raise KeyConfigurationError(f"{name} holds several keys: say which is active")
            active = next(iter(raw))
        return cls(name, {kid: decode_key(f"{name}[{kid}]", v) for kid, v in raw.items()}, active)


def _header(kid: str) -> bytes:
    encoded = kid.encode("ascii")
    return bytes([_V2, len(encoded)]) + encoded


def ciphertext_key_id(token: bytes) -> str:
    """The id of the key a ciphertext was written under (without decrypting it)."""
    if token[:1] == bytes([_V1]):
        return LEGACY_KEY_ID
    if token[:1] == bytes([_V2]) and len(token) > 2:
        return token[2 : 2 + token[1]].decode("ascii")
    raise ValueError("unknown ciphertext version")


def index_key_id(index: str) -> str:
    kid, sep, _ = index.partition(":")
    return kid if sep else LEGACY_KEY_ID


class PersonalDataProtector:
    """What a service may do with personal data: only what it was given keys for."""

    def __init__(
        self,
        encryption: KeyRing | None = None,
        index: KeyRing | None = None,
        pseudonym_key: bytes | None = None,
        *,
        service: str = "this service",
    ) -> None:
        self.service = service
        self.encryption = encryption
        self.index = index
        self._aead = {kid: AESGCM(_derive(k, "ward-platform/encrypt")) for kid, k in (encryption.keys if encryption else {}).items()}
        self._index_keys = {kid: _derive(k, "ward-platform/blind-index") for kid, k in (index.keys if index else {}).items()}
        self._pseudonym_key = _derive(pseudonym_key, "ward-platform/pseudonym") if pseudonym_key else None

    def _missing(self, what: str) -> MissingKey:
        return MissingKey(f"{self.service} holds no {what} key")

    # -- encryption ------------------------------------------------------------------------------------------
    @property
    def active_key_id(self) -> str:
        if self.encryption is None:
            raise self._missing("personal-data encryption")
        return self.encryption.active

    def encrypt(self, plaintext: str, context: str) -> bytes:
        kid = self.active_key_id
        header, nonce = _header(kid), os.urandom(12)
        return header + nonce + self._aead[kid].encrypt(nonce, plaintext.encode(), header + context.encode())

    def decrypt(self, token: bytes, context: str) -> str:
        if self.encryption is None:
            raise self._missing("personal-data encryption")
        token = bytes(token)
        kid = ciphertext_key_id(token)
        aead = self._aead.get(kid)
        if aead is None:
            raise MissingKey(f"the key {kid!r} of this ciphertext is not configured (PII_KEYS)")
        if kid == LEGACY_KEY_ID and token[:1] == bytes([_V1]):
            return aead.decrypt(token[1:13], token[13:], context.encode()).decode()
        start = 2 + token[1]
        header = token[:start]
        return aead.decrypt(token[start : start + 12], token[start + 12 :], header + context.encode()).decode()

    def needs_reencryption(self, token: bytes) -> bool:
        return ciphertext_key_id(bytes(token)) != self.active_key_id

    # -- blind index -----------------------------------------------------------------------------------------
    def _index_under(self, kid: str, value: str, purpose: str) -> str:
        digest = hmac.new(self._index_keys[kid], f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
        return digest if kid == LEGACY_KEY_ID else f"{kid}:{digest}"

    def blind_index(self, value: str, purpose: str) -> str:
        """The index to store, under the active index key."""
        if self.index is None:
            raise self._missing("blind-index")
        return self._index_under(self.index.active, value, purpose)

    def blind_index_candidates(self, value: str, purpose: str) -> list[str]:
        """The value's index under every configured key: what a look-up searches during a rotation."""
        if self.index is None:
            raise self._missing("blind-index")
        return [self._index_under(kid, value, purpose) for kid in self.index.keys]

    @property
    def active_index_key_id(self) -> str:
        if self.index is None:
            raise self._missing("blind-index")
        return self.index.active

    # -- pseudonyms ------------------------------------------------------------------------------------------
    def pseudonym(self, value: str, purpose: str, length: int = 24) -> str:
        if self._pseudonym_key is None:
            raise self._missing("pseudonym")
        digest = hmac.new(self._pseudonym_key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode().rstrip("=").lower()[:length]
