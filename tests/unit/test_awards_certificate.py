"""The certificate of merit (Giấy khen) is a PDF whose Vietnamese text is drawn, not replaced or dropped."""

from __future__ import annotations

from datetime import date

import pypdfium2 as pdfium
import pytest
from fpdf import FPDF
from PIL import ImageChops

from services.awards.certificate import (
    ANONYMOUS_REPORTER,
    CertificateText,
    recipient_display,
    render_certificate,
    render_festival,
)

CERT = CertificateText(
    issuer_title="Chủ tịch Ủy ban nhân dân thành phố Thanh Hóa",
    recipient="Tổ hòa giải tổ dân phố Trần Phú",
    recipient_kind="collective",
    citation="Đã hòa giải thành công 10 vụ việc, góp phần giữ vững an ninh trật tự năm 2024",
    decision_number="2345/QĐ-UBND",
    decision_date=date(2024, 8, 10),
    verification_code="GK-2024-ABCD-EFGH",
    signer_name="Nguyễn Văn Ất",
)


def _text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def test_the_pdf_says_in_vietnamese_who_is_rewarded_by_whom_and_under_which_decision():
    text = _text(render_certificate(CERT)).replace("\r", "")
    for line in CERT.lines():
        assert line in text
    assert "GIẤY KHEN" in text
    assert "CHỦ TỊCH ỦY BAN NHÂN DÂN THÀNH PHỐ THANH HÓA" in text
    assert "Quyết định số 2345/QĐ-UBND ngày 10 tháng 08 năm 2024" in text
    assert "Mã xác thực: GK-2024-ABCD-EFGH" in text


def test_the_font_is_embedded():
    pdf = render_certificate(CERT)
    assert b"/FontFile2" in pdf  # an embedded TrueType program, not a reference to a viewer's font
    assert b"SourceSerif" in pdf
    assert b"/Helvetica" not in pdf and b"/Times-Roman" not in pdf


def _render_line(text: str) -> object:
    """One line drawn with the certificate's font, as pixels."""
    from services.awards.certificate import FONT, REGULAR_TTF

    pdf = FPDF(format=(120, 20))
    pdf.add_font(FONT, "", REGULAR_TTF)
    pdf.add_page()
    pdf.set_font(FONT, "", 24)
    pdf.text(5, 14, text)
    page = pdfium.PdfDocument(bytes(pdf.output()))[0]
    return page.render(scale=3).to_pil().convert("L")


def test_the_diacritics_are_drawn_as_glyphs():
    # Each Vietnamese mark changes the picture: the accented line differs from its bare letters, and each
    # accented letter differs from the others (a missing glyph would draw the same box, or nothing).
    accented, bare = _render_line("Giấy khen ỦY BAN"), _render_line("Giay khen UY BAN")
    assert ImageChops.difference(accented, bare).getbbox() is not None
    letters = ["ấ", "ầ", "ẩ", "ẫ", "ậ", "ệ", "ử", "ỹ"]
    images = [_render_line(c).tobytes() for c in letters]
    assert len(set(images)) == len(letters)
    # and the accented line has more ink above the letters than the bare one (marks sit above the x-height)
    top = (0, 0, accented.width, accented.height // 3)
    ink = lambda img: sum(255 - p for p in img.crop(top).getdata())  # noqa: E731
    assert ink(accented) > ink(bare)


def test_a_core_pdf_font_cannot_even_write_vietnamese():
    # Why the font is embedded: the built-in Helvetica has no glyph for "ấ".
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    with pytest.raises(Exception, match="(?i)outside the range|not supported|encode"):
        pdf.cell(text="Giấy khen")
        pdf.output()


def test_a_revoked_certificate_says_so_and_an_anonymous_reporter_stays_anonymous():
    revoked = CertificateText(**{**CERT.__dict__, "revoked": True})
    assert "ĐÃ THU HỒI" in _text(render_certificate(revoked))
    row = {"recipient_kind": "reporter", "claimed_name": None, "recipient_name": None, "recipient_ref": "rep-abc"}
    assert recipient_display(row) == ANONYMOUS_REPORTER
    assert recipient_display({**row, "claimed_name": "Anh Tư"}) == "Anh Tư"


def test_the_festival_list_is_printable():
    rows = [{"recipient_kind": "collective", "recipient": "Tổ hòa giải Trần Phú", "title": "Thành tích xuất sắc",
             "issuer_title": "Chủ tịch UBND thành phố Thanh Hóa", "decision_number": "1/QĐ-UBND",
             "decision_date": date(2024, 8, 10), "verification_code": "GK-2024-AAAA-BBBB"}]
    text = _text(render_festival("Phường Phú Sơn", 2024, rows))
    assert "NGÀY HỘI TOÀN DÂN BẢO VỆ AN NINH TỔ QUỐC NĂM 2024" in text
    assert "Tổ hòa giải Trần Phú" in text and "Giấy khen của Chủ tịch UBND thành phố Thanh Hóa" in text
