"""The console's composition root: ``build(settings) -> FastAPI``.

Not a ServiceRuntime: the console has no events, outbox, inbox or audit chain (the services it calls audit what
people do), so it takes only what it needs: a pool on its own schema, the services' URLs, the sealing key, the
catalogues and the templates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.console import (
    i18n,
    pages,
    pages_awards,
    pages_evidence,
    pages_intake,
    pages_map,
    pages_mediation,
    pages_money,
    pages_notify,
    pages_oidc,
    pages_password,
    pages_people,
    pages_police,
    pages_public,
    pages_registry,
    telemetry,
)
from services.console.apis import Apis
from services.console.oidc import Oidc
from services.console.security import SecurityHeaders
from services.console.sessions import SessionSealer
from services.console.signin import Sessions
from shared.db import create_pool
from shared.migrations import pending
from shared.settings import ServiceSettings
from shared.telemetry import setup_telemetry

HERE = Path(__file__).parent


def templates(translations) -> dict[str, Environment]:
    """One Jinja2 environment per language (gettext installed once each: nothing changes per request)."""
    out = {}
    for lang, t in translations.items():
        env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                          extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
        env.install_gettext_translations(t, newstyle=True)
        out[lang] = env
    return out


def build(settings: ServiceSettings, *, apis: Apis | None = None, oidc: Oidc | None = None) -> FastAPI:
    translations = i18n.load_translations()
    setup_telemetry("console", otlp_endpoint=settings.otel_exporter_otlp_endpoint, log_level=settings.log_level)
    provider = oidc or Oidc.configured(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, "console", min_size=settings.db_pool_min,
                                 max_size=settings.db_pool_max)
        client = apis or Apis(settings.console_api_urls)
        sealer = SessionSealer(settings.console_key.get_secret_value(),
                               [k.get_secret_value() for k in settings.console_retired_keys])
        app.state.pool = pool
        app.state.apis = client
        app.state.sessions = Sessions(pool, sealer, client, timedelta(seconds=settings.console_session_idle_s),
                                      provider)
        try:
            yield
        finally:
            await client.close()
            if provider is not None:
                await provider.close()
            await pool.close()

    # HTML for people, not a JSON API: no OpenAPI document or Swagger page (the JSON-API rules of the services -
    # problems, paging, documented responses - do not apply to these routes; tests/unit/test_openapi.py and the
    # schemathesis run cover the services of shared.settings.SERVICES, which the console is not one of).
    app = FastAPI(title="console", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.translations = translations
    app.state.trusted_proxies = settings.trusted_proxy_networks
    app.state.templates = templates(translations)
    for env in app.state.templates.values():  # the sign-in page offers the city's provider where there is one
        env.globals["oidc"] = {"name": provider.name, "only": provider.only} if provider else None
    app.add_middleware(SecurityHeaders)
    telemetry.instrument(app)  # /metrics, requests counted by route template, a server span per request
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(pages_public.router)
    app.include_router(pages_police.router)
    app.include_router(pages_mediation.router)
    app.include_router(pages_people.router)
    app.include_router(pages_money.router)
    app.include_router(pages_awards.router)
    app.include_router(pages_registry.router)
    app.include_router(pages_oidc.router)
    app.include_router(pages_password.router)
    app.include_router(pages_map.router)
    app.include_router(pages_evidence.router)
    app.include_router(pages_notify.router)
    app.include_router(pages_intake.router)
    app.state.map = pages_map.MapConfig.of(settings)
    app.state.evidence_max_bytes = settings.console_evidence_max_bytes
    for env in app.state.templates.values():  # the map's settings, for the pages that draw one (static/map.js)
        env.globals["map_config"] = app.state.map

    @app.get("/health/live", include_in_schema=False)
    async def live() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        """The services' answer (shared/http.py): ``{status, checks}``, 503 unless every check is "ok"."""
        checks: dict[str, str] = {}
        try:
            async with app.state.pool.acquire(timeout=2) as conn:
                missing = await pending(conn, "console")
            checks["database"] = "ok"
            checks["schema"] = "ok" if not missing else (
                f"not migrated: {len(missing)} migration(s) pending ({', '.join(missing)}); "
                "run `wardctl migrate console` as the schema owner")
        except Exception as exc:  # not ready, whatever the reason; the answer says which
            checks["database"] = f"unavailable: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    return app
