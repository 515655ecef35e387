"""Rules of grassroots mediation (hòa giải ở cơ sở), Law on Grassroots Mediation 2013 (Luật Hòa giải ở cơ sở,
No. 35/2013/QH13) and Decree 15/2014/NĐ-CP. No I/O here: the lifecycle of a case, what may not be mediated, who
may mediate, the legal period for assignment and a team's compliance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from shared.errors import RuleViolation


class CaseKind(StrEnum):
    """The kind of dispute (loại vụ việc)."""

    FAMILY = "family"  # hôn nhân và gia đình
    NEIGHBOURS = "neighbours"  # mâu thuẫn giữa hàng xóm
    PROPERTY_OR_LAND_BOUNDARY = "property_or_land_boundary"  # tài sản, ranh giới đất đai
    OTHER_CIVIL = "other_civil"  # dân sự khác


KIND_LABELS_VI = {
    CaseKind.FAMILY: "Hôn nhân và gia đình",
    CaseKind.NEIGHBOURS: "Mâu thuẫn hàng xóm",
    CaseKind.PROPERTY_OR_LAND_BOUNDARY: "Tài sản, ranh giới đất đai",
    CaseKind.OTHER_CIVIL: "Dân sự khác",
}


class Origin(StrEnum):
    """How a case came in (Art. 16 of the law: grounds for conducting mediation)."""

    PARTY_REQUEST = "party_request"  # một bên hoặc các bên yêu cầu
    REFERRAL = "referral"  # cơ quan có thẩm quyền đề nghị (here: a dispute referred by the incidents service)
    MEDIATOR_INITIATIVE = "mediator_initiative"  # hòa giải viên chứng kiến hoặc biết vụ việc


class Status(StrEnum):
    RECEIVED = "received"  # waiting for mediators
    IN_MEDIATION = "in_mediation"  # mediators assigned
    SUCCEEDED = "succeeded"  # hòa giải thành
    FAILED = "failed"  # hòa giải không thành
    WITHDRAWN = "withdrawn"
    REFUSED = "refused"  # may not be mediated


ENDED = frozenset({Status.SUCCEEDED, Status.FAILED, Status.WITHDRAWN, Status.REFUSED})


class Action(StrEnum):
    ASSIGN = "assign mediators"
    HOLD_SESSION = "record a session"
    SUCCEED = "conclude successfully"
    FAIL = "conclude as failed"
    WITHDRAW = "withdraw"
    REFUSE = "refuse"
    FOLLOW_UP = "follow up the agreement"
    CLASSIFY = "reclassify"
    HAND_OVER = "hand the case to a team"


#: The lifecycle: from which states each action may be taken. An ended case takes nothing but the
#: follow-up of its agreement; no action leads back to an open state, so a case is never reopened.
ALLOWED: dict[Action, frozenset[Status]] = {
    Action.ASSIGN: frozenset({Status.RECEIVED, Status.IN_MEDIATION}),
    Action.HOLD_SESSION: frozenset({Status.IN_MEDIATION}),
    Action.SUCCEED: frozenset({Status.IN_MEDIATION}),
    Action.FAIL: frozenset({Status.IN_MEDIATION}),
    Action.WITHDRAW: frozenset({Status.RECEIVED, Status.IN_MEDIATION}),
    Action.REFUSE: frozenset({Status.RECEIVED, Status.IN_MEDIATION}),
    Action.FOLLOW_UP: frozenset({Status.SUCCEEDED}),
    Action.CLASSIFY: frozenset({Status.RECEIVED, Status.IN_MEDIATION}),
    # Only before mediators are assigned: once a team's mediators work on it, the case stays with that team.
    Action.HAND_OVER: frozenset({Status.RECEIVED}),
}


def ensure_allowed(status: str, action: Action) -> None:
    current = Status(status)
    if current in ALLOWED[action]:
        return
    if current in ENDED:
        raise RuleViolation(f"the case has ended ({current}); it cannot be reopened or changed: cannot {action}")
    raise RuleViolation(f"cannot {action} while the case is {current}")


# -- matters that may not be mediated (Art. 3(1) of the law; Art. 5 of Decree 15/2014/NĐ-CP) -------------------
@dataclass(frozen=True)
class Ground:
    code: str
    description: str
    description_vi: str
    legal_basis: str

    @property
    def reason(self) -> str:
        """The refusal reason carried by CaseRefused: the ground and its basis, never the facts of the case."""
        return f"{self.description} ({self.legal_basis})"


EXCLUDED_GROUNDS: dict[str, Ground] = {
    g.code: g
    for g in (
        Ground(
            "harms_state_or_public_interest",
            "The dispute harms the interests of the State or the public interest",
            "Xâm phạm lợi ích của Nhà nước, lợi ích công cộng",
            "Art. 3(1)(a) Law 35/2013/QH13; Art. 5(1) Decree 15/2014/NĐ-CP",
        ),
        Ground(
            "void_marriage_or_civil_transaction",
            "A violation of marriage and family law, or a civil transaction that must be declared void",
            "Vi phạm pháp luật về hôn nhân và gia đình, giao dịch dân sự phải bị tuyên bố vô hiệu",
            "Art. 3(1)(b) Law 35/2013/QH13; Art. 5(2) Decree 15/2014/NĐ-CP",
        ),
        Ground(
            "criminal_offence",
            "An act subject to criminal prosecution",
            "Vi phạm pháp luật phải bị truy cứu trách nhiệm hình sự",
            "Art. 3(1)(c) Law 35/2013/QH13; Art. 5(3) Decree 15/2014/NĐ-CP",
        ),
        Ground(
            "administrative_violation",
            "An act subject to an administrative penalty",
            "Vi phạm pháp luật phải bị xử lý vi phạm hành chính",
            "Art. 3(1)(c) Law 35/2013/QH13; Art. 5(4) Decree 15/2014/NĐ-CP",
        ),
        Ground(
            "excluded_by_other_law",
            "Another dispute that the law does not allow to be mediated at the grassroots",
            "Mâu thuẫn, tranh chấp khác không được hòa giải ở cơ sở theo quy định của pháp luật",
            "Art. 3(1)(d) Law 35/2013/QH13; Art. 5(5) Decree 15/2014/NĐ-CP",
        ),
    )
}


def ground(code: str) -> Ground:
    try:
        return EXCLUDED_GROUNDS[code]
    except KeyError:
        raise RuleViolation(
            f"unknown ground {code!r}; the grounds are: {', '.join(EXCLUDED_GROUNDS)}"
        ) from None


# -- the legal period for assigning mediators (Art. 20(1): within 2 working days of receiving the request) -----
ASSIGNMENT_WORKING_DAYS = 2


def add_working_days(start: date, days: int) -> date:
    """``days`` working days (Monday to Friday) after ``start``. Public holidays are not modelled."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def assignment_due(received_on: date) -> date:
    return add_working_days(received_on, ASSIGNMENT_WORKING_DAYS)


