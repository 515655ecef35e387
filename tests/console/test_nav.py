"""The menu and the landing page follow a person's roles and, for team members and leaders, their teams' kinds."""

from __future__ import annotations

from services.console import nav


def _paths(roles, kinds=None) -> list[str]:
    return [e.path for e in nav.visible(roles, kinds)]


def test_a_team_member_sees_the_pages_of_their_teams_kinds_and_lands_on_the_first():
    assert nav.home(["team_member"], ["mobilisation"]) == "/campaigns"
    assert "/mediation/cases" not in _paths(["team_member"], ["mobilisation"])
    assert nav.home(["team_member"], ["mediation"]) == "/mediation/cases"
    assert "/campaigns" not in _paths(["team_member"], ["mediation"])
    assert nav.home(["team_member"], ["anxh"]) is None  # nothing for them yet: the welcome page


def test_unknown_kinds_offer_every_page_of_the_role_and_officials_are_not_filtered_by_teams():
    assert {"/campaigns", "/mediation/cases"} <= set(_paths(["team_member"], None))
    assert nav.home(["ward_official"], []) == "/dashboard"
    assert "/campaigns" in _paths(["ward_official"], [])
    assert nav.home(["team_leader"], ["mediation"]) == "/mediation/cases"  # a mediation team's leader
    assert nav.home(["team_leader"], ["anxh"]) == "/my-group"  # a group leader (tổ trưởng)
    assert "/my-group" in _paths(["team_leader"], ["mediation"])
