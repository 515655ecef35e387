"""The span allow-list names the installed OpenTelemetry semantic conventions, and none of their deprecated names
(read from the installed package: a constant whose docstring starts with "Deprecated:")."""

from __future__ import annotations

import ast
from pathlib import Path

import opentelemetry.semconv

from shared.telemetry import ALLOWED_LOG_ATTRIBUTES, ALLOWED_SPAN_ATTRIBUTES, _allowed


def _conventions() -> tuple[set[str], set[str]]:
    """Every attribute name the installed package defines, and those it marks deprecated."""
    names: set[str] = set()
    deprecated: set[str] = set()
    root = Path(opentelemetry.semconv.__file__).parent
    for path in [*root.glob("attributes/*_attributes.py"), *root.glob("_incubating/attributes/*_attributes.py")]:
        body = ast.parse(path.read_text()).body
        for node, after in zip(body, [*body[1:], None], strict=True):
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)):
                continue
            names.add(node.value.value)
            doc = after.value.value if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) else ""
            if str(doc).strip().startswith("Deprecated"):
                deprecated.add(node.value.value)
    return names, deprecated - _stable_names(root)  # a stable name is current, whatever an incubating copy says


def _stable_names(root: Path) -> set[str]:
    out = set()
    for path in root.glob("attributes/*_attributes.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant):
                out.add(node.value.value)
    return out


def test_the_span_allow_list_names_current_conventions_only() -> None:
    names, deprecated = _conventions()
    assert {"messaging.operation", "messaging.kafka.message.offset", "db.statement", "http.method"} <= deprecated
    ours = [a for a in ALLOWED_SPAN_ATTRIBUTES if not a.endswith(".")]
    assert [a for a in ours if a not in names] == []
    assert [a for a in ours if a in deprecated] == []


def test_deprecated_and_personal_attributes_do_not_pass() -> None:
    for key in ("messaging.operation", "messaging.kafka.message.offset", "messaging.kafka.destination.partition",
                "db.statement", "http.method", "http.status_code", "url.path", "url.query", "client.address",
                "user_agent.original", "messaging.kafka.message.key", "exception.message", "exception.stacktrace",
                "db.query.parameter.0"):
        assert not _allowed(key), key
    for key in ("exception.message", "exception.stacktrace", "full_name", "national_id"):
        assert not _allowed(key, ALLOWED_LOG_ATTRIBUTES), key