def assignment_late(due: date, assigned_on: date | None, today: date) -> bool:
    """Late if assigned after the due date, or still unassigned once it has passed."""
    return (assigned_on or today) > due


# -- who may mediate ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    resident_id: str
    household_id: str
    full_name: str
    sex: str
    role: str


@dataclass(frozen=True)
class Party:
    display_name: str
    resident_id: str | None = None
    household_id: str | None = None


def mediator_conflict(mediator: Member, parties: list[Party]) -> str | None:
    """Why this mediator may not mediate between these parties, or None. A mediator who is a party, or who
    lives in a party's household, has an interest in the outcome, and the law requires a mediator to stand
    aside from a matter in which they have an interest."""
    for party in parties:
        if party.resident_id is not None and party.resident_id == mediator.resident_id:
            return "the mediator is a party to the case"
        if party.household_id is not None and party.household_id == mediator.household_id:
            return "the mediator lives in the same household as a party"
    return None


def team_compliance(members: list[Member]) -> list[str]:
    """Why a mediation team does not meet Art. 12 of the law (a leader; 3 or more mediators, at least one a
    woman). An empty list means compliant."""
    issues = []
    if not any(m.role == "leader" for m in members):
        issues.append("no team leader (tổ trưởng)")
    if len(members) < 3:
        issues.append(f"{len(members)} mediators; the law requires at least 3")
    if not any(m.sex == "female" for m in members):
        issues.append("no woman among the mediators")
    return issues


def result_label_vi(status: str) -> str:
    """The record book's result column."""
    return {
        Status.SUCCEEDED: "Thành",
        Status.FAILED: "Không thành",
        Status.WITHDRAWN: "Rút yêu cầu",
        Status.REFUSED: "Không thuộc phạm vi hòa giải",
    }.get(Status(status), "Đang hòa giải")
