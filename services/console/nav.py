"""The console's menu: which pages each role sees, and where a person lands after signing in.

One entry per page a role works in; ``base.html`` shows the entries of the signed-in person's roles, and ``/``
sends them to the first one (``home``). A page module adds its entries here, nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.console.messages import _


@dataclass(frozen=True)
class Entry:
    path: str
    label: str  # translated when shown
    roles: frozenset[str]


OFFICIALS = frozenset({"ward_official", "city_official"})
#: Who works with a campaign's money: officials, and the members and leaders of the mobilisation teams who collect.
MONEY = OFFICIALS | frozenset({"team_member", "team_leader"})

ENTRIES: list[Entry] = [
    Entry("/dashboard", _("Dashboard"), OFFICIALS),
    # money, awards and registry management (pages_money.py, pages_awards.py, pages_registry.py)
    Entry("/campaigns", _("Campaigns"), MONEY),
    Entry("/registry", _("Teams and groups"), OFFICIALS),
    Entry("/awards", _("Award review"), OFFICIALS),
    Entry("/festival", _("Festival list"), OFFICIALS),
]


def visible(roles: Iterable[str]) -> list[Entry]:
    """The entries a person with these roles sees, in menu order (each path once)."""
    mine = set(roles)
    seen: set[str] = set()
    out = []
    for e in ENTRIES:
        if e.roles & mine and e.path not in seen:
            seen.add(e.path)
            out.append(e)
    return out


def home(roles: Iterable[str]) -> str | None:
    """Where a person lands after signing in: their first page, or None when no page is for their roles yet."""
    entries = visible(roles)
    return entries[0].path if entries else None
