"""Keys for personal data: one per purpose and per service, a key id in every ciphertext, the format written
before keyrings still read (shared.crypto, shared.settings)."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import ValidationError

from shared.crypto import KeyRing, MissingKey, PersonalDataProtector, ciphertext_key_id, index_key_id
from shared.keyrotation import encrypted_columns
from shared.settings import DEV_PII_KEY, PERSONAL_DATA_KEYS, SERVICES, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
DB = "postgresql://x:y@db/ward"


def key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def ring(name: str = "PII_KEYS", active: str = "k1", **keys: str) -> KeyRing:
    return KeyRing.parse(name, json.dumps(keys), active)


def old_format_encrypt(master_b64: str, plaintext: str, context: str) -> bytes:
    """The ciphertext the platform wrote before keyrings (version byte 0x01, key derived from PII_KEY)."""
    master = base64.b64decode(master_b64)
    aes = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ward-platform/encrypt").derive(master)
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(aes).encrypt(nonce, plaintext.encode(), context.encode())


def test_a_ciphertext_names_its_key_and_decrypts_after_the_active_key_changed() -> None:
    k1, k2 = key(), key()
    before = PersonalDataProtector(ring(k1=k1))
    token = before.encrypt("001203004005", "registry/resident/r1/national_id")
    assert ciphertext_key_id(token) == "k1" and b"001203004005" not in token
    after = PersonalDataProtector(ring(active="k2", k1=k1, k2=k2))
    assert after.decrypt(token, "registry/resident/r1/national_id") == "001203004005"
    assert after.needs_reencryption(token) and ciphertext_key_id(after.encrypt("x", "c")) == "k2"
    with pytest.raises(InvalidTag):
        after.decrypt(token, "registry/resident/r2/national_id")  # still bound to its row
    only_k2 = PersonalDataProtector(ring(active="k2", k2=k2))
    with pytest.raises(MissingKey, match="'k1'"):
        only_k2.decrypt(token, "registry/resident/r1/national_id")
    forged = token.replace(b"k1", b"k2", 1)  # the header is authenticated: another key id does not decrypt
    with pytest.raises(InvalidTag):
        PersonalDataProtector(ring(active="k2", k2=k1)).decrypt(forged, "registry/resident/r1/national_id")


def test_the_format_written_before_keyrings_is_read_with_the_legacy_key() -> None:
    old_key = key()
    token = old_format_encrypt(old_key, "001203004005", "incidents:i1:reporter")
    assert ciphertext_key_id(token) == "legacy"
    p = PersonalDataProtector(ring(active="k2", legacy=old_key, k2=key()))
    assert p.decrypt(token, "incidents:i1:reporter") == "001203004005"
    assert p.needs_reencryption(token)
    with pytest.raises(MissingKey):
        PersonalDataProtector(ring(active="k2", k2=key())).decrypt(token, "incidents:i1:reporter")


def test_blind_index_carries_its_key_id_and_look_ups_try_every_configured_key() -> None:
    old, i1 = key(), key()
    p = PersonalDataProtector(index=ring("INDEX_KEYS", active="i1", legacy=old, i1=i1))
    stored = p.blind_index("001203004005", "national_id")
    assert index_key_id(stored) == "i1" and stored.startswith("i1:")
    candidates = p.blind_index_candidates("001203004005", "national_id")
    assert stored in candidates and len(candidates) == 2
    legacy = [c for c in candidates if c != stored][0]
    assert index_key_id(legacy) == "legacy" and re.fullmatch(r"[0-9a-f]{64}", legacy)  # as stored before keyrings
    # the encryption key does not compute indexes, and the other way round
    with pytest.raises(MissingKey):
        p.encrypt("x", "c")
    with pytest.raises(MissingKey):
        PersonalDataProtector(ring(k1=i1)).blind_index("x", "national_id")


def test_only_the_services_that_hold_personal_data_get_keys() -> None:
    holders = {s for s in SERVICES if encrypted_columns(s)}
    assert holders == {"registry", "incidents"} == set(PERSONAL_DATA_KEYS)
    for service in set(SERVICES) - holders:
        settings = ServiceSettings(service_name=service, database_url=DB)
        p = settings.protector()
        with pytest.raises(MissingKey):
            p.encrypt("x", "c")
        with pytest.raises(ValidationError, match="must not be given PII_KEYS"):
            ServiceSettings(service_name=service, database_url=DB, pii_keys=json.dumps({"k1": key()}))
        # and its code does not reach for one
        code = "\n".join(p.read_text() for p in (ROOT / "services" / service).glob("*.py"))
        assert ".pii" not in code and "PersonalDataProtector" not in code, service
    with pytest.raises(ValidationError, match="must not be given INDEX_KEYS"):
        ServiceSettings(service_name="incidents", database_url=DB, index_keys=json.dumps({"i1": key()}))


def test_production_needs_each_purpose_its_own_real_key_and_never_echoes_one() -> None:
    secret = key()
    base = {"service_name": "registry", "database_url": DB, "environment": "production",
            "jwt_issuer": "https://id.example/realms/ward", "jwt_jwks_url": "https://id.example/certs",
            "kafka_allow_plaintext": True, "audit_key": "a" * 40, "audit_key_id": "k1",
            "idempotency_key": "i" * 40}
    with pytest.raises(ValidationError, match=r"PII_KEYS \(not set\).*INDEX_KEYS \(not set\)"):
        ServiceSettings(**base)
    with pytest.raises(ValidationError, match="INDEX_KEYS") as refused:
        ServiceSettings(**base, pii_keys=json.dumps({"k1": secret}), pii_active_key_id="k1",
                        index_keys=json.dumps({"legacy": DEV_PII_KEY}))
    assert secret not in str(refused.value)
    with pytest.raises(ValidationError, match="several keys") as refused:
        ServiceSettings(**base, pii_keys=json.dumps({"k1": secret, "k2": key()}), index_keys=json.dumps({"i": key()}))
    assert secret not in str(refused.value)
    with pytest.raises(ValidationError, match="base64 of exactly 32 bytes"):
        ServiceSettings(**base, pii_keys='{"k1": "c2hvcnQ="}', index_keys=json.dumps({"i": key()}))
    ok = ServiceSettings(**base, pii_keys=json.dumps({"k1": secret}), index_keys=json.dumps({"i1": key()}))
    assert ok.protector().active_key_id == "k1"
    incidents = {**base, "service_name": "incidents"}
    with pytest.raises(ValidationError, match="PSEUDONYM_KEY"):
        ServiceSettings(**incidents, pii_keys=json.dumps({"k1": secret}))
    assert not hasattr(ok, "migration_database_url")  # a running service holds no owner login
