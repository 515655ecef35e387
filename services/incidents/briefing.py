"""The monthly briefing (giao ban) of a residential group: what police and the ward go through each month.

Built from this service's own tables and its projections of registry and mediation events; it names no
reporter and no warned person (ids and counts only), so police and ward officials can both read it.
"""

from __future__ import annotations

import html
from datetime import date, datetime, time
from typing import Any

import asyncpg

from services.incidents import repository as repo
from services.incidents.domain import add_months
from shared.clock import WARD_TZ
from shared.errors import InvalidInput


def month_bounds(month: str) -> tuple[date, date]:
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError as exc:
        raise InvalidInput("month must be YYYY-MM") from exc
    return first, add_months(first, 1)


def _instant(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=WARD_TZ)


async def build(conn: asyncpg.Connection, ward_id: str, group_id: str, month: str, today: date) -> dict[str, Any]:
    start, end = month_bounds(month)
    t0, t1 = _instant(start), _instant(end)
    group = await repo.group(conn, group_id)
    if group is None or group["ward_id"] != ward_id:
        raise InvalidInput(f"unknown residential group {group_id!r} in this ward")
    incidents = await conn.fetch(
        "SELECT category, state, count(*) AS n FROM incidents WHERE ward_id = $1 AND group_id = $2 "
        "AND received_at >= $3 AND received_at < $4 GROUP BY category, state ORDER BY category, state",
        ward_id, group_id, t0, t1,
    )
    by_category: dict[str, int] = {}
    by_state: dict[str, int] = {}
    for r in incidents:
        by_category[r["category"]] = by_category.get(r["category"], 0) + r["n"]
        by_state[r["state"]] = by_state.get(r["state"], 0) + r["n"]
    # Overdue tips: flagged by the scheduled check, still undecided, received up to the end of the month.
    overdue = await conn.fetch(
        "SELECT incident_id, category, deadline_on, state FROM incidents WHERE ward_id = $1 AND group_id = $2 "
        "AND is_crime_tip AND overdue_flagged_on IS NOT NULL AND state NOT IN ('resolved', 'closed') "
        "AND received_at < $3 ORDER BY deadline_on",
        ward_id, group_id, t1,
    )
    # A document of one group's month, not a list: its rows are bounded by that scope (GET /v1/warnings pages).
    warnings = await conn.fetch(
        "SELECT * FROM warnings WHERE ward_id = $1 AND group_id = $2 AND issued_on >= $3 AND issued_on < $4 "
        "ORDER BY issued_on, warning_id", ward_id, group_id, start, end)
    expiring = await conn.fetch(
        "SELECT declaration_id, resident_id, valid_until, status FROM temporary_residences "
        "WHERE ward_id = $1 AND group_id = $2 AND ((status = 'active' AND valid_until < $4) "
        "OR (status = 'expired' AND changed_on < $4 AND changed_on >= $3)) ORDER BY valid_until NULLS LAST",
        ward_id, group_id, start, end,
    )
    late_stays = await conn.fetch(
        "SELECT notice_id, boarding_house_id, arrived_at, notified_at FROM stay_notices WHERE ward_id = $1 "
        "AND group_id = $2 AND late AND arrived_at >= $3 AND arrived_at < $4 ORDER BY arrived_at",
        ward_id, group_id, t0, t1,
    )
    cases = await conn.fetch(
        "SELECT case_id, kind, origin, status, referral_incident_id, concluded_on FROM mediation_cases "
        "WHERE ward_id = $1 AND group_id = $2 AND (status = 'open' OR (concluded_on >= $3 AND concluded_on < $4) "
        "OR (opened_at >= $5 AND opened_at < $6)) ORDER BY case_id",
        ward_id, group_id, start, end, t0, t1,
    )
    mediation_by_status: dict[str, int] = {}
    for c in cases:
        mediation_by_status[c["status"]] = mediation_by_status.get(c["status"], 0) + 1
    return {
        "ward_id": ward_id, "group_id": group_id, "group_name": group["name"], "month": month,
        "prepared_on": today.isoformat(),
        "incidents": {"total": sum(by_category.values()), "by_category": by_category, "by_state": by_state},
        "overdue_tips": [dict(r) for r in overdue],
        "warnings": {"total": len(warnings),
                     "by_kind": {k: sum(1 for w in warnings if w["kind"] == k) for k in ("summons", "admonition")},
                     "items": [{"warning_id": w["warning_id"], "kind": w["kind"], "issued_on": w["issued_on"],
                                "incident_id": w["incident_id"]} for w in warnings]},
        "residence_checks": {
            "temporary_residences_expiring_or_expired": [
                {**dict(r), "expired": r["status"] == "expired" or (r["valid_until"] is not None
                                                                    and r["valid_until"] < today)}
                for r in expiring],
            "late_stay_notices": [dict(r) for r in late_stays],
        },
        "mediations": {"by_status": mediation_by_status, "cases": [dict(c) for c in cases]},
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
