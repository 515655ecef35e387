"""The donations use cases as specifications, run over the in-memory unit of work and over PostgreSQL alike
(``app`` is parametrised ``fake`` / ``postgres``): the households' vote checked against the registry's households,
every collecting team credited once with the target whatever the order of the contributions, the ledger's rules,
pledges, and expenses under the four-eyes rule."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from services.donations import consumers, handlers
from services.donations.commands import (
    ApproveExpense,
    CloseCampaign,
    MakePledge,
    OpenCampaign,
    ProposeExpense,
    RecordContribution,
    ReverseContribution,
)
from shared.actor import Principal, Role
from shared.application import Application
from shared.clock import ward_today
from shared.contracts.donations import (
    CampaignTargetReached,
    CampaignTeamCredited,
    ContributionRecorded,
    PublicCampaignClosed,
    PublicExpenseRecorded,
)
from shared.contracts.registry import HouseholdHeadChanged, TeamMemberLeft
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from shared.events import Event
from shared.paging import PageRequest
from tests.application import audited, emitted
from tests.donations.conftest import (
    GROUP,
    WARD,
    household_registered,
    member_joined,
    registry_events,
    team_formed,
)

OFFICIAL = Principal("official-1", frozenset({Role.WARD_OFFICIAL}), WARD)
OFFICIAL_2 = Principal("official-2", frozenset({Role.WARD_OFFICIAL}), WARD)
ELSEWHERE = Principal("official-dv", frozenset({Role.WARD_OFFICIAL}), "dong-ve")
LEADER = Principal("leader-1", frozenset({Role.TEAM_LEADER}), WARD, resident_id="member-01",
                   team_ids=frozenset({"team-01"}))


def collector(n: int) -> Principal:
    return Principal(f"member-{n:02d}", frozenset({Role.TEAM_MEMBER}), WARD, resident_id=f"member-{n:02d}",
                     team_ids=frozenset({f"team-{n:02d}"}))


async def feed(app: Application, *events: Event) -> None:
    """The registry's events, through the same adapters the Kafka consumer runs."""
    adapters = app.on_events(consumers.HANDLERS)
    for event in events:
        await adapters[type(event)](None, event)  # type: ignore[arg-type]


def open_campaign(**overrides: Any) -> OpenCampaign:
    today = ward_today()
    vote = {"record_ref": "BB-01/2024", "held_on": today - timedelta(days=12), "in_favour": 97, "against": 8,
            "abstained": 5, **overrides.pop("vote", {})}
    return OpenCampaign.model_validate({
        "ward_id": WARD, "group_id": GROUP, "name": "Camera an ninh", "purpose": "Lắp camera an ninh",
        "target_vnd": 60_000_000, "starts_on": today - timedelta(days=10), "ends_on": today + timedelta(days=30),
        "organiser": "Ban công tác mặt trận", "team_ids": [f"team-{i:02d}" for i in range(1, 11)], "vote": vote,
        **overrides})


def give(campaign_id: str, n: int, amount: int | None, receipt: str | None = None, **fields: Any) -> RecordContribution:
    return RecordContribution(campaign_id=campaign_id, team_id=f"team-{n:02d}", channel=fields.pop("channel", "cash"),
                              amount_vnd=amount, receipt_number=receipt or f"R-{n}-{amount}",
                              donor_kind=fields.pop("donor_kind", "household"),
                              donor_ref=fields.pop("donor_ref", f"hh-{n}"), **fields)


async def opened(app: Application, **overrides: Any) -> str:
    await feed(app, *registry_events())
    return (await app.run(open_campaign(**overrides), OFFICIAL))["campaign_id"]


