"""Open311 GeoReport v2 routes (issue 17), under ``/open311/v2/``, JSON only (``.json`` or no suffix): the services
(every category but ``drugs``; never crime tips), a service's definition (the residential group to choose), requests
read as the public may see them, and ``POST requests`` filing an ordinary report without a token. The mapping is in
``open311.py``; docs/services/incidents.md ("Open311") says what maps to what and why.

* Errors are Open311's array ``[{code, description}]`` with the HTTP status as ``code`` (400 for what cannot be
  taken, 404 for an unknown service, request or jurisdiction, 429 past the public rate limit with ``Retry-After``),
  never problem details and never a 5xx for a client's mistake. The routes are left out of the service's OpenAPI
  document for that reason: their contract is the GeoReport v2 specification.
* ``jurisdiction_id`` is a ward id: it narrows the reads and the groups offered; a POST's group must be of it.
* ``api_key`` is not needed and is ignored (never stored, logged or compared): the POST is public like
  ``POST /v1/public/tips``, and bounded per client address like every public route.
* ``email``, ``first_name``, ``last_name``, ``phone``, ``device_id``, ``account_id``: accepted, and dropped before
  the report is built (``open311.IDENTIFYING``): the reply's ``service_notice`` says so. The report is filed as an
  anonymous, ordinary report (never a crime tip) with a follow-up code and secret answered once.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pydantic
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from services.incidents import open311
from services.incidents.commands import ReportIncident
from services.incidents.domain import OPEN_STATES
from services.incidents.handlers import ANONYMOUS
from services.incidents.open311 import Open311Error
from shared import clock, ratelimit
from shared.actor import Principal, Role
from shared.commands import dispatch, reading
from shared.errors import ProblemError
from shared.jsonutil import dumps

router = APIRouter(prefix="/open311/v2", tags=["open311"], include_in_schema=False)

#: Without dates or ids, GET requests answers the last 90 days (GeoReport v2's default window).
DEFAULT_WINDOW = timedelta(days=90)
#: At most this many arguments in a POST (a form is small; anything larger is not an Open311 client).
MAX_FIELDS = 50
#: Text PostgreSQL cannot store (shared/edge.py checks JSON bodies, the path, the query and headers; a form body is
#: checked here).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _json(body: Any, status: int = 200) -> Response:
    return Response(content=dumps(body).encode(), status_code=status, media_type="application/json")


def _error(exc: Open311Error) -> Response:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _answer(request: Request, scope: str, work: Any) -> Response:
    """Run ``work()`` after the public rate limit; every refusal as Open311's error array."""
    try:
        s = request.app.state.runtime.settings
        await ratelimit.limit(request, scope, limit=s.public_rate_limit, window_s=s.public_rate_window_s)
        if request.url.path.endswith(".xml"):  # services.xml, requests/{id}.xml, ...: the one format is JSON
            raise Open311Error(400, "this endpoint answers JSON only (.json)")
        return await work()
    except Open311Error as exc:
        return _error(exc)
    except ProblemError as exc:
        return _error(Open311Error.from_problem(exc))
    except pydantic.ValidationError as exc:
        described = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10])
        return _error(Open311Error(400, described or "invalid request"))
    except HTTPException as exc:  # while the body is read: unstorable text in JSON, a malformed or too large form
        return _error(Open311Error(400 if exc.status_code == 422 else exc.status_code, str(exc.detail)))


def _format(value: str) -> str:
    """``value`` without its ``.json`` suffix (``.xml`` is refused by ``_answer``)."""
    return value.removesuffix(".json")


def _query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is not None and len(value) > 2000:
        raise Open311Error(400, f"{name} is too long")
    return value


async def _jurisdiction(uow: Any, ward_id: str | None) -> str | None:
    if ward_id is None or ward_id == "":
        return None
    if len(ward_id) > 64 or not await uow.open311.ward_known(ward_id):
        raise Open311Error(404, f"jurisdiction_id {ward_id!r} not found")
    return ward_id


# -- discovery ---------------------------------------------------------------------------------------------------
@router.get("/discovery")
@router.get("/discovery.json")
async def discovery(request: Request) -> Response:
    """Service discovery (GeoReport v2): this endpoint, its specification and its one format, JSON."""
    async def work() -> Response:
        root = request.scope.get("root_path", "").rstrip("/")
        url = f"{request.url.scheme}://{request.url.netloc}{root}/open311/v2"
        return _json({"changeset": open311.CHANGESET, "contact": open311.AGENCY, "key_service": None,
                      "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": url,
                                     "changeset": open311.CHANGESET, "type": "production",
                                     "formats": ["application/json"]}]})

    return await _answer(request, "public-read", work)


# -- services ----------------------------------------------------------------------------------------------------
@router.get("/services")
@router.get("/services.json")
@router.get("/services.xml")
async def services(request: Request) -> Response:
    async def work() -> Response:
        async with reading(request) as uow:
            await _jurisdiction(uow, _query(request, "jurisdiction_id"))
        return _json(open311.services_list())

    return await _answer(request, "public-read", work)


