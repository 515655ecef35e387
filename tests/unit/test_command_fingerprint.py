"""A command's fingerprint is what an Idempotency-Key's retry is compared on: the same request in any key order
is the same, a request that sets a field to null is not the one that leaves it out."""

from __future__ import annotations

from typing import ClassVar

from shared.application import Command


class ChangePhone(Command):
    name: ClassVar[str] = "resident.update"
    resident_id: str
    phone: str | None = None
    note: str | None = None


def test_key_order_does_not_matter_but_what_was_given_does():
    a = ChangePhone.model_validate_json('{"resident_id": "r1", "phone": "0912", "note": "x"}')
    b = ChangePhone.model_validate_json('{"note": "x", "phone": "0912", "resident_id": "r1"}')
    assert a.fingerprint() == b.fingerprint()
    cleared = ChangePhone.model_validate({"resident_id": "r1", "phone": None})
    left_out = ChangePhone.model_validate({"resident_id": "r1"})
    assert cleared.model_dump() == left_out.model_dump()
    assert cleared.fingerprint() != left_out.fingerprint()
    assert ChangePhone(resident_id="r2").fingerprint() != left_out.fingerprint()
