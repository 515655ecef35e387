"""The Phú Sơn festival of 2024 (seed article) as the other services' contract events.

Trần Phú residential group: a mediation team that mediated 10 disputes successfully, 10 mobilisation teams
that raised nearly 60 million đồng for security cameras, 2 inter-household fire-prevention teams, a
security-and-order team, and crime tips solved with the cameras' footage, one reporter anonymous.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.claims import claim_secret, claim_verifier
from shared.contracts.donations import CampaignTargetReached, ContributionRecorded, ContributionReversed
from shared.contracts.incidents import IncidentResolved
from shared.contracts.mediation import CaseSucceeded
from shared.contracts.registry import (
    FacilityRegistered,
    GroupCreated,
    TeamFormed,
    TeamMemberJoined,
    WardRegistered,
)
from shared.events import Event

WARD = "phu-son"
GROUP = "tdp-tran-phu"
MEDIATION_TEAM = "team-hg-tran-phu"
FIRE_TEAMS = ["team-pccc-1", "team-pccc-2"]
SECURITY_TEAM = "team-bv-antt"
MOBILISATION_TEAMS = [f"team-vd-{i:02d}" for i in range(1, 11)]
CAMPAIGN = "camp-camera-2024"
CAMERAS = ["cam-nga-ba", "cam-cho"]
REPORTER = "rep-7f3a9c"  # the incidents service's pseudonym of an anonymous reporter
REPORTER_FOLLOW_UP_SECRET = "only-the-reporter-holds-this-follow-up-secret"
#: What the incidents service shows the reporter with the follow-up, and the verifier it sends awards.
REPORTER_CLAIM_SECRET = claim_secret(REPORTER_FOLLOW_UP_SECRET, REPORTER)
MEDIATORS = [("r-hung", "Lê Văn Hùng", "leader"), ("r-lan", "Phạm Thị Lan", "member"),
             ("r-minh", "Đỗ Văn Minh", "member")]


def _team(team_id: str, kind: str, name: str, members: list[tuple[str, str, str]]) -> list[Event]:
    events: list[Event] = [TeamFormed(ward_id=WARD, subject=team_id, team_id=team_id, group_id=GROUP, kind=kind,
                                      compliant=True, name=name, formed_on=date(2024, 1, 5),
                                      formation_act="QĐ 12/QĐ-UBND")]
    for rid, full_name, role in members:
        events.append(TeamMemberJoined(ward_id=WARD, subject=team_id, team_id=team_id, group_id=GROUP, kind=kind,
                                       compliant=True, resident_id=rid, household_id=f"hh-{rid}", full_name=full_name,
                                       sex="female" if "Thị" in full_name else "male", role=role,
                                       appointed_on=date(2024, 1, 5)))
    return events


def registry_events() -> list[Event]:
    events: list[Event] = [
        WardRegistered(ward_id=WARD, subject=WARD, name="Phường Phú Sơn", city="Thành phố Thanh Hóa"),
        GroupCreated(ward_id=WARD, subject=GROUP, group_id=GROUP, name="Tổ dân phố Trần Phú"),
    ]
    events += _team(MEDIATION_TEAM, "mediation", "Tổ hòa giải Trần Phú", MEDIATORS)
    for n, team in enumerate(FIRE_TEAMS, start=1):
        events += _team(team, "fire_prevention", f"Tổ PCCC liên gia số {n}",
                        [(f"r-pc{n}{k}", f"Trần Văn Phòng {n}{k}", "leader" if k == 1 else "member") for k in (1, 2, 3)])
    events += _team(SECURITY_TEAM, "security_order", "Tổ bảo vệ ANTT Trần Phú", [("r-bv1", "Hoàng Văn Bảo", "leader")])
    for n, team in enumerate(MOBILISATION_TEAMS, start=1):
        events += _team(team, "mobilisation", f"Tổ vận động số {n}", [(f"r-vd{n}", f"Nguyễn Văn Vận {n}", "leader")])
    for cam in CAMERAS:
        events.append(FacilityRegistered(ward_id=WARD, subject=cam, facility_id=cam, group_id=GROUP,
                                         kind="security_camera", name=f"Camera {cam}", location="Ngã ba Trần Phú",
                                         installed_on=date(2024, 3, 1), funded_by_campaign_id=CAMPAIGN))
    return events


def mediation_events() -> list[Event]:
    """10 disputes mediated successfully (hòa giải thành công 10 vụ); Hùng and Lan in all, Minh in 4."""
    events: list[Event] = []
    for n in range(1, 11):
        mediators = ["r-hung", "r-lan"] + (["r-minh"] if n <= 4 else [])
        events.append(CaseSucceeded(ward_id=WARD, subject=f"case-{n}", case_id=f"case-{n}", group_id=GROUP,
                                    team_id=MEDIATION_TEAM, referral_incident_id=None, kind="neighbours",
                                    mediator_ids=mediators, concluded_on=date(2024, n % 7 + 1, 10)))
    return events


def incident_events() -> list[Event]:
    """Drug and theft tips solved with the cameras' footage; two of them from one anonymous reporter."""
    def resolved(n: int, category: str, reporter: str | None, outcome: str = "solved") -> IncidentResolved:
        return IncidentResolved(ward_id=WARD, subject=f"inc-{n}", incident_id=f"inc-{n}", group_id=GROUP,
                                category=category, is_crime_tip=True, outcome=outcome, camera_footage_used=True,
                                camera_ids=CAMERAS[:1] if n % 2 else CAMERAS, reporter_ref=reporter,
                                reporter_claim_verifier=claim_verifier(REPORTER_CLAIM_SECRET, reporter)
                                if reporter == REPORTER else None,
                                resolved_at=datetime(2024, 5, n, 3, 0, tzinfo=UTC))
    return [resolved(1, "drugs", REPORTER), resolved(2, "theft", REPORTER), resolved(3, "theft", None),
            resolved(4, "theft", "rep-other", outcome="unfounded")]


