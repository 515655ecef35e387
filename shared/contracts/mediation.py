"""Events of the mediation service (hòa giải ở cơ sở), as the Law on Grassroots Mediation 2013 lays the work out.

Every event is about one case (``subject`` = ``case_id``, so a case's events stay in order on
``mediation.cases``) and repeats the facts a consumer needs to act on it alone: the group, the mediation team,
the incident that referred it (if any) and the kind of dispute.

No event carries the case's summary, the parties' names or the agreement's text: those are the parties'
private affairs and stay in the mediation service. Consumers get ids and outcomes: incidents resolves the
referral, awards credits the mediators (``mediator_ids`` are registry resident ids) and the team.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from shared.clock import in_ward_time
from shared.events import Event, PublicEvent, copy_fields

CaseKind = Literal["family", "neighbours", "property_or_land_boundary", "other_civil"]
CaseOrigin = Literal["party_request", "referral", "mediator_initiative"]
AgreementProgress = Literal["carried_out", "partly_carried_out", "not_carried_out"]

Id = Field(min_length=1, max_length=64)
TOPIC = "mediation.cases"


CaseOutcome = Literal["succeeded", "failed", "withdrawn", "refused"]


class _CaseFacts(Event):
    """Case facts repeated on every case event."""

    case_id: str = Id
    group_id: str = Id
    team_id: str | None = Field(default=None, description="The mediation team (tổ hòa giải) handling the case")
    referral_incident_id: str | None = Field(
        default=None, description="The incidents service's incident that referred this dispute, if any"
    )
    kind: CaseKind = Field(description="family, neighbours, property_or_land_boundary or other_civil")


class PublicCaseClosed(PublicEvent):
    """A mediation case closed, with its outcome (public feed: the kind of dispute and the group, no parties, no
    mediators, no reasons). Every way a case ends publishes it once: succeeded (beside
    ``public.mediation.case.succeeded.v1``), failed, withdrawn, or refused as not mediable at the grassroots."""

    event_type: ClassVar[str] = "public.mediation.case.closed.v1"
    case_id: str
    group_id: str
    kind: CaseKind
    outcome: CaseOutcome = Field(description="succeeded, failed, withdrawn or refused")
    closed_on: date = Field(description="The day the case closed (in ward time)")


def _closed(event: _CaseFacts, outcome: CaseOutcome, closed_on: date | None) -> PublicCaseClosed:
    return copy_fields(PublicCaseClosed, event, outcome=outcome,
                       closed_on=closed_on or in_ward_time(event.occurred_at).date())


class CaseOpened(_CaseFacts):
    """A mediation case was opened: at a party's request, by referral of an incident, or on a mediator's
    initiative (a matter the mediator witnessed or learned of; Art. 16 of the law)."""

    event_type: ClassVar[str] = "mediation.case.opened.v1"
    topic: ClassVar[str] = TOPIC
    origin: CaseOrigin
    received_on: date | None = Field(default=None, description="The date the request or referral was received")


class CaseRefused(_CaseFacts):
    """The matter may not be mediated at the grassroots (Art. 3 of the law, Decree 15/2014); a refused
    referral goes back to the incidents service with the reason."""

    event_type: ClassVar[str] = "mediation.case.refused.v1"
    topic: ClassVar[str] = TOPIC
    reason: str = Field(max_length=1000, description="The ground and its legal basis, never personal data")
    ground: str | None = Field(default=None, max_length=64, description="The ground's code, e.g. criminal_offence")

    def to_public(self) -> PublicCaseClosed:
        return _closed(self, "refused", None)


class MediatorAssigned(_CaseFacts):
    """A mediator (hòa giải viên) was assigned to the case: chosen by the parties, or by the team leader."""

    event_type: ClassVar[str] = "mediation.case.mediator_assigned.v1"
    topic: ClassVar[str] = TOPIC
    mediator_id: str = Field(min_length=1, max_length=64, description="A registry resident_id")
    chosen_by_parties: bool
    late: bool = Field(
        default=False, description="Assigned after the legal period (2 working days from receipt, Art. 20)"
    )


class SessionHeld(_CaseFacts):
    """A mediation session (buổi hòa giải) was held. Its notes stay in the service."""

    event_type: ClassVar[str] = "mediation.case.session_held.v1"
    topic: ClassVar[str] = TOPIC
    session_id: str | None = Field(default=None, max_length=64)
    held_on: date | None = None
    mediator_ids: list[str] = Field(default_factory=list, max_length=20, description="The mediators who took part")


class PublicCaseSucceeded(PublicEvent):
    """A dispute was mediated successfully in a ward (public feed: counts, no parties)."""

    event_type: ClassVar[str] = "public.mediation.case.succeeded.v1"
    case_id: str
    group_id: str
    team_id: str | None = None
    kind: CaseKind
    concluded_on: date


class CaseSucceeded(_CaseFacts):
    """Mediation succeeded (hòa giải thành): the parties reached an agreement (Art. 24)."""

    event_type: ClassVar[str] = "mediation.case.succeeded.v1"
    topic: ClassVar[str] = TOPIC
    mediator_ids: list[str] = Field(max_length=20, description="Registry resident ids of the mediators of the case")
    concluded_on: date
    carry_out_by: date | None = Field(default=None, description="When the agreement is to be carried out")

    def to_public(self) -> PublicCaseSucceeded:
        return copy_fields(PublicCaseSucceeded, self)

    def public_copies(self) -> tuple[PublicEvent, ...]:
        return self.to_public(), _closed(self, "succeeded", self.concluded_on)


class CaseFailed(_CaseFacts):
    """Mediation failed (hòa giải không thành); the parties were directed elsewhere (Art. 25)."""

    event_type: ClassVar[str] = "mediation.case.failed.v1"
    topic: ClassVar[str] = TOPIC
    mediator_ids: list[str] = Field(max_length=20)
    directed_to: str = Field(max_length=500, description="Where the parties were directed, e.g. the ward's UBND")
    concluded_on: date

    def to_public(self) -> PublicCaseClosed:
        return _closed(self, "failed", self.concluded_on)


class CaseWithdrawn(_CaseFacts):
    """A party withdrew the request, or the parties settled on their own; the case ends without mediation."""

    event_type: ClassVar[str] = "mediation.case.withdrawn.v1"
    topic: ClassVar[str] = TOPIC
    withdrawn_on: date | None = None

    def to_public(self) -> PublicCaseClosed:
        return _closed(self, "withdrawn", self.withdrawn_on)


class AgreementFollowedUp(_CaseFacts):
    """The carrying out of a successful case's agreement was followed up (Art. 26 of the law)."""

    event_type: ClassVar[str] = "mediation.case.agreement_followed_up.v1"
    topic: ClassVar[str] = TOPIC
    progress: AgreementProgress
    checked_on: date