@router.get("/services/{service_code}")
async def service_definition(service_code: str, request: Request) -> Response:
    async def work() -> Response:
        code = _format(service_code)
        async with reading(request) as uow:
            ward = await _jurisdiction(uow, _query(request, "jurisdiction_id"))
            groups = await uow.open311.groups(ward)
        return _json(open311.definition(code, groups))

    return await _answer(request, "public-read", work)


# -- requests ----------------------------------------------------------------------------------------------------
async def _requests(request: Request) -> Response:
    ids = open311.parse_ids(_query(request, "service_request_id"))
    category = open311.parse_service_code(_query(request, "service_code"))
    start = open311.parse_datetime(_query(request, "start_date"), "start_date")
    end = open311.parse_datetime(_query(request, "end_date"), "end_date")
    closed = open311.parse_status(_query(request, "status"))
    if start and end and end < start:
        raise Open311Error(400, "end_date is before start_date")
    if ids is None and start is None and end is None:
        start = clock.now() - DEFAULT_WINDOW
    async with reading(request) as uow:
        ward = await _jurisdiction(uow, _query(request, "jurisdiction_id"))
        rows = await uow.open311.requests(open311.CATEGORIES, ids=ids, ward_id=ward, category=category, start=start,
                                          end=end, open_states=[s.value for s in OPEN_STATES], closed=closed)
    return _json([open311.request_view(r) for r in rows])


@router.get("/requests")
@router.get("/requests.json")
@router.get("/requests.xml")
async def list_requests(request: Request) -> Response:
    return await _answer(request, "public-read", lambda: _requests(request))


@router.get("/requests/{service_request_id}")
async def one_request(service_request_id: str, request: Request) -> Response:
    async def work() -> Response:
        rid = _format(service_request_id)
        async with reading(request) as uow:
            ward = await _jurisdiction(uow, _query(request, "jurisdiction_id"))
            rows = await uow.open311.requests(open311.CATEGORIES, ids=[rid[:64]], ward_id=ward,
                                              open_states=[s.value for s in OPEN_STATES])
        if not rows:  # unknown, a crime tip, or a category Open311 does not offer: the same answer
            raise Open311Error(404, f"service_request_id {rid!r} not found")
        return _json([open311.request_view(rows[0])])  # GeoReport v2 answers a one-element array

    return await _answer(request, "public-read", work)


async def _form(request: Request) -> dict[str, str]:
    """The POST's arguments: form-encoded as GeoReport v2 sends them (JSON objects of strings are taken too)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise Open311Error(400, "the body is not JSON") from exc
        if not isinstance(body, dict):
            raise Open311Error(400, "the body is an object of arguments")
        items = list(body.items())
    elif kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        items = list(form.multi_items())
    else:
        raise Open311Error(400, "send the arguments form-encoded (application/x-www-form-urlencoded)")
    if len(items) > MAX_FIELDS:
        raise Open311Error(400, "too many arguments")
    args: dict[str, str] = {}
    for key, value in items:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            if _UNSTORABLE.search(str(key)) or _UNSTORABLE.search(str(value)):
                raise Open311Error(400, f"{str(key)[:40]!r} holds a NUL character or an unpaired surrogate, which "
                                        "cannot be stored")
            args.setdefault(str(key), str(value))
    return args


@router.post("/requests")
@router.post("/requests.json")
@router.post("/requests.xml")
async def post_request(request: Request) -> Response:
    async def work() -> Response:
        if request.headers.get("Idempotency-Key"):
            # A replay would have to return the follow-up secret, which is never stored.
            raise Open311Error(400, "this request takes no Idempotency-Key: its reply holds a secret that is not "
                                    "kept")
        args = await _form(request)
        fields = open311.report_fields(args)  # the identifying arguments are not among them
        async with reading(request) as uow:
            group = await uow.projections.group(fields["place"]["group_id"])
            ward = await _jurisdiction(uow, args.get("jurisdiction_id"))
        if group is None:
            raise Open311Error(400, f"unknown residential group {fields['place']['group_id']!r}: see "
                                    "GET services/{service_code}")
        if ward is not None and group["ward_id"] != ward:
            raise Open311Error(400, "the residential group is not in jurisdiction_id")
        command = ReportIncident(**fields, anonymous=True)
        actor = Principal(subject=ANONYMOUS, roles=frozenset({Role.RESIDENT}), ward_id=group["ward_id"])
        reply = await dispatch(request, command, actor)
        receipt = pydantic.TypeAdapter(dict).validate_json(reply.body)
        return _json([{"service_request_id": receipt["incident_id"], "service_notice": open311.notice(args),
                       "account_id": None, "follow_up_code": receipt["follow_up_code"],
                       "secret": receipt["secret"]}], status=201)

    return await _answer(request, "open311-request", work)
