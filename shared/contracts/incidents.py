"""Events of the incidents service (tin báo, tố giác tội phạm): incident reports, crime tips and police warnings.

No event carries a reporter's identity - not the name, the resident id, the phone, nor anything from which an
anonymous reporter could be worked out. Where a consumer must credit a reporter (awards), it gets
``reporter_ref``: a stable pseudonym (the same for one reporter across incidents) that only the incidents
service can link back to a person. ``subject`` is always the incident id (or the warning id for warnings).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.clock import in_ward_time
from shared.events import Event, PublicEvent, copy_fields

Category = Literal["theft", "fraud", "drugs", "fire", "dispute", "public_order", "other"]
Outcome = Literal["solved", "unfounded", "referred_to_mediation", "mediated", "transferred"]
AssigneeKind = Literal["police", "team"]
WarningKind = Literal["summons", "admonition"]

INCIDENTS_TOPIC = "incidents.incidents"
WARNINGS_TOPIC = "incidents.warnings"

Id = Field(min_length=1, max_length=64)


class _Incident(Event):
    """Facts repeated on every incident event, so a consumer can act on one without the others."""

    topic: ClassVar[str] = INCIDENTS_TOPIC
    incident_id: str = Id
    group_id: str = Field(min_length=1, max_length=64, description="The residential group (tổ dân phố) of the place")


class PublicIncidentReported(PublicEvent):
    """An incident was reported in a residential group (public feed for other wards).

    Only the category, the group and the day: no description, no place, no time of day, and never a crime tip
    (a tip stays confidential while the police handle it; its result is public once resolved).
    """

    event_type: ClassVar[str] = "public.incidents.incident.reported.v1"
    incident_id: str
    group_id: str
    category: Category
    reported_on: date


class PublicIncidentResolved(PublicEvent):
    """An incident or crime tip in a residential group was resolved (public feed): category and outcome only."""

    event_type: ClassVar[str] = "public.incidents.incident.resolved.v1"
    incident_id: str
    group_id: str
    category: Category
    is_crime_tip: bool
    outcome: Outcome
    resolved_on: date


class IncidentReported(_Incident):
    """An incident report or a crime tip (tin báo / tố giác tội phạm) was received. No reporter identity."""

    event_type: ClassVar[str] = "incidents.incident.reported.v1"
    category: Category
    is_crime_tip: bool = Field(description="A crime tip (tố giác tội phạm) must be decided within 20 days")
    anonymous: bool = Field(description="The reporter chose to stay anonymous (never who they are)")
    happened_at: datetime | None = Field(default=None, description="When the incident happened, if known")
    reported_at: datetime
    assisted: bool = Field(default=False, description="A team leader entered it on behalf of the resident who "
                                                      "reports it (assisted intake); never who either is")

    def to_public(self) -> PublicIncidentReported | None:
        if self.is_crime_tip:
            return None
        return copy_fields(PublicIncidentReported, self, reported_on=in_ward_time(self.reported_at).date())


class IncidentTriaged(_Incident):
    """Police triaged the report: category confirmed or corrected, crime-tip status and deadline set."""

    event_type: ClassVar[str] = "incidents.incident.triaged.v1"
    category: Category
    is_crime_tip: bool
    deadline_on: date | None = Field(default=None, description="Crime tips: the date by which it must be decided")


class IncidentAssigned(_Incident):
    """The incident was assigned to the area police (cảnh sát khu vực) or to a team (e.g. tổ ANXH)."""

    event_type: ClassVar[str] = "incidents.incident.assigned.v1"
    assignee_kind: AssigneeKind
    team_id: str | None = Field(default=None, description="When assigned to a team: the registry team id")
    officer_ref: str | None = Field(default=None, description="When assigned to police: the officer's user id")


class IncidentDeadlineExtended(_Incident):
    """A crime tip's 20-day deadline was extended (once, to at most 2 months from receipt)."""

    event_type: ClassVar[str] = "incidents.incident.deadline_extended.v1"
    previous_deadline_on: date
    deadline_on: date


class IncidentOverdue(_Incident):
    """A crime tip passed its deadline undecided (emitted once per deadline by the scheduled check)."""

    event_type: ClassVar[str] = "incidents.incident.overdue.v1"
    category: Category
    deadline_on: date
    received_at: datetime


