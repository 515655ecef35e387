"""In-memory stand-ins of the donations repositories and unit of work: the same methods, the same results (rows as
dicts with the tables' columns), checked against the real ones by tests/donations/test_handlers.py, which runs
over both."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from shared.application import FakeRepository, FakeUnitOfWork
from shared.errors import Conflict
from shared.paging import Keyset, PageRequest, decode_cursor

Row = dict[str, Any]
LEDGER_COLUMNS = ("entry_id", "campaign_id", "entry_kind", "amount_vnd", "channel", "team_id",
                  "collected_by_resident_id", "donor_kind", "donor_ref", "public_name", "receipt_number",
                  "in_kind_description", "received_on", "pledge_id", "instalment_number", "reverses_entry_id",
                  "reason", "recorded_by")


def _page(rows: Sequence[Row], keyset: Keyset, page: PageRequest) -> list[Row]:
    """What ``Keyset.query`` selects: the rows after the cursor, in the keyset's order, one beyond the page."""
    fields = [f for _, _, f in keyset.columns]
    key: Callable[[Row], tuple] = lambda r: tuple(r[f] for f in fields)  # noqa: E731
    ordered = sorted(rows, key=key, reverse=keyset.descending)
    if page.cursor is not None:
        after = tuple(decode_cursor(page.cursor, [t for _, t, _ in keyset.columns]))
        ordered = [r for r in ordered if (key(r) < after if keyset.descending else key(r) > after)]
    return [dict(r) for r in ordered[: page.limit + 1]]


def _now() -> datetime:
    return datetime.now(UTC)


class FakeTeamRepository(FakeRepository):
    def __init__(self) -> None:
        self.teams: dict[str, Row] = {}
        self.members: dict[tuple[str, str], Row] = {}

    async def ward_of(self, team_id: str) -> str | None:
        team = self.teams.get(team_id)
        return team["ward_id"] if team else None

    async def upsert(self, *, team_id: str, ward_id: str, group_id: str, kind: str, name: str | None) -> None:
        team = self.teams.get(team_id)
        if team is None:
            self.teams[team_id] = {"team_id": team_id, "ward_id": ward_id, "group_id": group_id, "kind": kind,
                                   "name": name}
        else:
            team["group_id"] = group_id
            team["name"] = name if name is not None else team["name"]

    async def set_member(self, *, team_id: str, resident_id: str, full_name: str, role: str, active: bool) -> None:
        self.members[(team_id, resident_id)] = {"team_id": team_id, "resident_id": resident_id,
                                                "full_name": full_name, "role": role, "active": active}

    async def by_id(self, team_ids: list[str]) -> dict[str, Row]:
        return {t: dict(self.teams[t]) for t in team_ids if t in self.teams}

    async def is_active_member(self, team_id: str, resident_id: str) -> bool:
        member = self.members.get((team_id, resident_id))
        return bool(member and member["active"])

    async def page(self, ward_id: str, page: PageRequest, *, group_id: str | None = None,
                   kind: str | None = None) -> list[Row]:
        from services.donations.repository import TEAMS_BY_ID

        rows = _page([t for t in self.teams.values() if t["ward_id"] == ward_id
                      and group_id in (None, t["group_id"]) and kind in (None, t["kind"])], TEAMS_BY_ID, page)
        for team in rows:
            team["members"] = [{"resident_id": m["resident_id"], "full_name": m["full_name"], "role": m["role"]}
                               for (t, r), m in sorted(self.members.items()) if t == team["team_id"] and m["active"]]
        return rows


class FakeHouseholdRepository(FakeRepository):
    def __init__(self) -> None:
        self.households: dict[str, tuple[str, str]] = {}  # household_id -> (ward_id, group_id)

    async def add(self, *, household_id: str, ward_id: str, group_id: str) -> None:
        self.households.setdefault(household_id, (ward_id, group_id))

    async def group(self, group_id: str) -> Row | None:
        wards = sorted(w for w, g in self.households.values() if g == group_id)
        return {"group_id": group_id, "ward_id": wards[0], "households": len(wards)} if wards else None

    async def count(self, ward_id: str, group_id: str) -> int:
        return sum(1 for w, g in self.households.values() if (w, g) == (ward_id, group_id))


