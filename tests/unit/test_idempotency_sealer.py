"""The seal of idempotency records: one key per service, retired keys still open what they sealed, nothing else
opens it, and production refuses the development key."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError

from shared.idempotency import Sealer
from shared.settings import DEV_IDEMPOTENCY_KEY, ServiceSettings

OLD, NEW = "o" * 40, "n" * 40
REPLY = '{"full_name": "Trịnh Thị Khuê", "national_id": "079203004567"}'


def test_a_sealed_reply_holds_nothing_in_clear_and_opens_only_in_its_context():
    sealer = Sealer("mediation", NEW)
    token = sealer.encrypt(REPLY, "ctx-a")
    assert "Khuê".encode() not in token and b"079203004567" not in token
    assert sealer.decrypt(token, "ctx-a") == REPLY
    with pytest.raises(InvalidTag):
        sealer.decrypt(token, "ctx-b")  # another caller's row
    with pytest.raises(LookupError):
        Sealer("donations", NEW).decrypt(token, "ctx-a")  # another service, even with the same secret


def test_a_retired_key_still_opens_what_it_sealed_and_a_forgotten_one_does_not():
    sealed_before = Sealer("awards", OLD).encrypt(REPLY, "ctx")
    rotated = Sealer("awards", NEW, [OLD])
    assert rotated.decrypt(sealed_before, "ctx") == REPLY
    assert rotated.decrypt(rotated.encrypt(REPLY, "ctx"), "ctx") == REPLY
    with pytest.raises(LookupError):
        Sealer("awards", NEW).decrypt(sealed_before, "ctx")


def test_production_refuses_the_development_or_a_short_idempotency_key():
    base = {"service_name": "awards", "database_url": "postgresql://a@b/c", "_env_file": None}
    assert ServiceSettings(**base).idempotency_key.get_secret_value() == DEV_IDEMPOTENCY_KEY  # development only
    for key in (DEV_IDEMPOTENCY_KEY, "short"):
        with pytest.raises(ValidationError, match="IDEMPOTENCY_KEY"):
            ServiceSettings(**base, environment="production", idempotency_key=key)
