from __future__ import annotations

import json
import uuid
from typing import ClassVar

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError

from shared.contracts.registry import GroupCreated, ResidentRegistered, TeamFormed
from shared.events import MAX_MESSAGE_BYTES, PUBLIC_TOPIC, EventDecodeError, PublicEvent, from_kafka, to_kafka
from shared.settings import DEV_AUDIT_KEY, DEV_JWKS, DEV_JWT_ISSUER, ServiceSettings


def test_cloudevents_binary_mode_round_trip() -> None:
    event = GroupCreated(ward_id="phu-son", subject="g-1", group_id="g-1", name="Tổ dân phố Trần Phú")
    key, value, headers = to_kafka(event)
    assert key == "g-1"
    assert headers["ce_type"] == b"registry.group.created.v1"
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == str(event.id).encode()
    assert headers["ce_subject"] == b"g-1"
    assert headers["ce_source"] == b"urn:ward-platform:registry"
    assert headers["content-type"] == b"application/json"
    assert headers["ce_wardid"] == b"phu-son"  # CloudEvents extension attribute `wardid`: filter without parsing
    assert "ce_time" in headers
    assert json.loads(value)["name"] == "Tổ dân phố Trần Phú"
    assert from_kafka(value, headers) == event


def test_a_message_without_the_ward_attribute_is_still_read_and_a_contradicting_one_is_refused() -> None:
    event = GroupCreated(ward_id="phu-son", subject="g-1", group_id="g-1", name="Tổ dân phố Trần Phú")
    _, value, headers = to_kafka(event)
    older = {k: v for k, v in headers.items() if k != "ce_wardid"}  # written before the attribute existed
    assert from_kafka(value, older) == event
    with pytest.raises(EventDecodeError, match="ce_wardid"):
        from_kafka(value, {**headers, "ce_wardid": b"an-khanh"})


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda v, h: (b"{oops", h), "not a CloudEvents|not a JSON object"),
        (lambda v, h: (v, {**h, "ce_type": b"registry.group.created.v7"}), "unknown event type"),
        (lambda v, h: (json.dumps({**json.loads(v), "ward_id": ""}).encode(), h), "failed validation"),
        (lambda v, h: (v, {**h, "ce_id": str(uuid.uuid4()).encode()}), "differ"),
        (lambda v, h: (b"x" * (MAX_MESSAGE_BYTES + 1), h), "exceeds the limit"),
        (lambda v, h: (None, h), "empty"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(mutate, reason) -> None:
    _, value, headers = to_kafka(GroupCreated(ward_id="phu-son", subject="g", group_id="g", name="n"))
    bad_value, bad_headers = mutate(value, dict(headers))
    with pytest.raises(EventDecodeError, match=reason):
        from_kafka(bad_value, bad_headers)


def test_public_counterpart_has_only_its_declared_fields_and_its_own_id() -> None:
    team = TeamFormed(ward_id="phu-son", subject="t1", team_id="t1", group_id="g1", kind="anxh", compliant=True,
                      name="Tổ ANXH số 1", formed_on="2024-01-02", formation_act="QĐ 1/QĐ-UBND")
    public = team.to_public()
    assert isinstance(public, PublicEvent) and public.topic == PUBLIC_TOPIC
    assert set(public.model_dump()) == {"id", "occurred_at", "ward_id", "subject", "team_id", "group_id", "kind", "name"}
    assert public.id != team.id and team.to_public().id == public.id  # distinct, and stable when republished


def test_no_registry_event_carries_a_national_id_or_phone() -> None:
    from shared.events import load_all_contracts

    for event_type, cls in load_all_contracts().items():
        for name in cls.model_fields:
            assert not any(word in name for word in ("national", "cccd", "phone", "id_number", "reporter_name")), (event_type, name)
    assert "national_id" not in ResidentRegistered.model_fields


PROD_KEYS = {"pii_keys": '{"k1": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYiE="}', "pii_active_key_id": "k1",
             "index_keys": '{"i1": "aW5kZXgtaW5kZXgtaW5kZXgtaW5kZXgtaW5kZXghISE="}', "index_active_key_id": "i1"}
PROD_KAFKA = {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "registry", "kafka_sasl_password": "pw"}
PROD_AUDIT = {"audit_key": "a" * 40, "audit_key_id": "k1", "idempotency_key": "i" * 40}
PROD_OIDC = {"jwt_issuer": "https://id.city.example/realms/ward",
             "jwt_jwks_url": "https://id.city.example/realms/ward/protocol/openid-connect/certs"}


def test_settings_refuse_development_secrets_in_production() -> None:
    base = {"service_name": "registry", "database_url": "postgresql://registry:s3cret@db/ward", "_env_file": None,
            **PROD_KAFKA, **PROD_AUDIT}
    with pytest.raises(ValidationError, match="JWT_JWKS_URL") as refused:
        ServiceSettings(**base, environment="production", **PROD_KEYS)
    assert "JWT_ISSUER" in str(refused.value)  # the development issuer is refused too
    ok = ServiceSettings(**base, environment="production", **PROD_KEYS, **PROD_OIDC)
    assert ok.kafka_acks == "all" and ok.trusted_jwks() is None  # keys come from the provider's JWKS
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        ServiceSettings(service_name="registry", environment="production", **PROD_KEYS, **PROD_OIDC,
                        **PROD_KAFKA, **PROD_AUDIT, database_url="postgresql://registry:dev-registry-password@db/ward")
    with pytest.raises(ValidationError):
        ServiceSettings(service_name="nope", database_url="postgresql://x@y/z")
    dev = ServiceSettings(**base)
    assert dev.trusted_jwks() == DEV_JWKS and dev.jwt_issuer == DEV_JWT_ISSUER  # allowed in development only


def test_production_refuses_the_development_token_key_in_any_form() -> None:
    base = {"service_name": "awards", "database_url": "postgresql://awards:s3cret@db/ward", "_env_file": None,
            "environment": "production", **PROD_KAFKA, **PROD_AUDIT}
    with pytest.raises(ValidationError, match="JWT_JWKS .the development key"):
        ServiceSettings(**base, jwt_issuer=PROD_OIDC["jwt_issuer"], jwt_jwks=json.dumps(DEV_JWKS))
    renamed = {"keys": [{**DEV_JWKS["keys"][0], "kid": "innocent-looking"}]}
    with pytest.raises(ValidationError, match="the development key"):
        ServiceSettings(**base, jwt_issuer=PROD_OIDC["jwt_issuer"], jwt_jwks=json.dumps(renamed))
    with pytest.raises(ValidationError, match="JWT_ISSUER"):
        ServiceSettings(**base, jwt_jwks_url=PROD_OIDC["jwt_jwks_url"], jwt_issuer=DEV_JWT_ISSUER)
    with pytest.raises(ValidationError, match="not both"):
        ServiceSettings(**base, **PROD_OIDC, jwt_jwks=json.dumps(DEV_JWKS))


@pytest.mark.parametrize("algorithms", [["HS256"], ["EdDSA", "none"], []])
def test_only_asymmetric_token_algorithms_can_be_configured(algorithms) -> None:
    with pytest.raises(ValidationError, match="JWT_ALGORITHMS"):
        ServiceSettings(service_name="registry", database_url="postgresql://x@y/z", jwt_algorithms=algorithms)


def test_audience_is_the_service_name_unless_configured() -> None:
    assert ServiceSettings(service_name="awards", database_url="postgresql://x@y/z").audience == "awards"
    assert ServiceSettings(service_name="awards", database_url="postgresql://x@y/z",
                           jwt_audience="ward-awards").audience == "ward-awards"


def test_settings_refuse_the_development_audit_key_in_production() -> None:
    base = {"service_name": "awards", "database_url": "postgresql://awards:s3cret@db/ward", "environment": "production",
            **PROD_OIDC, "kafka_allow_plaintext": True, "idempotency_key": "i" * 40}
    with pytest.raises(ValidationError, match="AUDIT_KEY"):
        ServiceSettings(**base)  # the development key and id
    with pytest.raises(ValidationError, match="AUDIT_KEY"):
        ServiceSettings(**base, audit_key=DEV_AUDIT_KEY, audit_key_id="k1")
    with pytest.raises(ValidationError, match="shorter than 32"):
        ServiceSettings(**base, audit_key="short", audit_key_id="k1")
    with pytest.raises(ValidationError, match="AUDIT_KEY"):
        ServiceSettings(**base, audit_key="a" * 40, audit_key_id="k2", audit_retired_keys={"k1": DEV_AUDIT_KEY})
    ok = ServiceSettings(**base, audit_key="a" * 40, audit_key_id="k2", audit_retired_keys={"k1": "b" * 40})
    assert set(ok.audit_retired_keys) == {"k1"}


def test_personal_data_protection() -> None:
    p = ServiceSettings(service_name="registry", database_url="postgresql://x@y/z").protector()
    token = p.encrypt("001203004005", "resident:r1")
    assert b"001203004005" not in token
    assert p.decrypt(token, "resident:r1") == "001203004005"
    with pytest.raises(InvalidTag):
        p.decrypt(token, "resident:r2")  # bound to its row: a copied ciphertext does not decrypt
    assert p.blind_index("001203004005", "cccd") == p.blind_index("001203004005", "cccd")
    p = ServiceSettings(service_name="incidents", database_url="postgresql://x@y/z").protector()
    assert p.pseudonym("r1", "reporter") == p.pseudonym("r1", "reporter") != p.pseudonym("r2", "reporter")
    assert p.pseudonym("r1", "reporter") != p.pseudonym("r1", "other-purpose")


def test_event_types_must_be_versioned() -> None:
    with pytest.raises(TypeError, match="version"):
        class Bad(GroupCreated):  # noqa: V102 - defining it is the test
            event_type: ClassVar[str] = "registry.group.created"


def test_incident_public_feed_hides_crime_tips_until_resolved_and_never_carries_the_reporter() -> None:
    from datetime import UTC, datetime

    from shared.contracts.incidents import IncidentReported, IncidentResolved

    common = {"ward_id": "phu-son", "subject": "i1", "incident_id": "i1", "group_id": "g1"}
    reported = IncidentReported(**common, category="theft", is_crime_tip=False, anonymous=False,
                                reported_at=datetime(2024, 8, 13, 16, 30, tzinfo=UTC))
    public = reported.to_public()
    assert public is not None and public.reported_on.isoformat() == "2024-08-13"  # the day, in ward time
    assert set(public.model_dump()) == {"id", "occurred_at", "ward_id", "subject", "incident_id", "group_id",
                                        "category", "reported_on"}
    tip = IncidentReported(**common, category="drugs", is_crime_tip=True, anonymous=True,
                           reported_at=datetime(2024, 8, 13, 18, 0, tzinfo=UTC))
    assert tip.to_public() is None  # a crime tip stays confidential while it is handled
    solved = IncidentResolved(**common, category="drugs", is_crime_tip=True, outcome="solved", camera_footage_used=True,
                              camera_ids=["cam-1"], reporter_ref="r" * 24, resolved_at=datetime(2024, 8, 20, tzinfo=UTC))
    body = solved.to_public().model_dump()
    assert "reporter_ref" not in body and "camera_ids" not in body and body["outcome"] == "solved"


def test_a_validation_error_names_the_field_but_never_quotes_the_value() -> None:
    _, value, headers = to_kafka(ResidentRegistered(ward_id="phu-son", subject="r", resident_id="r", household_id="h",
                                                    group_id="g", full_name="Nguyễn Thị Mai", sex="female"))
    body = json.loads(value)
    body["sex"] = "Nguyễn Thị Mai 001203004005"
    with pytest.raises(EventDecodeError) as err:
        from_kafka(json.dumps(body).encode(), headers)
    assert "sex" in str(err.value) and "001203004005" not in str(err.value) and "Mai" not in str(err.value)
