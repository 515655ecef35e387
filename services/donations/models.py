"""Request bodies of the donations API (strict: unknown fields and floats for money are refused)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from services.donations.domain import Channel, DonorKind, ReversalKind
from shared.contracts.donations import CameraPurchase

Text = Field(min_length=1, max_length=200)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class VoteIn(Body):
    """The record of the households' meeting (biên bản họp hộ dân)."""

    record_ref: str = Text
    held_on: date
    households_total: StrictInt
    in_favour: StrictInt
    against: StrictInt = 0
    abstained: StrictInt = 0


class OpenCampaign(Body):
    ward_id: str = Text
    group_id: str = Text
    name: str = Text
    purpose: str = Field(min_length=1, max_length=2000)
    target_vnd: StrictInt = Field(description="Whole đồng")
    starts_on: date
    ends_on: date
    organiser: str = Text
    team_ids: list[str] = Field(min_length=1, max_length=100)
    vote: VoteIn


class RecordContribution(Body):
    team_id: str = Text
    channel: Channel
    amount_vnd: StrictInt | None = Field(default=None, description="Whole đồng; left out for in-kind gifts")
    in_kind_description: str | None = Field(default=None, max_length=1000)
    receipt_number: str = Text
    received_on: date | None = Field(default=None, description="Defaults to today in the ward")
    donor_kind: DonorKind
    donor_ref: str | None = Field(default=None, max_length=200,
                                  description="Household id, resident id, or the organisation's name")
    public_name: str | None = Field(default=None, max_length=200, description="Name for the honour roll, if wished")
    pledge_id: str | None = Field(default=None, max_length=64)
    instalment_number: StrictInt | None = None


class ReverseContribution(Body):
    kind: ReversalKind
    reason: str = Field(min_length=1, max_length=500)
    amount_vnd: StrictInt | None = Field(default=None, description="Defaults to the whole original amount")


class InstalmentIn(Body):
    number: StrictInt
    due_on: date
    amount_vnd: StrictInt


class MakePledge(Body):
    team_id: str = Text
    donor_kind: DonorKind
    donor_ref: str | None = Field(default=None, max_length=200)
    public_name: str | None = Field(default=None, max_length=200)
    total_vnd: StrictInt
    instalments: list[InstalmentIn] = Field(min_length=1, max_length=60)


class ProposeExpense(Body):
    item: str = Text
    amount_vnd: StrictInt
    invoice_ref: str = Text
    paid_on: date
    cameras: list[CameraPurchase] = Field(default_factory=list, max_length=200)


class ApproveExpense(Body):
    approval_ref: str = Field(min_length=1, max_length=200, description="The official's decision number")