class FakeCampaignRepository(FakeRepository):
    def __init__(self) -> None:
        self.campaigns: dict[str, Row] = {}
        self.teams: dict[str, list[str]] = {}
        self.credits: dict[tuple[str, str], int] = {}

    async def add(self, row: dict[str, Any], team_ids: list[str]) -> None:
        self.campaigns[row["campaign_id"]] = {**row, "opened_at": _now(), "closed_on": None,
                                              "target_reached_on": None}
        self.teams[row["campaign_id"]] = list(team_ids)

    async def get(self, campaign_id: str, *, lock: bool = False) -> Row | None:
        row = self.campaigns.get(campaign_id)
        return dict(row) if row else None

    async def team_ids(self, campaign_id: str) -> list[str]:
        return sorted(self.teams.get(campaign_id, []))

    async def page(self, ward_id: str, page: PageRequest) -> list[Row]:
        from services.donations.repository import CAMPAIGNS_BY_OPENING

        return _page([c for c in self.campaigns.values() if c["ward_id"] == ward_id], CAMPAIGNS_BY_OPENING, page)

    async def mark_target_reached(self, campaign_id: str, on: date) -> bool:
        row = self.campaigns[campaign_id]
        if row["target_reached_on"] is not None:
            return False
        row["target_reached_on"] = on
        return True

    async def close(self, campaign_id: str, on: date) -> None:
        self.campaigns[campaign_id]["closed_on"] = on

    async def credited_teams(self, campaign_id: str) -> list[str]:
        return sorted(t for c, t in self.credits if c == campaign_id)

    async def credit_team(self, campaign_id: str, team_id: str, total_vnd: int) -> bool:
        if (campaign_id, team_id) in self.credits:
            return False
        self.credits[(campaign_id, team_id)] = total_vnd
        return True


class FakeLedgerRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.seq = 0

    async def add(self, row: dict[str, Any]) -> None:
        full = {c: row.get(c) for c in LEDGER_COLUMNS}
        if full["entry_kind"] == "contribution" and any(
                r["campaign_id"] == full["campaign_id"] and r["receipt_number"] == full["receipt_number"]
                and r["entry_kind"] == "contribution" for r in self.rows):
            raise Conflict("this receipt number is already used in this campaign, or the contribution was "
                           "already reversed")
        if full["reverses_entry_id"] is not None and any(
                r["reverses_entry_id"] == full["reverses_entry_id"] for r in self.rows):
            raise Conflict("this receipt number is already used in this campaign, or the contribution was "
                           "already reversed")
        self.seq += 1
        self.rows.append({**full, "seq": self.seq, "recorded_at": _now()})

    async def get(self, entry_id: str) -> Row | None:
        return next((dict(r) for r in self.rows if r["entry_id"] == entry_id), None)

    async def receipt_used(self, campaign_id: str, receipt_number: str) -> bool:
        return any(r["campaign_id"] == campaign_id and r["receipt_number"] == receipt_number
                   and r["entry_kind"] == "contribution" for r in self.rows)

    async def is_reversed(self, entry_id: str) -> bool:
        return any(r["reverses_entry_id"] == entry_id for r in self.rows)

    async def raised_vnd(self, campaign_id: str) -> int:
        return sum(r["amount_vnd"] for r in self.rows if r["campaign_id"] == campaign_id)

    async def team_totals(self, campaign_id: str) -> dict[str, int]:
        totals: dict[str, int] = {}
        for r in self.rows:
            if r["campaign_id"] == campaign_id and r["team_id"] is not None:
                totals[r["team_id"]] = totals.get(r["team_id"], 0) + r["amount_vnd"]
        return dict(sorted(totals.items()))

    async def entries(self, campaign_id: str) -> list[Row]:
        return [dict(r) for r in self.rows if r["campaign_id"] == campaign_id]

    async def contributions_page(self, campaign_id: str, page: PageRequest) -> list[Row]:
        from services.donations.repository import CONTRIBUTIONS_BY_SEQ

        rows = []
        for c in self.rows:
            if c["campaign_id"] == campaign_id and c["entry_kind"] == "contribution":
                r = next((r for r in self.rows if r["reverses_entry_id"] == c["entry_id"]), None)
                rows.append({**c, "reversal_kind": r and r["entry_kind"], "reversed_vnd": r and -r["amount_vnd"],
                             "reversal_reason": r and r["reason"]})
        return _page(rows, CONTRIBUTIONS_BY_SEQ, page)


