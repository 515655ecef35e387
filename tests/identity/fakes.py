"""The identity service's repositories in memory: the same methods and results as services/identity/repository.py
(tests/identity/test_handlers.py runs one suite over both, so these cannot drift from the SQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.identity.repository import MUTABLE
from services.identity.uow import IdentityUnitOfWork
from shared.application import FakeRepository, FakeUnitOfWork
from shared.errors import Conflict
from shared.idempotency import Sealer

Row = dict[str, Any]
TEST_TOTP_SEALER = Sealer("identity", "handler-suite-identity-key-0123456789", purpose="totp-secret")


class FakeAccountRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    async def add(self, account: Row) -> None:
        if any(r["username"].lower() == account["username"].lower() for r in self.rows.values()):
            raise Conflict("this sign-in name is taken")
        now = datetime.now(UTC)
        self.rows[account["account_id"]] = {
            **account, "password_hash": None, "status": "active", "failed_attempts": 0, "lockouts": 0,
            "locked_until": None, "totp_secret": None, "totp_confirmed": False, "totp_last_step": None,
            "created_at": now, "updated_at": now}

    async def get(self, account_id: str, *, for_update: bool = False) -> Row | None:
        row = self.rows.get(account_id)
        return None if row is None else dict(row)

    async def every(self, ward_id: str | None) -> list[Row]:
        rows = [dict(r) for r in self.rows.values() if ward_id is None or r["ward_id"] == ward_id]
        return sorted(rows, key=lambda r: (r["created_at"], r["account_id"]))

    async def by_username(self, username: str) -> Row | None:
        return next((dict(r) for r in self.rows.values() if r["username"].lower() == username.lower()), None)

    async def update(self, account_id: str, **fields: Any) -> None:
        assert set(fields) <= MUTABLE
        self.rows[account_id].update(fields, updated_at=datetime.now(UTC))


class FakeResetCodeRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    async def add(self, code_hash: str, account_id: str, expires_at: datetime, created_by: str) -> None:
        self.rows[code_hash] = {"code_hash": code_hash, "account_id": account_id, "expires_at": expires_at,
                                "used_at": None, "created_by": created_by}

    async def get(self, code_hash: str) -> Row | None:
        row = self.rows.get(code_hash)
        return None if row is None else dict(row)


    async def void_all(self, account_id: str, at: datetime) -> None:
        for row in self.rows.values():
            if row["account_id"] == account_id and row["used_at"] is None:
                row["used_at"] = at


class FakeRefreshTokenRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    async def add(self, token: Row) -> None:
        self.rows[token["token_hash"]] = {**token, "used_at": None, "revoked_at": None}

    async def get(self, token_hash: str) -> Row | None:
        row = self.rows.get(token_hash)
        return None if row is None else dict(row)

    async def use(self, token_hash: str, at: datetime) -> None:
        self.rows[token_hash]["used_at"] = at

    async def revoke_family(self, family_id: str, at: datetime) -> None:
        for row in self.rows.values():
            if row["family_id"] == family_id and row["revoked_at"] is None:
                row["revoked_at"] = at

    async def revoke_account(self, account_id: str, at: datetime) -> None:
        for row in self.rows.values():
            if row["account_id"] == account_id and row["revoked_at"] is None:
                row["revoked_at"] = at


class FakeIdentityUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.accounts = FakeAccountRepository()
        self.reset_codes = FakeResetCodeRepository()
        self.refresh_tokens = FakeRefreshTokenRepository()
        self.totp_sealer = TEST_TOTP_SEALER


class TestIdentityUnitOfWork(IdentityUnitOfWork):
    """The real unit of work with the test sealer (the runtime gives the one from IDENTITY_KEY)."""

    __test__ = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs, totp_sealer=TEST_TOTP_SEALER)
