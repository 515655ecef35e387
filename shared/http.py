"""The HTTP application of every service: FastAPI with the runtime in its lifespan, health, metrics, the
AsyncAPI document, and RFC 9457 problem details for every error."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream.specification import AsyncAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.staticfiles import StaticFiles

from shared import metrics, problems
from shared.edge import UnstorableText, guard_routes
from shared.errors import ProblemError
from shared.limits import BodyLimit, BodyRefused, JsonDepthLimit, declared_length_within_limit, too_large
from shared.openapi import document_problems, media
from shared.problems import DEFAULT_PROBLEM_DOCS_URL
from shared.runtime import ServiceRuntime
from shared.telemetry import tracer_provider

#: Swagger UI's files, vendored (shared/static/swagger-ui/README.md): /docs never loads anything from a CDN, so it
#: works on a ward's machine without internet.
SWAGGER_UI = Path(__file__).parent / "static" / "swagger-ui"
#: One line per request (method, route template, status, duration; the trace id from the request's span): the
#: access log operators read. No path values, no query, no body, no client address: nothing personal.
access_log = logging.getLogger("ward.access")

log = logging.getLogger(__name__)


def problem(status: int, title: str, detail: str, type_suffix: str, instance: str, *,
            docs_url: str = DEFAULT_PROBLEM_DOCS_URL, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    """An RFC 9457 problem response; its ``type`` points at the problem's documentation (shared.problems)."""
    type_uri = problems.type_uri(docs_url, type_suffix)
    if type_uri == "about:blank":
        title = problems.title_for(status)
    headers = dict(headers or {})
    if status == 401:  # RFC 6750 section 3: every 401 says how to authenticate
        headers.setdefault("WWW-Authenticate", "Bearer")
    body = {"type": type_uri, "title": title, "status": status, "detail": detail, "instance": instance, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def _docs_url(request: Request) -> str:
    runtime = getattr(request.app.state, "runtime", None)
    return getattr(getattr(runtime, "settings", None), "problem_docs_url", None) or DEFAULT_PROBLEM_DOCS_URL


def _install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _domain(request: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.type_suffix, request.url.path,
                       docs_url=_docs_url(request), headers=exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem(422, "Invalid input", "the request does not match the schema", "invalid-input",
                       request.url.path, docs_url=_docs_url(request), errors=errors)

    @app.exception_handler(UnstorableText)
    async def _unstorable(request: Request, exc: UnstorableText) -> JSONResponse:
        return problem(422, "Invalid input", str(exc.detail), "invalid-input", request.url.path,
                       docs_url=_docs_url(request),
                       errors=[{"loc": [exc.where.removeprefix("the ").removeprefix("a ")], "msg": str(exc.detail),
                                "type": exc.kind}])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, BodyRefused):  # a body refused while it is received (shared.limits)
            return problem(exc.status_code, exc.title, str(exc.detail), exc.type_suffix, request.url.path,
                           docs_url=_docs_url(request))
        if exc.status_code == 413:  # the body limit (``BodyLimit``), reached while the body is read
            refused = too_large(request.scope.get(MAX_BODY_SIZE_SCOPE_KEY))
            return problem(413, refused.title, str(refused.detail), refused.type_suffix, request.url.path,
                           docs_url=_docs_url(request))
        slug = problems.BY_STATUS.get(exc.status_code, "")
        title = problems.BY_SLUG[slug].title if slug else problems.title_for(exc.status_code)
        return problem(exc.status_code, title, str(exc.detail), slug, request.url.path,
                       docs_url=_docs_url(request), headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", extra={"path_template": _route(request), "error_type": type(exc).__name__})
        return problem(500, "Internal error", "an unexpected error occurred; nothing was changed", "internal",
                       request.url.path, docs_url=_docs_url(request))


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")


def create_app(runtime: ServiceRuntime, routers: Sequence[APIRouter], *, title: str, version: str = "1") -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        dependencies=[Depends(declared_length_within_limit)],
        title=title,
        version=version,
        description=runtime.description,
        lifespan=lifespan,
        docs_url=None,  # FastAPI's own pages load Swagger UI and ReDoc from a CDN: ours below, served from here
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    app.mount("/static/swagger-ui", StaticFiles(directory=SWAGGER_UI), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json", title=f"{title} - API",
            swagger_js_url=f"{root}/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{root}/static/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": True})
    _install_problem_handlers(app)
    app.add_middleware(JsonDepthLimit, max_depth=runtime.settings.http_max_json_depth)

    app.add_middleware(metrics.CountRequests, service=runtime.service, access_log=access_log)

    # Outermost of ours: every route refuses a body over this before reading it (413); a route may declare its
    # own ``max_body_size`` (larger or smaller) in its decorator.
    app.add_middleware(BodyLimit, max_body_size=runtime.settings.http_max_body_bytes)

    ops = APIRouter(tags=["operations"])

    @ops.get("/health/live", summary="The process is up")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @ops.get("/health/ready", summary="The database and the broker answer",
             responses={503: {"description": "The database or the broker does not answer (the same body)",
                              "content": {"application/json": {"schema": {}}}}})
    async def ready() -> JSONResponse:
        checks = await runtime.readiness()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    @ops.get("/metrics", summary="Prometheus metrics", response_class=Response,
             responses=media(CONTENT_TYPE_LATEST, "Prometheus text exposition format"))
    async def prometheus() -> Response:
        # Read only: a scrape changes nothing (retention is the "outbox-retention" job's, not the scrape's).
        if runtime.relay is not None:
            try:  # fresh outbox gauges; when the database is down the scrape still answers, with the last values
                await runtime.relay.refresh_gauges()
            except Exception as exc:
                log.warning("outbox gauges not refreshed", extra={"error_type": type(exc).__name__})
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @ops.get("/asyncapi.json", summary="AsyncAPI 3 document of this service's topics")
    async def asyncapi() -> JSONResponse:
        spec = AsyncAPI(runtime.broker, title=f"{title} events", version=version, description=runtime.description)
        return JSONResponse(spec.to_specification().to_jsonable())

    @ops.get("/problems", summary="What each problem type means (the `type` of every error points here)",
             response_class=HTMLResponse)
    async def problem_types() -> HTMLResponse:
        return HTMLResponse(problems.render_html())

    # Authentication before the body is read, and text PostgreSQL cannot store refused, on every route.
    guard_routes([ops, *routers])
    app.include_router(ops)
    for router in routers:
        app.include_router(router)
    document_problems(app)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=tracer_provider(), excluded_urls="health,metrics", exclude_spans=["receive", "send"])
    return app
