"""What every registry route module shares: the runtime's pool and PII protector (paging: ``shared.paging``)."""

from __future__ import annotations

import asyncpg
from fastapi import Request

from shared.crypto import PersonalDataProtector
from shared.edge import WARD_PATTERN as EDGE_WARD_PATTERN

# Path ids are UUIDs (wards excepted): a malformed one is a 422 before any SQL runs.
WARD_PATTERN = EDGE_WARD_PATTERN


def pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


def pii(request: Request) -> PersonalDataProtector:
    return request.app.state.runtime.pii


