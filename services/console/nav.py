"""The console's menu: which pages each role sees, and where a person lands after signing in.

One entry per page a role works in; ``base.html`` shows the entries of the signed-in person's roles, and ``/``
sends them to the first one (``home``). A page module adds its entries here, nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.console.messages import _
from shared.actor import Role


@dataclass(frozen=True)
class Entry:
    path: str
    label: str  # translated when shown
    roles: frozenset[str]
    #: for a team member or leader, only with a team of one of these kinds (registry's team kinds): a mediation
    #: team's members work on cases, a mobilisation team's collect for campaigns. Other roles are not filtered.
    team_kinds: frozenset[str] = frozenset()
    #: a page nobody lands on after signing in (the inbox: everyone's, nobody's work)
    lands: bool = True
    #: where the menu fetches a count shown beside the label (htmx, after the page is shown: a page never waits
    #: for it, and without it the link is still there)
    count: str = ""


TEAM_ROLES = frozenset({"team_member", "team_leader"})


OFFICIALS = frozenset({"ward_official", "city_official"})
#: A group leader (tổ trưởng) is a team leader: the groups of their teams are theirs (pages_people.py).
LEADERS = frozenset({"team_leader"})
RESIDENTS = frozenset({"resident"})
#: Who works with a campaign's money: officials, and the members and leaders of the mobilisation teams who collect.
MONEY = OFFICIALS | frozenset({"team_member", "team_leader"})

ENTRIES: list[Entry] = [
    Entry("/dashboard", _("Dashboard"), OFFICIALS),
    # registry management and awards (pages_registry.py, pages_awards.py). Below: the police's and a mediation
    # team's pages, then a group leader's and a resident's, then the campaigns - a person lands on the first they see
    Entry("/registry", _("Teams and groups"), OFFICIALS),
    Entry("/awards", _("Award review"), OFFICIALS),
    Entry("/festival", _("Festival list"), OFFICIALS),
]

# -- police and mediators (pages_police.py, pages_mediation.py) ----------------------------------------------------
POLICE = frozenset({"police"})
#: Mediators are team members or leaders whose teams include a mediation team (services/mediation/domain.py); the
#: pages say so to one whose teams are not.
MEDIATORS = frozenset({"team_member", "team_leader"})
ENTRIES += [
    Entry("/police/incidents", _("Tips and incidents"), POLICE),
    Entry("/police/warnings", _("Warnings"), POLICE),
    Entry("/police/briefing", _("Monthly briefing"), POLICE),
    Entry("/mediation/cases", _("Mediation cases"), MEDIATORS, frozenset({"mediation"})),
    Entry("/mediation/record-book", _("Record book"), MEDIATORS, frozenset({"mediation"})),
]

# -- the group leader and the resident (pages_people.py) ----------------------------------------------------------
ENTRIES += [
    Entry("/my-group", _("My group"), LEADERS),
    Entry("/group/households", _("Households"), LEADERS),
    Entry("/group/declarations", _("Residence declarations"), LEADERS),
    Entry("/group/boarding-houses", _("Boarding houses"), LEADERS),
    Entry("/my-household", _("My household"), RESIDENTS),
    Entry("/my-declaration", _("Declare a stay or an absence"), RESIDENTS),
    Entry("/my-reports", _("My reports"), RESIDENTS),
    Entry("/tip", _("Anonymous tip"), RESIDENTS),
]

# -- a campaign's money (pages_money.py): officials, collectors and treasurers ---------------------------------------
ENTRIES += [Entry("/campaigns", _("Campaigns"), MONEY, frozenset({"mobilisation"}))]


def _sees(entry: Entry, roles: set[str], team_kinds: Iterable[str] | None) -> bool:
    matched = entry.roles & roles
    if not matched or not entry.team_kinds or team_kinds is None:  # kinds unknown: the pages themselves say
        return bool(matched)
    return bool(matched - TEAM_ROLES) or bool(entry.team_kinds & set(team_kinds))


def visible(roles: Iterable[str], team_kinds: Iterable[str] | None = None) -> list[Entry]:
    """The entries a person with these roles (and teams of these kinds) sees, in menu order (each path once)."""
    mine = set(roles)
    seen: set[str] = set()
    out = []
    for e in ENTRIES:
        if _sees(e, mine, team_kinds) and e.path not in seen:
            seen.add(e.path)
            out.append(e)
    return out


def home(roles: Iterable[str], team_kinds: Iterable[str] | None = None) -> str | None:
    """Where a person lands after signing in: their first page, or None when no page is for their roles yet."""
    entries = [e for e in visible(roles, team_kinds) if e.lands]
    return entries[0].path if entries else None


# -- the ward's map (pages_map.py): officials and police see the exact points, group leaders and members the points
# rounded to about 100 m (incidents decides by the token). Last in the menu: nobody lands on it. Team members may
# open it too (the same rounding), without a menu entry of its own (their pages are their teams' work).
MAP_VIEWERS = OFFICIALS | POLICE | TEAM_ROLES
ENTRIES += [Entry("/map", _("Ward map"), OFFICIALS | POLICE | LEADERS)]


# -- notifications (pages_notify.py): every signed-in person's inbox, its unread count in the menu; and a group
# leader's report filed for a resident (pages_intake.py)
SIGNED_IN = frozenset(r.value for r in Role) - {Role.FEED_SUBSCRIBER.value}
ENTRIES += [
    Entry("/group/assisted-report", _("Report for a resident"), LEADERS),
    Entry("/inbox", _("Notifications"), SIGNED_IN, lands=False, count="/inbox/unread-count"),
]
