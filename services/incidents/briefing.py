"""The monthly briefing (giao ban) of a residential group: what police and the ward go through each month.

Pure functions: ``summarise`` turns the month's rows (``repository_briefing.BriefingRepository.month``) into the
document, ``render_html`` prints it. It names no reporter and no warned person (ids and counts only), so police
and ward officials can both read it.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Any, get_args

from services.incidents.repository_briefing import MonthRows
from shared.contracts.incidents import WarningKind


def _count(rows: list[dict[str, Any]], key: str, weight: str | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r[key]] = counts.get(r[key], 0) + (r[weight] if weight else 1)
    return counts


def summarise(group: dict[str, Any], month: str, rows: MonthRows, today: date) -> dict[str, Any]:
    by_category = _count(rows.incident_counts, "category", "n")
    return {
        "ward_id": group["ward_id"], "group_id": group["group_id"], "group_name": group["name"], "month": month,
        "prepared_on": today.isoformat(),
        "incidents": {"total": sum(by_category.values()), "by_category": by_category,
                      "by_state": _count(rows.incident_counts, "state", "n")},
        "overdue_tips": rows.overdue_tips,
        "warnings": {"total": len(rows.warnings),
                     "by_kind": {k: sum(1 for w in rows.warnings if w["kind"] == k) for k in get_args(WarningKind)},
                     "items": rows.warnings},
        "residence_checks": {
            "temporary_residences_expiring_or_expired": [
                {**r, "expired": r["status"] == "expired" or (r["valid_until"] is not None and r["valid_until"] < today)}
                for r in rows.residences],
            "late_stay_notices": rows.late_stays,
        },
        "mediations": {"by_status": _count(rows.mediation_cases, "status"), "cases": rows.mediation_cases},
    }


_CSS = """
@page { size: A4; margin: 18mm; }
body { font-family: 'Times New Roman', serif; font-size: 12pt; color: #000; }
h1 { font-size: 16pt; text-align: center; margin-bottom: 2mm; }
h2 { font-size: 13pt; border-bottom: 1px solid #000; margin-top: 6mm; }
table { border-collapse: collapse; width: 100%; page-break-inside: avoid; }
th, td { border: 1px solid #000; padding: 1.5mm 2mm; text-align: left; }
.meta { text-align: center; font-style: italic; }
@media print { a { color: #000; text-decoration: none; } }
"""

LABELS = {"theft": "Trộm cắp (theft)", "fraud": "Lừa đảo (fraud)", "drugs": "Ma túy (drugs)",
          "fire": "Cháy nổ (fire)", "dispute": "Tranh chấp (dispute)",
          "public_order": "Trật tự công cộng (public order)", "other": "Khác (other)"}


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "<p>Không có (none).</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(b: dict[str, Any]) -> str:
    """A printable A4 document (print CSS) of the briefing; every value is escaped."""
    inc, res, med, warn = b["incidents"], b["residence_checks"], b["mediations"], b["warnings"]
    parts = [
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'>",
        f"<title>Giao ban {html.escape(b['group_name'])} {html.escape(b['month'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Báo cáo giao ban tháng {html.escape(b['month'])}</h1>",
        f"<p class='meta'>{html.escape(b['group_name'])} · lập ngày {html.escape(b['prepared_on'])}</p>",
        f"<h2>1. Tin báo, vụ việc (incidents): {inc['total']}</h2>",
        _table(["Loại (category)", "Số vụ"], [[LABELS.get(k, k), v] for k, v in inc["by_category"].items()]),
        _table(["Trạng thái (state)", "Số vụ"], [[k, v] for k, v in inc["by_state"].items()]),
        "<h2>2. Tố giác quá hạn (overdue crime tips)</h2>",
        _table(["Mã", "Loại", "Hạn", "Trạng thái"],
               [[o["incident_id"], LABELS.get(o["category"], o["category"]), o["deadline_on"], o["state"]]
                for o in b["overdue_tips"]]),
        f"<h2>3. Gọi hỏi, răn đe (warnings): {warn['total']}</h2>",
        _table(["Hình thức", "Số lượt"], [["Gọi hỏi (summons)", warn["by_kind"]["summons"]],
                                           ["Răn đe (admonition)", warn["by_kind"]["admonition"]]]),
        "<h2>4. Kiểm tra cư trú (residence checks due)</h2>",
        _table(["Tạm trú (declaration)", "Cư dân (resident id)", "Hết hạn (valid until)", "Đã hết hạn"],
               [[r["declaration_id"], r["resident_id"], r["valid_until"] or "", "có" if r["expired"] else "sắp"]
                for r in res["temporary_residences_expiring_or_expired"]]),
        _table(["Thông báo lưu trú trễ (late stay notice)", "Khu nhà trọ", "Đến lúc", "Báo lúc"],
               [[s["notice_id"], s["boarding_house_id"], s["arrived_at"], s["notified_at"]]
                for s in res["late_stay_notices"]]),
        "<h2>5. Hòa giải (mediations)</h2>",
        _table(["Vụ (case)", "Loại", "Trạng thái", "Từ tin báo"],
               [[c["case_id"], c["kind"], c["status"], c["referral_incident_id"] or ""] for c in med["cases"]]),
        "</body></html>",
    ]
    return "".join(parts)