# -- DOMAIN RULE 1: the vote is checked against the households the registry holds ------------------------------
async def test_the_vote_is_checked_against_the_registrys_households_of_the_group(app: Application) -> None:
    await feed(app, *registry_events(households=0))
    with pytest.raises(RuleViolation, match="households of group tran-phu have not reached donations yet"):
        await app.run(open_campaign(vote={"in_favour": 6, "against": 0, "abstained": 0}), OFFICIAL)
    # Ten households in the registry; one event delivered twice and a head change count each household once.
    await feed(app, *[household_registered(f"hh-{k}") for k in range(10)], household_registered("hh-3"),
               HouseholdHeadChanged(ward_id=WARD, subject="hh-4", household_id="hh-4", group_id=GROUP,
                                    head_resident_id="r-4"),
               household_registered("hh-elsewhere", group="le-loi"))
    with pytest.raises(RuleViolation, match="5 of 10 households of the group in favour"):
        await app.run(open_campaign(vote={"in_favour": 5, "against": 0, "abstained": 0}), OFFICIAL)
    with pytest.raises(RuleViolation, match=r"more votes \(11\) than the 10 households"):
        await app.run(open_campaign(vote={"in_favour": 8, "against": 3, "abstained": 0}), OFFICIAL)
    reply = await app.run(open_campaign(vote={"in_favour": 6, "against": 1, "abstained": 0}), OFFICIAL)
    assert reply["households_total"] == 10 and reply["team_ids"] == [f"team-{i:02d}" for i in range(1, 11)]
    async with app.read() as uow:
        assert (await uow.campaigns.get(reply["campaign_id"]))["households_total"] == 10
        assert await uow.households.group(GROUP) == {"group_id": GROUP, "ward_id": WARD, "households": 10}
        assert await uow.households.group("unknown") is None
    assert await audited(app) == [("campaign.open", "campaign", reply["campaign_id"])]


def test_the_caller_no_longer_states_the_households_entitled_to_vote() -> None:
    with pytest.raises(Exception, match="extra"):
        open_campaign(vote={"households_total": 120})


async def test_who_opens_a_campaign_and_with_which_teams(app: Application) -> None:
    await feed(app, *registry_events())
    with pytest.raises(Forbidden):
        await app.run(open_campaign(), collector(1))
    with pytest.raises(Forbidden):
        await app.run(open_campaign(), ELSEWHERE)
    with pytest.raises(RuleViolation, match="not a mobilisation team"):
        await app.run(open_campaign(team_ids=["team-01", "anxh-01"]), OFFICIAL)
    with pytest.raises(InvalidInput, match="not a known team"):
        await app.run(open_campaign(team_ids=["team-99"]), OFFICIAL)
    with pytest.raises(RuleViolation, match="vote before the campaign starts"):
        await app.run(open_campaign(vote={"held_on": ward_today()}), OFFICIAL)
    with pytest.raises(InvalidInput, match="ends before it starts"):
        await app.run(open_campaign(ends_on=ward_today() - timedelta(days=11)), OFFICIAL)
    with pytest.raises(InvalidInput, match="target"):
        await app.run(open_campaign(target_vnd=0), OFFICIAL)
    assert await emitted(app) == []


# -- DOMAIN RULE 2: every team that collected is credited, once, whatever the order -----------------------------
async def _credited(app: Application, order: list[tuple[int, int]]) -> dict[str, int]:
    """Contributions (team, amount) in this order to a campaign of 15,000,000 đồng; the teams credited with its
    reaching the target (the target-reached event's teams, then the teams credited later), each with its total."""
    campaign_id = await opened(app, target_vnd=15_000_000)
    for i, (team, amount) in enumerate(order):
        await app.run(give(campaign_id, team, amount, receipt=f"R-{i}"), collector(team))
    credits: dict[str, int] = {}
    for event in await emitted(app):
        if isinstance(event, CampaignTargetReached):
            for team_id, total in event.team_totals.items():
                if total > 0:  # what awards credits
                    assert team_id not in credits
                    credits[team_id] = total
        elif isinstance(event, CampaignTeamCredited):
            assert event.team_id not in credits, "a team is credited once"
            credits[event.team_id] = event.total_vnd
    return credits


@pytest.mark.parametrize("order", [
    [(1, 10_000_000), (2, 10_000_000), (1, 6_000_000)],  # team 2 collected before the target was reached
    [(1, 10_000_000), (1, 6_000_000), (2, 10_000_000)],  # ... and after it
])
async def test_every_team_that_collected_is_credited_once_whatever_the_order(app: Application, order) -> None:
    assert set(await _credited(app, order)) == {"team-01", "team-02"}


