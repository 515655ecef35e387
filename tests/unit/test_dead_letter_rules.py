"""What is parked and what is dead-lettered, and what an error text may carry."""

from __future__ import annotations

import uuid

import pytest

from shared.consumer import redact
from shared.events import EventDecodeError, UnknownEventType, from_kafka, to_kafka
from tests.integration.probe import ProbeRecorded


def _message(**headers: bytes) -> tuple[bytes, dict[str, bytes]]:
    _, value, h = to_kafka(ProbeRecorded(ward_id="phu-son", subject="s", value=1))
    h.update(headers)
    return value, h


def test_a_well_formed_type_this_version_does_not_know_is_unknown_not_invalid() -> None:
    event_id = str(uuid.uuid4())
    value, headers = _message(ce_type=b"registry.probe.recorded.v2", ce_id=event_id.encode())
    with pytest.raises(UnknownEventType) as caught:
        from_kafka(value, headers)
    assert (caught.value.event_type, caught.value.event_id) == ("registry.probe.recorded.v2", event_id)


@pytest.mark.parametrize("bad_type", [b"registry.probe.recorded", b"no version here", b"DROP TABLE.v1", b"v1"])
def test_a_type_that_is_not_a_versioned_name_is_garbage(bad_type: bytes) -> None:
    value, headers = _message(ce_type=bad_type)
    with pytest.raises(EventDecodeError) as caught:
        from_kafka(value, headers)
    assert not isinstance(caught.value, UnknownEventType)


def test_a_known_type_with_an_invalid_body_is_invalid_not_unknown() -> None:
    value, headers = _message()
    with pytest.raises(EventDecodeError) as caught:
        from_kafka(value.replace(b'"value":1', b'"value":"one"'), headers)
    assert not isinstance(caught.value, UnknownEventType)
    assert "failed validation" in str(caught.value)


def test_error_texts_lose_digit_runs_that_could_be_national_ids_or_phones() -> None:
    text = redact("ValueError: resident 001203004005 (phone +84 912 345 678) not found; event 3f2a-0012030040")
    assert "001203004005" not in text and "912 345 678" not in text
    assert "3f2a-0012030040" in text  # part of an id, kept
    assert redact("attempt 3 of 3, 2026-11-01") == "attempt 3 of 3, 2026-11-01"
