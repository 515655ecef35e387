"""The commands of the mediation service: what a caller asks of a case. Each is the request body of its route
(schemas.py) plus the path's ``case_id``; ``name`` is what the audit trail records. A referral from the incidents
service arrives as an event and becomes ``OpenReferredCase``."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import ConfigDict, Field

from services.mediation import schemas
from shared.application import Command
from shared.contracts.incidents import DisputeParty

CaseId = Field(min_length=1, max_length=64)


class _CaseCommand(Command):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    case_id: str = CaseId


class OpenCase(schemas.OpenCaseRequest, Command):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
    name: ClassVar[str] = "case.open"


class OpenReferredCase(Command):
    """A dispute referred by the incidents service (Art. 16(1)(c): referral by a competent body)."""

    name: ClassVar[str] = "case.open_referred"
    ward_id: str
    group_id: str
    incident_id: str
    summary: str
    parties: list[DisputeParty]
    referred_at: datetime


class HandOver(schemas.HandOverRequest, _CaseCommand):
    name: ClassVar[str] = "case.hand_over"


class Classify(schemas.ClassifyRequest, _CaseCommand):
    name: ClassVar[str] = "case.classify"


class AssignMediators(schemas.AssignMediatorsRequest, _CaseCommand):
    name: ClassVar[str] = "case.assign"


class RecordSession(schemas.RecordSessionRequest, _CaseCommand):
    name: ClassVar[str] = "case.session"


class Succeed(schemas.SucceedRequest, _CaseCommand):
    name: ClassVar[str] = "case.succeed"


class Fail(schemas.FailRequest, _CaseCommand):
    name: ClassVar[str] = "case.fail"


class Withdraw(schemas.WithdrawRequest, _CaseCommand):
    name: ClassVar[str] = "case.withdraw"


class Refuse(schemas.RefuseRequest, _CaseCommand):
    name: ClassVar[str] = "case.refuse"


class FollowUp(schemas.FollowUpRequest, _CaseCommand):
    name: ClassVar[str] = "case.follow_up"