async def test_a_team_collecting_after_the_target_is_credited_once_and_the_target_announced_once(
        app: Application) -> None:
    campaign_id = await opened(app, target_vnd=1_000_000)
    await app.run(give(campaign_id, 1, 1_000_000), collector(1))
    await app.run(give(campaign_id, 3, 200_000), collector(3))
    await app.run(give(campaign_id, 3, 300_000), collector(3))
    await app.run(give(campaign_id, 4, None, receipt="IK-1", channel="in_kind", in_kind_description="Cột camera"),
                  collector(4))  # described, not valued: nothing to credit yet
    events = await emitted(app)
    [reached] = [e for e in events if isinstance(e, CampaignTargetReached)]
    assert reached.team_totals == {"team-01": 1_000_000} and reached.raised_vnd == 1_000_000
    [late] = [e for e in events if isinstance(e, CampaignTeamCredited)]
    assert (late.team_id, late.total_vnd, late.reached_on) == ("team-03", 200_000, reached.reached_on)
    assert late.subject == campaign_id and late.group_id == GROUP
    async with app.read() as uow:
        assert await uow.campaigns.credited_teams(campaign_id) == ["team-01", "team-03"]


# -- the ledger -----------------------------------------------------------------------------------------------
async def test_a_member_records_a_contribution_for_their_team_only(app: Application) -> None:
    campaign_id = await opened(app)
    reply = await app.run(give(campaign_id, 1, 2_500_000), collector(1))
    assert reply["amount_vnd"] == 2_500_000 and reply["raised_vnd"] == 2_500_000
    [recorded] = [e for e in await emitted(app) if isinstance(e, ContributionRecorded)]
    assert (recorded.team_id, recorded.collected_by_resident_id) == ("team-01", "member-01")
    with pytest.raises(Forbidden, match="not a current member"):
        await app.run(give(campaign_id, 2, 1_000, receipt="X-1"), collector(1))
    with pytest.raises(Forbidden):
        await app.run(give(campaign_id, 1, 1_000, receipt="X-2"), OFFICIAL)
    with pytest.raises(Conflict, match="receipt number R-1-2500000"):
        await app.run(give(campaign_id, 1, 2_500_000), collector(1))
    with pytest.raises(InvalidInput, match="anonymous"):
        await app.run(give(campaign_id, 1, 1_000, receipt="X-3", donor_kind="anonymous"), collector(1))
    with pytest.raises(RuleViolation, match="accepts contributions from"):
        await app.run(give(campaign_id, 1, 1_000, receipt="X-4", received_on=ward_today() - timedelta(days=11)),
                      collector(1))
    with pytest.raises(NotFound):
        await app.run(give(campaign_id, 1, 1_000, receipt="X-5"), Principal(
            "member-01", frozenset({Role.TEAM_MEMBER}), "dong-ve", resident_id="member-01"))


@pytest.mark.parametrize(("change", "error", "says"), [
    ({"amount_vnd": 0}, InvalidInput, "greater than 0"),
    ({"amount_vnd": -50_000}, InvalidInput, "greater than 0"),
    ({"amount_vnd": 10_000_000_001}, InvalidInput, "likely typing error"),
    ({"received_on": 1}, InvalidInput, "future"),
    ({"donor_kind": "anonymous", "donor_ref": None, "public_name": "Ẩn danh"}, InvalidInput, "anonymous"),
    ({"donor_kind": "resident", "donor_ref": None}, InvalidInput, "donor_ref"),
    ({"channel": "in_kind", "amount_vnd": 300_000, "in_kind_description": "2 bao xi măng"}, InvalidInput, "not valued"),
    ({"channel": "in_kind", "amount_vnd": None}, InvalidInput, "description"),
    ({"in_kind_description": "xi măng"}, InvalidInput, "only in-kind"),
    ({"team_id": "team-02"}, Forbidden, "not a current member"),
    ({"team_id": "anxh-01"}, RuleViolation, "does not collect for this campaign"),
])
async def test_a_contribution_that_breaks_a_rule_is_refused_and_leaves_nothing(
        app: Application, change: dict[str, Any], error: type[Exception], says: str) -> None:
    campaign_id = await opened(app)
    fields = {"campaign_id": campaign_id, "team_id": "team-01", "channel": "cash", "amount_vnd": 200_000,
              "receipt_number": "PT-1", "donor_kind": "household", "donor_ref": "hh-1", **change}
    if fields.get("received_on") == 1:
        fields["received_on"] = ward_today() + timedelta(days=1)
    with pytest.raises(error, match=says):
        await app.run(RecordContribution(**fields), collector(1))
    async with app.read() as uow:
        assert await uow.ledger.entries(campaign_id) == []
    assert not [e for e in await emitted(app) if isinstance(e, ContributionRecorded)]