def donation_events() -> list[Event]:
    """Nearly 60 million đồng through 10 teams; one contribution corrected by a reversal."""
    events: list[Event] = []
    totals: dict[str, int] = {}
    for n, team in enumerate(MOBILISATION_TEAMS, start=1):
        for k, amount in enumerate((3_500_000, 2_450_000), start=1):
            events.append(ContributionRecorded(ward_id=WARD, subject=CAMPAIGN, contribution_id=f"c-{n}-{k}",
                                               campaign_id=CAMPAIGN, amount_vnd=amount, in_kind=False, channel="cash",
                                               team_id=team, collected_by_resident_id=f"r-vd{n}", donor_kind="household",
                                               group_id=GROUP, received_on=date(2024, 4, n)))
            totals[team] = totals.get(team, 0) + amount
    events.append(ContributionReversed(ward_id=WARD, subject=CAMPAIGN, reversal_id="rv-1", contribution_id="c-1-2",
                                       campaign_id=CAMPAIGN, amount_vnd=450_000, team_id=MOBILISATION_TEAMS[0],
                                       reason="Nhập sai số tiền"))
    totals[MOBILISATION_TEAMS[0]] -= 450_000
    events.append(CampaignTargetReached(ward_id=WARD, subject=CAMPAIGN, campaign_id=CAMPAIGN, group_id=GROUP,
                                        target_vnd=55_000_000, raised_vnd=sum(totals.values()), team_totals=totals,
                                        reached_on=date(2024, 4, 20)))
    return events


def all_events() -> list[Event]:
    return registry_events() + mediation_events() + incident_events() + donation_events()


#: The criteria the ward's officials configure for 2024 (issuer -> what earns a Giấy khen).
CRITERIA = [
    {"achievement_kind": "mediations_succeeded", "holder_kind": "collective", "min_count": 10,
     "title": "Đã có thành tích xuất sắc trong công tác hòa giải ở cơ sở năm 2024", "issuer": "city_chairman"},
    {"achievement_kind": "campaign_target_reached", "holder_kind": "collective", "min_amount_vnd": 5_000_000,
     "title": "Đã có thành tích vận động nhân dân lắp đặt camera an ninh", "issuer": "city_chairman"},
    {"achievement_kind": "mediations_succeeded", "holder_kind": "individual", "min_count": 5,
     "title": "Hòa giải viên tiêu biểu năm 2024", "issuer": "ward_chairman"},
    {"achievement_kind": "tips_solved", "holder_kind": "reporter", "min_count": 2,
     "title": "Đã có thành tích phát hiện, tố giác tội phạm", "issuer": "ward_chairman"},
    {"achievement_kind": "cameras_helped", "holder_kind": "collective", "min_count": 3,
     "title": "Camera an ninh giúp phá án ma túy, trộm cắp tài sản", "issuer": "ward_chairman"},
    {"achievement_kind": "fire_prevention_activity", "holder_kind": "collective", "min_count": 3,
     "title": "Tổ PCCC liên gia hoạt động hiệu quả", "issuer": "ward_chairman"},
]

ISSUERS = {
    "ward_chairman": {"title": "Chủ tịch Ủy ban nhân dân phường Phú Sơn", "authority": "Ủy ban nhân dân phường Phú Sơn",
                      "signer_name": "Lê Thị Phương", "valid_from": "2020-01-01"},
    "city_chairman": {"title": "Chủ tịch Ủy ban nhân dân thành phố Thanh Hóa",
                      "authority": "Ủy ban nhân dân thành phố Thanh Hóa", "signer_name": "Nguyễn Văn Thành",
                      "valid_from": "2020-01-01", "valid_until": "2025-06-30"},
}
