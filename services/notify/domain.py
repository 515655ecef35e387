"""The notify service's rules: the kinds of notification, which are urgent, the stable key of each fact, what a
message says (what to do, a link to the console, never a third party's personal data), the default channels and
the hint of a contact address shown back to its owner.

Pure functions: no I/O. The handlers (services/notify/handlers.py) decide who is told, from the projections.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.errors import InvalidInput

CHANNELS = ("email", "sms", "zalo")
KINDS = ("tip.deadline_near", "tip.overdue", "tip.assigned", "tip.answered", "mediation.case_waiting",
         "residence.expiring", "residence.expired", "stay.late", "pledge.overdue", "expense.second_approval",
         "award.decided")
URGENT = frozenset({"tip.overdue", "tip.answered"})
#: Without a preference for a kind: the in-app inbox always; email and SMS too for urgent kinds (if verified).
DEFAULT_URGENT_CHANNELS = ("email", "sms")
CODE_LIFE_S = 15 * 60
MAX_CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class Message:
    """One notification's content: kind, the fact's stable key, title, body and the console path it links to."""

    kind: str
    fact_key: str
    title: str
    body: str
    path: str

    @property
    def urgent(self) -> bool:
        return self.kind in URGENT


def link(console_url: str, path: str) -> str:
    return console_url.rstrip("/") + path


def group_label(groups: dict[str, Any], group_id: str | None) -> str:
    """A group's name (public: it is on every group's sign), else its id; no group: the ward."""
    if group_id is None:
        return "phường"
    row = groups.get(group_id)
    if row is None:
        return f"tổ {group_id}"
    name = row["name"]
    return name if name.lower().startswith("tổ") else f"tổ dân phố {name}"


def _d(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


CASE_KINDS = {"family": "gia đình", "neighbours": "hàng xóm", "property_or_land_boundary": "tài sản, ranh giới đất",
              "other_civil": "dân sự khác"}


# -- messages, one per kind: ids, categories, dates, amounts and group names at most. In Vietnamese, the ward's
# language; the fact keys are stable and language-free. -----------------------------------------------------------
def tip_assigned(incident_id: str, category: str | None, group: str, to: str) -> Message:
    what = f"Một tin báo ({category})" if category else "Một tin báo"
    return Message("tip.assigned", f"incidents.assigned:{incident_id}:{to}", f"Tin báo {incident_id} được giao cho bạn",
                   f"{what} tại {group} đã được giao cho bạn. Mở tin trên hệ thống, xác minh và ghi nhận việc xử lý.",
                   f"/police/incidents/{incident_id}")


def tip_deadline_near(incident_id: str, deadline_on: date, group: str) -> Message:
    return Message("tip.deadline_near", f"incidents.deadline_near:{incident_id}:{deadline_on.isoformat()}",
                   f"Tin tố giác {incident_id}: hạn giải quyết {_d(deadline_on)}",
                   f"Tin tố giác tội phạm tại {group} phải được giải quyết chậm nhất ngày {_d(deadline_on)}. Hãy ra "
                   "quyết định, hoặc gia hạn kèm căn cứ pháp lý, trên hệ thống.", f"/police/incidents/{incident_id}")


def tip_overdue(incident_id: str, deadline_on: date, group: str) -> Message:
    return Message("tip.overdue", f"incidents.overdue:{incident_id}:{deadline_on.isoformat()}",
                   f"Tin tố giác {incident_id} đã quá hạn",
                   f"Tin tố giác tội phạm tại {group} phải được giải quyết chậm nhất ngày {_d(deadline_on)} nhưng "
                   "chưa được giải quyết. Hãy ra quyết định ngay trên hệ thống.", f"/police/incidents/{incident_id}")


def tip_answered(incident_id: str, message_id: str) -> Message:
    return Message("tip.answered", f"incidents.answered:{message_id}",
                   f"Người tố giác đã trả lời về tin {incident_id}",
                   "Người tố giác ẩn danh đã trả lời câu hỏi của bạn. Đọc câu trả lời trên trang của tin trên hệ thống.",
                   f"/police/incidents/{incident_id}")


def case_waiting(case_id: str, kind: str, group: str) -> Message:
    return Message("mediation.case_waiting", f"mediation.case_waiting:{case_id}",
                   f"Vụ việc hòa giải {case_id} cần hòa giải viên",
                   f"Một vụ việc hòa giải ({CASE_KINDS.get(kind, kind)}) tại {group} đã được tiếp nhận và chưa có hòa "
                   "giải viên. Hãy phân công hòa giải viên trên hệ thống.", f"/mediation/cases/{case_id}")


def residence_expiring(declaration_id: str, valid_until: date) -> Message:
    return Message("residence.expiring", f"residence.expiring:{declaration_id}:{valid_until.isoformat()}",
                   f"Tạm trú của bạn hết hạn ngày {_d(valid_until)}",
                   f"Đăng ký tạm trú của bạn hết hạn ngày {_d(valid_until)}. Nếu bạn còn ở lại, hãy gia hạn trước "
                   "ngày đó; nếu chuyển đi, hãy báo cho phường.", "/my-declaration")


def residence_expired(declaration_id: str, expired_on: date, *, own: bool, group: str) -> Message:
    key = f"residence.expired:{declaration_id}:{expired_on.isoformat()}"
    if own:
        return Message("residence.expired", key, "Tạm trú của bạn đã hết hạn",
                       f"Đăng ký tạm trú của bạn đã hết hạn ngày {_d(expired_on)}. Nếu bạn vẫn còn ở, hãy đăng ký "
                       "lại.", "/my-declaration")
    return Message("residence.expired", key, f"Tạm trú {declaration_id} đã hết hạn",
                   f"Một đăng ký tạm trú tại {group} đã hết hạn ngày {_d(expired_on)}. Hãy kiểm tra người đó còn ở "
                   "hay không.", "/group/declarations")


def stay_late(notice_id: str, group: str) -> Message:
    return Message("stay.late", f"stay.late:{notice_id}", f"Thông báo lưu trú muộn {notice_id}",
                   f"Một khu nhà trọ tại {group} đã thông báo lưu trú muộn. Hãy xem xét trên hệ thống.",
                   "/group/boarding-houses")


def pledge_overdue(pledge_id: str, number: int, due_on: date, campaign_id: str) -> Message:
    return Message("pledge.overdue", f"donations.pledge_overdue:{pledge_id}:{number}",
                   f"Đợt {number} của khoản cam kết quá hạn",
                   f"Đợt {number} của cam kết {pledge_id} (cuộc vận động {campaign_id}) đến hạn ngày {_d(due_on)} mà "
                   "chưa đóng. Hãy liên hệ nhắc hộ gia đình.", f"/campaigns/{campaign_id}")


def expense_second_approval(expense_id: str, campaign_id: str, amount_vnd: int) -> Message:
    return Message("expense.second_approval", f"donations.expense_proposed:{expense_id}",
                   f"Khoản chi {expense_id} chờ bạn duyệt",
                   f"Một khoản chi {_vnd(amount_vnd)} đồng từ cuộc vận động {campaign_id} đã được đề xuất và chờ một "
                   "cán bộ khác duyệt. Hãy kiểm tra hóa đơn và duyệt trên hệ thống.", f"/campaigns/{campaign_id}")


def award_decided(nomination_id: str, approved: bool) -> Message:
    outcome = "được duyệt" if approved else "không được duyệt"
    return Message("award.decided", f"awards.decided:{nomination_id}", f"Đề nghị khen thưởng {outcome}",
                   f"Đề nghị khen thưởng {nomination_id} đã {outcome}. Xem chi tiết trên hệ thống.", "/awards")


# -- preferences and channels ---------------------------------------------------------------------------------
def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    return kind


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
    return channel


def default_preference(kind: str) -> dict[str, Any]:
    """What a person who set nothing for ``kind`` gets (besides the in-app inbox)."""
    return {"kind": kind, "channels": list(DEFAULT_URGENT_CHANNELS) if kind in URGENT else [], "digest": False}


def channels_for(kind: str, preference: dict[str, Any] | None, verified: set[str]) -> tuple[list[str], bool]:
    """The channels a notification of ``kind`` goes out by (besides the in-app inbox), and whether as a digest:
    the person's preference, else the default; only verified ones. Urgent kinds are never held for a digest."""
    preference = preference or default_preference(kind)
    wanted, digest = list(preference["channels"]), bool(preference["digest"])
    return [c for c in CHANNELS if c in wanted and c in verified], digest and kind not in URGENT


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")


