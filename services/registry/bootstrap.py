"""Composition root of the registry service: settings -> runtime, handlers, jobs, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(settings, publishes=[], description="The registry service.")
    return create_app(runtime, [], title="registry")
