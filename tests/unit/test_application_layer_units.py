"""The application layer without a database. A command's fingerprint is what an Idempotency-Key's retry is compared on: the same request in any key order
is the same; a field given with its default is the field left out, except in a partial update (PATCH), where
setting a field to null is not leaving it out."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import asyncpg
import pytest

from shared import audit
from shared.actor import SYSTEM
from shared.application import Command, PgContext, PgUnitOfWork


class OpenThing(Command):
    name: ClassVar[str] = "thing.open"
    title: str
    note: str | None = None


class ChangePhone(Command):
    name: ClassVar[str] = "resident.update"
    partial: ClassVar[bool] = True
    resident_id: str
    phone: str | None = None
    note: str | None = None


def test_key_order_does_not_matter_but_what_was_given_does():
    a = ChangePhone.model_validate_json('{"resident_id": "r1", "phone": "0912", "note": "x"}')
    b = ChangePhone.model_validate_json('{"note": "x", "phone": "0912", "resident_id": "r1"}')
    assert a.fingerprint() == b.fingerprint()
    cleared = ChangePhone.model_validate({"resident_id": "r1", "phone": None})
    left_out = ChangePhone.model_validate({"resident_id": "r1"})
    assert cleared.model_dump() == left_out.model_dump()
    assert cleared.fingerprint() != left_out.fingerprint()
    assert ChangePhone(resident_id="r2").fingerprint() != left_out.fingerprint()


def test_a_default_given_is_a_default_left_out_outside_a_partial_update():
    assert OpenThing(title="a").fingerprint() == OpenThing(title="a", note=None).fingerprint()
    assert OpenThing(title="a").fingerprint() != OpenThing(title="a", note="n").fingerprint()


class _TxCancelledInCommit:
    """What asyncpg leaves when a task is cancelled during COMMIT: the transaction in error state, so a rollback
    raises."""

    async def start(self) -> None:
        pass

    async def commit(self) -> None:
        raise asyncio.CancelledError

    async def rollback(self) -> None:
        raise asyncpg.InterfaceError("cannot rollback; the transaction is in error state")


class _Conn:
    def transaction(self, **_: object) -> _TxCancelledInCommit:
        return _TxCancelledInCommit()


async def test_a_cancellation_during_commit_stays_a_cancellation():
    """A stopping service cancels its job tasks: if the rollback's error replaced the cancellation, the job loop
    would take it for a failed run and go on, and the service would never stop."""
    ctx = PgContext(None, "donations", audit.AuditKeys("t", {"t": b"k" * 32}), None)
    with pytest.raises(asyncio.CancelledError):
        async with PgUnitOfWork(ctx, _Conn()) as uow:  # type: ignore[arg-type]
            await uow.commit("job", SYSTEM)
    with pytest.raises(asyncpg.InterfaceError):  # without another error, a failed rollback is one
        async with PgUnitOfWork(ctx, _Conn()):  # type: ignore[arg-type]
            pass
