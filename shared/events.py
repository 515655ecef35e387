"""The event base: immutable, versioned, documented Pydantic models, and their CloudEvents form on Kafka.

An integration event is a past-tense fact one service publishes for others. Each concrete event class names

* ``event_type`` - the versioned CloudEvents type, e.g. ``registry.team.formed.v1``; a change that would break
  a consumer is a new class with a new version, never an edit (``tests/unit/test_event_schemas.py`` holds
  the committed JSON Schemas to that);
* ``topic`` - the Kafka topic, one per service and aggregate (``registry.teams``);
* optionally ``to_public()`` - the event for other wards, a different model (``PublicEvent``) whose fields
  are copied one by one, so that personal data cannot reach the public topic by construction
  (``public_copies()`` where one fact is two public ones).

On Kafka an event travels in CloudEvents 1.0 binary mode: attributes in ``ce_*`` headers, the JSON body in
the value, the aggregate id (``subject``) as the message key, plus the W3C ``traceparent``. The ward id rides
along as the CloudEvents extension attribute ``wardid`` (header ``ce_wardid``), so that a consumer (another
ward reading the public topic) filters by ward without parsing the body; messages written before it existed
have no such header and are read all the same.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from uuid import UUID, uuid4, uuid5

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.jsonutil import dumps

PUBLIC_TOPIC = "public.ward-events"
#: The default of the ``KAFKA_MAX_MESSAGE_BYTES`` setting, the one limit of a message's size on every side.
MAX_MESSAGE_BYTES = 1_000_000
CE_SOURCE_PREFIX = "urn:ward-platform:"
CONTENT_TYPE = "application/json"
#: The CloudEvents extension attribute carrying ``ward_id`` (lower-case alphanumerics, as extension names must be).
WARD_ATTRIBUTE = "wardid"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """Base of every integration event. Subclasses set ``event_type`` and ``topic``."""

    # Tolerant reader: unknown fields are ignored, so a producer may add an optional field without breaking
    # consumers still on the older model (docs/adr/0002-event-versioning.md). Known fields validate strictly.
    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=10_000)

    event_type: ClassVar[str] = ""
    topic: ClassVar[str] = ""
    source_service: ClassVar[str] = ""

    id: UUID = Field(default_factory=uuid4, description="Unique event id (CloudEvents `id`); the inbox key")
    occurred_at: datetime = Field(default_factory=utcnow, description="When the fact happened (`time`)")
    ward_id: str = Field(min_length=1, max_length=64, description="The ward (phường) the fact belongs to")
    subject: str = Field(
        min_length=1, max_length=200, description="The aggregate id; also the Kafka message key (`subject`)"
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.__dict__.get("event_type"):
            if not cls.topic:
                raise TypeError(f"{cls.__name__} sets event_type but no topic")
            if not cls.event_type.rsplit(".", 1)[-1].startswith("v"):
                raise TypeError(f"{cls.__name__}.event_type must end with a version, e.g. '.v1'")
            existing = EVENT_TYPES.get(cls.event_type)
            if existing is not None and existing.__qualname__ != cls.__qualname__:
                raise TypeError(f"event type {cls.event_type} defined twice ({existing.__name__}, {cls.__name__})")
            EVENT_TYPES[cls.event_type] = cls
            if not cls.__dict__.get("source_service"):
                parts = cls.event_type.split(".")
                # public.<service>.<...>.vN comes from <service>
                cls.source_service = parts[1] if parts[0] == "public" else parts[0]

    def to_public(self) -> PublicEvent | None:
        """The public counterpart for other wards, or None when this event is not public."""
        return None

    def public_copies(self) -> tuple[PublicEvent, ...]:
        """Every public event this one yields, as the outbox writes them: ``to_public()``'s, and more where one fact
        is two public facts (a mediation that succeeded is also a case closed). Each copy has its own id."""
        public = self.to_public()
        return () if public is None else (public,)


class PublicEvent(Event):
    """An event published to other wards on the public topic. Only what is safe to share may be a field."""

    topic: ClassVar[str] = PUBLIC_TOPIC


EVENT_TYPES: dict[str, type[Event]] = {}


class EventDecodeError(ValueError):
    """A message that cannot become an event: bad headers, unknown type, invalid JSON or schema."""


#: A well-formed versioned type name (``registry.team.formed.v2``): only such a type can be one a newer
#: version of this code knows; anything else in ``ce_type`` is garbage and dead-lettered.
VERSIONED_TYPE = re.compile(r"[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+\.v[0-9]+")


class UnknownEventType(EventDecodeError):
    """A valid CloudEvents message of a well-formed type this version does not know (yet): a producer deployed
    before its consumer. The consumer parks it instead of dead-lettering it."""

    def __init__(self, event_type: str, event_id: str) -> None:
        super().__init__(f"unknown event type {event_type!r}")
        self.event_type = event_type
        self.event_id = event_id


def to_kafka(event: Event) -> tuple[str, bytes, dict[str, bytes]]:
    """(key, value, headers) of the event in CloudEvents binary mode."""
    ce = CloudEvent(
        attributes={
            "id": str(event.id),
            "source": f"{CE_SOURCE_PREFIX}{event.source_service}",
            "type": event.event_type,
            "specversion": "1.0",
            "time": event.occurred_at,
            "subject": event.subject,
            "datacontenttype": CONTENT_TYPE,
            WARD_ATTRIBUTE: event.ward_id,
        },
        data=dumps(event.model_dump(mode="json")).encode(),
    )
    msg = ce_kafka.to_binary(ce, JSONFormat(), key_mapper=lambda _: event.subject)
    return event.subject, msg.value, dict(msg.headers)


def from_kafka(value: bytes | None, headers: dict[str, bytes], *, max_bytes: int = MAX_MESSAGE_BYTES) -> Event:
    """Decode and strictly validate a Kafka message into its event class, or raise ``EventDecodeError``."""
    if value is None:
        raise EventDecodeError("empty message value")
    if len(value) > max_bytes:
        raise EventDecodeError(f"message of {len(value)} bytes exceeds the limit of {max_bytes}")
    try:
        ce = ce_kafka.from_binary(ce_kafka.KafkaMessage(headers=headers, key=None, value=value), JSONFormat())
    except Exception as exc:  # the SDK raises several types for bad attributes or bodies
        raise EventDecodeError(f"not a CloudEvents binary-mode message: {exc}") from exc
    event_type = ce.get_type()
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        if isinstance(event_type, str) and VERSIONED_TYPE.fullmatch(event_type) and ce.get_id():
            raise UnknownEventType(event_type, str(ce.get_id()))
        raise EventDecodeError(f"unknown event type {event_type!r}")
    data = ce.get_data()
    if isinstance(data, bytes | str):
        raise EventDecodeError("event body is not a JSON object")
    try:
        event = cls.model_validate(data)
    except ValidationError as exc:
        # Locations and reasons only, never the offending values: the error travels to the dead-letter headers,
        # the dead_letters table and logs, and a value may be personal data.
        errors = [(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors(include_url=False, include_input=False)]
        raise EventDecodeError(f"{event_type} failed validation: {errors}") from exc
    if str(event.id) != ce.get_id():
        raise EventDecodeError("ce_id header and body id differ")
    ward = ce.get_extension(WARD_ATTRIBUTE)
    if ward is not None and ward != event.ward_id:  # absent on messages older than the attribute
        raise EventDecodeError("ce_wardid header and body ward_id differ")
    return event


#: Where the feed service answers by default (settings ``FEED_PUBLIC_URL``): the base of the committed public
#: schemas' ``$id``. A deployment serves them under its own URL (``shared.asyncapi_public.public_event_schema``).
DEFAULT_FEED_PUBLIC_URL = "http://127.0.0.1:8006"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_of(cls: type[Event], base_url: str = DEFAULT_FEED_PUBLIC_URL) -> dict[str, Any]:
    """The event's JSON Schema. A public event's is what other wards fetch from the feed: it names its dialect and
    has a resolvable ``$id`` under ``base_url``; an internal event's ``$id`` is a URN (it is served nowhere)."""
    schema = cls.model_json_schema(mode="serialization")
    if issubclass(cls, PublicEvent):
        schema = {"$schema": JSON_SCHEMA_DIALECT, "$id": f"{base_url.rstrip('/')}/schemas/{cls.event_type}.json",
                  **schema}
    else:
        schema["$id"] = f"urn:ward-platform:event:{cls.event_type}"
    schema["x-event-type"] = cls.event_type
    schema["x-topic"] = cls.topic
    return schema


def load_all_contracts() -> dict[str, type[Event]]:
    """Import every service's contracts module so that EVENT_TYPES is complete."""
    import importlib
    import pkgutil

    import shared.contracts as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")
    # Only the published contracts (tests may define event classes of their own).
    return dict(sorted((t, c) for t, c in EVENT_TYPES.items() if c.__module__.startswith(f"{pkg.__name__}.")))


def copy_fields(target: type[Self], source: Event, **extra: Any) -> Self:  # type: ignore[misc]
    """Build ``target`` from the fields of ``source`` it declares (used by ``to_public``)."""
    values = {k: getattr(source, k) for k in target.model_fields if hasattr(source, k)}
    values.update(extra)
    # A distinct, deterministic id: the public copy is another message, and republishing yields the same id.
    values["id"] = extra.get("id", uuid5(source.id, target.event_type))
    return target(**values)
