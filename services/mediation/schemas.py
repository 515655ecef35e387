"""The HTTP models of the mediation API: request bodies (strict, bounded, decoded before any rule runs; the
commands of commands.py add the path's ``case_id`` to them) and the response bodies every operation documents.
Vocabularies come from the contracts (kinds, origins, progress) and the domain (statuses)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.mediation.domain import Status
from shared.contracts.mediation import AgreementProgress, CaseKind, CaseOrigin
from shared.contracts.registry import MemberRole, Sex


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PartyIn(_Body):
    """A party (bên tranh chấp): a registered resident, or a person named only."""

    display_name: str = Field(min_length=1, max_length=200)
    resident_id: str | None = Field(default=None, min_length=1, max_length=64)


class OpenCaseRequest(_Body):
    """A case received at a party's request or taken up on a mediator's initiative (referrals come by event)."""

    origin: Literal["party_request", "mediator_initiative"] = Field(
        description="The origins a caller may open a case with (a referral comes by event)")
    group_id: str = Field(min_length=1, max_length=64)
    team_id: str | None = Field(default=None, max_length=64, description="Needed only if the group has several")
    kind: CaseKind
    summary: str = Field(min_length=1, max_length=4000, description="The content of the dispute (nội dung)")
    parties: list[PartyIn] = Field(min_length=2, max_length=20)
    received_at: datetime | None = Field(
        default=None, description="When the request was received, if earlier than now (entered afterwards)"
    )

    @field_validator("received_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("received_at needs a time zone")
        return value


class AssignMediatorsRequest(_Body):
    mediator_ids: list[str] = Field(min_length=1, max_length=5)
    chosen_by_parties: bool = False


class Invitee(_Body):
    """A relative or a respected person (người có uy tín) invited to help (Art. 21 of the law)."""

    name: str = Field(min_length=1, max_length=200)
    relation: str = Field(min_length=1, max_length=200, description="e.g. 'uncle of a party', 'village elder'")


class RecordSessionRequest(_Body):
    held_at: datetime
    place: str | None = Field(default=None, max_length=300)
    mediator_ids: list[str] = Field(min_length=1, max_length=5, description="Assigned mediators who took part")
    parties_present: list[int] = Field(default_factory=list, max_length=20, description="Party positions (1-based)")
    invitees: list[Invitee] = Field(default_factory=list, max_length=10)
    notes: str | None = Field(default=None, max_length=4000)

    @field_validator("held_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("held_at needs a time zone")
        return value


class SucceedRequest(_Body):
    """Hòa giải thành (Art. 24): the agreement, how and by when it is to be carried out."""

    agreement: str = Field(min_length=1, max_length=4000)
    carry_out_how: str = Field(min_length=1, max_length=2000)
    carry_out_by: date | None = None
    concluded_on: date | None = None


class FailRequest(_Body):
    """Hòa giải không thành (Art. 25): the parties' demands, and where they were directed."""

    directed_to: str = Field(min_length=1, max_length=500)
    demands: str | None = Field(default=None, max_length=4000)
    concluded_on: date | None = None


class WithdrawRequest(_Body):
    reason: str | None = Field(default=None, max_length=1000)


class RefuseRequest(_Body):
    ground: str = Field(min_length=1, max_length=64, description="One of GET /v1/refusal-grounds")
    explanation: str | None = Field(default=None, max_length=2000, description="Kept in the case, not in events")


class FollowUpRequest(_Body):
    """Theo dõi, đôn đốc việc thực hiện thỏa thuận (Art. 26)."""

    checked_on: date
    progress: AgreementProgress
    notes: str | None = Field(default=None, max_length=2000)


class ClassifyRequest(_Body):
    """The team sets the kind of a case (a referral arrives without one)."""

    kind: CaseKind


class HandOverRequest(_Body):
    """A ward official gives a case to a mediation team (a referral from a group that has none)."""

    team_id: str = Field(min_length=1, max_length=64)


