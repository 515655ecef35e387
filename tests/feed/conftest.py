"""Fixtures of the feed tests: the handler suite's application over the fake and the real unit of work, and
tokens for the roles involved."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.feed import handlers
from services.feed.uow import FeedUnitOfWork
from tests.application import applications
from tests.feed.fakes import FakeFeedUnitOfWork
from tests.integration.conftest import eventually, started  # noqa: F401 - fixtures re-exported for this package

WARD = "phu-son"
OTHER_WARD = "dong-ve"


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest) -> AsyncIterator:
    async with applications(request, "feed", FakeFeedUnitOfWork, FeedUnitOfWork, handlers.HANDLERS) as application:
        yield application
