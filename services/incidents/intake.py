"""Reports in by SMS and Zalo (issue 17): what an inbound text says, and the texts sent back. Pure functions.

An inbound text starts with a keyword, or not (then it is an anonymous tip). Keywords are matched on the text
folded to upper-case ASCII (diacritics dropped, đ -> D), so ``trả lời``, ``TRA LOI`` and ``Tra loi`` are the same
keyword; the rest of the text is kept as it was typed.

=====================  ==========================================  ===========================================
keyword                what                                        form
=====================  ==========================================  ===========================================
(none), ``TG``,        an anonymous tip (the default)              ``<text>`` / ``TO GIAC <text>``
``TO GIAC``
``BT``                 an identified report (báo tin có tên): the  ``BT <full name>: <text>``
                       sender's number is kept encrypted, like
                       any reporter's
``TD``, ``THEO DOI``   follow up an anonymous tip                  ``TD <code> <secret>``
``TL``, ``TRA LOI``    answer the police's question on the tip     ``TL <code> <secret> <text>``
``HD``, ``HUONG DAN``  how to use the line                         ``HD``
=====================  ==========================================  ===========================================

Only the two-letter keywords are sure to be keywords. A text that starts with a spelt-out one (``Theo dõi thấy...``,
``Trả lời...``, ``Hướng dẫn...``) but does not have its form (a follow-up code after it, nothing after ``HUONG DAN``)
is an anonymous tip like any other text, and the identified report has only its short keyword: the anonymous tip
stays the default whenever a text is ambiguous, so that nobody's number is kept who did not ask for it.

A follow-up code is ``TB-XXXXX-XXXXX`` (``domain.new_follow_up_code``); it is matched case-insensitively and with
or without its dashes. The secret is matched exactly (it is case-sensitive).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

#: The longest inbound text taken (a long SMS is at most ~10 concatenated parts; Zalo allows more): beyond it the
#: text is cut, and the reply says so.
MAX_TEXT = 2000
#: The shortest text that is a report (``ReportIncident.description`` asks for 5 characters).
MIN_REPORT = 5

Kind = Literal["tip", "report", "follow_up", "answer", "help", "invalid"]

#: Keywords (folded: upper-case ASCII, single spaces) -> the kind of message they start. Longest first matters
#: only for prefixes of one another; matching is on whole words.
KEYWORDS: dict[str, Kind] = {
    "TO GIAC": "tip", "TG": "tip",
    "BT": "report",
    "THEO DOI": "follow_up", "TD": "follow_up",
    "TRA LOI": "answer", "TL": "answer",
    "HUONG DAN": "help", "HD": "help", "HELP": "help",
}

#: C0/C1 controls but tab and newline, DEL, lone surrogates: what PostgreSQL refuses (NUL) or what has no business
#: in a report. A GSM gateway may hand on the GSM 7-bit "@" (0x00) as NUL: it is dropped, not refused, so that the
#: sender's message is not lost for one character.
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CODE = re.compile(r"^TB-?([A-Z2-9]{5})-?([A-Z2-9]{5})$")


@dataclass(frozen=True)
class Inbound:
    """What an inbound text asks for. ``text``: the report's or the answer's text; ``name``: an identified
    reporter's name; ``code`` and ``secret``: a follow-up's; ``problem``: why an ``invalid`` message is one."""

    kind: Kind
    text: str = ""
    name: str | None = None
    code: str | None = None
    secret: str | None = None
    cut: bool = False
    problem: str | None = None


def clean(text: str) -> tuple[str, bool]:
    """The text without what cannot or should not be stored, whitespace trimmed, at most ``MAX_TEXT`` characters;
    and whether it was cut."""
    text = unicodedata.normalize("NFC", _UNWANTED.sub("", text)).replace("\r\n", "\n").strip()
    return (text[:MAX_TEXT].rstrip(), True) if len(text) > MAX_TEXT else (text, False)


def fold(text: str) -> str:
    """Upper-case ASCII without diacritics (``Trả lời`` -> ``TRA LOI``), for matching keywords."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()


