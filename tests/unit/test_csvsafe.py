"""The one CSV writer every export uses (shared/csvsafe.py): formula cells neutralised, numbers kept."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from shared import csvsafe

ROOT = Path(__file__).resolve().parents[2]


def test_text_starting_like_a_formula_gets_a_single_quote_and_stays_otherwise_intact():
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "  =1", "\u00a0@x"):
        assert csvsafe.neutralise(value) == "'" + value
    for value in ("Nguyễn Văn An", "1-2", "a=b", "", "'already"):
        assert csvsafe.neutralise(value) == value


def test_numbers_dates_and_empty_cells_are_written_as_they_are():
    out = io.StringIO()
    csvsafe.writer(out, lineterminator="\n").writerow([-500_000, Decimal("-1.5"), date(2024, 6, 1), None, "-x"])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["-500000", "-1.5", "2024-06-01", "", "'-x"]]


def test_every_csv_export_writes_through_the_shared_writer():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "services").rglob("*.py")
                 if re.search(r"^\s*(import csv|from csv import)", p.read_text(encoding="utf-8"), re.M)]
    assert offenders == []  # use shared.csvsafe.writer
    users = [p.name for p in (ROOT / "services").rglob("*.py") if "csvsafe.writer(" in p.read_text(encoding="utf-8")]
    assert sorted(users) == ["recordbook.py", "report.py"]
