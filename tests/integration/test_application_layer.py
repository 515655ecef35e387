"""The application layer's guarantees (shared/application.py), on the in-memory and the PostgreSQL unit of work
alike: a command's state, events, audit row and idempotency record commit together or not at all; a retry with
the same Idempotency-Key answers the first reply, compared on the command's canonical form."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

import pytest

from shared.actor import SYSTEM, Principal, Role
from shared.application import Command, Created, FakeRepository, FakeUnitOfWork, PgUnitOfWork
from shared.contracts.donations import CampaignClosed, PublicCampaignClosed
from shared.errors import InvalidInput, RuleViolation
from tests.application import applications, audited, emitted

OFFICIAL = Principal("official-1", frozenset({Role.WARD_OFFICIAL}), "phu-son")


class CloseCampaign(Command):
    name: ClassVar[str] = "campaign.close"
    campaign_id: str
    raised_vnd: int
    fail_after_emit: bool = False


class Tally(FakeRepository):
    def __init__(self) -> None:
        self.closed: list[str] = []


class FakeUoW(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.tally = Tally()


class PgUoW(PgUnitOfWork):
    def bind(self, conn: Any) -> None:
        self.tally = None  # this test's handler keeps its state in the outbox and the audit chain only


async def close(cmd: CloseCampaign, uow: Any, actor: Principal) -> Created:
    if uow.tally is not None:
        uow.tally.closed.append(cmd.campaign_id)
    uow.emit(CampaignClosed(ward_id="phu-son", subject=cmd.campaign_id, campaign_id=cmd.campaign_id,
                            group_id="g-1", raised_vnd=cmd.raised_vnd, spent_vnd=0, balance_vnd=cmd.raised_vnd,
                            closed_on=date(2024, 8, 13)))
    uow.audit("campaign", cmd.campaign_id, ward_id="phu-son", details={"raised_vnd": cmd.raised_vnd})
    if cmd.fail_after_emit:
        raise RuleViolation("refused after the change was made")
    return Created({"campaign_id": cmd.campaign_id, "raised_vnd": cmd.raised_vnd})


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest):
    async with applications(request, "donations", FakeUoW, PgUoW, {CloseCampaign: close}) as application:
        yield application


async def test_a_command_commits_its_events_and_its_audit_row(app) -> None:
    reply = await app.handle(CloseCampaign(campaign_id="c-1", raised_vnd=35_250_000), OFFICIAL)
    assert reply.created and reply.json() == {"campaign_id": "c-1", "raised_vnd": 35_250_000}
    event, public = await emitted(app)  # the event, then its public copy (written with it)
    assert isinstance(event, CampaignClosed) and event.raised_vnd == 35_250_000
    assert isinstance(public, PublicCampaignClosed) and public.raised_vnd == 35_250_000
    assert await audited(app) == [("campaign.close", "campaign", "c-1")]


async def test_a_refused_command_leaves_nothing(app) -> None:
    with pytest.raises(RuleViolation):
        await app.handle(CloseCampaign(campaign_id="c-1", raised_vnd=1, fail_after_emit=True), OFFICIAL,
                         idempotency_key="k-1")
    assert await emitted(app) == [] and await audited(app) == []
    probe = app.uow()
    if isinstance(probe, FakeUnitOfWork):
        assert probe.tally.closed == [] and probe.idempotency == {}
    # the key was not spent: the same key runs a (valid) command
    assert not (await app.handle(CloseCampaign(campaign_id="c-1", raised_vnd=1), OFFICIAL,
                                 idempotency_key="k-1")).replayed


async def test_a_retry_replays_and_is_compared_in_canonical_form(app) -> None:
    first = await app.handle(CloseCampaign(campaign_id="c-2", raised_vnd=5), OFFICIAL, idempotency_key="k-2")
    # the same request decoded from JSON written in another key order is the same command
    again = await app.handle(CloseCampaign.model_validate_json('{"raised_vnd": 5, "campaign_id": "c-2"}'),
                             OFFICIAL, idempotency_key="k-2")
    assert again.replayed and again.body == first.body and again.created
    assert [type(e) for e in await emitted(app)] == [CampaignClosed, PublicCampaignClosed]
    with pytest.raises(InvalidInput, match="different request"):
        await app.handle(CloseCampaign(campaign_id="c-2", raised_vnd=6), OFFICIAL, idempotency_key="k-2")
    # another caller's key of the same name is theirs
    other = Principal("official-2", frozenset({Role.WARD_OFFICIAL}), "phu-son")
    assert not (await app.handle(CloseCampaign(campaign_id="c-3", raised_vnd=5), other,
                                 idempotency_key="k-2")).replayed


async def test_a_persons_command_must_be_audited_a_systems_need_not(app) -> None:
    async def unaudited(cmd: CloseCampaign, uow: Any, actor: Principal) -> dict:
        return {}

    app.handlers[CloseCampaign] = unaudited
    with pytest.raises(RuntimeError, match="audited"):
        await app.handle(CloseCampaign(campaign_id="c-4", raised_vnd=1), OFFICIAL)
    assert (await app.handle(CloseCampaign(campaign_id="c-4", raised_vnd=1), SYSTEM)).json() == {}


def test_commands_are_frozen_and_refuse_unknown_fields() -> None:
    cmd = CloseCampaign(campaign_id="c", raised_vnd=1)
    with pytest.raises(Exception):  # noqa: B017  (pydantic's frozen-instance error)
        cmd.raised_vnd = 2  # type: ignore[misc]
    with pytest.raises(Exception, match="extra"):
        CloseCampaign(campaign_id="c", raised_vnd=1, surprise=True)  # type: ignore[call-arg]
