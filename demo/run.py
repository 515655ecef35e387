"""The replay, step by step. ``run_demo`` is the coroutine behind ``python -m demo`` and the e2e test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from demo import donations, festival, incidents, notifications, people, summary, ward
from demo.client import Platform
from demo.config import Config


@dataclass
class Result:
    summary: summary.Summary
    ward: ward.Ward
    campaign: donations.Campaign
    cases: incidents.Cases
    festival: festival.Festival
    seconds: float
    requests: int
    people: list[people.Person] | None = None

    @property
    def ok(self) -> bool:
        return self.summary.ok


async def run_demo(config: Config, say: Callable[[str], None] = print) -> Result:
    """Replay the article against the platform at ``config.urls``; raises DemoError if a step fails."""
    run_id = uuid.uuid4().hex[:6]
    started = time.monotonic()
    api = Platform(config, run_id)
    try:
        say(f"Phú Sơn ward, Thanh Hóa city: replaying the article (run {run_id})")
        w = await ward.set_up(api)
        say(f"  registry: {w.group_name}, {len(w.residents) + len(w.lodgers)} residents, "
            f"{sum(len(t) for t in w.teams.values())} teams, 1 fire point, a boarding house with "
            f"{len(w.lodgers)} lodgers on temporary residence")
        # The accounts first: the notify service learns who they are (identity's AccountChanged) before the facts
        # they are told of.
        accounts = await people.create_accounts(api, w)
        campaign = await donations.run(api, w)
        say(f"  donations: camera campaign collected by {len(w.teams['mobilisation'])} mobilisation teams; "
            f"{len(campaign.camera_ids)} cameras bought and registered as facilities")
        cases = incidents.Cases()
        await incidents.wait_for_group(api, w)
        await incidents.crime_tips(api, w, campaign, cases)
        say(f"  incidents: {len(cases.tips)} crime tips (1 anonymous) solved with camera footage")
        await incidents.disputes(api, w, cases)
        say(f"  mediation: {len(cases.mediation_cases)} disputes referred, mediated successfully, incidents "
            "resolved as mediated")
        await incidents.warnings(api, w, cases)
        say(f"  incidents: {len(cases.warnings)} police warnings recorded")
        fest = await festival.run(api, w, cases.anonymous_follow_up)
        say(f"  awards: {len(fest.award_ids)} Giấy khen granted; certificate "
            f"{fest.certificate['verification_code']} issued, downloaded ({fest.certificate['pdf_bytes']} bytes) "
            "and verified; the anonymous reporter sees theirs through the follow-up code")
        figures = await summary.read_back(api, w, campaign, cases, fest)
        told = await notifications.read(api, accounts, incidents._police(api), len(cases.tips))
        seconds = time.monotonic() - started
        say("")
        for line in people.render(accounts, config.console_url.rstrip("/")):
            say(line)
        say("")
        for line in told:
            say(line)
        say("")
        say(f"The article's figures, read back from the services ({api.requests} requests, {seconds:.1f}s):")
        say(figures.render())
        return Result(figures, w, campaign, cases, fest, seconds, api.requests, accounts)
    finally:
        await api.aclose()


