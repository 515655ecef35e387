"""Is a new JSON Schema of an event backward compatible with the committed one?

Consumers read events with the tolerant-reader rule (unknown fields ignored, known ones strict), and the outbox can
republish old events, so for one event type (one version):

* adding an OPTIONAL field is compatible;
* bounding a list or map that had no bound (``maxItems``, ``maxProperties``) is compatible: the producer is
  tightened, and a consumer reads every event it can still receive - PROVIDED the bound is at least what the
  producer could ever send before (its own input bounds); the reviewer checks that, the schema cannot;
* removing a field, making a field required that was not, adding a required field, or changing a field's type,
  format, enum or constraints otherwise is BREAKING: publish a new ``...vN+1`` class instead.

Descriptions, titles and examples may change freely.
"""

from __future__ import annotations

from typing import Any

_DESCRIPTIVE = {"description", "title", "examples", "$id", "x-event-type", "x-topic", "default"}
#: Upper bounds a new schema may add where the old one had none.
_NEW_BOUNDS = ("maxItems", "maxProperties")


def _resolve(node: Any, root: dict[str, Any]) -> Any:
    while isinstance(node, dict) and "$ref" in node and len(node) <= 3:
        ref = node["$ref"]
        if not ref.startswith("#/$defs/"):
            break
        node = root.get("$defs", {}).get(ref.split("/")[-1], {})
    return node


def _strip(node: Any, root: dict[str, Any]) -> Any:
    node = _resolve(node, root)
    if isinstance(node, dict):
        return {k: _strip(v, root) for k, v in node.items() if k not in _DESCRIPTIVE}
    if isinstance(node, list):
        return [_strip(v, root) for v in node]
    return node


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    _compare(old, new, old, new, "", problems)
    return problems


def _compare(old: Any, new: Any, old_root: dict, new_root: dict, path: str, problems: list[str]) -> None:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    if isinstance(old, dict) and isinstance(new, dict) and "properties" in old and "properties" in new:
        old_props, new_props = old["properties"], new["properties"]
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        for name in old_props:
            if name not in new_props:
                problems.append(f"{path}{name}: field removed")
        for name in sorted(new_req - old_req):
            if name in old_props:
                problems.append(f"{path}{name}: became required")
            else:
                problems.append(f"{path}{name}: new required field")
        for name in old_props:
            if name in new_props:
                _compare(old_props[name], new_props[name], old_root, new_root, f"{path}{name}.", problems)
        return
    old_stripped, new_stripped = _strip(old, old_root), _strip(new, new_root)
    if isinstance(old_stripped, dict) and isinstance(new_stripped, dict):
        for bound in _NEW_BOUNDS:
            if bound in new_stripped and bound not in old_stripped:
                new_stripped = {k: v for k, v in new_stripped.items() if k != bound}
    if old_stripped != new_stripped:
        problems.append(f"{path.rstrip('.') or '(root)'}: type or constraints changed")
