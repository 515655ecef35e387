"""Events of the donations service (vận động ủng hộ): campaigns, the ledger of contributions, pledges and their
reversals, expenses, and the target reached.

Amounts are whole đồng (VND) as integers, never floats. The subject of every ledger event is the campaign id,
so one campaign's entries stay in order on ``donations.ledger``. No event names a donor: consumers get the kind
of donor and the team and member who collected (what awards credits), never a household, a resident donor or a
public name (the honour roll stays in the ward's transparency report).
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.clock import in_ward_time
from shared.events import Event, PublicEvent, copy_fields

# The vocabularies of donations, defined once: the service's domain, request bodies and responses use these.
Channel = Literal["cash", "bank_transfer", "in_kind"]
DonorKind = Literal["household", "resident", "organisation", "anonymous"]
ReversalKind = Literal["refund", "void"]
CampaignStatus = Literal["open", "closed"]
ExpenseStatus = Literal["proposed", "approved"]
InstalmentStatus = Literal["paid", "due", "overdue"]

Id = Field(min_length=1, max_length=64)
Vnd = Field(ge=0, description="Whole đồng (VND)")


# -- campaigns -------------------------------------------------------------------------------------------------
class PublicCampaignOpened(PublicEvent):
    """A fundraising campaign opened (public feed)."""

    event_type: ClassVar[str] = "public.donations.campaign.opened.v1"
    campaign_id: str
    group_id: str
    name: str
    purpose: str
    target_vnd: int
    starts_on: date
    ends_on: date


class CampaignOpened(Event):
    """A fundraising campaign (cuộc vận động) opened after the households voted for it. ``subject``: campaign id."""

    event_type: ClassVar[str] = "donations.campaign.opened.v1"
    topic: ClassVar[str] = "donations.campaigns"
    campaign_id: str = Id
    group_id: str = Id
    name: str = Field(max_length=200)
    purpose: str = Field(max_length=2000, description="e.g. install security cameras (lắp camera an ninh)")
    target_vnd: int = Field(gt=0, description="Target in whole đồng")
    starts_on: date
    ends_on: date
    team_ids: list[str] = Field(max_length=100, description="The mobilisation teams (tổ vận động) that collect")
    organiser: str | None = Field(default=None, max_length=200, description="The body organising it")
    decision_ref: str | None = Field(default=None, max_length=200, description="The vote record / decision")

    def to_public(self) -> PublicCampaignOpened:
        return copy_fields(PublicCampaignOpened, self)


class PublicCampaignTargetReached(PublicEvent):
    """A campaign reached its target (public feed)."""

    event_type: ClassVar[str] = "public.donations.campaign.target_reached.v1"
    campaign_id: str
    group_id: str
    target_vnd: int
    raised_vnd: int


class CampaignTargetReached(Event):
    """A campaign's net contributions reached its target. Published exactly once per campaign. ``team_totals``
    holds every team that had collected by then; a team whose first collection comes later is credited by
    ``CampaignTeamCredited`` (once), so every team that collected for the campaign is credited, in any order."""

    event_type: ClassVar[str] = "donations.campaign.target_reached.v1"
    topic: ClassVar[str] = "donations.campaigns"
    campaign_id: str = Id
    group_id: str = Id
    target_vnd: int = Vnd
    raised_vnd: int = Field(description="Net raised (contributions less reversals) when the target was reached")
    team_totals: dict[str, int] = Field(max_length=100, description="team_id -> đồng collected by that team (net)")
    reached_on: date | None = None

    def to_public(self) -> PublicCampaignTargetReached:
        return copy_fields(PublicCampaignTargetReached, self)


class CampaignTeamCredited(Event):
    """A team that collected for a campaign is credited with its reaching the target: published once per team and
    campaign, for each team whose first (net positive) collection came after ``CampaignTargetReached`` (the teams
    that had collected by then are in that event's ``team_totals``). Every team that collected is so credited
    once, whatever the order in which the contributions arrived."""

    event_type: ClassVar[str] = "donations.campaign.team_credited.v1"
    topic: ClassVar[str] = "donations.campaigns"
    campaign_id: str = Id
    group_id: str = Id
    team_id: str = Id
    total_vnd: int = Field(gt=0, description="Net đồng the team had collected for the campaign when credited")
    reached_on: date = Field(description="When the campaign reached its target (the credit's date)")


class PublicCampaignClosed(PublicEvent):
    """A campaign closed, with its accounts (public feed): raised, spent and the balance left, in whole đồng."""

    event_type: ClassVar[str] = "public.donations.campaign.closed.v1"
    campaign_id: str
    group_id: str
    raised_vnd: int
    spent_vnd: int
    balance_vnd: int
    closed_on: date


class CampaignClosed(Event):
    """A campaign was closed: no more contributions or pledges."""

    event_type: ClassVar[str] = "donations.campaign.closed.v1"
    topic: ClassVar[str] = "donations.campaigns"
    campaign_id: str = Id
    group_id: str = Id
    raised_vnd: int
    spent_vnd: int = Vnd
    balance_vnd: int
    closed_on: date

    def to_public(self) -> PublicCampaignClosed:
        return copy_fields(PublicCampaignClosed, self)


# -- the ledger (subject = campaign id) ---------------------------------------------------------------------------
class ContributionRecorded(Event):
    """A contribution was recorded in the ledger (0 đồng for an in-kind gift, which is described, not valued)."""

    event_type: ClassVar[str] = "donations.contribution.recorded.v1"
    topic: ClassVar[str] = "donations.ledger"
    contribution_id: str = Id
    campaign_id: str = Id
    amount_vnd: int = Vnd
    in_kind: bool
    channel: Channel
    team_id: str | None = None
    collected_by_resident_id: str | None = Field(default=None, description="The team member who collected it")
    donor_kind: DonorKind
    group_id: str | None = None
    received_on: date | None = None


class ContributionReversed(Event):
    """A contribution was corrected by a reversing entry (refund or void), linked to the original."""

    event_type: ClassVar[str] = "donations.contribution.reversed.v1"
    topic: ClassVar[str] = "donations.ledger"
    reversal_id: str = Id
    contribution_id: str = Id
    campaign_id: str = Id
    amount_vnd: int = Field(ge=0, description="The đồng taken back (positive; at most the original)")
    team_id: str | None = None
    reason: str = Field(max_length=500)
    kind: ReversalKind | None = None


class Instalment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int = Field(ge=1)
    due_on: date
    amount_vnd: int = Field(gt=0)


class PledgeMade(Event):
    """A donor pledged an amount, paid in instalments (each paid by a later contribution)."""

    event_type: ClassVar[str] = "donations.pledge.made.v1"
    topic: ClassVar[str] = "donations.ledger"
    pledge_id: str = Id
    campaign_id: str = Id
    total_vnd: int = Field(gt=0)
    instalments: list[Instalment] = Field(max_length=60)
    team_id: str | None = None
    donor_kind: DonorKind


class PledgeInstalmentOverdue(Event):
    """An instalment of a pledge passed its due date unpaid (flagged once by the scheduled check)."""

    event_type: ClassVar[str] = "donations.pledge.instalment_overdue.v1"
    topic: ClassVar[str] = "donations.ledger"
    pledge_id: str = Id
    campaign_id: str = Id
    instalment_number: int = Field(ge=1)
    due_on: date
    amount_vnd: int = Field(gt=0)
    team_id: str | None = None


# -- expenses ------------------------------------------------------------------------------------------------------
class CameraPurchase(BaseModel):
    """A security camera an expense bought; the registry registers it as a facility."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    location: str = Field(min_length=1, max_length=300, description="A public place")
    group_id: str = Id
    installed_on: date | None = None


class PublicExpenseRecorded(PublicEvent):
    """A campaign's money was spent (public feed): what was bought, for how much, how many cameras, on which day.
    No invoice reference and no camera locations."""

    event_type: ClassVar[str] = "public.donations.expense.recorded.v1"
    expense_id: str
    campaign_id: str
    group_id: str
    item: str
    amount_vnd: int
    cameras_count: int = Field(ge=0, description="How many security cameras the expense bought")
    paid_on: date = Field(description="The day it was paid (the day it was recorded, in ward time, if not given)")


class ExpenseRecorded(Event):
    """An approved expense was paid from a campaign's balance. ``subject``: the campaign id.

    The registry registers each camera as a facility with ``funded_by_campaign_id`` / ``funded_by_expense_id``
    (idempotently: expense id + the camera's position identify it)."""

    event_type: ClassVar[str] = "donations.expense.recorded.v1"
    topic: ClassVar[str] = "donations.expenses"
    expense_id: str = Id
    campaign_id: str = Id
    group_id: str = Id
    item: str = Field(max_length=300)
    amount_vnd: int = Field(gt=0)
    invoice_ref: str = Field(max_length=200)
    cameras: list[CameraPurchase] = Field(default_factory=list, max_length=200)
    paid_on: date | None = None

    def to_public(self) -> PublicExpenseRecorded:
        return copy_fields(PublicExpenseRecorded, self, cameras_count=len(self.cameras),
                           paid_on=self.paid_on or in_ward_time(self.occurred_at).date())


class ExpenseProposed(Event):
    """An official proposed an expense: it waits for another official's approval (four eyes) before it is paid."""

    event_type: ClassVar[str] = "donations.expense.proposed.v1"
    topic: ClassVar[str] = "donations.expenses"
    expense_id: str = Id
    campaign_id: str = Id
    group_id: str = Id
    amount_vnd: int = Field(gt=0)
    proposed_by: str = Field(min_length=1, max_length=200, description="The proposing official's user id")
