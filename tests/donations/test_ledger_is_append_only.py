"""The database itself refuses to change or remove money already written: the application role has no
UPDATE/DELETE privilege on the ledger and expenses, and a trigger stops even the schema owner."""

from __future__ import annotations

import asyncpg
import pytest

from tests.donations.conftest import Service

pytestmark = pytest.mark.integration


async def test_ledger_rows_cannot_be_updated_or_deleted_by_the_app_or_the_owner(service: Service):
    campaign_id = await service.open_campaign()
    assert (await service.contribute(campaign_id, 1, 1_000_000)).status_code == 201

    app = await service.db.connect("donations")
    try:
        for sql in ("UPDATE ledger_entries SET amount_vnd = 1", "DELETE FROM ledger_entries",
                    "TRUNCATE ledger_entries", "UPDATE expenses SET amount_vnd = 1", "DELETE FROM expense_approvals"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute(sql)
    finally:
        await app.close()

    owner = await asyncpg.connect(service.db.owner_url("donations"))
    try:
        await owner.execute('SET search_path TO "donations"')
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await owner.execute("UPDATE ledger_entries SET amount_vnd = 1")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await owner.execute("DELETE FROM ledger_entries")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await owner.execute("TRUNCATE ledger_entries CASCADE")
    finally:
        await owner.close()
    assert await service.db.fetchval("donations", "SELECT sum(amount_vnd) FROM ledger_entries") == 1_000_000


async def test_the_schema_refuses_invalid_entries_even_past_the_application(service: Service):
    """Second line of defence: constraints hold whatever code writes (a zero cash gift, a bare reversal)."""
    campaign_id = await service.open_campaign()
    app = await service.db.connect("donations")
    try:
        insert = ("INSERT INTO ledger_entries (entry_id, campaign_id, entry_kind, amount_vnd, channel, donor_kind, "
                  "receipt_number, received_on, recorded_by, reverses_entry_id, reason) "
                  "VALUES ($1, $2, $3, $4, 'cash', 'anonymous', $5, current_date, 't', $6, $7)")
        with pytest.raises(asyncpg.CheckViolationError):
            await app.execute(insert, "e1", campaign_id, "contribution", 0, "R1", None, None)
        with pytest.raises(asyncpg.CheckViolationError):
            await app.execute(insert, "e2", campaign_id, "contribution", -5, "R2", None, None)
        with pytest.raises(asyncpg.CheckViolationError):  # a reversal must point at its original
            await app.execute(insert, "e3", campaign_id, "refund", -5, None, None, "r")
    finally:
        await app.close()
