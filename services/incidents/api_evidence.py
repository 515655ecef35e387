"""HTTP routes of evidence files (issue 18, docs/evidence.md): upload (signed in, or an anonymous tipster with the
follow-up code and secret), list, download and the chain of custody.

An upload is the file as the raw request body. It is streamed to a staging file (never held whole in memory) while
its size is counted against the limit of its kind, which is known from its first bytes (``media.sniff``); then it
is cleaned of its metadata in a worker thread (``media.clean``), the cleaned bytes are put in object storage, and
only then is the row written (``AddEvidence``). Whatever fails, nothing stays half written: the staging files are
removed, and an object whose row was not committed is deleted again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from services.incidents import media, schemas
from services.incidents.commands import AddEvidence, DownloadEvidence, ListEvidence
from services.incidents.domain import secret_matches
from services.incidents.handlers import ANONYMOUS, reporter_actor
from services.incidents.handlers_evidence import EVIDENCE_STAFF, custody_log, ensure_may_add
from shared import objectstore, ratelimit
from shared.actor import Principal, Role
from shared.auth import CurrentPrincipal
from shared.commands import json_response, reading
from shared.edge import content_disposition
from shared.errors import ContentTooLarge, InvalidInput, NotFound, ServiceUnavailable, UnsupportedMediaType
from shared.openapi import media as media_doc
from shared.paging import Page

log = logging.getLogger(__name__)
# One tag per operation (Swagger UI shows an operation once under each of its tags): "evidence", the public one "public".
router = APIRouter(prefix="/v1")
_EVIDENCE = ["evidence"]

#: What the edge lets through to these routes; each kind's own limit (settings) is applied while the body streams.
ROUTE_CEILING = 2 * 1024 * 1024 * 1024
#: Files cleaned at once per process (decoding a 30-megapixel image takes ~300 MB; remuxing a video, a core).
_CLEANING = asyncio.Semaphore(1)

_UPLOAD_DOC = {
    "openapi_extra": {"requestBody": {"required": True, "description": (
        "The file itself, as the raw body (any Content-Type: the type is read from the content). JPEG, PNG, WebP, "
        "MP4, WebM or PDF, within the size limit of its kind."),
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}},
    "responses": {413: {"description": "Larger than its kind's limit; nothing was stored"},
                  415: {"description": "Not an accepted type by its content, or it cannot be cleaned"},
                  503: {"description": "No evidence storage is configured"}},
}


async def _ready_store(request: Request) -> objectstore.ObjectStore:
    """The evidence store the settings name, started on first use (its directory made; a development bucket)."""
    state = request.app.state
    store = getattr(state, "evidence_store", None)
    if store is None:
        made = objectstore.from_settings(state.runtime.settings)
        if made is None:
            raise ServiceUnavailable("no evidence storage is configured (EVIDENCE_DIR, or EVIDENCE_STORE=s3)")
        await made.start()
        state.evidence_store = store = made
    return store


def _limits(settings: Any) -> dict[str, int]:
    return {"image": settings.evidence_max_image_bytes, "video": settings.evidence_max_video_bytes,
            "document": settings.evidence_max_document_bytes}


def _too_large(kind: str | None, limit: int) -> ContentTooLarge:
    what = f"a {kind} file" if kind else "a file"
    return ContentTooLarge(f"{what} may be at most {limit} bytes; nothing was stored", extra={"limit": limit})


async def _spool(request: Request, staging: Path | None) -> tuple[Path, str]:
    """The body in a staging file, and its media type from its first bytes; refused (413, 415) as soon as it
    shows itself too large or of a type not accepted."""
    limits = _limits(request.app.state.runtime.settings)
    ceiling = max(limits.values())
    declared = request.headers.get("content-length")
    declared_n = int(declared) if declared and declared.isdigit() else None
    if declared_n is not None and declared_n > ceiling:
        raise _too_large(None, ceiling)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=staging)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            head, media_type, limit, size = bytearray(), None, ceiling, 0
            async for chunk in request.stream():
                if not chunk:
                    continue
                size += len(chunk)
                if media_type is None:
                    head += chunk
                    if len(head) >= media.SNIFF_BYTES:
                        media_type, limit = _typed(bytes(head), limits, declared_n)
                if size > limit:
                    raise _too_large(media_type and media.kind_of(media_type), limit)
                out.write(chunk)
            if media_type is None:
                media_type, limit = _typed(bytes(head), limits, declared_n)
                if size > limit:
                    raise _too_large(media.kind_of(media_type), limit)
        return path, media_type
    except BaseException:
        media.unlink_quietly(path)
        raise


def _typed(head: bytes, limits: dict[str, int], declared: int | None) -> tuple[str, int]:
    try:
        media_type = media.sniff(head)
    except media.Refused as exc:
        raise UnsupportedMediaType(f"{exc}; nothing was stored") from None
    limit = limits[media.kind_of(media_type)]
    if declared is not None and declared > limit:
        raise _too_large(media.kind_of(media_type), limit)
    return media_type, limit


async def _receive_and_store(request: Request, build: Any, actor: Principal) -> Response:
    """Spool, clean, store, then record (``build(evidence_id, storage_key, media_type, cleaned)`` makes the
    command); on any failure nothing is left: no staging file, no object, no row."""
    store = await _ready_store(request)
    settings = request.app.state.runtime.settings
    spooled, media_type = await _spool(request, store.staging_dir)
    cleaned_path = stored_key = None
    try:
        fd, name = tempfile.mkstemp(prefix="clean-", suffix=".part", dir=store.staging_dir)
        os.close(fd)
        cleaned_path = Path(name)
        async with _CLEANING:
            try:
                cleaned = await asyncio.to_thread(media.clean, spooled, media_type, cleaned_path,
                                                  max_pixels=settings.evidence_max_image_pixels)
            except media.Refused as exc:
                raise UnsupportedMediaType(f"{exc}; nothing was stored") from None
        limit = _limits(settings)[media.kind_of(media_type)]
        if cleaned.size > limit:  # a re-encoded image can grow a little
            raise _too_large(media.kind_of(media_type), limit)
        evidence_id = str(uuid.uuid4())
        key = f"evidence/{evidence_id}"
        await store.put(key, cleaned.path, cleaned.media_type)
        stored_key = key
        command = build(evidence_id, key, media_type, cleaned)
        application = request.app.state.runtime.application
        reply = await application.handle(command, actor, idempotency_key=request.headers.get("Idempotency-Key"))
        if reply.replayed:  # the first upload of this key stands; this copy is not needed
            await store.delete(key)
        else:
            stored_key = None  # committed: the object is the row's
        return Response(content=reply.body, status_code=201 if reply.created else 200,
                        media_type="application/json",
                        headers={"Idempotent-Replayed": "true"} if reply.replayed else None)
    finally:
        media.unlink_quietly(spooled, cleaned_path)
        if stored_key is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(store.delete(stored_key))


def _footage(camera_id: str | None, footage_from: datetime | None, footage_to: datetime | None) -> dict[str, Any]:
    if camera_id is None and (footage_from or footage_to):
        raise InvalidInput("footage_from and footage_to describe a camera's footage: give camera_id")
    if footage_from and footage_to and footage_to < footage_from:
        raise InvalidInput("footage_to is before footage_from")
    for value in (footage_from, footage_to):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("footage_from and footage_to need a time zone")
    return {"camera_id": camera_id, "footage_from": footage_from, "footage_to": footage_to}


def _facts(media_type: str, cleaned: media.Cleaned) -> dict[str, Any]:
    return {"media_type": cleaned.media_type, "kind": media.kind_of(media_type), "size": cleaned.size,
            "sha256": cleaned.sha256, "metadata_removed": cleaned.removed}


# -- upload ----------------------------------------------------------------------------------------------------
@router.post("/incidents/{incident_id}/evidence", status_code=201, tags=_EVIDENCE, response_model=schemas.EvidenceOut,
             max_body_size=ROUTE_CEILING, summary="Add a photo, video or document to an incident (raw body)",
             **_UPLOAD_DOC)
async def upload(incident_id: str, request: Request, principal: CurrentPrincipal,
                 camera_id: str | None = Query(default=None, min_length=1, max_length=64,
                                               description="The registered camera the file is footage of"),
                 footage_from: datetime | None = None, footage_to: datetime | None = None) -> Response:
    footage = _footage(camera_id, footage_from, footage_to)
    staff = principal.has(*EVIDENCE_STAFF)
    actor = principal if staff else reporter_actor(principal, request.app.state.runtime.pii, anonymous=False)
    async with reading(request) as uow:  # refused before a byte of the body is read
        ensure_may_add(actor, await uow.incidents.get(incident_id))
    return await _receive_and_store(request, lambda evidence_id, key, media_type, cleaned: AddEvidence(
        incident_id=incident_id, evidence_id=evidence_id, storage_key=key, **_facts(media_type, cleaned),
        **footage), actor)


@router.post("/public/tips/{follow_up_code}/evidence", status_code=201, response_model=schemas.EvidenceOut,
             max_body_size=ROUTE_CEILING, tags=["public"],
             summary="An anonymous tipster adds a file to their tip (follow-up code in the path, secret in Tip-Secret)",
             **_UPLOAD_DOC)
async def upload_to_tip(follow_up_code: str, request: Request,
                        tip_secret: str = Header(alias="Tip-Secret", min_length=1, max_length=200),
                        camera_id: str | None = Query(default=None, min_length=1, max_length=64),
                        footage_from: datetime | None = None, footage_to: datetime | None = None) -> Response:
    # No token (one sent is not looked at): the code and secret are the only proof. Counted per address and per
    # code before the secret is checked; no Idempotency-Key (its record would be kept under "anonymous", shared
    # by every tipster).
    if request.headers.get("Idempotency-Key"):
        raise InvalidInput("an anonymous upload takes no Idempotency-Key")
    footage = _footage(camera_id, footage_from, footage_to)
    code = follow_up_code.strip().upper()[:32]
    s = request.app.state.runtime.settings
    await ratelimit.limit(request, "tip-evidence", limit=s.public_rate_limit, window_s=s.public_rate_window_s,
                          code=code)
    async with reading(request) as uow:  # refused before a byte of the body is read
        inc = await uow.incidents.by_follow_up_code(code)
        if inc is None or not secret_matches(tip_secret, inc["secret_hash"]):
            raise NotFound("no tip with this code and secret")
    actor = Principal(subject=ANONYMOUS, roles=frozenset({Role.RESIDENT}), ward_id=inc["ward_id"])
    return await _receive_and_store(request, lambda evidence_id, key, media_type, cleaned: AddEvidence(
        follow_up_code=code, secret=tip_secret, evidence_id=evidence_id, storage_key=key,
        **_facts(media_type, cleaned), **footage), actor)


# -- reading (police and the ward's officials; every list view and download is in the chain of custody) --------
@router.get("/incidents/{incident_id}/evidence", tags=_EVIDENCE, response_model=schemas.EvidencePage,
            summary="An incident's evidence files (police, the ward's officials); recorded in their custody")
async def list_evidence(incident_id: str, request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    application = request.app.state.runtime.application
    reply = await application.handle(ListEvidence(incident_id=incident_id, limit=page.limit, cursor=page.cursor),
                                     principal)
    return Response(content=reply.body, media_type="application/json")


@router.get("/incidents/{incident_id}/evidence/{evidence_id}/content", tags=_EVIDENCE, response_class=StreamingResponse,
            responses=media_doc("application/octet-stream", "The file as stored (its metadata removed)"),
            summary="Download one evidence file (police, the ward's officials); recorded in its custody first")
async def download(incident_id: str, evidence_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    store = await _ready_store(request)
    application = request.app.state.runtime.application
    facts = (await application.handle(DownloadEvidence(incident_id=incident_id, evidence_id=evidence_id),
                                      principal)).json()
    chunks = store.stream(facts["storage_key"])
    try:
        first = await anext(chunks, b"")
    except objectstore.ObjectMissing:
        log.error("an evidence file's object is missing from storage", extra={"evidence_id": evidence_id})
        raise

    async def body() -> Any:
        yield first
        async for chunk in chunks:
            yield chunk

    digest = base64.b64encode(bytes.fromhex(facts["sha256"])).decode()
    headers = {
        **content_disposition(f"{evidence_id}.{media.extension(facts['media_type'])}"),
        "Content-Length": str(facts["size"]),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Repr-Digest": f"sha-256=:{digest}:",
        "ETag": f'"{facts["sha256"]}"',
    }
    return StreamingResponse(body(), media_type=facts["media_type"], headers=headers)


@router.get("/incidents/{incident_id}/evidence/{evidence_id}/custody", tags=_EVIDENCE, response_model=schemas.CustodyPage,
            summary="The chain of custody of one evidence file: every upload, list view and download")
async def custody(incident_id: str, evidence_id: str, request: Request, principal: CurrentPrincipal,
                  page: Page) -> Response:
    async with reading(request) as uow:
        return json_response(await custody_log(uow, principal, incident_id, evidence_id, page))
