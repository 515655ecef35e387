"""The one paging scheme of every list endpoint: keyset cursors.

A list answers ``{"items": [...], "next_cursor": "..." | null}``. The client passes ``?limit=`` (default 50,
at most 200) and, for the next page, ``?cursor=`` with the ``next_cursor`` it was given; ``null`` means there is
no more. A cursor is opaque to clients: base64url of the sort key of the last item of the page, so the next page
starts strictly after that item (``WHERE (sort_key, id) > ($n, $m) ORDER BY sort_key, id LIMIT limit + 1``):
every item is seen exactly once even while rows are added, and a page costs an index range scan, not an
``OFFSET``. A cursor that does not decode for this list is a 422 problem.

In a route::

    @router.get("/groups")
    async def list_groups(page: Page, ...) -> Response:
        where, args = ["ward_id = $1"], [ward]
        rows = await conn.fetch(GROUPS_BY_NAME.query("SELECT * FROM groups", where, args, page), *args)
        return json_response(GROUPS_BY_NAME.page(rows, page, render))
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Query

from shared.errors import InvalidInput
from shared.jsonutil import dumps

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_MAX_CURSOR_CHARS = 1000


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None


async def _page_request(  # async: it does no I/O, and a plain def would be run in the thread pool per request
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT})")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=_MAX_CURSOR_CHARS, pattern=r"^[A-Za-z0-9_-]+$",
                                        description="`next_cursor` of the previous page")] = None,
) -> PageRequest:
    return PageRequest(limit, cursor)


#: The paging parameters of a list route (``?limit=&cursor=``).
Page = Annotated[PageRequest, Depends(_page_request)]

_DECODERS: dict[str, Callable[[Any], Any]] = {
    "text": str,
    "int": int,
    "bigint": int,
    "numeric": lambda v: Decimal(str(v)),
    "date": date.fromisoformat,
    "timestamptz": datetime.fromisoformat,
    "uuid": str,
}


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(dumps(list(values)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, types: Sequence[str]) -> list[Any]:
    """The sort key a cursor carries, typed for the query; ``InvalidInput`` when it is not one of this list's."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(types):
            raise ValueError("wrong shape")
        decoded = []
        for value, sql_type in zip(values, types, strict=True):
            if value is None or isinstance(value, dict | list | bool):
                raise ValueError("not a key value")
            typed = _DECODERS[sql_type](value)
            if isinstance(typed, str) and "\x00" in typed:
                raise ValueError("NUL in a key")
            decoded.append(typed)
        return decoded
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError) as exc:
        raise InvalidInput("invalid cursor: pass back the next_cursor of the previous page unchanged") from exc


@dataclass(frozen=True)
class Keyset:
    """The sort key of one list: columns (SQL expression, its type, the result column that holds it), all
    ascending or all descending, the last one unique (an id) so that the order is total."""

    columns: tuple[tuple[str, str, str], ...]
    descending: bool = False

    @classmethod
    def of(cls, *columns: str, descending: bool = False) -> Keyset:
        """``Keyset.of("name:text", "id:text")``; ``"r.full_name:text"`` reads the value from ``full_name``."""
        parsed = []
        for spec in columns:
            expression, sql_type = spec.rsplit(":", 1)
            if sql_type not in _DECODERS:
                raise ValueError(f"unknown key type {sql_type!r}")
            parsed.append((expression, sql_type, expression.rsplit(".", 1)[-1]))
        return cls(tuple(parsed), descending)

    def order_by(self) -> str:
        direction = " DESC" if self.descending else ""
        return ", ".join(f"{expression}{direction}" for expression, _, _ in self.columns)

    def query(self, select: str, where: list[str], args: list[Any], page: PageRequest) -> str:
        """``select`` + WHERE (the filters and, after a cursor, the key) + ORDER BY + LIMIT limit+1.

        Appends the cursor's values to ``args`` (pass them to the query after the filters' own)."""
        conditions = list(where)
        if page.cursor is not None:
            values = decode_cursor(page.cursor, [t for _, t, _ in self.columns])
            first = len(args) + 1
            args.extend(values)
            left = ", ".join(expression for expression, _, _ in self.columns)
            right = ", ".join(f"${first + i}::{t}" for i, (_, t, _) in enumerate(self.columns))
            conditions.append(f"({left}) {'<' if self.descending else '>'} ({right})")
        sql = select
        if conditions:
            sql += " WHERE " + " AND ".join(f"({c})" for c in conditions)
        return f"{sql} ORDER BY {self.order_by()} LIMIT {page.limit + 1}"

    def unpaged(self, select: str, where: list[str]) -> str:
        """Every row, in this order: for a filter computed afterwards in Python (then ``page_of``)."""
        sql = select + (" WHERE " + " AND ".join(f"({c})" for c in where) if where else "")
        return f"{sql} ORDER BY {self.order_by()}"

    def page(self, rows: Sequence[Any], page: PageRequest, render: Callable[[Any], Any] = dict) -> dict[str, Any]:
        """The response of a list: the first ``limit`` rows rendered, and the cursor after the last of them when
        the query found more (it asked for one row beyond the page)."""
        shown = list(rows[: page.limit])
        more = len(rows) > page.limit
        cursor = encode_cursor([shown[-1][field] for _, _, field in self.columns]) if more and shown else None
        return {"items": [render(r) for r in shown], "next_cursor": cursor}


def page_of(items: Sequence[Any], keyset: Keyset, page: PageRequest, key: Callable[[Any], Sequence[Any]]) -> dict[str, Any]:
    """Page a list computed in Python (a derived filter the database cannot apply), in the same scheme: ``items``
    sorted by ``key`` (the keyset's order), and the cursor holds the key of the last item shown."""
    after = decode_cursor(page.cursor, [t for _, t, _ in keyset.columns]) if page.cursor is not None else None
    ordered = sorted(items, key=lambda i: tuple(key(i)), reverse=keyset.descending)
    if after is not None:
        bound = tuple(after)
        ordered = [i for i in ordered if (tuple(key(i)) < bound if keyset.descending else tuple(key(i)) > bound)]
    shown = ordered[: page.limit]
    cursor = encode_cursor(list(key(shown[-1]))) if len(ordered) > page.limit and shown else None
    return {"items": shown, "next_cursor": cursor}
