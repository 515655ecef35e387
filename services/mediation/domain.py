"""Rules of grassroots mediation (hòa giải ở cơ sở), Law on Grassroots Mediation 2013 (Luật Hòa giải ở cơ sở,
No. 35/2013/QH13) and Decree 15/2014/NĐ-CP. No I/O here: the lifecycle of a case, what may not be mediated, who
may mediate and who may see or act on a case (the caller as data), the legal period for assignment and a team's
compliance.

The vocabularies a client sees (kinds, origins, agreement progress) are the contracts' (shared/contracts/mediation.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, get_args

from shared.actor import Principal, Role
from shared.contracts.mediation import CaseKind, CaseOrigin
from shared.errors import Forbidden, InvalidInput, RuleViolation

#: The kinds of dispute (loại vụ việc), in the record book's order.
KINDS: tuple[str, ...] = get_args(CaseKind)
#: A referral carries no kind: the case is ``other_civil`` until the team reclassifies it.
REFERRAL_KIND: CaseKind = "other_civil"

KIND_LABELS_VI: dict[str, str] = {
    "family": "Hôn nhân và gia đình",
    "neighbours": "Mâu thuẫn hàng xóm",
    "property_or_land_boundary": "Tài sản, ranh giới đất đai",
    "other_civil": "Dân sự khác",
}


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


#: The mediators one case may have (its concluding events carry them all).
MAX_MEDIATORS_PER_CASE = 20


@dataclass(frozen=True)
class CaseFile:
    """A case with what hangs off it, as the repository loads it: the case's row (its columns by name), its
    parties in order, its mediators, sessions and follow-ups (each a row by name)."""

    case: Mapping[str, Any]
    parties: list[Party] = field(default_factory=list)
    mediators: list[Mapping[str, Any]] = field(default_factory=list)
    sessions: list[Mapping[str, Any]] = field(default_factory=list)
    follow_ups: list[Mapping[str, Any]] = field(default_factory=list)


def case_assignment_late(case: Mapping[str, Any], first_assigned: date | None, today: date) -> bool:
    """Flagged when the leader assigned after the legal period, or has not assigned and it has passed (an ended
    case that never had mediators is not late: nothing is waiting)."""
    if first_assigned is None and case["status"] != Status.RECEIVED:
        return False
    return assignment_late(case["assignment_due"], first_assigned, today)


# -- which team receives a case -----------------------------------------------------------------------------------
def choose_team(team_ids: list[str], group_id: str, named: str | None) -> str | None:
    """The group's mediation team (the one named, if the group has several); None if it has none."""
    if named is not None:
        if named not in team_ids:
            raise InvalidInput(f"team {named} is not a mediation team of group {group_id}")
        return named
    if len(team_ids) > 1:
        raise InvalidInput(f"group {group_id} has {len(team_ids)} mediation teams; name one with team_id")
    return team_ids[0] if team_ids else None


def referral_team(team_ids: list[str]) -> str | None:
    """A referral goes to the group's one team. With no team, or several, the case waits for a ward official to
    hand it over: a valid referral must never be dead-lettered for the ward's organisation."""
    return team_ids[0] if len(team_ids) == 1 else None


# -- who may see and act on a case: mediators their team's cases, ward officials the ward's, parties their own ----
OFFICIALS = (Role.WARD_OFFICIAL, Role.CITY_OFFICIAL, Role.ADMIN)
MEDIATORS = (Role.TEAM_MEMBER, Role.TEAM_LEADER)


def is_official(p: Principal, ward_id: str) -> bool:
    return p.has(*OFFICIALS) and p.can_access_ward(ward_id)


def is_mediator_of(p: Principal, team_id: str | None) -> bool:
    """A member of the team (team_member or team_leader with the team in the token's team_ids)."""
    return team_id is not None and p.has(*MEDIATORS) and team_id in p.team_ids


def is_leader_of(p: Principal, team_id: str | None) -> bool:
    return team_id is not None and p.has(Role.TEAM_LEADER) and team_id in p.team_ids


def is_party(p: Principal, parties: Iterable[Party]) -> bool:
    return p.resident_id is not None and any(x.resident_id == p.resident_id for x in parties)


def ensure_can_see(p: Principal, case: Mapping[str, Any], parties: list[Party]) -> None:
    """Only the case's mediators, its parties and ward officials may see (or act on) a case."""
    if not (p.can_access_ward(case["ward_id"]) and (
            is_official(p, case["ward_id"]) or is_mediator_of(p, case["team_id"]) or is_party(p, parties))):
        raise Forbidden("only the case's mediators, its parties and ward officials may see it")


def ensure_may_open(p: Principal, origin: CaseOrigin, team_id: str, parties: list[Party]) -> None:
    if origin == "mediator_initiative":
        if not is_mediator_of(p, team_id):
            raise Forbidden("only a mediator of the group's team may open a case on their own initiative")
    elif not (is_mediator_of(p, team_id) or is_official(p, p.ward_id) or is_party(p, parties)):
        raise Forbidden("a request is made by a party, or recorded by the team or a ward official")


def ensure_may_assign(p: Principal, case: Mapping[str, Any], parties: list[Party], *, chosen_by_parties: bool) -> None:
    if chosen_by_parties:
        if not (is_party(p, parties) or is_leader_of(p, case["team_id"])):
            raise Forbidden("the parties' choice is made by a party or recorded by the team leader")
    elif not is_leader_of(p, case["team_id"]):
        raise Forbidden("only the team leader (tổ trưởng) assigns mediators")


def ensure_of_the_team(p: Principal, case: Mapping[str, Any], what: str) -> None:
    """Sessions and conclusions are the case's team's."""
    if not is_mediator_of(p, case["team_id"]):
        raise Forbidden(f"only the case's team {what}")


def ensure_team_or_official(p: Principal, case: Mapping[str, Any], what: str) -> None:
    if not (is_mediator_of(p, case["team_id"]) or is_official(p, case["ward_id"])):
        raise Forbidden(f"only the case's team or a ward official {what}")


def ensure_may_refuse(p: Principal, case: Mapping[str, Any]) -> None:
    if not (is_leader_of(p, case["team_id"]) or is_official(p, case["ward_id"])):
        raise Forbidden("only the team leader or a ward official refuses a case")


def ensure_may_hand_over(p: Principal, case: Mapping[str, Any]) -> None:
    if not is_official(p, case["ward_id"]):
        raise Forbidden("only a ward official hands a case to a team")


def ensure_may_list_teams(p: Principal) -> None:
    p.require(*OFFICIALS, *MEDIATORS)


def ensure_may_read_record_book(p: Principal, team: Mapping[str, Any]) -> None:
    if not (is_official(p, team["ward_id"]) or is_mediator_of(p, team["team_id"])):
        raise Forbidden("only the team's mediators and ward officials may read its record book")


@dataclass(frozen=True)
class CaseScope:
    """The cases of a ward a caller may list: every one (``everything``), else those of ``team_ids`` and those
    ``party_resident_id`` is a party to."""

    ward_id: str
    everything: bool
    team_ids: tuple[str, ...]
    party_resident_id: str | None


def case_scope(p: Principal) -> CaseScope:
    return CaseScope(p.ward_id, is_official(p, p.ward_id),
                     tuple(sorted(p.team_ids)) if p.has(*MEDIATORS) else (), p.resident_id)


@dataclass(frozen=True)
class CaseFilters:
    """The filters of the case list (each None: not filtered)."""

    status: Status | None = None
    kind: str | None = None
    group_id: str | None = None
    team_id: str | None = None
    referral_incident_id: str | None = None
    assignment_late: bool | None = None
