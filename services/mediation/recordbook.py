"""The record book of grassroots mediation (sổ theo dõi hoạt động hòa giải ở cơ sở) of a team for a year.

Part I has one row per case received that year, with the columns of the official form; Part II sums the year
up by result, by kind of dispute and by mediator. Pure: the repository loads the year's cases
(``CaseRepository.of_team_year``); ``build`` arranges them as the form; ``to_csv`` and ``to_html`` render it (the
HTML carries print CSS, so the ward prints it from a browser, landscape A4).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping
from html import escape
from typing import Any

from services.mediation import domain
from services.mediation.domain import KIND_LABELS_VI, KINDS, CaseFile, Status
from shared import csvsafe

PART_I_COLUMNS = [
    ("stt", "STT"),
    ("date_received", "Ngày, tháng, năm nhận vụ việc"),
    ("mediators_and_invitees", "Họ tên hòa giải viên / người được mời tham gia hòa giải"),
    ("parties", "Họ tên các bên"),
    ("content", "Nội dung vụ việc"),
    ("agreement_or_demands", "Thỏa thuận hoặc yêu cầu của các bên"),
    ("result", "Kết quả (Thành / Không thành)"),
    ("notes", "Ghi chú"),
]


def build(team: Mapping[str, Any], year: int, cases: list[CaseFile]) -> dict[str, Any]:
    """The book of ``team`` for ``year`` from the cases it received that year, in the order received."""
    rows = []
    by_status: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
    by_mediator: dict[str, dict[str, Any]] = {}
    for stt, file in enumerate(cases, start=1):
        case, parties, mediators = file.case, file.parties, file.mediators
        invitees = [f"{i['name']} ({i['relation']})" for s in file.sessions for i in s["invitees"]]
        status = case["status"]
        by_status[status] += 1
        by_kind[case["kind"]][status] += 1
        for m in mediators:
            entry = by_mediator.setdefault(m["mediator_id"], {"mediator_id": m["mediator_id"],
                                                              "full_name": m["full_name"], "cases": 0,
                                                              "succeeded": 0, "failed": 0})
            entry["cases"] += 1
            if status in (Status.SUCCEEDED, Status.FAILED):
                entry[status] += 1
        rows.append({
            "stt": stt,
            "case_id": case["case_id"],
            "date_received": case["received_on"].strftime("%d/%m/%Y"),
            "mediators_and_invitees": "; ".join([m["full_name"] for m in mediators] + list(dict.fromkeys(invitees))),
            "parties": "; ".join(p.display_name for p in parties),
            "kind": case["kind"],
            "content": case["summary"],
            "agreement_or_demands": _agreement_or_demands(case),
            "result": domain.result_label_vi(status),
            "status": status,
            "notes": _notes(case, file.follow_ups),
        })
    return {
        "team_id": team["team_id"],
        "team_name": team["name"],
        "group_id": team["group_id"],
        "year": year,
        "part_i": rows,
        "part_ii": {
            "received": len(rows),
            "succeeded": by_status[Status.SUCCEEDED],
            "failed": by_status[Status.FAILED],
            "withdrawn": by_status[Status.WITHDRAWN],
            "refused": by_status[Status.REFUSED],
            "in_progress": by_status[Status.RECEIVED] + by_status[Status.IN_MEDIATION],
            "by_kind": {k: {"received": sum(c.values()), "succeeded": c[Status.SUCCEEDED],
                            "failed": c[Status.FAILED]} for k, c in by_kind.items()},
            "by_mediator": sorted(by_mediator.values(), key=lambda e: (-e["succeeded"], e["full_name"])),
        },
    }


def _agreement_or_demands(case: Mapping[str, Any]) -> str:
    if case["agreement"]:
        by = f", hạn {case['carry_out_by'].strftime('%d/%m/%Y')}" if case["carry_out_by"] else ""
        return f"{case['agreement']} (thực hiện: {case['carry_out_how']}{by})"
    if case["demands"]:
        return case["demands"]
    return case["refusal_reason"] or ""


def _notes(case: Mapping[str, Any], follow_ups: list[Mapping[str, Any]]) -> str:
    notes = []
    if case["origin"] == "referral":
        notes.append("Chuyển từ tin báo")
    if case["directed_to"]:
        notes.append(f"Hướng dẫn đến: {case['directed_to']}")
    if case["withdrawal_reason"]:
        notes.append(f"Rút yêu cầu: {case['withdrawal_reason']}")
    if follow_ups:
        last = follow_ups[-1]
        notes.append(f"Theo dõi {last['checked_on'].strftime('%d/%m/%Y')}: {last['progress']}")
    return "; ".join(notes)


def to_csv(book: dict[str, Any]) -> str:
    """Part I as CSV (UTF-8 with BOM, so spreadsheet software shows Vietnamese), then Part II below it."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csvsafe.writer(out)
    w.writerow([label for _, label in PART_I_COLUMNS])
    for row in book["part_i"]:
        w.writerow([row[key] for key, _ in PART_I_COLUMNS])
    p2 = book["part_ii"]
    w.writerow([])
    w.writerow(["Phần II", "Tổng hợp"])
    for key in ("received", "succeeded", "failed", "withdrawn", "refused", "in_progress"):
        w.writerow([key, p2[key]])
    for kind, c in p2["by_kind"].items():
        w.writerow([f"kind:{kind}", c["received"], c["succeeded"], c["failed"]])
    for m in p2["by_mediator"]:
        w.writerow([f"mediator:{m['full_name']}", m["cases"], m["succeeded"], m["failed"]])
    return out.getvalue()


