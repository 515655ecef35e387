"""The commands of the awards service: what an official, the issuer or a reporter asks it to do.

Each is a frozen message (``shared.application.Command``) whose fields are the whole request, path parameters
included; ``name`` is the command the audit trail records. The HTTP bodies are these fields without the path's
(services/awards/schemas.py derives them), so every constraint is written once, here.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from shared.application import Command
from shared.contracts.awards import AchievementKind, Issuer, RecipientKind

Year = Field(ge=2000, le=2100)
ClaimSecret = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$",
                    description="The claim secret the incidents service shows the reporter with the tip's follow-up")


# -- configuration ---------------------------------------------------------------------------------------------
class ConfigureIssuer(Command):
    """An issuing authority for a ward, valid from a date (levels changed in 2025: a new row, not an edit)."""

    name: ClassVar[str] = "issuer.configure"
    ward_id: str
    issuer: Issuer
    title: str = Field(min_length=3, max_length=300, description="e.g. Chủ tịch Ủy ban nhân dân thành phố Thanh Hóa")
    authority: str = Field(min_length=3, max_length=300, description="e.g. Ủy ban nhân dân thành phố Thanh Hóa")
    signer_name: str | None = Field(default=None, max_length=200)
    valid_from: date
    valid_until: date | None = None


class AddCriterion(Command):
    """A criterion for a year: e.g. a mediator with at least 5 successful mediations earns a Giấy khen of the
    ward chairman."""

    name: ClassVar[str] = "criterion.add"
    ward_id: str
    year: int = Year
    achievement_kind: AchievementKind
    holder_kind: RecipientKind
    min_count: int = Field(default=0, ge=0, le=1_000_000)
    min_amount_vnd: int = Field(default=0, ge=0)
    title: str = Field(min_length=3, max_length=300, description="The citation on the certificate")
    issuer: Issuer


# -- nominations -----------------------------------------------------------------------------------------------
class EvaluateCriteria(Command):
    """Apply the year's criteria: propose a nomination for every achievement that meets one and backs nothing."""

    name: ClassVar[str] = "nomination.evaluate"
    ward_id: str
    year: int = Year


class Nominate(Command):
    """An official's nomination by hand; it must say what backs it."""

    name: ClassVar[str] = "nomination.propose"
    ward_id: str
    year: int = Year
    recipient_kind: Literal["individual", "collective"]
    recipient_ref: str = Field(min_length=1, max_length=64, description="A registry resident_id, team_id or group_id")
    title: str = Field(min_length=3, max_length=300)
    issuer: Issuer
    achievement_ids: list[str] = Field(default_factory=list, max_length=50)
    evidence_note: str | None = Field(default=None, max_length=2000, description="What the nomination rests on")


class ReviewNomination(Command):
    name: ClassVar[str] = "nomination.review"
    nomination_id: str
    council_minutes_ref: str = Field(min_length=1, max_length=200, description="Biên bản họp Hội đồng TĐKT")


class ApproveNomination(Command):
    name: ClassVar[str] = "nomination.approve"
    nomination_id: str
    decision_number: str = Field(min_length=1, max_length=100, description="e.g. 1234/QĐ-UBND")
    decision_date: date


class RejectNomination(Command):
    name: ClassVar[str] = "nomination.reject"
    nomination_id: str
    reason: str = Field(min_length=3, max_length=1000)
    decision_number: str | None = Field(default=None, max_length=100)
    decision_date: date | None = None


# -- awards ----------------------------------------------------------------------------------------------------
class RevokeAward(Command):
    name: ClassVar[str] = "award.revoke"
    award_id: str
    reason: str = Field(min_length=3, max_length=1000)
    revoked_on: date


class IssueCertificate(Command):
    """Render and keep the Giấy khen as issued."""

    name: ClassVar[str] = "certificate.issue"
    award_id: str


class ClaimCertificate(Command):
    """A reporter who chooses to be named: the name they choose and the proof that they are that reporter."""

    name: ClassVar[str] = "award.claim"
    code: str
    display_name: str = Field(min_length=2, max_length=120)
    claim_secret: str = ClaimSecret


class WithdrawClaim(Command):
    """A reporter who no longer wants to be named: the same proof."""

    name: ClassVar[str] = "award.claim-withdraw"
    code: str
    claim_secret: str = ClaimSecret