async def test_an_in_kind_gift_is_described_and_booked_at_nothing(app: Application) -> None:
    campaign_id = await opened(app)
    gift = await app.run(give(campaign_id, 2, None, receipt="HV-1", channel="in_kind", donor_kind="organisation",
                              donor_ref="Cửa hàng Hòa Bình", in_kind_description="1 đầu ghi hình"), collector(2))
    assert gift["amount_vnd"] == 0 and gift["raised_vnd"] == 0
    async with app.read() as uow:
        [entry] = await uow.ledger.entries(campaign_id)
    assert (entry["channel"], entry["amount_vnd"], entry["in_kind_description"]) == ("in_kind", 0, "1 đầu ghi hình")


async def test_a_correction_reverses_once_and_a_closed_campaign_takes_nothing(app: Application) -> None:
    campaign_id = await opened(app)
    gift = await app.run(give(campaign_id, 1, 2_000_000), collector(1))
    with pytest.raises(RuleViolation, match="cannot exceed"):
        await app.run(ReverseContribution(contribution_id=gift["contribution_id"], kind="refund", reason="x",
                                          amount_vnd=3_000_000), OFFICIAL)
    back = await app.run(ReverseContribution(contribution_id=gift["contribution_id"], kind="refund",
                                             reason="trả lại", amount_vnd=500_000), OFFICIAL)
    assert back["amount_vnd"] == 500_000 and back["raised_vnd"] == 1_500_000
    with pytest.raises(RuleViolation, match="already reversed"):
        await app.run(ReverseContribution(contribution_id=gift["contribution_id"], kind="void", reason="x"),
                      OFFICIAL)
    closed = await app.run(CloseCampaign(campaign_id=campaign_id), OFFICIAL)
    assert closed["balance_vnd"] == 1_500_000
    [public] = [e for e in await emitted(app) if isinstance(e, PublicCampaignClosed)]  # the accounts, to other wards
    assert (public.campaign_id, public.raised_vnd, public.spent_vnd, public.balance_vnd) == (
        campaign_id, 1_500_000, 0, 1_500_000)
    with pytest.raises(Conflict):
        await app.run(CloseCampaign(campaign_id=campaign_id), OFFICIAL)
    with pytest.raises(RuleViolation, match="closed"):
        await app.run(give(campaign_id, 1, 1_000, receipt="late"), collector(1))
    async with app.read() as uow:
        entries = await uow.ledger.entries(campaign_id)
    assert [(e["entry_kind"], e["amount_vnd"]) for e in entries] == [("contribution", 2_000_000), ("refund", -500_000)]
    async with app.read() as uow:  # the contributions as the console lists them: the reversal beside its original
        listed = await uow.ledger.contributions_page(campaign_id, PageRequest(limit=10, cursor=None))
    assert [(c["entry_id"], c["reversal_kind"], c["reversed_vnd"], c["reversal_reason"]) for c in listed] == [
        (gift["contribution_id"], "refund", 500_000, "trả lại")]


