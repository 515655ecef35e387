"""The transparency report computed from ledger and expense rows: its totals are the ledger's sums."""

from __future__ import annotations

import csv
import io
from datetime import date

from services.donations.report import build_report, report_csv

CAMPAIGN = {"campaign_id": "c1", "name": "Camera an ninh", "purpose": "cameras", "group_id": "g", "organiser": "BCTMT",
            "starts_on": date(2024, 6, 1), "ends_on": date(2024, 8, 31), "closed_on": None, "target_vnd": 3_000_000,
            "target_reached_on": None}


def entry(entry_id: str, amount: int, team: str, channel: str = "cash", kind: str = "contribution",
          reverses: str | None = None, public_name: str | None = None, description: str | None = None) -> dict:
    return {"entry_id": entry_id, "amount_vnd": amount, "team_id": team, "channel": channel, "entry_kind": kind,
            "reverses_entry_id": reverses, "public_name": public_name, "in_kind_description": description,
            "received_on": date(2024, 6, 5)}


ENTRIES = [
    entry("a", 1_000_000, "t1", public_name="Hộ ông Tâm"),
    entry("b", 2_000_000, "t2", "bank_transfer", public_name="Hộ bà Lan"),
    entry("c", 500_000, "t1", public_name="Hộ ông Tâm"),
    entry("d", 0, "t2", "in_kind", description="50 m dây cáp", public_name="Cửa hàng Hòa Bình"),
    entry("e", 300_000, "t2", public_name="Hộ đã hoàn"),
    entry("ra", -400_000, "t1", kind="refund", reverses="a"),
    entry("re", -300_000, "t2", kind="void", reverses="e"),
]


def test_totals_by_team_and_channel_add_up_to_the_ledger_sum():
    report = build_report(CAMPAIGN, {"t1": "Tổ 1", "t2": None}, ENTRIES,
                          [{"item": "Camera", "amount_vnd": 2_000_000}, {"item": "Camera", "amount_vnd": 100_000}])
    ledger_sum = sum(e["amount_vnd"] for e in ENTRIES)
    assert report["raised_vnd"] == ledger_sum == 3_100_000
    assert report["by_team"] == [{"team_id": "t1", "team_name": "Tổ 1", "raised_vnd": 1_100_000},
                                 {"team_id": "t2", "team_name": None, "raised_vnd": 2_000_000}]
    assert report["by_channel"] == {"cash": 1_100_000, "bank_transfer": 2_000_000}
    assert report["reversed_vnd"] == 700_000 and report["contributions"] == 5
    assert report["spent_by_item"] == [{"item": "Camera", "amount_vnd": 2_100_000}]
    assert report["balance_vnd"] == 1_000_000


def test_honour_roll_shows_net_amounts_of_named_donors_and_drops_voided_gifts():
    report = build_report(CAMPAIGN, {}, ENTRIES, [])
    assert report["honour_roll"] == [
        {"name": "Hộ bà Lan", "amount_vnd": 2_000_000, "gifts": 1},
        {"name": "Hộ ông Tâm", "amount_vnd": 1_100_000, "gifts": 2},
        {"name": "Cửa hàng Hòa Bình", "amount_vnd": 0, "gifts": 1},
    ]
    assert report["in_kind_gifts"][0]["description"] == "50 m dây cáp"


def test_csv_carries_the_same_totals():
    report = build_report(CAMPAIGN, {"t1": "Tổ 1"}, ENTRIES, [{"item": "Camera", "amount_vnd": 2_000_000}])
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    totals = {r["label"]: int(r["amount_vnd"]) for r in rows if r["section"] == "total"}
    assert totals == {"raised": 3_100_000, "reversed": 700_000, "spent": 2_000_000, "balance": 1_100_000}
    assert sum(int(r["amount_vnd"]) for r in rows if r["section"] == "by_team") == 3_100_000


def test_csv_neutralises_typed_text_and_keeps_negative_amounts_numbers():
    hostile = [entry("a", 1_000_000, "t1", public_name="=HYPERLINK(\"http://x.example\",\"Tâm\")"),
               entry("d", 0, "t2", "in_kind", description="+cmd|' /C calc'!A0", public_name="@Hòa Bình")]
    report = build_report({**CAMPAIGN, "name": "-Camera"}, {"t1": "\tTổ 1", "t2": " =1+1"}, hostile,
                          [{"item": "=2*3", "amount_vnd": 3_000_000}])
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    cells = [c for r in rows for c in r]
    for typed in ("=HYPERLINK(\"http://x.example\",\"Tâm\")", "+cmd|' /C calc'!A0", "@Hòa Bình", "-Camera",
                  "\tTổ 1", " =1+1", "=2*3"):
        assert "'" + typed in cells and typed not in cells
    assert ["total", "balance", "-2000000", ""] in rows  # a negative balance is still a number
