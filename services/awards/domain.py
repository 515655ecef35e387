"""Rules of emulation and commendation (thi đua, khen thưởng) as the Law of 2022 lays them out, without I/O.

* An achievement (thành tích) is one holder's record of one kind in one year; it keeps the facts behind it.
* A criterion (tiêu chuẩn) says which achievements earn a nomination, and from which issuer.
* A nomination (đề nghị khen thưởng) goes proposed -> reviewed by the council (Hội đồng thi đua, khen thưởng,
  with its minutes) -> approved or rejected by the issuer with a decision (quyết định) number and date.
* An approved nomination is an award with a certificate of merit (Giấy khen) and a verification code; an award
  may be revoked (thu hồi) with a reason. One achievement backs at most one award.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.auth import Principal, Role
from shared.clock import in_ward_time
from shared.contracts.awards import AchievementKind, Issuer, RecipientKind
from shared.errors import Forbidden, RuleViolation

NominationStatus = Literal["proposed", "reviewed", "approved", "rejected"]

#: Which recipient an achievement kind can have: the law rewards individuals and collectives; a reporter is
#: an individual known only by a pseudonym.
HOLDER_KINDS: dict[str, set[str]] = {
    "mediations_succeeded": {"individual", "collective"},
    "tips_solved": {"reporter"},
    "cameras_helped": {"collective"},
    "collections": {"collective"},
    "campaign_target_reached": {"collective"},
    "fire_prevention_activity": {"collective"},
    "security_team_activity": {"collective"},
}

#: Who decides for each issuer: the ward's officials act for the ward chairman (Chủ tịch UBND phường), the
#: city's for the city chairman (Chủ tịch UBND thành phố).
DECIDING_ROLE: dict[str, Role] = {"ward_chairman": Role.WARD_OFFICIAL, "city_chairman": Role.CITY_OFFICIAL}

#: Allowed moves of a nomination; approval and rejection only after the council's review.
TRANSITIONS: dict[str, set[str]] = {
    "proposed": {"reviewed", "rejected"},
    "reviewed": {"approved", "rejected"},
    "approved": set(),
    "rejected": set(),
}

ACHIEVEMENT_NAMESPACE = uuid.UUID("4b0e7a52-2f63-4f3e-9a44-0a7d0c1e6a11")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from paper


def achievement_id(ward_id: str, kind: str, holder_kind: str, holder_ref: str, year: int, scope: str = "") -> str:
    """Deterministic, so that recording the same achievement twice is one upsert."""
    return str(uuid.uuid5(ACHIEVEMENT_NAMESPACE, "|".join((ward_id, kind, holder_kind, holder_ref, str(year), scope))))


def ward_year(day: date | datetime) -> int:
    """The calendar year in the ward's zone (a fact at 23:30 on 31 December in Hà Nội counts for that year)."""
    if isinstance(day, datetime):
        return in_ward_time(day).year
    return day.year


def new_verification_code(year: int) -> str:
    """``GK-2024-XXXX-XXXX``: 40 random bits, unguessable, easy to read from paper."""
    body = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"GK-{year}-{body[:4]}-{body[4:]}"


def normalise_code(code: str) -> str:
    return code.strip().upper()


def check_transition(current: str, target: str) -> None:
    if target in TRANSITIONS.get(current, set()):
        return
    if current == "proposed" and target == "approved":
        raise RuleViolation("a nomination must be reviewed by the council before the issuer decides")
    raise RuleViolation(f"a nomination that is {current} cannot become {target}")


def ensure_may_decide(principal: Principal, issuer: str) -> None:
    """Only the issuer's level decides: a ward official cannot sign for the city chairman."""
    role = DECIDING_ROLE[issuer]
    if not principal.has(role, Role.ADMIN):
        raise Forbidden(f"only the {issuer.replace('_', ' ')}'s office ({role}) decides these nominations")


