"""The public transparency report of a campaign (báo cáo công khai): raised, by team, by channel, spent by
item, balance and the honour roll (bảng vàng). Pure functions over ledger and expense rows, so the report is
computed from the ledger itself and nothing else can drift from it.

The report never shows a donor who did not ask to be named: only the ``public_name`` a donor gave appears,
and anonymous gifts count in the totals only.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from shared import csvsafe


def build_report(
    campaign: Mapping[str, Any],
    team_names: Mapping[str, str | None],
    entries: Iterable[Mapping[str, Any]],
    expenses: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    entries = list(entries)
    reversed_by_original: dict[str, int] = defaultdict(int)
    for e in entries:
        if e["reverses_entry_id"] is not None:
            reversed_by_original[e["reverses_entry_id"]] += -int(e["amount_vnd"])

    raised = sum(int(e["amount_vnd"]) for e in entries)
    by_team: dict[str, int] = defaultdict(int)
    by_channel: dict[str, int] = {"cash": 0, "bank_transfer": 0}
    honour: dict[str, dict[str, Any]] = {}
    in_kind: list[dict[str, Any]] = []
    contributions = 0
    for e in entries:
        amount = int(e["amount_vnd"])
        if e["team_id"] is not None:
            by_team[e["team_id"]] += amount
        if e["channel"] in by_channel:
            by_channel[e["channel"]] += amount
        if e["entry_kind"] != "contribution":
            continue
        contributions += 1
        net = amount - reversed_by_original.get(e["entry_id"], 0)
        voided = e["entry_id"] in reversed_by_original and net == 0
        if e["channel"] == "in_kind" and not voided:
            in_kind.append({"description": e["in_kind_description"], "public_name": e["public_name"],
                            "received_on": e["received_on"].isoformat()})
        if e["public_name"] and not voided:
            row = honour.setdefault(e["public_name"], {"name": e["public_name"], "amount_vnd": 0, "gifts": 0})
            row["amount_vnd"] += net
            row["gifts"] += 1

    spent_by_item: dict[str, int] = defaultdict(int)
    for x in expenses:
        spent_by_item[x["item"]] += int(x["amount_vnd"])
    spent = sum(spent_by_item.values())
    reached = campaign["target_reached_on"]
    return {
        "campaign_id": campaign["campaign_id"],
        "name": campaign["name"],
        "purpose": campaign["purpose"],
        "group_id": campaign["group_id"],
        "organiser": campaign["organiser"],
        "starts_on": campaign["starts_on"].isoformat(),
        "ends_on": campaign["ends_on"].isoformat(),
        "status": "closed" if campaign["closed_on"] else "open",
        "target_vnd": int(campaign["target_vnd"]),
        "target_reached_on": reached.isoformat() if reached else None,
        "raised_vnd": raised,
        "contributions": contributions,
        "reversed_vnd": sum(reversed_by_original.values()),
        "by_team": [{"team_id": t, "team_name": team_names.get(t), "raised_vnd": v} for t, v in sorted(by_team.items())],
        "by_channel": by_channel,
        "in_kind_gifts": in_kind,
        "spent_vnd": spent,
        "spent_by_item": [{"item": k, "amount_vnd": v} for k, v in sorted(spent_by_item.items())],
        "balance_vnd": raised - spent,
        "honour_roll": sorted(honour.values(), key=lambda r: (-r["amount_vnd"], r["name"])),
    }


def report_csv(report: Mapping[str, Any]) -> str:
    """One CSV table (section, label, amount_vnd, note) that a spreadsheet or a notice board print can take."""
    out = io.StringIO()
    w = csvsafe.writer(out, lineterminator="\n")
    w.writerow(["section", "label", "amount_vnd", "note"])
    w.writerow(["campaign", report["name"], report["target_vnd"], f"target; {report['starts_on']} to {report['ends_on']}"])
    w.writerow(["total", "raised", report["raised_vnd"], f"{report['contributions']} contributions"])
    w.writerow(["total", "reversed", report["reversed_vnd"], "refunds and voids, already deducted from raised"])
    for t in report["by_team"]:
        w.writerow(["by_team", t["team_name"] or t["team_id"], t["raised_vnd"], t["team_id"]])
    for channel, amount in report["by_channel"].items():
        w.writerow(["by_channel", channel, amount, ""])
    for x in report["spent_by_item"]:
        w.writerow(["spent", x["item"], x["amount_vnd"], ""])
    w.writerow(["total", "spent", report["spent_vnd"], ""])
    w.writerow(["total", "balance", report["balance_vnd"], ""])
    for g in report["in_kind_gifts"]:
        w.writerow(["in_kind", g["description"], "", g["public_name"] or ""])
    for h in report["honour_roll"]:
        w.writerow(["honour_roll", h["name"], h["amount_vnd"], f"{h['gifts']} gifts"])
    return out.getvalue()
