"""Fixtures of the notify tests: the handler suite's application over the fake and the real unit of work, on a
clock the tests set."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from services.notify import handlers
from services.notify.handlers import NotifyConfig
from services.notify.uow import NotifyUnitOfWork
from shared.idempotency import Sealer
from tests.application import applications
from tests.integration.conftest import eventually, started  # noqa: F401 - fixtures re-exported for this package
from tests.notify.fakes import FakeNotifyUnitOfWork

WARD = "phu-son"
OTHER_WARD = "dong-ve"


class Clock:
    """A settable clock: 10:00 in Hà Nội (03:00 UTC) on a Tuesday unless a test moves it."""

    def __init__(self) -> None:
        self.at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator:
    config = NotifyConfig(console_url="https://console.example", now=clock,
                          sealer=Sealer("notify", "test-only-notify-contact-key-0123456789", purpose="contact"))
    async with applications(
            request, "notify", lambda: FakeNotifyUnitOfWork(config),
            lambda ctx, conn=None, *, read_only=False: NotifyUnitOfWork(ctx, conn, read_only=read_only,
                                                                        config=config),
            handlers.HANDLERS) as application:
        yield application
