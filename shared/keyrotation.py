"""Re-encryption of a service's personal data under its active keys (``wardctl keys rotate``/``status``).

Each service that encrypts declares its encrypted columns in ONE place, ``ENCRYPTED_COLUMNS`` in its
``repository.py`` (``EncryptedColumn``: table, id column, ciphertext column, the associated data of a row, and the
blind-index column computed from the same value, if any). The rotation, while the service runs:

* walks each table in id order, ``batch_size`` rows per transaction, taking only rows whose ciphertext is not
  under the active encryption key or whose index is not under the active index key, ``FOR UPDATE SKIP LOCKED``
  (a row a request holds is left to a second pass that waits for it, so the rotation never blocks the service
  for long and never misses a row);
* decrypts each value (its header names its key), encrypts it again under the active key with the same
  associated data, and recomputes the blind index from the clear value (an index cannot be re-keyed otherwise);
* is resumable: it keeps no state, an interrupted run simply finds fewer rows to do next time.

Rows that the service writes meanwhile are written under the active key already. When ``status`` shows no
ciphertext and no index under an old key id, that key can be removed from the service's configuration.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from cryptography.exceptions import InvalidTag

from shared.crypto import LEGACY_KEY_ID, MissingKey, PersonalDataProtector


class RotationError(RuntimeError):
    """A stored value could not be re-encrypted; names the column and the row, never the value."""


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    id_column: str
    column: str
    #: The associated data a row's ciphertext is bound to (as the service's code encrypts it).
    context: Callable[[Any], str]
    index_column: str | None = None
    index_purpose: str | None = None

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"


def encrypted_columns(service: str) -> tuple[EncryptedColumn, ...]:
    """The service's declaration (empty: it encrypts nothing and holds no personal-data key)."""
    module = importlib.import_module(f"services.{service}.repository")
    return tuple(getattr(module, "ENCRYPTED_COLUMNS", ()))


# The key id of a stored value, computed by PostgreSQL (shared.crypto's formats) so that status reads no values.
def _cipher_kid_sql(col: str) -> str:
    return (f"CASE get_byte({col}, 0) WHEN 1 THEN '{LEGACY_KEY_ID}' "
            f"WHEN 2 THEN convert_from(substring({col} from 3 for get_byte({col}, 1)), 'UTF8') ELSE '?' END")


def _index_kid_sql(col: str) -> str:
    return f"CASE WHEN strpos({col}, ':') > 0 THEN split_part({col}, ':', 1) ELSE '{LEGACY_KEY_ID}' END"


def _cipher_header(kid: str) -> bytes:
    encoded = kid.encode("ascii")
    return bytes([2, len(encoded)]) + encoded


async def status(conn: asyncpg.Connection, service: str) -> dict[str, dict[str, int]]:
    """For each encrypted column (and blind-index column): how many values each key id protects."""
    out: dict[str, dict[str, int]] = {}
    for c in encrypted_columns(service):
        sql = (f'SELECT {_cipher_kid_sql(c.column)} AS kid, count(*) AS n FROM "{service}".{c.table} '  # noqa: S608
               f"WHERE {c.column} IS NOT NULL GROUP BY 1 ORDER BY 1")
        out[c.name] = {r["kid"]: r["n"] for r in await conn.fetch(sql)}
        if c.index_column:
            sql = (f'SELECT {_index_kid_sql(c.index_column)} AS kid, count(*) AS n FROM "{service}".{c.table} '  # noqa: S608
                   f"WHERE {c.index_column} IS NOT NULL GROUP BY 1 ORDER BY 1")
            out[f"{c.table}.{c.index_column}"] = {r["kid"]: r["n"] for r in await conn.fetch(sql)}
    return out


def _stale_condition(c: EncryptedColumn, pii: PersonalDataProtector) -> tuple[str, list[Any]]:
    header = _cipher_header(pii.active_key_id)
    cond = f"substring({c.column} from 1 for {len(header)}) <> $1"
    args: list[Any] = [header]
    if c.index_column:
        cond = f"({cond} OR {c.index_column} IS NULL OR {_index_kid_sql(c.index_column)} <> $2)"
        args.append(pii.active_index_key_id)
    return f"{c.column} IS NOT NULL AND {cond}", args


async def _rotate_batch(conn: asyncpg.Connection, service: str, c: EncryptedColumn, pii: PersonalDataProtector,
                        after: Any, batch_size: int, skip_locked: bool) -> tuple[int, Any]:
    cond, args = _stale_condition(c, pii)
    n = len(args)
    keyset = f"AND {c.id_column} > ${n + 1}" if after is not None else ""
    if after is not None:
        args.append(after)
    sql = (f'SELECT * FROM "{service}".{c.table} WHERE {cond} {keyset} '  # noqa: S608
           f"ORDER BY {c.id_column} LIMIT {int(batch_size)} FOR UPDATE{' SKIP LOCKED' if skip_locked else ''}")
    async with conn.transaction():
        rows = await conn.fetch(sql, *args)
        for row in rows:
            context = c.context(row)
            try:
                clear = pii.decrypt(bytes(row[c.column]), context)
            except MissingKey as exc:
                raise RotationError(f"{c.name} of {c.id_column}={row[c.id_column]}: {exc}") from None
            except (InvalidTag, ValueError):
                raise RotationError(
                    f"{c.name} of {c.id_column}={row[c.id_column]} does not decrypt with the key its header names "
                    "(another key under that id, or an altered value); nothing of this batch was changed") from None
            sets, values = [f"{c.column} = $2"], [row[c.id_column], pii.encrypt(clear, context)]
            if c.index_column:
                assert c.index_purpose is not None
                sets.append(f"{c.index_column} = $3")
                values.append(pii.blind_index(clear, c.index_purpose))
            await conn.execute(f'UPDATE "{service}".{c.table} SET {", ".join(sets)} '  # noqa: S608
                               f"WHERE {c.id_column} = $1", *values)
    return len(rows), (rows[-1][c.id_column] if rows else after)


async def rotate(
    pool: asyncpg.Pool,
    service: str,
    pii: PersonalDataProtector,
    *,
    batch_size: int = 500,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Rewrite every value of the service's encrypted columns not under its active keys. Returns the count of
    rows rewritten per column."""
    done: dict[str, int] = {}
    for c in encrypted_columns(service):
        total = 0
        # First pass: what nobody holds. Second pass: what the first skipped, waiting for each row's lock.
        for skip_locked in (True, False):
            after: Any = None
            while True:
                async with pool.acquire() as conn:
                    n, after = await _rotate_batch(conn, service, c, pii, after, batch_size, skip_locked)
                total += n
                if n and progress:
                    progress(c.name, total)
                if n < batch_size:
                    break
        done[c.name] = total
    return done