def ascii_text(text: str) -> str:
    """A reply for SMS: without diacritics, so that it fits the GSM 7-bit alphabet (160 characters a part, not 70)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def normal_code(code: str) -> str | None:
    """``tb-abcde-fghjk``, ``TBABCDEFGHJK`` -> ``TB-ABCDE-FGHJK``; None if it is not a follow-up code."""
    m = _CODE.match(code.strip().upper())
    return f"TB-{m.group(1)}-{m.group(2)}" if m else None


def _keyword(text: str) -> tuple[Kind, str, int]:
    """The kind the first word(s) name, the text after them (as typed) and how many words the keyword took;
    ("tip", text, 0) without a keyword."""
    words = text.split(None, 2)
    for n in (2, 1):
        if len(words) < n:
            continue
        kind = KEYWORDS.get(fold(" ".join(words[:n])).rstrip(":.,"))
        if kind is not None:
            rest = text.split(None, n)
            return kind, (rest[n] if len(rest) > n else "").lstrip(":., ").strip(), n
    return "tip", text, 0


def parse(raw: str) -> Inbound:
    """What an inbound text asks for."""
    text, cut = clean(raw)
    if not text:
        return Inbound("invalid", problem="empty")
    kind, rest, words = _keyword(text)
    found = _parse(kind, rest, cut)
    if words == 2 and (found.kind == "invalid" or (found.kind == "help" and rest)):
        return _parse(kind="tip", rest=text, cut=cut)  # "Theo dõi thấy ...", "Hướng dẫn ...": words, not keywords
    return found


def _parse(kind: Kind, rest: str, cut: bool) -> Inbound:
    if kind == "help":
        return Inbound("help")
    if kind == "tip":
        if len(rest) < MIN_REPORT:
            return Inbound("invalid", problem="too_short")
        return Inbound("tip", text=rest, cut=cut)
    if kind == "report":
        name, sep, body = rest.partition(":")
        name, body = " ".join(name.split()), body.strip()
        if not sep or not (1 <= len(name) <= 200) or len(body) < MIN_REPORT:
            return Inbound("invalid", problem="report_form")  # BT is only a keyword: tell the form
        return Inbound("report", text=body, name=name, cut=cut)
    # follow_up, answer: <code> <secret> [text]
    parts = rest.split(None, 2)
    code = normal_code(parts[0]) if parts else None
    if code is None or len(parts) < 2 or len(parts[1]) > 128:
        return Inbound("invalid", problem=f"{kind}_form")
    if kind == "follow_up":
        return Inbound("follow_up", code=code, secret=parts[1])
    answer = parts[2].strip() if len(parts) > 2 else ""
    if not answer:
        return Inbound("invalid", problem="answer_form")
    return Inbound("answer", code=code, secret=parts[1], text=answer, cut=cut)


# -- what is sent back (Vietnamese; folded to ASCII for SMS by the route) ------------------------------------------
HELP = ("Đường dây tin báo của Công an phường. Gửi: <nội dung> (tố giác ẩn danh, số điện thoại không được lưu); "
        "BT <họ tên>: <nội dung> (báo tin có tên); TD <mã> <mật mã> (theo dõi); TL <mã> <mật mã> <trả lời>.")

PROBLEMS = {
    "empty": "Tin nhắn trống. " + HELP,
    "too_short": "Nội dung quá ngắn. " + HELP,
    "report_form": "Báo tin có tên: BT <họ tên>: <nội dung>. " + HELP,
    "follow_up_form": "Theo dõi: TD <mã> <mật mã>, ví dụ TD TB-ABCDE-FGHJK abc123.",
    "answer_form": "Trả lời: TL <mã> <mật mã> <nội dung trả lời>.",
    "not_found": "Không tìm thấy tin với mã và mật mã này.",
    "rate_limited": "Bạn gửi quá nhiều tin nhắn. Vui lòng thử lại sau.",
}

STATES = {"received": "đã tiếp nhận", "triaged": "đã phân loại", "assigned": "đã giao xử lý",
          "in_progress": "đang xử lý", "resolved": "đã giải quyết", "closed": "đã kết thúc"}


def tip_receipt(code: str, secret: str, *, cut: bool) -> str:
    return (f"Đã nhận tin tố giác ẩn danh. Mã: {code} Mật mã: {secret} . Giữ kín mã và mật mã: chỉ gửi một lần, "
            f"không thể cấp lại. Theo dõi: TD {code} <mật mã>." + (" Tin quá dài đã bị cắt bớt." if cut else ""))


def report_receipt(incident_id: str, *, cut: bool) -> str:
    return (f"Đã nhận tin báo số {incident_id[:8]}. Công an phường sẽ liên hệ lại với bạn."
            + (" Tin quá dài đã bị cắt bớt." if cut else ""))


def follow_up_reply(state: str, questions: list[tuple[int, str]]) -> str:
    """The state of the tip, and the police's questions still unanswered (numbered as the follow-up lists them)."""
    text = f"Tin của bạn {STATES.get(state, state)}."
    for n, question in questions:
        text += f" Câu hỏi {n} của Công an: {question}"
    if questions:
        text += " Trả lời: TL <mã> <mật mã> <nội dung>."
    return text


def answer_receipt() -> str:
    return "Đã gửi câu trả lời của bạn tới Công an phường. Cảm ơn bạn."
