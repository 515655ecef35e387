"""Request bodies of the mediation API: strict, bounded, and decoded before any rule runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.mediation.domain import CaseKind


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PartyIn(_Body):
    """A party (bên tranh chấp): a registered resident, or a person named only."""

    display_name: str = Field(min_length=1, max_length=200)
    resident_id: str | None = Field(default=None, min_length=1, max_length=64)


class OpenCase(_Body):
    """A case received at a party's request or taken up on a mediator's initiative (referrals come by event)."""

    origin: Literal["party_request", "mediator_initiative"]
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


class AssignMediators(_Body):
    mediator_ids: list[str] = Field(min_length=1, max_length=5)
    chosen_by_parties: bool = False


class Invitee(_Body):
    """A relative or a respected person (người có uy tín) invited to help (Art. 21 of the law)."""

    name: str = Field(min_length=1, max_length=200)
    relation: str = Field(min_length=1, max_length=200, description="e.g. 'uncle of a party', 'village elder'")


class RecordSession(_Body):
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


class Succeed(_Body):
    """Hòa giải thành (Art. 24): the agreement, how and by when it is to be carried out."""

    agreement: str = Field(min_length=1, max_length=4000)
    carry_out_how: str = Field(min_length=1, max_length=2000)
    carry_out_by: date | None = None
    concluded_on: date | None = None


class Fail(_Body):
    """Hòa giải không thành (Art. 25): the parties' demands, and where they were directed."""

    directed_to: str = Field(min_length=1, max_length=500)
    demands: str | None = Field(default=None, max_length=4000)
    concluded_on: date | None = None


class Withdraw(_Body):
    reason: str | None = Field(default=None, max_length=1000)


class Refuse(_Body):
    ground: str = Field(min_length=1, max_length=64, description="One of GET /v1/refusal-grounds")
    explanation: str | None = Field(default=None, max_length=2000, description="Kept in the case, not in events")


class FollowUp(_Body):
    """Theo dõi, đôn đốc việc thực hiện thỏa thuận (Art. 26)."""

    checked_on: date
    progress: Literal["carried_out", "partly_carried_out", "not_carried_out"]
    notes: str | None = Field(default=None, max_length=2000)


class Classify(_Body):
    """The team sets the kind of a case (a referral arrives without one)."""

    kind: CaseKind


class HandOver(_Body):
    """A ward official gives a case to a mediation team (a referral from a group that has none)."""

    team_id: str = Field(min_length=1, max_length=64)