def ensure_holder_kind(kind: str, holder_kind: str) -> None:
    if holder_kind not in HOLDER_KINDS[kind]:
        allowed = ", ".join(sorted(HOLDER_KINDS[kind]))
        raise ValueError(f"achievements of kind {kind} are held by: {allowed}")


def meets(criterion: Criterion, count: int, amount_vnd: int) -> bool:
    return count >= criterion.min_count and amount_vnd >= criterion.min_amount_vnd


# -- commands' input -------------------------------------------------------------------------------------------
class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConfigureIssuer(_Input):
    """An issuing authority for a ward, valid from a date (levels changed in 2025: a new row, not an edit)."""

    title: str = Field(min_length=3, max_length=300, description="e.g. Chủ tịch Ủy ban nhân dân thành phố Thanh Hóa")
    authority: str = Field(min_length=3, max_length=300, description="e.g. Ủy ban nhân dân thành phố Thanh Hóa")
    signer_name: str | None = Field(default=None, max_length=200)
    valid_from: date
    valid_until: date | None = None

    @model_validator(mode="after")
    def _period(self) -> ConfigureIssuer:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


class Criterion(_Input):
    """E.g. a mediator with at least 5 successful mediations earns a Giấy khen of the ward chairman."""

    year: int = Field(ge=2000, le=2100)
    achievement_kind: AchievementKind
    holder_kind: RecipientKind
    min_count: int = Field(default=0, ge=0, le=1_000_000)
    min_amount_vnd: int = Field(default=0, ge=0)
    title: str = Field(min_length=3, max_length=300, description="The citation on the certificate")
    issuer: Issuer

    @model_validator(mode="after")
    def _sensible(self) -> Criterion:
        ensure_holder_kind(self.achievement_kind, self.holder_kind)
        if self.min_count == 0 and self.min_amount_vnd == 0:
            raise ValueError("a criterion needs a minimum count or amount")
        return self


class ManualNomination(_Input):
    """An official's nomination by hand; it must say what backs it."""

    year: int = Field(ge=2000, le=2100)
    recipient_kind: Literal["individual", "collective"]
    recipient_ref: str = Field(min_length=1, max_length=64, description="A registry resident_id, team_id or group_id")
    title: str = Field(min_length=3, max_length=300)
    issuer: Issuer
    achievement_ids: list[str] = Field(default_factory=list, max_length=50)
    evidence_note: str | None = Field(default=None, max_length=2000, description="What the nomination rests on")

    @model_validator(mode="after")
    def _has_evidence(self) -> ManualNomination:
        if not self.achievement_ids and not self.evidence_note:
            raise ValueError("a nomination needs evidence: achievement_ids or an evidence_note")
        return self


class Review(_Input):
    council_minutes_ref: str = Field(min_length=1, max_length=200, description="Biên bản họp Hội đồng TĐKT")


class Approve(_Input):
    decision_number: str = Field(min_length=1, max_length=100, description="e.g. 1234/QĐ-UBND")
    decision_date: date


class Reject(_Input):
    reason: str = Field(min_length=3, max_length=1000)
    decision_number: str | None = Field(default=None, max_length=100)
    decision_date: date | None = None


class Revoke(_Input):
    reason: str = Field(min_length=3, max_length=1000)
    revoked_on: date


ClaimSecret = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$",
                    description="The claim secret the incidents service shows the reporter with the tip's follow-up")


class Claim(_Input):
    """A reporter who chooses to be named: the name they choose and the proof that they are that reporter."""

    display_name: str = Field(min_length=2, max_length=120)
    claim_secret: str = ClaimSecret


class ClaimWithdrawal(_Input):
    """A reporter who no longer wants to be named: the same proof."""

    claim_secret: str = ClaimSecret


def issuer_valid_on(valid_from: date, valid_until: date | None, day: date) -> bool:
    return valid_from <= day and (valid_until is None or day <= valid_until)
