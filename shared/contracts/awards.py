"""Events of the awards service (thi đua, khen thưởng), by the Law on Emulation and Commendation 2022.

Achievements are recorded from the other services' events; criteria propose nominations; the issuer (the ward
chairman or the city chairman) approves or rejects them; an approved nomination becomes an award with a
certificate of merit (Giấy khen) carrying a verification code.

A reporter of crime tips is known here only by the incidents service's stable pseudonym (``reporter_ref``):
no event of this service ever carries a reporter's identity. ``AwardGranted`` with ``recipient_kind ==
"reporter"`` has ``recipient_name`` None; the incidents service shows it to the reporter through their
follow-up code.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from shared.events import Event, PublicEvent, copy_fields

RecipientKind = Literal["individual", "collective", "reporter"]
Issuer = Literal["ward_chairman", "city_chairman"]
AchievementKind = Literal[
    "mediations_succeeded",  # per mediator (individual) or per mediation team (collective)
    "tips_solved",  # per pseudonymous reporter_ref
    "cameras_helped",  # per camera facility: its footage helped solve a case
    "collections",  # per mobilisation team: money collected (đồng) in a year
    "campaign_target_reached",  # per mobilisation team of a campaign that reached its target
    "fire_prevention_activity",  # per inter-household fire-prevention team (tổ PCCC liên gia)
    "security_team_activity",  # per security-and-order / social-security team (tổ bảo vệ ANTT, tổ ANXH)
]
NominationOrigin = Literal["criterion", "manual"]
NominationStatus = Literal["proposed", "reviewed", "approved", "rejected"]
AwardStatus = Literal["granted", "revoked"]

#: An event carries at most this many evidence ids (the database keeps them all): a year of a team's collections
#: can be thousands of contributions, and an event must stay small.
MAX_EVIDENCE_IN_EVENT = 500

Id = Field(min_length=1, max_length=64)


# -- achievements (thành tích) -------------------------------------------------------------------------------
class AchievementRecorded(Event):
    """An achievement was recorded or grew, with the ids of the events that prove it. ``subject`` is the
    achievement id; an achievement is one holder's record of one kind in one year (and source, e.g. campaign)."""

    event_type: ClassVar[str] = "awards.achievement.recorded.v1"
    topic: ClassVar[str] = "awards.achievements"
    achievement_id: str = Id
    kind: AchievementKind
    holder_kind: RecipientKind
    holder_ref: str = Field(min_length=1, max_length=200, description="resident_id, team_id, facility_id or reporter_ref")
    group_id: str | None = None
    year: int = Field(ge=2000, le=2100)
    count: int = Field(ge=0, description="How many facts back it (cases, tips, contributions)")
    amount_vnd: int = Field(default=0, ge=0, description="Collections: đồng collected, net of reversals")
    evidence_event_ids: list[str] = Field(default_factory=list, max_length=MAX_EVIDENCE_IN_EVENT,
                                          description="Ids of the events that prove it (the latest 500)")


# -- issuing authorities (cấp khen thưởng) --------------------------------------------------------------------
class IssuerConfigured(Event):
    """An issuing authority of a ward was configured from a date (its title, authority and signer as printed on
    the certificates it signs). ``subject`` is ``<ward_id>:<issuer>``; a later ``valid_from`` is a new period,
    the same one again replaces it."""

    event_type: ClassVar[str] = "awards.issuer.configured.v1"
    topic: ClassVar[str] = "awards.awards"
    issuer: Issuer
    title: str = Field(max_length=300)
    authority: str = Field(max_length=300)
    signer_name: str | None = Field(default=None, max_length=200)
    valid_from: date
    valid_until: date | None = None


class CriterionAdded(Event):
    """A criterion was configured for a ward and year: achievements of this kind and holder that reach the
    minimums earn a nomination from the issuer. ``subject`` is the criterion id."""

    event_type: ClassVar[str] = "awards.criterion.added.v1"
    topic: ClassVar[str] = "awards.nominations"
    criterion_id: str = Id
    year: int = Field(ge=2000, le=2100)
    achievement_kind: AchievementKind
    holder_kind: RecipientKind
    min_count: int = Field(ge=0)
    min_amount_vnd: int = Field(ge=0)
    title: str = Field(max_length=300)
    issuer: Issuer


# -- nominations (đề nghị khen thưởng) -----------------------------------------------------------------------
class _Nomination(Event):
    nomination_id: str = Id
    recipient_kind: RecipientKind
    recipient_ref: str = Field(min_length=1, max_length=200)
    issuer: Issuer
    year: int = Field(ge=2000, le=2100)