class FakePledgeRepository(FakeRepository):
    def __init__(self, ledger: FakeLedgerRepository, campaigns: FakeCampaignRepository) -> None:
        self.pledges: dict[str, Row] = {}
        self.instalment_rows: dict[str, list[Row]] = {}
        self.flags: dict[tuple[str, int], date] = {}
        # Functions survive the snapshot's deep copy as themselves: these keep reading the live repositories.
        self._ledger: Callable[[], list[Row]] = lambda: ledger.rows
        self._campaign: Callable[[str], Row] = lambda cid: campaigns.campaigns[cid]

    async def add(self, row: dict[str, Any], instalments: list[tuple[int, date, int]]) -> None:
        self.pledges[row["pledge_id"]] = {**row, "recorded_at": _now()}
        self.instalment_rows[row["pledge_id"]] = [
            {"pledge_id": row["pledge_id"], "number": n, "due_on": d, "amount_vnd": a} for n, d, a in instalments]

    async def get(self, pledge_id: str) -> Row | None:
        row = self.pledges.get(pledge_id)
        return dict(row) if row else None

    def _state(self, inst: Row) -> Row:
        entries = self._ledger()
        reversed_ids = {r["reverses_entry_id"] for r in entries if r["reverses_entry_id"] is not None}
        paid = any(c["pledge_id"] == inst["pledge_id"] and c["instalment_number"] == inst["number"]
                   and c["entry_id"] not in reversed_ids for c in entries)
        return {**inst, "flagged_on": self.flags.get((inst["pledge_id"], inst["number"])), "paid": paid}

    async def instalments(self, pledge_id: str) -> list[Row]:
        return [self._state(i) for i in self.instalment_rows.get(pledge_id, [])]

    async def unflagged_overdue(self, today: date) -> list[Row]:
        found = []
        for pledge_id in sorted(self.instalment_rows):
            pledge = self.pledges[pledge_id]
            for inst in self.instalment_rows[pledge_id]:
                s = self._state(inst)
                if s["due_on"] < today and not s["paid"] and s["flagged_on"] is None:
                    found.append({**s, "campaign_id": pledge["campaign_id"], "team_id": pledge["team_id"],
                                  "ward_id": self._campaign(pledge["campaign_id"])["ward_id"]})
        return found

    async def flag_overdue(self, pledge_id: str, number: int, on: date) -> bool:
        if (pledge_id, number) in self.flags:
            return False
        self.flags[(pledge_id, number)] = on
        return True


class FakeExpenseRepository(FakeRepository):
    def __init__(self) -> None:
        self.expenses: dict[str, Row] = {}
        self.approvals: dict[str, Row] = {}  # in the order of approval

    async def add(self, row: dict[str, Any]) -> None:
        self.expenses[row["expense_id"]] = {**row, "proposed_at": _now()}

    async def get(self, expense_id: str) -> Row | None:
        row = self.expenses.get(expense_id)
        if row is None:
            return None
        a = self.approvals.get(expense_id, {})
        return {**row, "approved_by": a.get("approved_by"), "approval_ref": a.get("approval_ref"),
                "approved_at": a.get("approved_at")}

    async def approve(self, expense_id: str, approved_by: str, approval_ref: str) -> None:
        self.approvals[expense_id] = {"approved_by": approved_by, "approval_ref": approval_ref, "approved_at": _now()}

    async def spent_vnd(self, campaign_id: str) -> int:
        return sum(self.expenses[x]["amount_vnd"] for x in self.approvals
                   if self.expenses[x]["campaign_id"] == campaign_id)

    async def approved(self, campaign_id: str) -> list[Row]:
        return [dict(self.expenses[x]) for x in self.approvals if self.expenses[x]["campaign_id"] == campaign_id]

    async def page(self, campaign_id: str, page: PageRequest) -> list[Row]:
        from services.donations.repository import EXPENSES_BY_PROPOSAL

        return _page([await self.get(x) for x, row in self.expenses.items() if row["campaign_id"] == campaign_id],
                     EXPENSES_BY_PROPOSAL, page)


class FakeDonationsUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.teams = FakeTeamRepository()
        self.households = FakeHouseholdRepository()
        self.campaigns = FakeCampaignRepository()
        self.ledger = FakeLedgerRepository()
        self.pledges = FakePledgeRepository(self.ledger, self.campaigns)
        self.expenses = FakeExpenseRepository()