async def test_a_retried_contribution_counts_once(app: Application) -> None:
    campaign_id = await opened(app)
    first = await app.handle(give(campaign_id, 1, 700_000), collector(1), idempotency_key="k-1")
    again = await app.handle(give(campaign_id, 1, 700_000), collector(1), idempotency_key="k-1")
    assert again.replayed and again.body == first.body and again.created
    async with app.read() as uow:
        assert await uow.ledger.raised_vnd(campaign_id) == 700_000


# -- pledges --------------------------------------------------------------------------------------------------
async def test_instalments_are_paid_by_contributions_and_overdue_ones_flagged_once(app: Application) -> None:
    campaign_id = await opened(app)
    today = ward_today()
    plan = [{"number": 1, "due_on": today - timedelta(days=3), "amount_vnd": 1_000_000},
            {"number": 2, "due_on": today + timedelta(days=7), "amount_vnd": 2_000_000}]
    pledge = await app.run(MakePledge(campaign_id=campaign_id, team_id="team-05", donor_kind="organisation",
                                      donor_ref="Công ty Minh Phát", total_vnd=3_000_000, instalments=plan),
                           collector(5))
    pledge_id = pledge["pledge_id"]
    with pytest.raises(RuleViolation, match="is 2000000 đồng"):
        await app.run(give(campaign_id, 5, 1_000_000, receipt="P-0", pledge_id=pledge_id, instalment_number=2),
                      collector(5))
    await app.run(give(campaign_id, 5, 2_000_000, receipt="P-1", pledge_id=pledge_id, instalment_number=2),
                  collector(5))
    with pytest.raises(Conflict, match="already paid"):
        await app.run(give(campaign_id, 5, 2_000_000, receipt="P-2", pledge_id=pledge_id, instalment_number=2),
                      collector(5))
    with pytest.raises(InvalidInput, match="both"):
        await app.run(give(campaign_id, 5, 2_000_000, receipt="P-3", pledge_id=pledge_id), collector(5))
    job = app.job("flag-overdue-instalments", handlers.flag_overdue_instalments)
    assert await job(None) == 1  # type: ignore[arg-type]
    assert await job(None) == 0  # type: ignore[arg-type]
    async with app.read() as uow:
        state = await uow.pledges.instalments(pledge_id)
    assert [(i["number"], i["paid"], i["flagged_on"]) for i in state] == [(1, False, today), (2, True, None)]