class DisputeParty(BaseModel):
    """A party to a dispute: a registered resident, or a person named by police (no other personal data)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    resident_id: str | None = Field(default=None, max_length=64)
    display_name: str = Field(min_length=1, max_length=200)


class IncidentReferredToMediation(_Incident):
    """A dispute was referred to the group's mediation team (hòa giải ở cơ sở)."""

    event_type: ClassVar[str] = "incidents.incident.referred_to_mediation.v1"
    summary: str = Field(min_length=1, max_length=2000, description="Written by police; never the reporter's identity")
    parties: list[DisputeParty] = Field(min_length=1, max_length=20)
    referred_at: datetime


class IncidentResolved(_Incident):
    """The incident was resolved with an outcome. ``mediated`` follows a successful mediation case."""

    event_type: ClassVar[str] = "incidents.incident.resolved.v1"
    category: Category
    is_crime_tip: bool
    outcome: Outcome
    camera_footage_used: bool
    camera_ids: list[str] = Field(default_factory=list, max_length=200,
                                  description="Registry facility ids of the cameras cited")
    reporter_ref: str | None = Field(
        default=None, description="A stable pseudonym of the reporter (never the identity); None if none known"
    )
    reporter_claim_verifier: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$",
        description="An anonymous tip's claim verifier (shared/claims.py): a hash, bound to reporter_ref, of the "
                    "claim secret only the holder of the follow-up secret can get; None otherwise",
    )
    resolved_at: datetime

    def to_public(self) -> PublicIncidentResolved:
        return copy_fields(PublicIncidentResolved, self, resolved_on=in_ward_time(self.resolved_at).date())


class IncidentReturnedToPolice(_Incident):
    """The mediation did not settle the dispute (failed, refused, withdrawn): it is back with the police."""

    event_type: ClassVar[str] = "incidents.incident.returned_to_police.v1"
    reason: str = Field(max_length=2000)
    mediation_case_id: str | None = None


class IncidentClosed(_Incident):
    """The incident was closed after its resolution."""

    event_type: ClassVar[str] = "incidents.incident.closed.v1"
    outcome: Outcome | None = None


class IncidentReopened(_Incident):
    """A resolved or closed incident was reopened, with the reason."""

    event_type: ClassVar[str] = "incidents.incident.reopened.v1"
    reason: str = Field(max_length=2000)


class WarningRecorded(Event):
    """Police recorded a warning (gọi hỏi = summons for questioning, răn đe = admonition). Only ids here."""

    event_type: ClassVar[str] = "incidents.warning.recorded.v1"
    topic: ClassVar[str] = WARNINGS_TOPIC
    warning_id: str = Id
    group_id: str = Id
    kind: WarningKind
    issued_on: date
    incident_id: str | None = Field(default=None, description="The incident that led to it, if any")


# -- places (issue 18): "me too" and merged reports. No coordinates: the group is as precise as an event gets. -----
class IncidentSupported(_Incident):
    """Someone said "me too" on a report (or a merge carried supporters over): the count, never who."""

    event_type: ClassVar[str] = "incidents.incident.supported.v1"
    supporters: int = Field(ge=0, description="How many people support the report now (its reporter not counted)")


class IncidentsMerged(_Incident):
    """An official merged a duplicate report (``incident_id``, now closed with outcome ``merged``) into another
    report of the same ward (``into``), which carries its supporters and reporter from now on."""

    event_type: ClassVar[str] = "incidents.incident.merged.v1"
    into: str = Field(min_length=1, max_length=64, description="The report that carries on")


# -- two-way anonymous messages (issue 17): ids only, never the text (it is sealed in the service) -----------------
class TipQuestionAsked(_Incident):
    """The police asked an anonymous tipster a question through the tip (read with the follow-up code and secret)."""

    event_type: ClassVar[str] = "incidents.tip.question_asked.v1"
    message_id: str = Id
    officer_ref: str = Field(min_length=1, max_length=200, description="The officer who asked (their user id)")


class TipAnswered(_Incident):
    """An anonymous tipster answered (or wrote to) the police through the tip: the officer should read it."""

    event_type: ClassVar[str] = "incidents.tip.answered.v1"
    message_id: str = Id
    officer_ref: str | None = Field(
        default=None, max_length=200,
        description="The officer whose question it answers, else the officer the tip is assigned to; None if none")