_CSS = """
body { font-family: 'Times New Roman', serif; font-size: 12pt; margin: 1.5cm; }
h1, h2 { text-align: center; } table { border-collapse: collapse; width: 100%; margin-bottom: 1em; }
th, td { border: 1px solid #000; padding: 4px; vertical-align: top; }
@page { size: A4 landscape; margin: 1.5cm; }
@media print { body { margin: 0; } tr { page-break-inside: avoid; } }
"""


def to_html(book: dict[str, Any]) -> str:
    e = escape
    head = "".join(f"<th>{e(label)}</th>" for _, label in PART_I_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(str(row[key]))}</td>" for key, _ in PART_I_COLUMNS) + "</tr>"
        for row in book["part_i"]
    )
    p2 = book["part_ii"]
    kinds = "".join(
        f"<tr><td>{e(KIND_LABELS_VI[k])}</td><td>{c['received']}</td><td>{c['succeeded']}</td>"
        f"<td>{c['failed']}</td></tr>" for k, c in p2["by_kind"].items()
    )
    mediators = "".join(
        f"<tr><td>{e(m['full_name'])}</td><td>{m['cases']}</td><td>{m['succeeded']}</td><td>{m['failed']}</td></tr>"
        for m in p2["by_mediator"]
    )
    title = f"SỔ THEO DÕI HOẠT ĐỘNG HÒA GIẢI Ở CƠ SỞ - {e(book['team_name'] or book['team_id'])} - NĂM {book['year']}"
    return (
        f"<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_CSS}</style></head><body><h1>{title}</h1>"
        f"<h2>Phần I. Theo dõi vụ việc</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f"<h2>Phần II. Tổng hợp</h2><table><tbody>"
        f"<tr><th>Vụ việc tiếp nhận</th><td>{p2['received']}</td></tr>"
        f"<tr><th>Hòa giải thành</th><td>{p2['succeeded']}</td></tr>"
        f"<tr><th>Hòa giải không thành</th><td>{p2['failed']}</td></tr>"
        f"<tr><th>Rút yêu cầu</th><td>{p2['withdrawn']}</td></tr>"
        f"<tr><th>Không thuộc phạm vi hòa giải</th><td>{p2['refused']}</td></tr>"
        f"<tr><th>Đang hòa giải</th><td>{p2['in_progress']}</td></tr></tbody></table>"
        f"<table><thead><tr><th>Loại vụ việc</th><th>Tiếp nhận</th><th>Thành</th><th>Không thành</th></tr></thead>"
        f"<tbody>{kinds}</tbody></table>"
        f"<table><thead><tr><th>Hòa giải viên</th><th>Vụ việc</th><th>Thành</th><th>Không thành</th></tr></thead>"
        f"<tbody>{mediators}</tbody></table></body></html>"
    )

