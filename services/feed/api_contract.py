"""The public contract, served by the feed without authentication (it describes no one): the AsyncAPI 3.0 document
of the public feed (``shared.asyncapi_public``) as JSON and YAML, and the JSON Schema of each public event type,
whose ``$id`` is this very URL (``FEED_PUBLIC_URL``)."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from shared.asyncapi_public import as_yaml, public_event_schema, public_feed_asyncapi
from shared.errors import NotFound
from shared.jsonutil import dumps

router = APIRouter(tags=["contract"])

EventType = Annotated[str, Path(max_length=200, pattern=r"^public\.[a-z0-9_.-]+\.v[0-9]+$",
                                description="A public event type", examples=["public.registry.team.formed.v1"])]


def _document(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {m: {"schema": {"type": "object"}} for m in media_types}}}


@functools.cache
def _asyncapi(base_url: str) -> dict[str, Any]:
    return public_feed_asyncapi(base_url)


def _base_url(request: Request) -> str:
    return request.app.state.runtime.settings.feed_public_url.rstrip("/")


@router.get("/asyncapi/public.json", summary="The public feed's AsyncAPI 3.0 document (Kafka and HTTP)",
            response_class=Response, responses=_document("The AsyncAPI 3.0 document", "application/json"))
async def asyncapi_json(request: Request) -> Response:
    return Response(dumps(_asyncapi(_base_url(request))).encode(), media_type="application/json")


@router.get("/asyncapi/public.yaml", summary="The public feed's AsyncAPI 3.0 document, as YAML",
            response_class=Response, responses=_document("The AsyncAPI 3.0 document (YAML: its JSON)", "application/yaml"))
async def asyncapi_yaml(request: Request) -> Response:
    return Response(as_yaml(_asyncapi(_base_url(request))), media_type="application/yaml")


@router.get("/schemas/{event_type}.json", summary="The JSON Schema (2020-12) of a public event type",
            response_class=Response, responses={**_document("The JSON Schema", "application/schema+json"),
                                                404: {"description": "Not a public event type"}})
async def event_schema(event_type: EventType, request: Request) -> Response:
    try:
        schema = public_event_schema(event_type, _base_url(request))
    except KeyError:
        raise NotFound("no such public event type") from None
    return Response(dumps(schema).encode(), media_type="application/schema+json")
