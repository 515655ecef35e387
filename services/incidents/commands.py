"""The commands of the incidents service: what a reporter or the police ask it to do.

Each is a frozen message with no unknown fields; ``name`` is the command the audit trail records. A command
sent to a path with an incident's id is its body (``schemas.py``) and that id.
The commands that arrive as events (a mediation case's outcome) are in ``handlers.py``'s event handlers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import ConfigDict, Field, field_validator, model_validator

from services.incidents import schemas
from services.incidents.schemas import Footage, WarnedPerson, _Value
from shared.application import Command
from shared.contracts.incidents import Category, WarningKind


class _Command(Command):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


# -- what a report is made of -------------------------------------------------------------------------------------
class Place(_Value):
    group_id: str = Field(min_length=1, max_length=64, description="The residential group (tổ dân phố)")
    address: str | None = Field(default=None, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates(self) -> Place:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class Attachment(_Value):
    """Evidence metadata (the file itself lives in object storage). ``file_name`` and ``captured_at`` are
    dropped for an anonymous tip: a file name or capture time can point to a device or a person."""

    media_type: str = Field(min_length=3, max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")
    size_bytes: int = Field(ge=1, le=2_000_000_000)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    file_name: str | None = Field(default=None, max_length=255)
    captured_at: datetime | None = None


class ReporterContact(_Value):
    """Identified reporters only: stored encrypted, shown to police only."""

    full_name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 .-]{6,32}$")


# -- intake -------------------------------------------------------------------------------------------------------
class ReportIncident(_Command):
    """Report an incident or a crime tip, identified or anonymous. The acting principal is the reporter as the
    audit trail may name them (``handlers.reporter_actor``): a pseudonym, or "anonymous"."""

    name: ClassVar[str] = "incident.report"
    category: Category
    is_crime_tip: bool = Field(default=False, description="A crime tip (tố giác tội phạm) runs a 20-day deadline")
    place: Place
    happened_at: datetime | None = None
    description: str = Field(min_length=5, max_length=5000)
    evidence: list[Attachment] = Field(default_factory=list, max_length=20)
    footage: list[Footage] = Field(default_factory=list, max_length=20)
    anonymous: bool = False
    reporter: ReporterContact | None = None

    @field_validator("happened_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("happened_at needs a time zone")
        return v

    @model_validator(mode="after")
    def _reporter(self) -> ReportIncident:
        if self.anonymous and self.reporter is not None:
            raise ValueError("an anonymous report carries no reporter details")
        if not self.anonymous and self.reporter is None:
            raise ValueError("an identified report needs the reporter's name (or report anonymously)")
        if len({f.camera_id for f in self.footage}) != len(self.footage):
            raise ValueError("a camera is cited twice")
        return self

    def stored_evidence(self) -> list[dict]:
        drop = {"file_name", "captured_at"} if self.anonymous else set()
        return [a.model_dump(mode="json", exclude=drop) for a in self.evidence]


# -- the lifecycle (police): the body sent to /v1/incidents/{incident_id}/<step>, and the incident's id --------------
class _IncidentCommand(_Command):
    incident_id: str = Field(min_length=1, max_length=64)


class TriageIncident(_IncidentCommand, schemas.TriageIn):
    name: ClassVar[str] = "incident.triage"


class AssignIncident(_IncidentCommand, schemas.AssignIn):
    name: ClassVar[str] = "incident.assign"


class StartWork(_IncidentCommand, schemas.NoteIn):
    name: ClassVar[str] = "incident.start"


class CiteFootage(_IncidentCommand, Footage):
    name: ClassVar[str] = "incident.cite_footage"


class ResolveIncident(_IncidentCommand, schemas.ResolveIn):
    name: ClassVar[str] = "incident.resolve"


class ReferToMediation(_IncidentCommand, schemas.ReferIn):
    name: ClassVar[str] = "incident.refer_to_mediation"


class ExtendDeadline(_IncidentCommand, schemas.ExtendIn):
    name: ClassVar[str] = "incident.extend_deadline"


class CloseIncident(_IncidentCommand, schemas.NoteIn):
    name: ClassVar[str] = "incident.close"


class ReopenIncident(_IncidentCommand, schemas.ReasonIn):
    name: ClassVar[str] = "incident.reopen"


class DiscloseReporter(_IncidentCommand):
    """An officer reads who reported an incident: changes nothing, but every reading is a deliberate act that the
    audit trail records (who, when, which incident; never the identity itself)."""

    name: ClassVar[str] = "incident.disclose_reporter"


# -- warnings (gọi hỏi, răn đe) -------------------------------------------------------------------------------------
class RecordWarning(_Command):
    name: ClassVar[str] = "warning.record"
    group_id: str = Field(min_length=1, max_length=64)
    kind: WarningKind = Field(description="summons = gọi hỏi, admonition = răn đe")
    person: WarnedPerson
    reason: str = Field(min_length=3, max_length=2000)
    issued_on: date
    incident_id: str | None = Field(default=None, max_length=64)


# -- places (issue 18): "me too" and merging duplicates ----------------------------------------------------------------
class SupportIncident(_IncidentCommand):
    """A signed-in person says "me too" on a report: counted once per person (by their reporter pseudonym)."""

    name: ClassVar[str] = "incident.support"


class SupportIncidentAnonymously(_IncidentCommand):
    """Someone without a token says "me too": counted, nothing of them kept; they get a follow-up code."""

    name: ClassVar[str] = "incident.support_anonymously"


class MergeIncidents(_IncidentCommand):
    """An official merges a duplicate report (``incident_id``) into another (``into``)."""

    name: ClassVar[str] = "incident.merge"
    into: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=3, max_length=2000)


# -- evidence files (issue 18) -------------------------------------------------------------------------------------
class AddEvidence(_Command):
    """Attach a stored, cleaned file to an incident. Built by the upload route once the file is in object storage
    (``storage_key``); the handler checks who may add it and records it, or the route deletes the object again.
    Either ``incident_id`` (a signed-in caller) or ``follow_up_code`` and ``secret`` (an anonymous tipster)."""

    name: ClassVar[str] = "evidence.add"
    incident_id: str | None = Field(default=None, min_length=1, max_length=64)
    follow_up_code: str | None = Field(default=None, min_length=1, max_length=32)
    secret: str | None = Field(default=None, min_length=1, max_length=200)
    evidence_id: str = Field(min_length=1, max_length=64)
    storage_key: str = Field(min_length=1, max_length=512)
    media_type: str
    kind: str
    size: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    metadata_removed: tuple[str, ...] = ()
    camera_id: str | None = Field(default=None, min_length=1, max_length=64)
    footage_from: datetime | None = None
    footage_to: datetime | None = None

    @model_validator(mode="after")
    def _who_and_footage(self) -> AddEvidence:
        if (self.incident_id is None) == (self.follow_up_code is None or self.secret is None):
            raise ValueError("an incident id, or a follow-up code and its secret")
        if self.camera_id is None and (self.footage_from or self.footage_to):
            raise ValueError("footage_from and footage_to describe a camera's footage: give camera_id")
        for value in (self.footage_from, self.footage_to):
            if value is not None and value.tzinfo is None:
                raise ValueError("footage_from and footage_to need a time zone")
        if self.footage_from and self.footage_to and self.footage_to < self.footage_from:
            raise ValueError("footage_to is before footage_from")
        return self

    def fingerprint(self) -> str:
        """The same file, for the same incident and camera, is the same request whatever object it was stored
        under this time (an Idempotency-Key's retry answers the first reply; the route deletes the second copy)."""
        import hashlib
        import json

        fields = self.model_dump(mode="json", exclude={"evidence_id", "storage_key", "secret"})
        return hashlib.sha256(f"AddEvidence\n{json.dumps(fields, sort_keys=True)}".encode()).hexdigest()


class ListEvidence(_IncidentCommand):
    """A list view of an incident's evidence: a read, recorded in each file's chain of custody."""

    name: ClassVar[str] = "evidence.list"
    limit: int = Field(ge=1, le=200)
    cursor: str | None = None


class DownloadEvidence(_IncidentCommand):
    """A download of one evidence file: recorded in its chain of custody before a byte is served."""

    name: ClassVar[str] = "evidence.download"
    evidence_id: str = Field(min_length=1, max_length=64)


# -- assisted intake (issue 17) --------------------------------------------------------------------------------------
class ReportForResident(_Command):
    """A team leader files a report on behalf of a resident of one of their teams' groups (an elderly neighbour,
    someone without a phone). The resident is the reporter (``reporter``: their name and phone as they gave them,
    stored encrypted like any reporter's); the leader is recorded as the one who entered it. Never anonymous, never
    a crime tip (handlers_assisted.py says why)."""

    name: ClassVar[str] = "incident.report_for_resident"
    resident_id: str = Field(min_length=1, max_length=64, description="The registered resident who reports")
    reporter: ReporterContact
    category: Category
    is_crime_tip: bool = Field(default=False, description="Refused when true: a crime tip is not filed on "
                                                          "someone's behalf")
    place: Place
    happened_at: datetime | None = None
    description: str = Field(min_length=5, max_length=5000)
    evidence: list[Attachment] = Field(default_factory=list, max_length=20)

    @field_validator("happened_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("happened_at needs a time zone")
        return v


# -- reports in by SMS and Zalo (issue 17) ---------------------------------------------------------------------------
from typing import Literal  # noqa: E402 - appended with the intake (issue 17)


class ReportByMessage(ReportIncident):
    """A report that came in as a text (SMS, Zalo): ``ReportIncident`` plus the channel, and what the reply says.
    Run as ``handlers.reporter_actor``'s reporter like any report; for an anonymous tip nothing of the sender is in
    it (the number is only in an identified report's ``reporter.phone``, encrypted with the identity)."""

    name: ClassVar[str] = "incident.report_by_message"
    channel: Literal["sms", "zalo"]
    cut: bool = Field(default=False, description="The text was longer than the line takes and was cut")
    sender: str | None = Field(default=None, min_length=1, max_length=64, description=(
        "An identified report only: the sender's number (SMS) or Zalo user id, encrypted with the identity"))

    @model_validator(mode="after")
    def _no_sender_when_anonymous(self) -> ReportByMessage:
        if self.anonymous and self.sender is not None:
            raise ValueError("an anonymous tip keeps nothing of its sender")
        return self


# -- two-way anonymous messages (issue 17) ---------------------------------------------------------------------------
class AskTipster(_IncidentCommand):
    """The police of the ward ask the anonymous tipster of an incident a question."""

    name: ClassVar[str] = "incident.ask_tipster"
    text: str = Field(min_length=1, max_length=2000)


class AnswerPolice(_Command):
    """The anonymous tipster (the code and the secret are the proof) answers a question of the police, or writes to
    them (``reply_to`` None)."""

    name: ClassVar[str] = "incident.tipster_answer"
    follow_up_code: str = Field(min_length=1, max_length=32)
    secret: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=1, max_length=2000)
    reply_to: str | None = Field(default=None, min_length=1, max_length=64)
    reply_to_oldest: bool = Field(default=False, description=(
        "Without reply_to: answer the oldest question still unanswered, if any (an SMS answer names no question)"))