# -- expenses -------------------------------------------------------------------------------------------------
async def test_expenses_are_approved_by_another_official_within_the_balance(app: Application) -> None:
    campaign_id = await opened(app)
    await app.run(give(campaign_id, 1, 10_000_000), collector(1))
    with pytest.raises(InvalidInput, match="positive whole number"):
        await app.run(ProposeExpense(campaign_id=campaign_id, item="x", amount_vnd=0, invoice_ref="HĐ",
                                     paid_on=ward_today()), OFFICIAL)
    with pytest.raises(Forbidden):
        await app.run(ProposeExpense(campaign_id=campaign_id, item="x", amount_vnd=1, invoice_ref="HĐ",
                                     paid_on=ward_today()), collector(1))
    cameras = [{"name": "Camera 1", "location": "Ngõ 1", "group_id": GROUP, "installed_on": ward_today()}]
    big = await app.run(ProposeExpense(campaign_id=campaign_id, item="Đầu ghi", amount_vnd=12_000_000,
                                       invoice_ref="HĐ 1", paid_on=ward_today()), LEADER)
    buy = await app.run(ProposeExpense(campaign_id=campaign_id, item="Camera", amount_vnd=8_000_000,
                                       invoice_ref="HĐ 2", paid_on=ward_today(), cameras=cameras), OFFICIAL)
    assert buy["status"] == "proposed"
    with pytest.raises(Forbidden, match="another official"):
        await app.run(ApproveExpense(expense_id=buy["expense_id"], approval_ref="QĐ 1"), OFFICIAL)
    with pytest.raises(Forbidden):
        await app.run(ApproveExpense(expense_id=buy["expense_id"], approval_ref="QĐ 1"), LEADER)
    done = await app.run(ApproveExpense(expense_id=buy["expense_id"], approval_ref="QĐ 1"), OFFICIAL_2)
    assert done == {"expense_id": buy["expense_id"], "status": "approved", "balance_vnd": 2_000_000}
    with pytest.raises(Conflict, match="already approved"):
        await app.run(ApproveExpense(expense_id=buy["expense_id"], approval_ref="QĐ 1"), OFFICIAL_2)
    with pytest.raises(RuleViolation, match="exceeds the campaign's balance"):
        await app.run(ApproveExpense(expense_id=big["expense_id"], approval_ref="QĐ 2"), OFFICIAL)
    with pytest.raises(NotFound):
        await app.run(ApproveExpense(expense_id=buy["expense_id"], approval_ref="QĐ 3"), ELSEWHERE)
    async with app.read() as uow:
        expense = await uow.expenses.get(buy["expense_id"])
        assert await uow.expenses.spent_vnd(campaign_id) == 8_000_000
        assert [x["expense_id"] for x in await uow.expenses.approved(campaign_id)] == [buy["expense_id"]]
        listed = await uow.expenses.page(campaign_id, PageRequest(limit=10, cursor=None))  # proposed and approved, in order
    assert [(x["expense_id"], x["approved_by"]) for x in listed] == [(big["expense_id"], None),
                                                                    (buy["expense_id"], "official-2")]
    assert (expense["approved_by"], expense["approval_ref"]) == ("official-2", "QĐ 1")
    assert expense["cameras"] == [{"name": "Camera 1", "location": "Ngõ 1", "group_id": GROUP,
                                   "installed_on": ward_today().isoformat()}]
    [public] = [e for e in await emitted(app) if isinstance(e, PublicExpenseRecorded)]
    assert (public.expense_id, public.item, public.amount_vnd, public.cameras_count, public.paid_on) == (
        buy["expense_id"], "Camera", 8_000_000, 1, ward_today())
    assert "HĐ 2" not in public.model_dump_json() and "Ngõ 1" not in public.model_dump_json()


# -- the projections and their reads --------------------------------------------------------------------------
async def test_the_teams_donations_knows_with_their_current_members(app: Application) -> None:
    await feed(app, *registry_events(n=3), member_joined("team-02", "member-22"),
               team_formed("team-other", group="le-loi"))
    left = member_joined("team-02", "member-22")
    await feed(app, TeamMemberLeft(**{**left.model_dump(exclude={"id", "occurred_at", "appointed_on",
                                                                 "appointment_act"}), "left_on": date(2024, 5, 1)}))
    async with app.read() as uow:
        first = await uow.teams.page(WARD, PageRequest(2, None), group_id=GROUP)
        assert [t["team_id"] for t in first] == ["anxh-01", "team-01", "team-02"]  # one beyond the page
        mobilisation = await uow.teams.page(WARD, PageRequest(50, None), kind="mobilisation")
        assert await uow.teams.page("dong-ve", PageRequest(50, None)) == []
    assert [t["team_id"] for t in mobilisation] == ["team-01", "team-02", "team-03", "team-other"]
    assert mobilisation[1]["members"] == [{"resident_id": "member-02", "full_name": "Thành viên member-02",
                                           "role": "member"}]
    assert mobilisation[1]["name"] == "Tổ vận động team-02" and mobilisation[1]["kind"] == "mobilisation"


async def test_a_proposed_expense_is_published_as_waiting_for_its_second_approval(app: Application) -> None:
    """ExpenseProposed (issue 17): the notify service tells the other officials that an approval waits."""
    from shared.contracts.donations import ExpenseProposed

    campaign_id = await opened(app)
    buy = await app.run(ProposeExpense(campaign_id=campaign_id, item="Camera", amount_vnd=8_000_000,
                                       invoice_ref="HĐ 2", paid_on=ward_today()), OFFICIAL)
    proposed = [e for e in await emitted(app) if isinstance(e, ExpenseProposed)]
    assert [(e.expense_id, e.campaign_id, e.group_id, e.amount_vnd, e.proposed_by) for e in proposed] == [
        (buy["expense_id"], campaign_id, GROUP, 8_000_000, OFFICIAL.subject)]
