"""What the notify service told the seed ward's people about the replay's facts (issue 17): each person's in-app
inbox, read through the notify API with that person's token. The tips assigned reach the police officer who handles
them; the expense proposed, the other officials (never its proposer); a case opened without a mediator, its team's
leader (or, with no leader's account, the ward's officials); an award decided, the nominee's account."""

from __future__ import annotations

from collections import Counter
from typing import Any

from demo.client import Actor, Platform
from demo.people import Person


async def _inbox(api: Platform, actor: Actor) -> list[dict[str, Any]]:
    return (await api.get("notify", "/v1/notifications", actor, limit=100))["items"]


async def read(api: Platform, people: list[Person], officer: Actor, tips: int) -> list[str]:
    """The lines to print: for the officer of the replay's tips and each account, their notifications."""
    async def officer_told() -> bool:
        return len([n for n in await _inbox(api, officer) if n["kind"] == "tip.assigned"]) >= tips

    await api.eventually("notify to tell the officer of the tips assigned to them", officer_told)
    readers = [("police officer of the replay's tips", officer)] + [
        (p.part, Actor(p.account_id, p.roles, api.config.ward_id)) for p in people if p.account_id]
    lines = ["What the notify service told people (their in-app inboxes; by email, SMS or Zalo too once they add "
             "and verify a contact at the console):"]
    for part, actor in readers:
        items = await _inbox(api, actor)
        kinds = Counter(n["kind"] for n in items)
        summary = ", ".join(f"{k} x{c}" for k, c in sorted(kinds.items())) or "nothing to act on"
        lines.append(f"  {part:36} {summary}")
        for n in items[:3]:
            lines.append(f"    - {n['title']}: {n['link']}")
    return lines
