"""The one contract every service publishes about itself: the head of its audit chain (``shared.audit``).

Each service writes ``<service>.audit.head-published.v1`` on its own topic ``<service>.audit`` at intervals
(``AUDIT_HEAD_INTERVAL_S``) and at shutdown, so that the head of its chain is kept outside its database: whoever
can rewrite the database cannot rewrite Kafka, and ``wardctl audit verify`` compares the chain with every head.
A head is a sequence number, a MAC and a key id: no personal data, nothing about any ward's business.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.events import Event
from shared.settings import SERVICES


class AuditHeadPublished(Event):
    """The head of a service's audit chain: its last row's ``seq`` and hash (HMAC-SHA256 under the key
    ``key_id``). ``subject`` is the service; the chain spans every ward, so ``ward_id`` is ``*``."""

    SERVICE_WIDE: ClassVar[str] = "*"
    service: str = Field(min_length=1, max_length=32, description="The service whose chain this is")
    seq: int = Field(ge=1, description="The seq of the chain's last row")
    hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="That row's hash (a MAC; no content of the row)")
    key_id: str | None = Field(default=None, max_length=64,
                               description="Id of the audit key of that row; None for a row from before keying")
    reason: Literal["interval", "shutdown"] = Field(description="Published on the interval or at shutdown")


class RegistryAuditHeadPublished(AuditHeadPublished):
    """The head of the registry service's audit chain."""

    event_type: ClassVar[str] = "registry.audit.head-published.v1"
    topic: ClassVar[str] = "registry.audit"


class IncidentsAuditHeadPublished(AuditHeadPublished):
    """The head of the incidents service's audit chain."""

    event_type: ClassVar[str] = "incidents.audit.head-published.v1"
    topic: ClassVar[str] = "incidents.audit"


class MediationAuditHeadPublished(AuditHeadPublished):
    """The head of the mediation service's audit chain."""

    event_type: ClassVar[str] = "mediation.audit.head-published.v1"
    topic: ClassVar[str] = "mediation.audit"


class DonationsAuditHeadPublished(AuditHeadPublished):
    """The head of the donations service's audit chain."""

    event_type: ClassVar[str] = "donations.audit.head-published.v1"
    topic: ClassVar[str] = "donations.audit"


class AwardsAuditHeadPublished(AuditHeadPublished):
    """The head of the awards service's audit chain."""

    event_type: ClassVar[str] = "awards.audit.head-published.v1"
    topic: ClassVar[str] = "awards.audit"


class FeedAuditHeadPublished(AuditHeadPublished):
    """The head of the feed service's audit chain."""

    event_type: ClassVar[str] = "feed.audit.head-published.v1"
    topic: ClassVar[str] = "feed.audit"


class IdentityAuditHeadPublished(AuditHeadPublished):
    """The head of the identity service's audit chain."""

    event_type: ClassVar[str] = "identity.audit.head-published.v1"
    topic: ClassVar[str] = "identity.audit"


class NotifyAuditHeadPublished(AuditHeadPublished):
    """The head of the notify service's audit chain."""

    event_type: ClassVar[str] = "notify.audit.head-published.v1"
    topic: ClassVar[str] = "notify.audit"


HEAD_EVENTS: dict[str, type[AuditHeadPublished]] = {
    cls.source_service: cls
    for cls in (RegistryAuditHeadPublished, IncidentsAuditHeadPublished, MediationAuditHeadPublished,
                DonationsAuditHeadPublished, AwardsAuditHeadPublished,
                FeedAuditHeadPublished, IdentityAuditHeadPublished, NotifyAuditHeadPublished)
}
assert set(HEAD_EVENTS) == set(SERVICES), "one audit-head contract per service"


def head_event_class(service: str) -> type[AuditHeadPublished]:
    return HEAD_EVENTS[service]