# -- responses ----------------------------------------------------------------------------------------------------
class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartyOut(_Out):
    position: int = Field(description="1-based; sessions name the parties present by it")
    display_name: str
    resident_id: str | None


class CaseMediatorOut(_Out):
    mediator_id: str = Field(description="A registry resident_id")
    full_name: str
    chosen_by_parties: bool
    assigned_on: date
    late: bool = Field(description="Assigned after the legal period (2 working days from receipt, Art. 20)")


class SessionOut(_Out):
    session_id: str
    held_at: datetime
    place: str | None
    mediator_ids: list[str]
    parties_present: list[int]
    invitees: list[Invitee]
    notes: str | None


class RefusalOut(_Out):
    ground: str
    reason: str


class AgreementOut(_Out):
    text: str
    carry_out_how: str | None
    carry_out_by: date | None


class FollowUpOut(_Out):
    checked_on: date
    progress: AgreementProgress
    notes: str | None


class CaseOut(_Out):
    """A mediation case as its mediators, its parties and ward officials see it."""

    case_id: str = Field(description="A UUID (cases opened before ids were UUIDs keep their `case-...` id)")
    ward_id: str
    group_id: str
    team_id: str | None = Field(description="None while a referral waits for an official to hand it over")
    referral_incident_id: str | None
    origin: CaseOrigin
    kind: CaseKind
    summary: str
    status: Status
    received_at: datetime
    received_on: date = Field(description="The ward's calendar date of receipt")
    assignment_due: date = Field(description="2 working days after receipt (Art. 20)")
    assignment_late: bool = Field(description="Mediators assigned after assignment_due, or still not assigned "
                                              "and it has passed")
    parties: list[PartyOut]
    mediators: list[CaseMediatorOut]
    sessions: list[SessionOut]
    refusal: RefusalOut | None
    agreement: AgreementOut | None
    demands: str | None
    directed_to: str | None
    withdrawal_reason: str | None
    concluded_on: date | None
    follow_ups: list[FollowUpOut]


class CasePage(_Out):
    items: list[CaseOut]
    next_cursor: str | None


class MediatorOut(_Out):
    resident_id: str
    full_name: str
    sex: Sex
    role: MemberRole


class TeamOut(_Out):
    """A mediation team (tổ hòa giải) and whether it meets Art. 12 of the law."""

    team_id: str
    group_id: str
    name: str | None
    compliant: bool
    compliance_issues: list[str]
    registry_compliant: bool = Field(description="What the registry says of the team")
    mediators: list[MediatorOut]


class TeamPage(_Out):
    items: list[TeamOut]
    next_cursor: str | None


class GroundOut(_Out):
    code: str
    description: str
    description_vi: str
    legal_basis: str


class RefusalGrounds(_Out):
    grounds: list[GroundOut]


class RecordBookRow(_Out):
    """A row of Part I (the official form's columns, and the case's id, kind and status)."""

    stt: int
    case_id: str
    date_received: str = Field(description="dd/mm/yyyy")
    mediators_and_invitees: str
    parties: str
    kind: CaseKind
    content: str
    agreement_or_demands: str
    result: str
    status: Status
    notes: str


class KindTally(_Out):
    received: int
    succeeded: int
    failed: int


class MediatorTally(_Out):
    mediator_id: str
    full_name: str
    cases: int
    succeeded: int
    failed: int


class RecordBookSummary(_Out):
    """Part II: the year summed up."""

    received: int
    succeeded: int
    failed: int
    withdrawn: int
    refused: int
    in_progress: int
    by_kind: dict[str, KindTally]
    by_mediator: list[MediatorTally]


class RecordBook(_Out):
    """Sổ theo dõi hoạt động hòa giải ở cơ sở of one team for one year."""

    team_id: str
    team_name: str | None
    group_id: str
    year: int
    part_i: list[RecordBookRow]
    part_ii: RecordBookSummary
