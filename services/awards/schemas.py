"""The awards service's HTTP shapes: request bodies (a command's fields without those from the path, derived from
services/awards/commands.py so each constraint is written once) and the response models every operation documents.
Vocabularies come from shared/contracts/awards.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

from services.awards import commands
from shared.application import Command
from shared.contracts.awards import (
    AchievementKind,
    AwardStatus,
    Issuer,
    NominationOrigin,
    NominationStatus,
    RecipientKind,
)

_BODY = ConfigDict(extra="forbid", str_strip_whitespace=True)


def body_of(command: type[Command], *path: str) -> type[BaseModel]:
    """The request body of ``command``: its fields but those of the path, unknown fields refused."""
    fields: dict[str, Any] = {n: (f.annotation, f) for n, f in command.model_fields.items() if n not in path}
    return create_model(f"{command.__name__}Body", __config__=_BODY, __doc__=command.__doc__, **fields)


ConfigureIssuerBody = body_of(commands.ConfigureIssuer, "ward_id", "issuer")
AddCriterionBody = body_of(commands.AddCriterion, "ward_id")
EvaluateCriteriaBody = body_of(commands.EvaluateCriteria, "ward_id")
NominateBody = body_of(commands.Nominate, "ward_id")
ReviewBody = body_of(commands.ReviewNomination, "nomination_id")
ApproveBody = body_of(commands.ApproveNomination, "nomination_id")
RejectBody = body_of(commands.RejectNomination, "nomination_id")
RevokeBody = body_of(commands.RevokeAward, "award_id")
ClaimBody = body_of(commands.ClaimCertificate, "code")
WithdrawClaimBody = body_of(commands.WithdrawClaim, "code")

T = TypeVar("T")


class PageOf(BaseModel, Generic[T]):
    """One page of a list (shared/paging.py): pass ``next_cursor`` back as ``?cursor=`` for the next; null at the end."""

    items: list[T]
    next_cursor: str | None


# -- responses -------------------------------------------------------------------------------------------------
class IssuerOut(BaseModel):
    ward_id: str
    issuer: Issuer
    title: str
    authority: str
    signer_name: str | None = None
    valid_from: date
    valid_until: date | None = None


class CriterionOut(BaseModel):
    criterion_id: str = Field(description="UUID")
    ward_id: str
    year: int
    achievement_kind: AchievementKind
    holder_kind: RecipientKind
    min_count: int
    min_amount_vnd: int
    title: str
    issuer: Issuer
    created_at: datetime | None = Field(default=None, description="In lists")


class AchievementOut(BaseModel):
    achievement_id: str = Field(description="UUID (derived from ward, kind, holder, year and scope)")
    ward_id: str
    kind: AchievementKind
    holder_kind: RecipientKind
    holder_ref: str
    group_id: str | None = None
    year: int
    scope: str = Field(description="e.g. the campaign of a target reached; empty otherwise")
    count: int
    amount_vnd: int
    updated_at: datetime
    evidence_event_ids: list[str] = Field(description="Ids of the events that prove it")
    award_id: str | None = Field(description="The award it backs, if any")


class NominationOut(BaseModel):
    nomination_id: str = Field(description="UUID")
    ward_id: str | None = Field(default=None, description="In lists")
    year: int
    recipient_kind: RecipientKind
    recipient_ref: str
    recipient_name: str | None = Field(description="From the registry's events; None for a reporter")
    title: str
    issuer: Issuer
    origin: NominationOrigin
    criterion_id: str | None = None
    status: NominationStatus
    achievement_ids: list[str]
    evidence_event_ids: list[str]
    evidence_note: str | None = None
    council_minutes_ref: str | None = None
    decision_number: str | None = None
    decision_date: date | None = None
    rejection_reason: str | None = None
    created_at: datetime | None = Field(default=None, description="In lists")
    updated_at: datetime | None = Field(default=None, description="In lists")


class Evaluated(BaseModel):
    proposed: list[NominationOut] = Field(description="The nominations this evaluation proposed (none: 200)")


class NominationDecided(BaseModel):
    nomination_id: str
    status: NominationStatus
    ward_id: str
    council_minutes_ref: str | None = Field(default=None, description="After a review")
    award_id: str | None = Field(default=None, description="After an approval: the award granted")
    verification_code: str | None = Field(default=None, description="After an approval: the certificate's code")


class AwardOut(BaseModel):
    award_id: str = Field(description="UUID")
    ward_id: str
    nomination_id: str
    year: int
    recipient_kind: RecipientKind
    recipient_ref: str
    recipient_name: str | None
    title: str
    issuer: Issuer
    issuer_title: str
    issuer_authority: str
    signer_name: str | None
    decision_number: str
    decision_date: date
    verification_code: str
    status: AwardStatus
    revoked_reason: str | None
    revoked_on: date | None
    certificate_sha256: str | None = Field(description="Digest of the certificate as issued; None before")
    granted_at: datetime
    achievement_ids: list[str]


class AwardRevokedOut(BaseModel):
    award_id: str
    status: AwardStatus
    ward_id: str


class CertificateOut(BaseModel):
    award_id: str
    verification_code: str
    sha256: str = Field(description="Digest of the PDF as issued (GET .../certificate.pdf)")
    ward_id: str


class ClaimOut(BaseModel):
    award_id: str
    verification_code: str
    claimed: bool = Field(description="Whether the certificate now shows the name the reporter chose")
    ward_id: str


class VerifiedCertificate(BaseModel):
    verification_code: str
    valid: bool = Field(description="Granted and not revoked")
    status: AwardStatus
    recipient: str = Field(description="As printed: a reporter's chosen name, or that they are anonymous")
    recipient_kind: RecipientKind
    title: str
    issuer: Issuer
    issuer_title: str
    decision_number: str
    decision_date: date
    year: int
    revoked_on: date | None
    revoked_reason: str | None


class FestivalAchievement(BaseModel):
    achievement_id: str
    kind: AchievementKind
    count: int
    amount_vnd: int
    evidence_event_ids: list[str]


class FestivalAward(BaseModel):
    award_id: str
    recipient_kind: RecipientKind
    recipient_ref: str
    recipient: str
    title: str
    issuer: Issuer
    issuer_title: str
    decision_number: str
    decision_date: date
    verification_code: str
    achievements: list[FestivalAchievement]


class Festival(BaseModel):
    """The festival's list of one ward and year: one document (not a paged list), in the order it is read out."""

    ward_id: str
    ward_name: str
    year: int
    awards: list[FestivalAward]
