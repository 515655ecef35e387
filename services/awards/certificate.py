"""Printable documents: the certificate of merit (Giấy khen) and the festival's list of awards.

Pure: what to print comes in (an award, the festival's rows, as the repositories read them); bytes go out.

Vietnamese needs a Unicode font with its stacked diacritics (ấ, ệ, ử...): the PDF embeds a subset of Source
Serif Pro (SIL OFL, shipped by the ``font-source-serif-pro`` package), never a core PDF font, which has no
glyph for most Vietnamese letters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import font_source_serif_pro

if TYPE_CHECKING:  # fpdf2 (and the Pillow and fontTools it loads) is imported when a PDF is first drawn: ~35 MiB
    from fpdf import FPDF  # that a service which never draws one in its life does not keep resident

FONT = "SourceSerif"
REGULAR_TTF = font_source_serif_pro.font_files_ttf["SourceSerifPro"]
BOLD_TTF = font_source_serif_pro.font_files_ttf["SourceSerifProBold"]
ANONYMOUS_REPORTER = "Người tố giác tội phạm (ẩn danh)"
KIND_LABEL = {"collective": "Tập thể", "individual": "Cá nhân", "reporter": "Cá nhân"}


@dataclass(frozen=True)
class CertificateText:
    """What a certificate says, in the words printed on it."""

    issuer_title: str  # "CHỦ TỊCH ỦY BAN NHÂN DÂN THÀNH PHỐ THANH HÓA"
    recipient: str
    recipient_kind: str
    citation: str
    decision_number: str
    decision_date: date
    verification_code: str
    signer_name: str | None = None
    revoked: bool = False

    def lines(self) -> list[str]:
        d = self.decision_date
        lines = [
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            self.issuer_title.upper(),
            "tặng",
            "GIẤY KHEN",
            f"{KIND_LABEL.get(self.recipient_kind, 'Cá nhân')}: {self.recipient}",
            f"Đã có thành tích: {self.citation}",
            f"Quyết định số {self.decision_number} ngày {d.day:02d} tháng {d.month:02d} năm {d.year}",
            f"Mã xác thực: {self.verification_code}",
        ]
        if self.signer_name:
            lines.append(self.signer_name)
        if self.revoked:
            lines.append("ĐÃ THU HỒI")
        return lines


def recipient_display(row: Any) -> str:
    """The name printed: a reporter stays anonymous unless they chose a name to be known by."""
    if row["recipient_kind"] == "reporter":
        return row["claimed_name"] or ANONYMOUS_REPORTER
    return row["recipient_name"] or row["recipient_ref"]


def certificate_text(award: Mapping[str, Any]) -> CertificateText:
    """What the certificate of this award says, now (a revoked one says so; a reporter's name only if chosen)."""
    a = award
    return CertificateText(
        issuer_title=a["issuer_title"], recipient=recipient_display(a), recipient_kind=a["recipient_kind"],
        citation=a["title"], decision_number=a["decision_number"], decision_date=a["decision_date"],
        verification_code=a["verification_code"], signer_name=a["signer_name"], revoked=a["status"] == "revoked",
    )


def festival_document(ward_id: str, ward_name: str, year: int, awards: Sequence[Mapping[str, Any]],
                      achievements: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The festival's list (its JSON, and the rows ``render_festival`` prints): each granted award, in the order
    given, with the achievements and events behind it."""
    by_id = {r["achievement_id"]: r for r in achievements}
    rows = []
    for a in awards:
        rows.append({
            "award_id": a["award_id"], "recipient_kind": a["recipient_kind"], "recipient_ref": a["recipient_ref"],
            "recipient": recipient_display(a), "title": a["title"], "issuer": a["issuer"],
            "issuer_title": a["issuer_title"], "decision_number": a["decision_number"],
            "decision_date": a["decision_date"], "verification_code": a["verification_code"],
            "achievements": [
                {"achievement_id": aid, "kind": by_id[aid]["kind"], "count": by_id[aid]["count"],
                 "amount_vnd": by_id[aid]["amount_vnd"], "evidence_event_ids": list(by_id[aid]["evidence_event_ids"])}
                for aid in a["achievement_ids"] if aid in by_id
            ],
        })
    return {"ward_id": ward_id, "ward_name": ward_name, "year": year, "awards": rows}


def _document(title: str, orientation: str = "L") -> FPDF:
    from fpdf import FPDF

    pdf = FPDF(orientation=orientation, unit="mm", format="A4")
    pdf.set_title(title)
    pdf.set_creator("ward-platform awards")
    # A fixed creation date: the same award renders to the same bytes (the issued digest stays meaningful).
    pdf.set_creation_date(datetime(2000, 1, 1, tzinfo=UTC))
    pdf.add_font(FONT, "", REGULAR_TTF)
    pdf.add_font(FONT, "B", BOLD_TTF)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    return pdf


def render_certificate(cert: CertificateText) -> bytes:
    pdf = _document("Giấy khen")
    width = pdf.w - 2 * pdf.l_margin
    pdf.set_draw_color(160, 20, 20)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, pdf.w - 16, pdf.h - 16)
    header, motto, issuer, gives, title, recipient, citation, decision, code, *rest = cert.lines()

    def line(text: str, size: float, style: str = "", height: float = 9, color: tuple[int, int, int] = (0, 0, 0)) -> None:
        pdf.set_font(FONT, style, size)
        pdf.set_text_color(*color)
        pdf.multi_cell(width, height, text, align="C", new_x="LMARGIN", new_y="NEXT")

    pdf.set_y(18)
    line(header, 13, "B", 7)
    line(motto, 12, "", 7)
    pdf.ln(6)
    line(issuer, 15, "B")
    line(gives, 13)
    line(title, 36, "B", 18, (170, 20, 20))
    pdf.ln(3)
    line(recipient, 18, "B", 11)
    line(citation, 14, "", 8)
    pdf.ln(4)
    line(decision, 12, "", 7)
    line(code, 12, "B", 7)
    for extra in rest:
        if extra == "ĐÃ THU HỒI":
            line(extra, 20, "B", 12, (170, 20, 20))
        else:
            pdf.ln(10)
            line(extra, 13, "B", 7)
    return bytes(pdf.output())


def render_festival(ward_name: str, year: int, rows: list[dict[str, Any]]) -> bytes:
    """The festival's list (Ngày hội toàn dân bảo vệ an ninh Tổ quốc): who receives what from which issuer."""
    pdf = _document(f"Danh sách khen thưởng {year}", orientation="P")
    width = pdf.w - 2 * pdf.l_margin
    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(width, 8, f"NGÀY HỘI TOÀN DÂN BẢO VỆ AN NINH TỔ QUỐC NĂM {year}", align="C",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 12)
    pdf.multi_cell(width, 7, f"{ward_name} - Danh sách tập thể, cá nhân được khen thưởng", align="C",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    current = None
    for n, row in enumerate(rows, start=1):
        if row["issuer_title"] != current:
            current = row["issuer_title"]
            pdf.ln(2)
            pdf.set_font(FONT, "B", 12)
            pdf.multi_cell(width, 7, f"Giấy khen của {current}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 11)
        decision = f"QĐ số {row['decision_number']} ngày {row['decision_date']:%d/%m/%Y}"
        pdf.multi_cell(width, 6, f"{n}. {KIND_LABEL[row['recipient_kind']]}: {row['recipient']} - {row['title']} "
                                 f"({decision}; mã {row['verification_code']})", new_x="LMARGIN", new_y="NEXT")
    if not rows:
        pdf.set_font(FONT, "", 11)
        pdf.multi_cell(width, 6, "Chưa có khen thưởng.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