def normalise_address(channel: str, address: str) -> str:
    """An email address (lower-cased domain), a phone number in international or national form (SMS), or a Zalo
    follower's user id under the ward's Official Account (Zalo): the OA API reaches a follower by that id only; a
    phone number needs Zalo's template messages (ZNS), which the platform does not send (shared/channels.py)."""
    value = address.strip()
    if channel == "email":
        if not _EMAIL.match(value):
            raise InvalidInput("not an email address")
        local, domain_part = value.rsplit("@", 1)
        return f"{local}@{domain_part.lower()}"
    compact = re.sub(r"[\s.()-]", "", value)
    if channel == "zalo":
        if re.fullmatch(r"[0-9]{10,25}", compact) and not compact.startswith("0"):
            return compact  # a Zalo user id under the OA
        raise InvalidInput("Zalo reaches you by your user id under the ward's Official Account, not a phone number")
    if not _PHONE.match(compact):
        raise InvalidInput("not a phone number")
    return compact


def address_hint(channel: str, address: str) -> str:
    """What is shown back of an address: '••••1234' for a number, 'n•••@example.org' for an email."""
    if channel == "email":
        local, domain_part = address.rsplit("@", 1)
        return f"{local[:1]}•••@{domain_part}"
    return "••••" + address[-4:]


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_digest(person_id: str, channel: str, code: str) -> bytes:
    """The code's SHA-256, bound to the person and channel (a code for one contact opens no other)."""
    return hashlib.sha256(f"{len(person_id)}:{person_id}|{channel}|{code}".encode()).digest()


def code_matches(stored: bytes, person_id: str, channel: str, code: str) -> bool:
    return hmac.compare_digest(bytes(stored), code_digest(person_id, channel, code))


def code_message(code: str) -> tuple[str, str]:
    """Subject and text of a verification code, in Vietnamese like every message (one SMS segment: a text with
    diacritics has 70 characters)."""
    return "Mã xác minh của bạn", f"Mã xác minh: {code} (hiệu lực {CODE_LIFE_S // 60} phút). Không đưa mã cho ai."


def contact_context(person_id: str, channel: str) -> str:
    return f"{person_id}|{channel}"
