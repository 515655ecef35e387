"""Process entry point of a service: ``python -m services.<name>`` (uvicorn, one process)."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.settings import ServiceSettings


def main(service: str, build: Callable[[ServiceSettings], FastAPI]) -> None:
    settings = ServiceSettings(service_name=service)  # the rest from the environment
    app = build(settings)
    # proxy_headers=False: uvicorn would otherwise take X-Forwarded-For from any loopback peer; who may forward a
    # client's address is TRUSTED_PROXIES' to say (shared/forwarding.py), checked against the real peer.
    uvicorn.run(app, host=settings.http_host, port=settings.port, log_config=None, access_log=False,
                proxy_headers=False, timeout_graceful_shutdown=10)
