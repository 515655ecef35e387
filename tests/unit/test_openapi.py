"""Each service's OpenAPI document declares what its operations really answer: problems (RFC 9457) with their
statuses, and CSV, PDF and HTML with their media types. (Schemathesis checks the answers against it, e2e.)"""

from __future__ import annotations

import functools

import pytest

from services.awards.bootstrap import build as build_awards
from services.donations.bootstrap import build as build_donations
from services.feed.bootstrap import build as build_feed
from services.identity.bootstrap import build as build_identity
from services.incidents.bootstrap import build as build_incidents
from services.mediation.bootstrap import build as build_mediation
from services.notify.bootstrap import build as build_notify
from services.registry.bootstrap import build as build_registry
from shared.settings import ServiceSettings

BUILDS = {"registry": build_registry, "incidents": build_incidents, "mediation": build_mediation,
          "donations": build_donations, "awards": build_awards, "feed": build_feed,
          "identity": build_identity, "notify": build_notify}
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@functools.cache
def _document(service: str) -> dict:
    app = BUILDS[service](ServiceSettings(service_name=service, database_url="postgresql://u:p@127.0.0.1:1/x"))
    return app.openapi()


@pytest.mark.parametrize("service", BUILDS)
def test_every_operation_documents_its_problems(service):
    doc = _document(service)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance"} <= set(problem["required"])
    assert "errors" in problem["properties"]
    operations = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    assert len(operations) > 5
    for path, method, op in operations:
        responses = op["responses"]
        assert responses["422"]["content"] == PROBLEM, (path, method)
        if op.get("security"):
            assert responses["401"]["content"] == PROBLEM and "WWW-Authenticate" in responses["401"]["headers"]
            assert responses["403"]["content"] == PROBLEM
        if "requestBody" in op:
            assert {"400", "413"} <= responses.keys(), (path, method)
        if path.startswith("/v1/"):
            assert {"404", "429"} <= responses.keys(), (path, method)
        if method in ("post", "patch") and path.startswith("/v1/"):
            assert "409" in responses, (path, method)
        for status, response in responses.items():
            if status.startswith(("4", "5")) and status != "503":
                assert response["content"] == PROBLEM, (path, method, status)


def test_a_public_route_documents_the_403_of_a_wrong_proof():
    paths = _document("awards")["paths"]
    for path in ("/v1/public/certificates/{code}/claim", "/v1/public/certificates/{code}/claim/withdraw"):
        responses = paths[path]["post"]["responses"]
        assert responses["403"]["content"] == PROBLEM and "401" not in responses
    ready = _document("registry")["paths"]["/health/ready"]["get"]["responses"]["503"]
    assert set(ready["content"]) == {"application/json"}


def test_non_json_responses_are_declared_with_their_media_types():
    def success(service: str, path: str) -> set[str]:
        return set(_document(service)["paths"][path]["get"]["responses"]["200"]["content"])

    assert success("donations", "/v1/campaigns/{campaign_id}/report.csv") == {"text/csv"}
    assert success("awards", "/v1/awards/{award_id}/certificate.pdf") == {"application/pdf"}
    assert success("awards", "/v1/wards/{ward_id}/festival/{year}.pdf") == {"application/pdf"}
    assert success("mediation", "/v1/teams/{team_id}/record-book/{year}") == {"application/json", "text/csv",
                                                                              "text/html"}
    assert success("incidents", "/v1/briefings/{group_id}/{month}/print") == {"text/html"}
    assert success("registry", "/problems") == {"text/html"}


def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _documented_body(doc: dict, schema: dict) -> bool:
    schema = _resolve(doc, schema)
    if any(k in schema for k in ("anyOf", "oneOf", "allOf")):
        return all(_documented_body(doc, s) for s in schema.get("anyOf", schema.get("oneOf", schema.get("allOf"))))
    return bool(schema.get("properties") or schema.get("type") in ("string", "integer", "number", "boolean")
                or schema.get("items"))


@pytest.mark.parametrize("service", BUILDS)
def test_every_operation_documents_its_response_body_and_lists_have_one_shape(service):
    """A client learns every answer from the document: each operation's success has a schema with its fields
    (not FastAPI's empty ``{}``), every list is ``{items, next_cursor}`` (never a bare array), and ids are
    named ``<thing>_id``."""
    doc = _document(service)
    for path, item in doc["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in item.items():
            success = [(s, r) for s, r in op["responses"].items() if s.startswith("2")]
            assert success, (path, method)
            for status, response in success:
                content = response.get("content", {})
                assert content, f"{method.upper()} {path} {status}: no documented body"
                for media_type, spec in content.items():
                    if media_type != "application/json":
                        continue
                    schema = _resolve(doc, spec.get("schema", {}))
                    assert _documented_body(doc, schema), f"{method.upper()} {path} {status}: body undocumented"
                    assert schema.get("type") != "array", f"{method.upper()} {path}: a bare array"
                    props = schema.get("properties", {})
                    if "items" in props:
                        assert "next_cursor" in props, f"{method.upper()} {path}: a list without next_cursor"
                    assert "id" not in props, f"{method.upper()} {path}: `id` instead of `<thing>_id`"
    named_id = [name for name, schema in doc["components"]["schemas"].items() if "id" in schema.get("properties", {})]
    assert not named_id, f"`id` instead of `<thing>_id` in {named_id}"


@pytest.mark.parametrize("service", BUILDS)
async def test_the_docs_page_loads_nothing_from_the_internet(service):
    """/docs is Swagger UI served from the files vendored in shared/static/swagger-ui: a ward's machine without
    internet shows it (tests/e2e/test_docs_offline.py checks it in a browser with the network cut)."""
    import re

    import httpx

    app = BUILDS[service](ServiceSettings(service_name=service, database_url="postgresql://u:p@127.0.0.1:1/x"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert (await client.get("/redoc")).status_code == 404  # no page that would reach a CDN
        urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", page.text) + re.findall(r"url: *'([^']+)'", page.text)
        assert urls and not [u for u in urls if "//" in u], urls
        for url in [u for u in urls if u.startswith("/static/")]:
            r = await client.get(url)
            assert r.status_code == 200 and len(r.content) > 500, url


def _discriminators(node: object):
    if isinstance(node, dict):
        if isinstance(node.get("discriminator"), dict):
            yield node["discriminator"]
        for value in node.values():
            yield from _discriminators(value)
    elif isinstance(node, list):
        for value in node:
            yield from _discriminators(value)


@pytest.mark.parametrize("service", BUILDS)
def test_the_document_is_one_tools_can_read(service):
    """Each operation has one tag (Swagger UI shows an operation once under each of its tags: the evidence upload of
    a tipster, tagged twice, was listed twice), and every discriminator mapping names a $ref (a validator around a
    discriminated union once made pydantic write the whole union there, which schemathesis could not read)."""
    doc = _document(service)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert len(op.get("tags", [])) <= 1, (path, method, op.get("tags"))
    for discriminator in _discriminators(doc):
        assert all(isinstance(ref, str) and ref.startswith("#/") for ref in discriminator.get("mapping", {}).values())