class NominationProposed(_Nomination):
    """A nomination was proposed, by a criterion (with its evidence) or by an official by hand."""

    event_type: ClassVar[str] = "awards.nomination.proposed.v1"
    topic: ClassVar[str] = "awards.nominations"
    title: str = Field(max_length=300)
    origin: NominationOrigin
    criterion_id: str | None = None
    achievement_ids: list[str] = Field(default_factory=list, max_length=50)
    evidence_event_ids: list[str] = Field(default_factory=list, max_length=MAX_EVIDENCE_IN_EVENT,
                                          description="Ids of the events that prove it (the latest 500)")


class NominationReviewed(_Nomination):
    """The emulation and commendation council reviewed a nomination (reference to its minutes)."""

    event_type: ClassVar[str] = "awards.nomination.reviewed.v1"
    topic: ClassVar[str] = "awards.nominations"
    council_minutes_ref: str = Field(max_length=200)


class NominationApproved(_Nomination):
    """The issuer approved the nomination by a decision (quyết định); the award is granted with it."""

    event_type: ClassVar[str] = "awards.nomination.approved.v1"
    topic: ClassVar[str] = "awards.nominations"
    award_id: str = Id
    decision_number: str = Field(max_length=100)
    decision_date: date


class NominationRejected(_Nomination):
    """The issuer rejected the nomination."""

    event_type: ClassVar[str] = "awards.nomination.rejected.v1"
    topic: ClassVar[str] = "awards.nominations"
    reason: str = Field(max_length=1000)
    decision_number: str | None = Field(default=None, max_length=100)
    decision_date: date | None = None


# -- awards and certificates (Giấy khen) ---------------------------------------------------------------------
class PublicAwardGranted(PublicEvent):
    """A certificate of merit was granted (public feed; a collective's name only, never an individual's)."""

    event_type: ClassVar[str] = "public.awards.award.granted.v1"
    award_id: str
    recipient_kind: RecipientKind
    title: str
    issuer: Issuer
    decision_number: str
    decision_date: date
    year: int


class AwardGranted(Event):
    """An award (a certificate of merit, Giấy khen) was granted. ``subject`` is the award id.

    For ``recipient_kind == "reporter"``, ``recipient_ref`` is the incidents service's ``reporter_ref`` and
    ``recipient_name`` is None: the incidents service shows the recognition to the reporter through their
    follow-up code and secret; awards never learns who they are."""

    event_type: ClassVar[str] = "awards.award.granted.v1"
    topic: ClassVar[str] = "awards.awards"
    award_id: str = Id
    recipient_kind: RecipientKind
    recipient_ref: str = Field(min_length=1, max_length=200, description="resident_id | team_id | reporter_ref")
    recipient_name: str | None = Field(default=None, max_length=200, description="None for a reporter")
    title: str = Field(max_length=300)
    issuer: Issuer
    decision_number: str = Field(max_length=100)
    decision_date: date
    verification_code: str = Field(min_length=1, max_length=64)
    year: int = Field(ge=2000, le=2100)
    nomination_id: str | None = None
    achievement_ids: list[str] = Field(default_factory=list, max_length=50)

    def to_public(self) -> PublicAwardGranted:
        return copy_fields(PublicAwardGranted, self)


class PublicAwardRevoked(PublicEvent):
    """A certificate of merit was revoked (public feed): the award and the day only, never the reason (free text that
    may name someone) or the recipient."""

    event_type: ClassVar[str] = "public.awards.award.revoked.v1"
    award_id: str
    recipient_kind: RecipientKind
    revoked_on: date


class AwardRevoked(Event):
    """An award was revoked (thu hồi) with a reason; its certificate no longer verifies as valid."""

    event_type: ClassVar[str] = "awards.award.revoked.v1"
    topic: ClassVar[str] = "awards.awards"
    award_id: str = Id
    recipient_kind: RecipientKind
    recipient_ref: str = Field(min_length=1, max_length=200)
    verification_code: str = Field(min_length=1, max_length=64)
    reason: str = Field(max_length=1000)
    revoked_on: date

    def to_public(self) -> PublicAwardRevoked:
        return copy_fields(PublicAwardRevoked, self)


class CertificateIssued(Event):
    """The certificate of merit (Giấy khen) of an award was issued as a PDF."""

    event_type: ClassVar[str] = "awards.certificate.issued.v1"
    topic: ClassVar[str] = "awards.awards"
    award_id: str = Id
    verification_code: str = Field(min_length=1, max_length=64)
    sha256: str = Field(min_length=64, max_length=64, description="Digest of the PDF as issued")
