"""The OpenAPI document of every service says what its operations really answer.

FastAPI documents an operation's success and a 422 ``HTTPValidationError`` that no service sends. Every error a
service sends is an RFC 9457 problem (``application/problem+json``, shared.http), so ``document_problems``
rewrites each operation's responses, in the app factory, for every service:

* the ``Problem`` schema (RFC 9457 members and the ``errors`` list validation problems carry) replaces
  ``HTTPValidationError``;
* each operation lists the statuses it can answer: 400 and 413 when it takes a body, 401 and 403 when it needs a
  token (401 with its ``WWW-Authenticate`` header), 404 and 429 on the API (``/v1``), 409 on state-changing
  methods, 422 everywhere (the path and query are validated on every route);
* non-JSON successes are declared by the route with ``media(...)`` (CSV, PDF, HTML) and kept; an error status a
  route declares itself (``responses={403: {"description": ...}}``) is documented as a problem.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

PROBLEM_JSON = "application/problem+json"
_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem: see /problems (docs/problems.md) for each type.",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference",
                 "description": "The problem type: a link to its documentation, or about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The path of the request"},
        "errors": {
            "type": "array",
            "description": "Validation problems: where (loc), what (msg, type); never the value itself",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

_DESCRIPTIONS = {
    400: "The request body could not be read",
    401: "No valid bearer token",
    403: "The token's roles do not allow this",
    404: "No such resource, or one outside the caller's reach",
    409: "Conflicts with the current state",
    413: "The request body is too large",
    422: "Invalid input, or a domain rule broken",
    429: "Too many requests; retry after Retry-After seconds",
    503: "The identity provider's keys could not be fetched to check the token",
}
_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer (RFC 6750)", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}
_METHODS_WITH_CHANGES = {"post", "put", "patch", "delete"}


def media(media_type: str, description: str, *, also: tuple[str, ...] = (), status: int = 200) -> dict[int, Any]:
    """``responses=`` for a route whose success is not (only) JSON: CSV, PDF, HTML (``also``: other types the same
    route answers, e.g. by a ``format`` parameter)."""
    binary = {"type": "string", "format": "binary"}
    content = {m: {"schema": {} if m == "application/json" else
                   (binary if m == "application/pdf" else {"type": "string"})} for m in (media_type, *also)}
    return {status: {"description": description, "content": content}}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [422]
    if "requestBody" in operation:
        statuses += [400, 413]
    if operation.get("security"):
        statuses += [401, 403, 503]
    if path.startswith("/v1/"):
        statuses += [404, 429]
        if method in _METHODS_WITH_CHANGES:
            statuses.append(409)
    return sorted(statuses)


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": _DESCRIPTIONS[status], "content": {PROBLEM_JSON: {"schema": _REF}}}
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def rewrite(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a FastAPI-generated document in place (and return it)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Problem"] = PROBLEM_SCHEMA
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "patch", "delete", "head", "options"}:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, response in responses.items():  # an error status the route declares itself (a
                if status[0] in "45" and "content" not in response:  # domain rule's 403 on a public route)
                    response["content"] = {PROBLEM_JSON: {"schema": _REF}}
            for status in _statuses(path, method, operation):
                responses[str(status)] = _problem_response(status)
    return schema


def document_problems(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = rewrite(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
