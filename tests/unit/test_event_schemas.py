"""The committed JSON Schemas of every event are the contract: a change that would break a consumer fails here."""

from __future__ import annotations

import json

import pytest

from shared.cli import SCHEMA_DIR, render_schemas
from shared.events import load_all_contracts, schema_of
from shared.schemacompat import breaking_changes

TYPES = load_all_contracts()


def _committed() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in SCHEMA_DIR.glob("*.json")}


@pytest.mark.parametrize("event_type", sorted(_committed()))
def test_committed_event_type_still_exists_and_is_compatible(event_type: str) -> None:
    assert event_type in TYPES, f"{event_type} was removed: keep old versions while anything may still read them"
    assert breaking_changes(_committed()[event_type], schema_of(TYPES[event_type])) == []


def test_every_event_type_has_an_up_to_date_committed_schema_catalogue_and_public_asyncapi() -> None:
    stale = [str(p.name) for p, text in render_schemas().items() if not p.exists() or p.read_text() != text]
    assert stale == [], f"run `make schemas` and commit: {stale}"


def test_topics_of_all_events_are_in_the_topic_list() -> None:
    from shared.devstack.stack import load_topics

    topics = {t["name"] for t in load_topics()}
    assert {cls.topic for cls in TYPES.values()} <= topics


BASE = {
    "type": "object",
    "properties": {"id": {"type": "string", "format": "uuid"}, "amount": {"type": "integer", "description": "đồng"},
                   "kind": {"enum": ["a", "b"], "type": "string"}},
    "required": ["id", "amount"],
}


def _with(**changes: object) -> dict:
    schema = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        if value is None:
            schema["properties"].pop(key)
            if key in schema["required"]:
                schema["required"].remove(key)
        else:
            schema["properties"][key] = value
    return schema


def test_compatibility_rules() -> None:
    assert breaking_changes(BASE, BASE) == []
    assert breaking_changes(BASE, _with(note={"type": "string"})) == []  # optional field added
    assert breaking_changes(BASE, _with(amount={"type": "integer", "description": "VND"})) == []  # docs only
    assert breaking_changes(BASE, _with(kind=None)) == ["kind: field removed"]
    assert breaking_changes(BASE, _with(amount={"type": "number"})) == ["amount: type or constraints changed"]
    assert breaking_changes(BASE, _with(kind={"enum": ["a", "b", "c"], "type": "string"})) == ["kind: type or constraints changed"]
    required = _with(note={"type": "string"})
    required["required"].append("note")
    assert breaking_changes(BASE, required) == ["note: new required field"]
    became = json.loads(json.dumps(BASE))
    became["required"].append("kind")
    assert breaking_changes(BASE, became) == ["kind: became required"]


def test_nested_models_are_compared_through_refs() -> None:
    old = {"type": "object", "properties": {"p": {"$ref": "#/$defs/P"}}, "required": ["p"],
           "$defs": {"P": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}}}
    new = json.loads(json.dumps(old))
    new["$defs"]["P"]["properties"]["x"] = {"type": "integer"}
    assert breaking_changes(old, new) == ["p.x: type or constraints changed"]


def test_a_new_upper_bound_on_a_list_or_map_is_compatible_but_moving_one_is_not() -> None:
    listed = _with(ids={"type": "array", "items": {"type": "string"}},
                   totals={"type": "object", "additionalProperties": {"type": "integer"}})
    bounded = _with(ids={"type": "array", "items": {"type": "string"}, "maxItems": 50},
                    totals={"type": "object", "additionalProperties": {"type": "integer"}, "maxProperties": 100})
    assert breaking_changes(listed, bounded) == []
    tighter = json.loads(json.dumps(bounded))
    tighter["properties"]["ids"]["maxItems"] = 40
    assert breaking_changes(bounded, tighter) == ["ids: type or constraints changed"]
    # dropping a bound lets the producer send what consumers on the bounded model refuse
    assert breaking_changes(bounded, listed) == ["ids: type or constraints changed", "totals: type or constraints changed"]
    assert breaking_changes(_with(amount={"type": "integer"}), _with(amount={"type": "integer", "maximum": 5})) == [
        "amount: type or constraints changed"]


def _unbounded_collections(node: object, root: dict, path: str = "") -> list[str]:
    if isinstance(node, dict):
        if "$ref" in node and node["$ref"].startswith("#/$defs/"):
            return _unbounded_collections(root["$defs"][node["$ref"].split("/")[-1]], root, path)
        found = []
        if node.get("type") == "array" and "maxItems" not in node:
            found.append(path or "(root)")
        if node.get("type") == "object" and isinstance(node.get("additionalProperties"), dict) and "maxProperties" not in node:
            found.append(path or "(root)")
        for key, value in node.items():
            if key != "$defs":
                found += _unbounded_collections(value, root, f"{path}.{key}" if key != "properties" else path)
        return found
    if isinstance(node, list):
        return [f for item in node for f in _unbounded_collections(item, root, path)]
    return []


@pytest.mark.parametrize("event_type", sorted(TYPES))
def test_every_list_and_map_in_an_event_is_bounded(event_type: str) -> None:
    schema = schema_of(TYPES[event_type])
    assert _unbounded_collections(schema, schema) == []
