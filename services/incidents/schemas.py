"""HTTP shapes of incidents: the request bodies of the police's steps (the commands add the incident's id) and
the response models every operation documents. Vocabularies come from shared.contracts.incidents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.incidents.domain import PoliceOutcome, State
from shared.contracts.incidents import AssigneeKind, Category, DisputeParty, Outcome, WarningKind


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


# -- request bodies -------------------------------------------------------------------------------------------------
class Footage(_Value):
    camera_id: str = Field(min_length=1, max_length=64, description="A registry facility id (security camera)")
    footage_from: datetime | None = None
    footage_to: datetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Footage:
        if self.footage_from and self.footage_to and self.footage_to < self.footage_from:
            raise ValueError("footage_to is before footage_from")
        return self


class TriageIn(_Value):
    category: Category | None = None
    is_crime_tip: bool | None = None
    note: str | None = Field(default=None, max_length=2000)


class AssignIn(_Value):
    kind: AssigneeKind
    team_id: str | None = Field(default=None, max_length=64)
    officer: str | None = Field(default=None, max_length=200, description="The area police officer's user id")
    note: str | None = Field(default=None, max_length=2000)


class NoteIn(_Value):
    note: str | None = Field(default=None, max_length=2000)


class ResolveIn(_Value):
    outcome: PoliceOutcome
    note: str = Field(min_length=3, max_length=2000)


class ReferIn(_Value):
    summary: str = Field(min_length=5, max_length=2000, description="Written by police; never the reporter")
    parties: list[DisputeParty] = Field(min_length=1, max_length=20)


class ExtendIn(_Value):
    until: date | None = Field(default=None, description="At most 2 months from receipt; the full 2 months if omitted")
    reason: str = Field(min_length=3, max_length=2000)


class ReasonIn(_Value):
    reason: str = Field(min_length=3, max_length=2000)


class WarnedPerson(_Value):
    resident_id: str | None = Field(default=None, max_length=64)
    full_name: str = Field(min_length=1, max_length=200)


class FollowUpIn(_Value):
    follow_up_code: str = Field(min_length=1, max_length=32)
    secret: str = Field(min_length=1, max_length=128)


# -- responses --------------------------------------------------------------------------------------------------------
class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ReportReceipt(_Out):
    incident_id: str
    state: State
    follow_up_code: str | None = Field(default=None, description="Anonymous tips only: shown once")
    secret: str | None = Field(default=None, description="Anonymous tips only: shown once, never stored")
    notice: str | None = None


class IncidentSummary(_Out):
    incident_id: str
    group_id: str
    category: Category
    is_crime_tip: bool
    state: State
    outcome: Outcome | None
    received_at: datetime
    deadline_on: date | None
    overdue: bool
    supporters: int = Field(default=0, description='How many people said "me too" (the reporter not counted)')
    place: ViewerPlace | None = Field(default=None, description="In lists: where, at the caller's precision")


class IncidentPage(_Out):
    items: list[IncidentSummary]
    next_cursor: str | None


class PlaceOut(_Out):
    address: str | None
    latitude: float | None
    longitude: float | None
    precision: str | None = Field(default=None, description="exact | approximate | group (places, issue 18)")
    group_id: str | None = None


class FootageOut(_Out):
    camera_id: str
    footage_from: datetime | None
    footage_to: datetime | None


class AssigneeOut(_Out):
    kind: AssigneeKind | None
    team_id: str | None
    officer: str | None


class ReporterIdentity(_Out):
    resident_id: str | None
    full_name: str
    phone: str | None


class IncidentDetail(IncidentSummary):
    place: PlaceOut
    happened_at: datetime | None
    description: str
    evidence: list[dict[str, Any]]
    footage: list[FootageOut]
    assignee: AssigneeOut
    resolution_note: str | None
    mediation_case_id: str | None
    mediation_note: str | None
    anonymous: bool
    reporter_ref: str | None = Field(default=None, description="Staff only: the reporter's pseudonym")
    merged_into: str | None = Field(default=None, description="Merged (closed) into this report")
    # No reporter identity here, for anyone: the police read it through POST .../reporter-disclosure (audited).


class ReporterDisclosure(_Out):
    """Who reported an incident, for the police of its ward (each disclosure audited)."""

    incident_id: str
    anonymous: bool
    reporter: ReporterIdentity | None = Field(description="null for an anonymous tip: nobody knows who sent it")


class TransitionOut(_Out):
    action: str
    from_state: State | None
    to_state: State
    actor: str
    reason: str | None
    at: datetime


class TransitionPage(_Out):
    items: list[TransitionOut]
    next_cursor: str | None


class Recognition(_Out):
    title: str
    issuer: str
    decision_number: str
    decision_date: date
    verification_code: str
    year: int


class FollowUpStatus(_Out):
    incident_id: str
    category: Category
    state: State
    outcome: Outcome | None
    received_at: datetime
    recognition: list[Recognition]
    claim_secret: str | None
    claim_notice: str | None


class WarningReceipt(_Out):
    warning_id: str
    group_id: str
    kind: WarningKind
    issued_on: date


class WarningOut(WarningReceipt):
    reason: str
    incident_id: str | None
    person: WarnedPerson | None = Field(default=None, description="Police only")


class WarningPage(_Out):
    items: list[WarningOut]
    next_cursor: str | None


class CameraOut(_Out):
    camera_id: str = Field(description="The registry's facility id")
    group_id: str
    name: str
    location: str
    decommissioned_on: date | None = Field(description="Set once the registry decommissioned it: no longer citable")


class CameraPage(_Out):
    items: list[CameraOut]
    next_cursor: str | None


class BriefingIncidents(_Out):
    total: int
    by_category: dict[str, int]
    by_state: dict[str, int]


class OverdueTip(_Out):
    incident_id: str
    category: Category
    deadline_on: date
    state: State


class BriefingWarning(_Out):
    warning_id: str
    kind: WarningKind
    issued_on: date
    incident_id: str | None


class BriefingWarnings(_Out):
    total: int
    by_kind: dict[str, int]
    items: list[BriefingWarning] = Field(description="The group's month: bounded by that scope, answered whole")


class ResidenceCheck(_Out):
    declaration_id: str
    resident_id: str
    valid_until: date | None
    status: str
    expired: bool


class LateStayNotice(_Out):
    notice_id: str
    boarding_house_id: str
    arrived_at: datetime
    notified_at: datetime


class ResidenceChecks(_Out):
    temporary_residences_expiring_or_expired: list[ResidenceCheck]
    late_stay_notices: list[LateStayNotice]


class BriefingCase(_Out):
    case_id: str
    kind: str
    origin: str | None
    status: str
    referral_incident_id: str | None
    concluded_on: date | None


class BriefingMediations(_Out):
    by_status: dict[str, int]
    cases: list[BriefingCase]


class Briefing(_Out):
    """The monthly briefing (giao ban) of a residential group: ids and counts, no reporter, no warned person."""

    ward_id: str
    group_id: str
    group_name: str
    month: str = Field(description="YYYY-MM")
    prepared_on: date
    incidents: BriefingIncidents
    overdue_tips: list[OverdueTip]
    warnings: BriefingWarnings
    residence_checks: ResidenceChecks
    mediations: BriefingMediations


class PublicGroupOut(_Out):
    group_id: str
    ward_id: str
    name: str


class PublicGroupPage(_Out):
    items: list[PublicGroupOut]
    next_cursor: str | None


# -- places (issue 18) ------------------------------------------------------------------------------------------------
class ViewerPlace(_Out):
    """Where an incident is, at the viewer's precision: exact (police, officials), approximate (team leaders and
    members: rounded to 3 decimals, ~100 m), group (everyone else: no coordinates)."""

    latitude: float | None
    longitude: float | None
    precision: str = Field(description="exact | approximate | group")
    group_id: str


class NearbyItem(_Out):
    incident_id: str
    category: Category
    group_id: str
    received_at: datetime
    supporters: int
    distance_m: int = Field(description="Rounded to 10 m")


class NearbyPage(_Out):
    items: list[NearbyItem] = Field(description="Nearest first; at most a few (50 m, 7 days, open, same category)")
    next_cursor: str | None = Field(default=None, description="Always null: the list is whole")


class SupportReceipt(_Out):
    incident_id: str
    supporters: int
    counted: bool = Field(description="False when you already supported it (or reported it)")


class AnonymousSupportReceipt(_Out):
    incident_id: str
    supporters: int
    follow_up_code: str = Field(description="Shown once")
    secret: str = Field(description="Shown once, never stored")
    notice: str


class SupportFollowUp(_Out):
    incident_id: str = Field(description="The report you supported, or the one it was merged into")
    category: Category
    state: State
    outcome: str | None
    received_at: datetime
    supporters: int


class MergeIn(_Value):
    into: str = Field(min_length=1, max_length=64, description="The open report of the same ward that carries on")
    reason: str = Field(min_length=3, max_length=2000)


class MergeReceipt(_Out):
    incident_id: str
    state: State
    outcome: str
    merged_into: str
    into_supporters: int


# -- evidence files (issue 18) -------------------------------------------------------------------------------------
class EvidenceOut(_Out):
    evidence_id: str
    incident_id: str
    media_type: str = Field(description="From the file's content: image/jpeg, image/png, image/webp, video/mp4, "
                                        "video/webm or application/pdf")
    size: int = Field(description="Bytes stored (and served): the file after its metadata was removed")
    sha256: str = Field(description="SHA-256 of the bytes stored and served (hex)")
    uploaded_at: datetime
    camera_id: str | None = Field(description="The registered camera the file is footage of")
    campaign_id: str | None = Field(description="The donations campaign that paid for that camera, when known")
    footage_from: datetime | None = None
    footage_to: datetime | None = None
    metadata_removed: list[str] = Field(description="The kinds of metadata found and removed (exif, gps, device, "
                                                    "xmp, icc_profile, container_metadata, document_info, ...)")


class EvidenceListed(EvidenceOut):
    uploaded_by: str = Field(description="'anonymous', 'reporter', or the officer or official who uploaded it")


class EvidencePage(_Out):
    items: list[EvidenceListed]
    next_cursor: str | None


class CustodyEntry(_Out):
    action: str = Field(description="uploaded, listed or downloaded")
    actor: str = Field(description="'anonymous', 'reporter', or the subject of the officer or official")
    actor_roles: list[str]
    sha256: str
    at: datetime


class CustodyPage(_Out):
    evidence_id: str
    sha256: str
    items: list[CustodyEntry]
    next_cursor: str | None


# -- assisted intake (issue 17): the detail's fields, added to IncidentDetail (appended, not edited in place) ----------
def _assisted_fields() -> None:
    from pydantic.fields import FieldInfo

    IncidentDetail.model_fields["assisted"] = FieldInfo(
        annotation=bool | None, default=None,
        description="The police of the ward and the reporter: whether a team leader entered it for the reporter")
    IncidentDetail.model_fields["entered_by"] = FieldInfo(
        annotation=str | None, default=None,
        description="The police of the ward: the account of the team leader who entered it (assisted intake)")
    IncidentDetail.model_rebuild(force=True)


_assisted_fields()


# -- reports in by SMS and Zalo, two-way anonymous messages (issue 17) ------------------------------------------------
from pydantic import AliasChoices  # noqa: E402 - appended (issue 17)


class TipQuestionIn(_Value):
    text: str = Field(min_length=1, max_length=2000, description="The question the tipster reads with their code")


class TipsterMessageIn(_Value):
    code: str = Field(min_length=1, max_length=32, validation_alias=AliasChoices("code", "follow_up_code"),
                      description="The tip's follow-up code (also accepted as follow_up_code)")
    secret: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=1, max_length=2000)
    reply_to: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="The police's question this answers; none: a message of the tipster's own")


class TipMessage(_Out):
    """A message between the police and an anonymous tipster, as the police read it."""

    message_id: str
    incident_id: str
    author: str = Field(description="police | tipster")
    officer_ref: str | None = Field(description="The officer who asked (a question) or whose question it answers")
    reply_to: str | None
    text: str
    created_at: datetime
    answered_at: datetime | None = Field(description="A question: when the tipster first answered it")


class TipMessagePage(_Out):
    items: list[TipMessage]
    next_cursor: str | None


class TipsterMessage(_Out):
    """A message as the tipster reads it through the follow-up (no officer named)."""

    message_id: str
    author: str = Field(description="police | tipster")
    reply_to: str | None
    text: str
    created_at: datetime
    answered: bool | None = Field(description="A question of the police: whether it was answered")


class TipsterMessageReceipt(_Out):
    message_id: str
    reply_to: str | None
    created_at: datetime


class FollowUpWithMessages(FollowUpStatus):
    messages: list[TipsterMessage] = Field(
        default_factory=list, description="The police's questions and the tipster's answers, oldest first")


class IntakeReceipt(_Out):
    """What a provider's webhook is answered (the reply itself goes back to the sender through the gateway)."""

    status: str = Field(description="accepted | replayed | ignored")
