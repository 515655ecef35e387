"""Fixtures of the identity tests: the handler suite's application over the fake and the real unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.identity import handlers
from tests.application import applications
from tests.identity.fakes import FakeIdentityUnitOfWork, TestIdentityUnitOfWork
from tests.integration.conftest import eventually, started  # noqa: F401 - fixtures re-exported for this package

WARD = "phu-son"
OTHER_WARD = "dong-ve"


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest) -> AsyncIterator:
    async with applications(request, "identity", FakeIdentityUnitOfWork, TestIdentityUnitOfWork,
                            handlers.HANDLERS) as application:
        yield application
