"""HTTP shapes of the donations API: the request bodies (strict: unknown fields and floats for money are refused)
and the response models every operation documents. Vocabularies come from shared.contracts.donations."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from shared.contracts.donations import (
    CameraPurchase,
    CampaignStatus,
    Channel,
    DonorKind,
    ExpenseStatus,
    InstalmentStatus,
    ReversalKind,
)
from shared.contracts.registry import MemberRole, TeamKind

Text = Field(min_length=1, max_length=200)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# -- request bodies -------------------------------------------------------------------------------------------
class VoteIn(Body):
    """The record of the households' meeting (biên bản họp hộ dân). The households entitled to vote are not
    stated: they are the households the registry holds for the group (donations keeps their count)."""

    record_ref: str = Text
    held_on: date
    in_favour: StrictInt
    against: StrictInt = 0
    abstained: StrictInt = 0


class ContributionIn(Body):
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


class ReversalIn(Body):
    kind: ReversalKind
    reason: str = Field(min_length=1, max_length=500)
    amount_vnd: StrictInt | None = Field(default=None, description="Defaults to the whole original amount")


class InstalmentIn(Body):
    number: StrictInt
    due_on: date
    amount_vnd: StrictInt


class PledgeIn(Body):
    team_id: str = Text
    donor_kind: DonorKind
    donor_ref: str | None = Field(default=None, max_length=200)
    public_name: str | None = Field(default=None, max_length=200)
    total_vnd: StrictInt
    instalments: list[InstalmentIn] = Field(min_length=1, max_length=60)


class ExpenseIn(Body):
    item: str = Text
    amount_vnd: StrictInt
    invoice_ref: str = Text
    paid_on: date
    cameras: list[CameraPurchase] = Field(default_factory=list, max_length=200)


class ApprovalIn(Body):
    approval_ref: str = Field(min_length=1, max_length=200, description="The official's decision number")


# -- responses ------------------------------------------------------------------------------------------------
class CampaignOpenedOut(BaseModel):
    campaign_id: str
    team_ids: list[str]
    households_total: int = Field(description="The group's households the registry held; the vote was checked "
                                              "against this number")


class CampaignClosedOut(BaseModel):
    campaign_id: str
    closed_on: date
    raised_vnd: int
    spent_vnd: int
    balance_vnd: int


class ContributionOut(BaseModel):
    contribution_id: str
    amount_vnd: int
    raised_vnd: int = Field(description="The campaign's net total after this entry")


class ReversalOut(BaseModel):
    reversal_id: str
    amount_vnd: int = Field(description="The đồng taken back")
    raised_vnd: int


class PledgeMadeOut(BaseModel):
    pledge_id: str


class ExpenseProposedOut(BaseModel):
    expense_id: str
    status: ExpenseStatus


class ExpenseApprovedOut(BaseModel):
    expense_id: str
    status: ExpenseStatus
    balance_vnd: int


class VoteOut(BaseModel):
    record_ref: str
    held_on: date
    households_total: int
    in_favour: int
    against: int
    abstained: int


class CampaignSummary(BaseModel):
    campaign_id: str
    group_id: str
    name: str
    purpose: str
    target_vnd: int
    starts_on: date
    ends_on: date
    closed_on: date | None
    target_reached_on: date | None


class CampaignOut(CampaignSummary):
    ward_id: str
    organiser: str
    status: CampaignStatus
    team_ids: list[str]
    vote: VoteOut
    raised_vnd: int
    spent_vnd: int
    balance_vnd: int
    opened_at: datetime


class CampaignPage(BaseModel):
    items: list[CampaignSummary]
    next_cursor: str | None


class ExpenseOut(BaseModel):
    expense_id: str
    campaign_id: str
    item: str
    amount_vnd: int
    invoice_ref: str
    paid_on: date
    cameras: list[CameraPurchase]
    status: ExpenseStatus
    proposed_by: str
    proposed_at: datetime
    approved_by: str | None
    approval_ref: str | None
    approved_at: datetime | None


class ContributionListed(BaseModel):
    """A contribution as the campaign's ledger (sổ thu) lists it: never the donor's id (only the public name they
    chose), with the entry that reversed it, if any."""

    contribution_id: str
    receipt_number: str
    received_on: date
    amount_vnd: int = Field(description="As recorded; 0 for an in-kind gift")
    channel: Channel
    in_kind_description: str | None
    team_id: str | None
    donor_kind: DonorKind
    public_name: str | None
    reversal: ReversalKind | None = Field(description="refund or void when the contribution was reversed")
    reversed_vnd: int = Field(description="The đồng the reversal took back (0 when not reversed)")
    reversal_reason: str | None
    recorded_at: datetime


class ContributionPage(BaseModel):
    items: list[ContributionListed]
    next_cursor: str | None


class ExpensePage(BaseModel):
    items: list[ExpenseOut]
    next_cursor: str | None


class InstalmentOut(BaseModel):
    number: int
    due_on: date
    amount_vnd: int
    status: InstalmentStatus
    flagged_overdue_on: date | None


class PledgeOut(BaseModel):
    pledge_id: str
    campaign_id: str
    team_id: str | None
    total_vnd: int
    instalments: list[InstalmentOut]


class MemberOut(BaseModel):
    resident_id: str
    full_name: str
    role: MemberRole


class TeamOut(BaseModel):
    team_id: str
    ward_id: str
    group_id: str
    kind: TeamKind
    name: str | None
    members: list[MemberOut] = Field(description="The current members, as the registry's events told donations")


class TeamPage(BaseModel):
    items: list[TeamOut]
    next_cursor: str | None


class GroupOut(BaseModel):
    group_id: str
    ward_id: str
    households: int = Field(description="The group's households donations knows from the registry's events: a "
                                        "campaign's vote is checked against this number")


class TeamTotal(BaseModel):
    team_id: str
    team_name: str | None
    raised_vnd: int


class ItemTotal(BaseModel):
    item: str
    amount_vnd: int


class InKindGift(BaseModel):
    description: str | None
    public_name: str | None
    received_on: date


class HonourRow(BaseModel):
    name: str
    amount_vnd: int
    gifts: int


class ReportOut(BaseModel):
    """The public transparency report (báo cáo công khai)."""

    campaign_id: str
    name: str
    purpose: str
    group_id: str
    organiser: str
    starts_on: date
    ends_on: date
    status: CampaignStatus
    target_vnd: int
    target_reached_on: date | None
    raised_vnd: int
    contributions: int
    reversed_vnd: int
    by_team: list[TeamTotal]
    by_channel: dict[str, int]
    in_kind_gifts: list[InKindGift]
    spent_vnd: int
    spent_by_item: list[ItemTotal]
    balance_vnd: int
    honour_roll: list[HonourRow]
