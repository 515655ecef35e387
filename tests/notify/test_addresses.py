"""Contact addresses as notify takes them (services/notify/domain.py): what each channel can really reach."""

from __future__ import annotations

import pytest

from services.notify.domain import address_hint, normalise_address
from shared.errors import InvalidInput


@pytest.mark.parametrize(("channel", "given", "kept"), [
    ("email", "Nguyen.An@PhuSon.Example", "Nguyen.An@phuson.example"),
    ("sms", "0912 345 678", "0912345678"),
    ("sms", "+84 (91) 234-5678", "+84912345678"),
    ("zalo", "4108652974313599188", "4108652974313599188"),
])
def test_each_channel_keeps_an_address_it_can_reach(channel: str, given: str, kept: str) -> None:
    assert normalise_address(channel, given) == kept


@pytest.mark.parametrize(("channel", "given"), [
    ("email", "not-an-address"),
    ("sms", "call me"),
    ("zalo", "0912345678"),      # a phone number: the OA API reaches a follower by user id only
    ("zalo", "+84912345678"),
])
def test_an_address_the_channel_cannot_reach_is_refused(channel: str, given: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_address(channel, given)


def test_hints_show_no_more_than_the_end_of_a_number_or_the_first_letter_of_a_mailbox() -> None:
    assert address_hint("sms", "0912345678").endswith("5678") and "0912" not in address_hint("sms", "0912345678")
    assert address_hint("email", "nguyen.an@phuson.example").endswith("@phuson.example")
    assert "guyen" not in address_hint("email", "nguyen.an@phuson.example")
