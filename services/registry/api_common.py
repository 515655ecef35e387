"""What every registry route module shares: paging parameters and the runtime's pool and PII protector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Query, Request

from shared.crypto import PersonalDataProtector
from shared.edge import WARD_PATTERN as EDGE_WARD_PATTERN


@dataclass(frozen=True)
class Paging:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def _paging(page: Annotated[int, Query(ge=1, le=100_000)] = 1,
            page_size: Annotated[int, Query(ge=1, le=200)] = 50) -> Paging:
    return Paging(page, page_size)


PageParams = Annotated[Paging, Depends(_paging)]

# Path ids are UUIDs (wards excepted): a malformed one is a 422 before any SQL runs.
WARD_PATTERN = EDGE_WARD_PATTERN


def pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


def pii(request: Request) -> PersonalDataProtector:
    return request.app.state.runtime.pii


