"""The commands of the donations service: what a caller asks it to do. ``name`` is the command the audit trail
records. Path parameters are fields; the rest is the request body of schemas.py (one definition of each field).
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import ConfigDict, Field, StrictInt

from services.donations import schemas
from shared.application import Command

_STRICT = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
Text = schemas.Text


class OpenCampaign(Command):
    """Open a campaign (mở cuộc vận động) after the households' vote. Also the request body of POST /v1/campaigns."""

    model_config = _STRICT
    name: ClassVar[str] = "campaign.open"

    ward_id: str = Text
    group_id: str = Text
    name_: str = Field(alias="name", min_length=1, max_length=200)
    purpose: str = Field(min_length=1, max_length=2000)
    target_vnd: StrictInt = Field(description="Whole đồng")
    starts_on: date
    ends_on: date
    organiser: str = Text
    team_ids: list[str] = Field(min_length=1, max_length=100)
    vote: schemas.VoteIn


class CloseCampaign(Command):
    model_config = _STRICT
    name: ClassVar[str] = "campaign.close"
    campaign_id: str


class RecordContribution(Command, schemas.ContributionIn):
    model_config = _STRICT
    name: ClassVar[str] = "contribution.record"
    campaign_id: str


class ReverseContribution(Command, schemas.ReversalIn):
    model_config = _STRICT
    name: ClassVar[str] = "contribution.reverse"
    contribution_id: str


class MakePledge(Command, schemas.PledgeIn):
    model_config = _STRICT
    name: ClassVar[str] = "pledge.make"
    campaign_id: str


class ProposeExpense(Command, schemas.ExpenseIn):
    model_config = _STRICT
    name: ClassVar[str] = "expense.propose"
    campaign_id: str


class ApproveExpense(Command, schemas.ApprovalIn):
    model_config = _STRICT
    name: ClassVar[str] = "expense.approve"
    expense_id: str
