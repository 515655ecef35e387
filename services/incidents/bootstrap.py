"""Composition root of the incidents service: settings -> runtime, handlers, jobs, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(settings, publishes=[], description="The incidents service.")
    return create_app(runtime, [], title="incidents")
