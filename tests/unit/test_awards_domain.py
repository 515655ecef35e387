"""Rules of emulation and commendation that need no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.awards import domain
from shared.actor import Principal, Role
from shared.contracts.awards import AwardGranted
from shared.errors import Forbidden, InvalidInput, RuleViolation


def principal(*roles: Role) -> Principal:
    return Principal(subject="u", roles=frozenset(roles), ward_id="phu-son")


def test_a_nomination_is_reviewed_before_the_issuer_decides():
    with pytest.raises(RuleViolation, match="reviewed by the council"):
        domain.check_transition("proposed", "approved")
    domain.check_transition("proposed", "reviewed")
    domain.check_transition("reviewed", "approved")
    domain.check_transition("reviewed", "rejected")
    domain.check_transition("proposed", "rejected")


@pytest.mark.parametrize("done", ["approved", "rejected"])
def test_a_decided_nomination_is_final(done):
    for target in ("proposed", "reviewed", "approved", "rejected"):
        with pytest.raises(RuleViolation):
            domain.check_transition(done, target)


def test_only_the_issuers_level_decides():
    domain.ensure_may_decide(principal(Role.WARD_OFFICIAL), "ward_chairman")
    domain.ensure_may_decide(principal(Role.CITY_OFFICIAL), "city_chairman")
    with pytest.raises(Forbidden):
        domain.ensure_may_decide(principal(Role.WARD_OFFICIAL), "city_chairman")
    with pytest.raises(Forbidden):
        domain.ensure_may_decide(principal(Role.CITY_OFFICIAL), "ward_chairman")


def test_the_same_achievement_has_the_same_id_and_another_year_another():
    a = domain.achievement_id("phu-son", "mediations_succeeded", "individual", "r1", 2024)
    assert a == domain.achievement_id("phu-son", "mediations_succeeded", "individual", "r1", 2024)
    assert a != domain.achievement_id("phu-son", "mediations_succeeded", "individual", "r1", 2025)
    assert a != domain.achievement_id("other-ward", "mediations_succeeded", "individual", "r1", 2024)


def test_the_year_is_the_wards_calendar_year():
    # 31 Dec 2024 18:00 UTC is already 1 Jan 2025 in Hà Nội.
    assert domain.ward_year(datetime(2024, 12, 31, 18, 0, tzinfo=UTC)) == 2025
    assert domain.ward_year(date(2024, 12, 31)) == 2024


def test_verification_codes_are_readable_and_unguessable():
    codes = {domain.new_verification_code(2024) for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert code.startswith("GK-2024-") and len(code) == 17
        assert not set(code[8:].replace("-", "")) & set("01OI")
    assert domain.normalise_code(" gk-2024-abcd-efgh ") == "GK-2024-ABCD-EFGH"


def test_a_criterion_needs_a_threshold_and_a_fitting_holder():
    domain.check_criterion("mediations_succeeded", "individual", 5, 0)
    with pytest.raises(InvalidInput, match="minimum count or amount"):
        domain.check_criterion("mediations_succeeded", "individual", 0, 0)
    with pytest.raises(InvalidInput, match="held by: reporter"):
        domain.check_criterion("tips_solved", "individual", 1, 0)


def test_an_issuer_period_must_make_sense():
    with pytest.raises(InvalidInput):
        domain.check_issuer_period(date(2025, 7, 1), date(2025, 1, 1))


def test_a_reporter_is_never_named_on_an_award_and_anyone_else_must_be():
    assert domain.name_on_award("reporter", "anything") is None
    assert domain.name_on_award("collective", "Tổ hòa giải") == "Tổ hòa giải"
    with pytest.raises(RuleViolation, match="not known"):
        domain.name_on_award("individual", None)


def test_the_public_copy_of_an_award_names_no_one():
    granted = AwardGranted(ward_id="phu-son", subject="a1", award_id="a1", recipient_kind="individual",
                           recipient_ref="resident-1", recipient_name="Nguyễn Thị Hoa", title="Hòa giải viên tiêu biểu",
                           issuer="ward_chairman", decision_number="12/QĐ-UBND", decision_date=date(2024, 8, 10),
                           verification_code="GK-2024-ABCD-EFGH", year=2024)
    public = granted.to_public().model_dump()
    assert "recipient_name" not in public and "recipient_ref" not in public and "verification_code" not in public
    assert public["title"] == "Hòa giải viên tiêu biểu"
