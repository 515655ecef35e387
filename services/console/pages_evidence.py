"""Evidence files on the police's incident page (issue 18): upload, download, and each file's chain of custody.

Everything goes through incidents' API with the officer's token, which decides who may and records every list view
and download (``GET .../evidence/{id}/custody``). The console keeps nothing: an upload (a multipart form, the only
way a browser sends a file without script) is spooled to a temporary file by the form parser, never held whole in
memory, and passed on to incidents as the raw request body in chunks; the file's type is what incidents finds in
its content, not its name or the browser's word. A download is streamed from incidents to the browser as an
attachment (``nosniff``, never shown inline by the console's origin). Files larger than
CONSOLE_EVIDENCE_MAX_BYTES are refused before they are read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile

from services.console import messages
from services.console.apis import ApiProblem
from services.console.messages import _
from services.console.nav import POLICE
from services.console.pages import gettext_for, person, redirect, render
from services.console.security import csrf_ok
from shared.clock import WARD_TZ

router = APIRouter()

CHUNK = 64 * 1024
NO_FILE = _("Choose a file to upload.")
EVIDENCE_REFUSED = _("This file was not accepted: only photos (JPEG, PNG, WebP), videos (MP4, WebM) and PDF "
                     "documents are, each up to its size limit.")
#: What the file chooser offers (a hint only: incidents decides from the content).
EVIDENCE_ACCEPT = "image/jpeg,image/png,image/webp,video/mp4,video/webm,application/pdf"
#: The headers of incidents' answer the browser gets with a file.
PASSED_ON = ("content-type", "content-length", "content-disposition", "content-security-policy", "repr-digest",
             "etag")


def _q(value: str) -> str:
    return quote(value, safe="")


def max_bytes(request: Request) -> int:
    return getattr(request.app.state, "evidence_max_bytes", 256 * 1024 * 1024)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


def _local(value: str) -> str | None:
    """A ``datetime-local`` field, in the ward's time zone (ISO 8601 with the offset)."""
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=WARD_TZ).isoformat() if value.strip() else None
    except ValueError:
        return value  # incidents answers 422, said as a sentence


async def incident_evidence(request: Request, token: str, incident_id: str) -> tuple[list[dict[str, Any]] | None,
                                                                                     ApiProblem | None]:
    """The incident's files for its page (None, and the problem, when incidents does not list them)."""
    try:
        return await request.app.state.apis.list_all("incidents", f"/v1/incidents/{_q(incident_id)}/evidence",
                                                     token), None
    except ApiProblem as exc:
        return None, exc


@router.post("/police/evidence/{incident_id}", include_in_schema=False)
async def upload(request: Request, incident_id: str) -> Response:
    # the page the form is on, shown again on a refusal (imported here: pages_police imports this module)
    from services.console.pages_police import _incident_page

    session, refused = await person(request, POLICE)
    if refused:
        return refused
    assert session is not None
    gettext = gettext_for(request)
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > max_bytes(request) + 64 * 1024:
        return await _incident_page(request, session, incident_id, status=413,
                                    error=gettext(messages.BY_STATUS[413]))
    async with request.form(max_files=1, max_fields=8) as form:
        if not csrf_ok(session.csrf_token, form.get("csrf_token")):
            return await _incident_page(request, session, incident_id, status=403,
                                        error=gettext(messages.FORM_EXPIRED))
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename or not upload.size:
            return await _incident_page(request, session, incident_id, status=422, error=gettext(NO_FILE))
        params = {k: v for k, v in (("camera_id", str(form.get("camera_id") or "").strip()),
                                    ("footage_from", _local(str(form.get("footage_from") or ""))),
                                    ("footage_to", _local(str(form.get("footage_to") or "")))) if v}
        try:
            await request.app.state.apis.upload(
                "incidents", f"/v1/incidents/{_q(incident_id)}/evidence", _chunks(upload),
                token=session.data["access_token"], media_type="application/octet-stream", params=params,
                length=upload.size)
        except ApiProblem as exc:
            said = gettext(EVIDENCE_REFUSED) if exc.status in (413, 415) else messages.explain(exc, gettext)
            return await _incident_page(request, session, incident_id, status=messages.page_status(exc),
                                        error=said)
    return redirect(f"/police/incidents/{_q(incident_id)}#evidence-title", session)


@router.get("/police/incidents/{incident_id}/evidence/{evidence_id}", include_in_schema=False)
async def download(request: Request, incident_id: str, evidence_id: str) -> Response:
    """The file, streamed from incidents (which records the download in its chain of custody)."""
    session, refused = await person(request, POLICE)
    if refused:
        return refused
    assert session is not None
    try:
        upstream = await request.app.state.apis.open_stream(
            "incidents", f"/v1/incidents/{_q(incident_id)}/evidence/{_q(evidence_id)}/content",
            token=session.data["access_token"])
    except ApiProblem as exc:
        return render(request, "error.html", session, status=messages.page_status(exc),
                      error=messages.explain(exc, gettext_for(request)))

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes(CHUNK):
                yield chunk
        finally:
            await upstream.aclose()

    headers = {k: v for k, v in upstream.headers.items() if k.lower() in PASSED_ON}
    if not headers.get("content-disposition", "").startswith("attachment"):
        headers["content-disposition"] = f'attachment; filename="evidence-{_q(evidence_id)}"'
    headers["x-content-type-options"] = "nosniff"
    return StreamingResponse(body(), headers=headers,
                             media_type=upstream.headers.get("content-type", "application/octet-stream"))


@router.get("/police/incidents/{incident_id}/evidence/{evidence_id}/custody", include_in_schema=False)
async def custody(request: Request, incident_id: str, evidence_id: str) -> Response:
    session, refused = await person(request, POLICE)
    if refused:
        return refused
    assert session is not None
    try:
        log = await request.app.state.apis.list_all(
            "incidents", f"/v1/incidents/{_q(incident_id)}/evidence/{_q(evidence_id)}/custody",
            session.data["access_token"])
    except ApiProblem as exc:
        return render(request, "error.html", session, status=messages.page_status(exc),
                      error=messages.explain(exc, gettext_for(request)))
    return render(request, "police/custody.html", session, incident_id=incident_id, evidence_id=evidence_id,
                  log=log)
