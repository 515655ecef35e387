"""The public feed's contract: the AsyncAPI 3.0 document (valid against the official JSON Schema, one message per
public type whose example is a real message), the public JSON Schemas with a resolvable ``$id``, and the public
events themselves, which carry no personal data."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shared.asyncapi_public import (
    as_yaml,
    example_of,
    public_event_schema,
    public_event_types,
    public_feed_asyncapi,
)
from shared.cli import PUBLIC_ASYNCAPI, SCHEMA_DIR
from shared.clock import in_ward_time
from shared.contracts.awards import AwardRevoked
from shared.contracts.donations import CameraPurchase, CampaignClosed, ExpenseRecorded
from shared.contracts.mediation import CaseFailed, CaseRefused, CaseSucceeded, CaseWithdrawn, PublicCaseClosed
from shared.events import (
    DEFAULT_FEED_PUBLIC_URL,
    JSON_SCHEMA_DIALECT,
    PUBLIC_TOPIC,
    PublicEvent,
    from_kafka,
    load_all_contracts,
    schema_of,
)
from shared.schemacompat import breaking_changes

#: The official AsyncAPI 3.0.0 JSON Schema (tests/data/asyncapi/README.md says where it comes from).
ASYNCAPI_SCHEMA = json.loads((Path(__file__).parent.parent / "data" / "asyncapi" / "3.0.0.json").read_text())
PUBLIC = public_event_types()


def _asyncapi_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(ASYNCAPI_SCHEMA)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def _pointer(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _local_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/") else []
        return own + [r for v in node.values() for r in _local_refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _local_refs(v)]
    return []


# -- the AsyncAPI document ---------------------------------------------------------------------------------------
def test_the_document_is_valid_against_the_official_asyncapi_3_schema_and_its_references_resolve() -> None:
    document = public_feed_asyncapi("https://feed.phu-son.example")
    assert document["asyncapi"] == "3.0.0"
    assert _asyncapi_errors(document) == []
    refs = _local_refs(document)
    assert refs and [r for r in refs if _pointer(document, r) is None] == []  # a missing one raises KeyError
    # and the validator does look inside: a malformed security scheme or a missing version is refused
    broken = json.loads(json.dumps(document))
    broken["components"]["securitySchemes"]["scram"]["type"] = "scram"
    del broken["info"]["version"]
    assert len(_asyncapi_errors(broken)) >= 2


def test_the_committed_document_is_the_generated_one_and_reads_as_yaml() -> None:
    text = PUBLIC_ASYNCAPI.read_text()
    assert text == as_yaml(public_feed_asyncapi(DEFAULT_FEED_PUBLIC_URL)), "run `make schemas` and commit"
    assert yaml.safe_load(text) == public_feed_asyncapi(DEFAULT_FEED_PUBLIC_URL)


def test_servers_and_their_security_kafka_as_the_subscriber_principal_and_the_feed_over_http() -> None:
    document = public_feed_asyncapi("https://feed.phu-son.example/", kafka_bootstrap="kafka.city.example:9093")
    kafka, feed = document["servers"]["kafka"], document["servers"]["feed"]
    assert (kafka["protocol"], kafka["variables"]["bootstrap"]["default"]) == ("kafka-secure", "kafka.city.example:9093")
    assert "ward-subscriber" in kafka["description"] and "SASL_SSL" in kafka["description"]
    assert (feed["host"], feed["protocol"]) == ("feed.phu-son.example", "https")
    schemes = document["components"]["securitySchemes"]
    assert [_pointer(document, s["$ref"])["type"] for s in kafka["security"]] == ["scramSha512"]
    assert [_pointer(document, s["$ref"])["type"] for s in feed["security"]] == ["http", "oauth2"]
    assert schemes["apiKey"]["scheme"] == "bearer" and "clientCredentials" in schemes["oauth2"]["flows"]
    assert "feed_subscriber" in schemes["oauth2"]["description"]
    [channel] = document["channels"].values()
    assert channel["address"] == PUBLIC_TOPIC
    [operation] = document["operations"].values()
    assert operation["action"] == "receive" and len(operation["messages"]) == len(PUBLIC)


def test_one_message_per_public_type_whose_example_is_a_real_message_of_that_type() -> None:
    document = public_feed_asyncapi("https://feed.phu-son.example")
    messages = document["components"]["messages"]
    assert set(messages) == set(PUBLIC) == set(document["channels"]["publicWardEvents"]["messages"])
    for event_type, message in messages.items():
        [example] = message["examples"]
        headers, payload = example["headers"], example["payload"]
        jsonschema.Draft7Validator(message["headers"]).validate(headers)
        assert headers["ce_type"] == event_type and headers["ce_wardid"] == payload["ward_id"]
        assert message["payload"]["$id"] == f"https://feed.phu-son.example/schemas/{event_type}.json"
        jsonschema.Draft7Validator(message["payload"]).validate(payload)
        jsonschema.Draft202012Validator(public_event_schema(event_type, "https://x.example")).validate(payload)
        event = from_kafka(json.dumps(payload).encode(), {k: v.encode() for k, v in headers.items()})
        assert type(event) is PUBLIC[event_type] and event == example_of(PUBLIC[event_type])
        for name in ("ce_id", "ce_type", "ce_source", "ce_specversion", "ce_time", "ce_subject", "ce_wardid",
                     "content-type"):
            assert name in message["headers"]["properties"], (event_type, name)


# -- the public JSON Schemas -------------------------------------------------------------------------------------
@pytest.mark.parametrize("event_type", sorted(PUBLIC))
def test_a_public_schema_names_its_dialect_and_a_resolvable_id_under_the_feeds_url(event_type: str) -> None:
    schema = public_event_schema(event_type, "https://feed.phu-son.example/")
    assert schema["$schema"] == JSON_SCHEMA_DIALECT == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://feed.phu-son.example/schemas/{event_type}.json"
    jsonschema.Draft202012Validator.check_schema(schema)
    committed = json.loads((SCHEMA_DIR / f"{event_type}.json").read_text())
    assert committed == public_event_schema(event_type, DEFAULT_FEED_PUBLIC_URL)
    assert committed["$id"] == f"http://127.0.0.1:8006/schemas/{event_type}.json"
    # where the feed is served is no change to the contract
    assert breaking_changes(committed, schema) == []
    assert breaking_changes({**committed, "$id": f"urn:ward-platform:event:{event_type}"}, committed) == []


def test_only_public_types_are_served() -> None:
    with pytest.raises(KeyError):
        public_event_schema("registry.resident.registered.v1", DEFAULT_FEED_PUBLIC_URL)
    with pytest.raises(KeyError):
        public_event_schema("public.nothing.v1", DEFAULT_FEED_PUBLIC_URL)
    assert schema_of(load_all_contracts()["registry.resident.registered.v1"])["$id"].startswith("urn:")


# -- the public events: what leaves for other wards --------------------------------------------------------------
#: Field names that would carry a person, their contact or free text about them.
PERSONAL = ("name_of", "full_name", "recipient_name", "recipient_ref", "reporter", "resident", "mediator", "party",
            "parties", "phone", "national", "address", "reason", "summary", "agreement", "directed_to", "invoice",
            "location", "verification_code", "collected_by", "donor", "explanation", "notes")


@pytest.mark.parametrize("event_type", sorted(PUBLIC))
def test_no_public_event_has_a_field_for_personal_data_or_a_public_copy_of_its_own(event_type: str) -> None:
    cls = PUBLIC[event_type]
    assert [f for f in cls.model_fields if any(word in f for word in PERSONAL)] == []
    assert "to_public" not in vars(cls) and "public_copies" not in vars(cls)


def test_every_way_a_case_closes_is_published_with_its_outcome_and_nothing_about_the_parties() -> None:
    facts = {"ward_id": "phu-son", "subject": "c1", "case_id": "c1", "group_id": "g1", "team_id": "t1",
             "referral_incident_id": "inc-1", "kind": "neighbours"}
    succeeded = CaseSucceeded(**facts, mediator_ids=["r1"], concluded_on=date(2026, 5, 1))
    failed = CaseFailed(**facts, mediator_ids=["r1"], directed_to="Tòa án nhân dân", concluded_on=date(2026, 5, 2))
    withdrawn = CaseWithdrawn(**facts, withdrawn_on=date(2026, 5, 3))
    refused = CaseRefused(**facts, reason="Ông Cường gây thương tích (Art. 3)", ground="criminal_offence")
    copies = {e.event_type: e.public_copies() for e in (succeeded, failed, withdrawn, refused)}
    assert [c.event_type for c in copies["mediation.case.succeeded.v1"]] == [
        "public.mediation.case.succeeded.v1", "public.mediation.case.closed.v1"]
    closed = [c for cs in copies.values() for c in cs if isinstance(c, PublicCaseClosed)]
    assert [(c.outcome, c.closed_on) for c in closed[:3]] == [
        ("succeeded", date(2026, 5, 1)), ("failed", date(2026, 5, 2)), ("withdrawn", date(2026, 5, 3))]
    assert closed[3].outcome == "refused" and closed[3].closed_on is not None
    for c in closed:
        assert set(c.model_dump()) == {"id", "occurred_at", "ward_id", "subject", "case_id", "group_id", "kind",
                                       "outcome", "closed_on"}
        assert "Cường" not in c.model_dump_json() and "Tòa án" not in c.model_dump_json()
    assert len({c.id for cs in copies.values() for c in cs}) == 5  # every copy its own (stable) id
    assert succeeded.public_copies() == succeeded.public_copies()


def test_the_public_copies_of_a_revocation_an_expense_and_a_closed_campaign() -> None:
    revoked = AwardRevoked(ward_id="phu-son", subject="a1", award_id="a1", recipient_kind="individual",
                           recipient_ref="resident-1", verification_code="GK-2024-ABCD", reason="Nguyễn Văn A gian dối",
                           revoked_on=date(2024, 10, 1)).to_public()
    assert revoked.model_dump(exclude={"id", "occurred_at"}) == {
        "ward_id": "phu-son", "subject": "a1", "award_id": "a1", "recipient_kind": "individual",
        "revoked_on": date(2024, 10, 1)}
    camera = CameraPurchase(name="Camera ngõ 5", location="Ngõ 5 Trần Phú", group_id="g1")
    expense = ExpenseRecorded(ward_id="phu-son", subject="camp-1", expense_id="e1", campaign_id="camp-1",
                              group_id="g1", item="Camera", amount_vnd=8_000_000, invoice_ref="HĐ 0012",
                              cameras=[camera, camera]).to_public()
    assert (expense.cameras_count, expense.amount_vnd, expense.paid_on) == (2, 8_000_000,
                                                                        in_ward_time(expense.occurred_at).date())
    assert "HĐ 0012" not in expense.model_dump_json() and "Ngõ 5" not in expense.model_dump_json()
    closed = CampaignClosed(ward_id="phu-son", subject="camp-1", campaign_id="camp-1", group_id="g1",
                            raised_vnd=10, spent_vnd=8, balance_vnd=2, closed_on=date(2026, 6, 1)).to_public()
    assert (closed.raised_vnd, closed.spent_vnd, closed.balance_vnd, closed.closed_on) == (10, 8, 2, date(2026, 6, 1))
    assert all(isinstance(e, PublicEvent) and e.topic == PUBLIC_TOPIC for e in (revoked, expense, closed))
