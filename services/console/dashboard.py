"""The ward official's dashboard: what it shows, gathered from the services' read endpoints with the person's token.

Teams and their compliance (registry), open incidents (incidents), campaigns and their balances (donations). The
three are asked at once; one service that fails leaves its section with a sentence, not the whole page broken.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from services.console.apis import ApiProblem, Apis

OPEN_INCIDENT_STATES = ("received", "triaged", "assigned", "in_progress")


@dataclass
class Section:
    items: list[dict[str, Any]] = field(default_factory=list)
    problem: ApiProblem | None = None


@dataclass
class Dashboard:
    teams: Section
    incidents: Section
    campaigns: Section


async def _section(work) -> Section:
    try:
        return Section(await work)
    except ApiProblem as exc:
        return Section(problem=exc)


async def _teams(apis: Apis, token: str) -> list[dict[str, Any]]:
    teams = await apis.list_all("registry", "/v1/teams", token)
    return sorted(teams, key=lambda t: (t["compliant"], t["kind"], t["name"]))  # the ones to act on first


async def _open_incidents(apis: Apis, token: str) -> list[dict[str, Any]]:
    found = []
    for state in OPEN_INCIDENT_STATES:
        found += await apis.list_all("incidents", "/v1/incidents", token, params={"state": state})
    return sorted(found, key=lambda i: (not i["overdue"], i["deadline_on"] or "9999", i["received_at"]))


async def _campaigns(apis: Apis, token: str) -> list[dict[str, Any]]:
    listed = await apis.list_all("donations", "/v1/campaigns", token)  # closed ones too: money may be left
    # The list has no amounts; each campaign's own document has raised, spent and balance (a ward runs a few).
    return list(await asyncio.gather(*(apis.call("donations", "GET", f"/v1/campaigns/{c['campaign_id']}",
                                                 token=token) for c in listed)))


async def gather(apis: Apis, token: str) -> Dashboard:
    teams, incidents, campaigns = await asyncio.gather(
        _section(_teams(apis, token)), _section(_open_incidents(apis, token)), _section(_campaigns(apis, token)))
    return Dashboard(teams, incidents, campaigns)
