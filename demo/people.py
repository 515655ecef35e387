"""The seed ward's people get accounts (identity's API, as a city official would make them), so that after
`make demo` the console shows the ward's state to whoever signs in as one of them.

Each gets a one-time reset code, printed once (no password is set here: a password hash costs identity a second or
two of CPU - argon2id - and the replay runs in every end-to-end test): its holder sets a password at the console's
/password page, which for the official and the police officer also shows the second factor's QR code."""

from __future__ import annotations

from dataclasses import dataclass

from demo.client import Platform
from demo.ward import ROSTER, Ward


@dataclass(frozen=True)
class Person:
    part: str  # what they do in the ward (the demo's words)
    username: str
    roles: tuple[str, ...]
    reset_code: str  # set a password with it at the console's /password (once, within its validity)
    account_id: str = ""  # the `sub` of their tokens (what the notify service knows them by)


def _people(w: Ward, run_id: str) -> list[tuple[str, str, dict]]:
    """(part, username, account body) for each of the six parts. The sign-in names carry the run, so a second
    run on the same platform makes its own accounts beside the first's."""
    resident = w.residents[40] if len(w.residents) > 40 else w.residents[-1]
    leader = w.residents[ROSTER["anxh"][0][0]]
    mediator = w.residents[ROSTER["mediation"][0][1]]
    collector = w.residents[ROSTER["mobilisation"][0][0]]
    return [
        ("ward official", f"chu-tich-{run_id}", {"display_name": "Chủ tịch UBND phường Phú Sơn",
                                                 "roles": ["ward_official"]}),
        ("police officer", f"cong-an-{run_id}", {"display_name": "Công an phường Phú Sơn", "roles": ["police"]}),
        ("group leader (ANXH team 1)", f"to-truong-{run_id}", {
            "display_name": leader["full_name"], "roles": ["team_leader"],
            "team_ids": [w.team("anxh")["team_id"]], "resident_id": leader["resident_id"]}),
        ("mediator", f"hoa-giai-{run_id}", {
            "display_name": mediator["full_name"], "roles": ["team_member"],
            "team_ids": [w.team("mediation")["team_id"]], "resident_id": mediator["resident_id"]}),
        ("collector (mobilisation team 1)", f"thu-quy-{run_id}", {
            "display_name": collector["full_name"], "roles": ["team_member"],
            "team_ids": [w.team("mobilisation")["team_id"]], "resident_id": collector["resident_id"]}),
        ("resident", f"cu-dan-{run_id}", {
            "display_name": resident["full_name"], "roles": ["resident"], "resident_id": resident["resident_id"],
            "household_id": resident["household_id"]}),
    ]


async def create_accounts(api: Platform, w: Ward) -> list[Person]:
    city = api.actor("city-official", "city_official", ward="*")
    out = []
    for part, username, body in _people(w, api.run_id):
        made = await api.ok("identity", "/v1/accounts", city,
                            {"ward_id": api.config.ward_id, "username": username, **body})
        out.append(Person(part, username, tuple(body["roles"]), made["reset_code"], made["account"]["account_id"]))
    return out


def render(people: list[Person], console_url: str) -> list[str]:
    lines = [f"The seed ward's people can sign in to the console at {console_url}/sign-in: each sets a password "
             f"first at {console_url}/password with their one-time reset code (shown here only):"]
    for p in people:
        enrol = " (then adds the second factor: a QR code)" if {"ward_official", "police"} & set(p.roles) else ""
        lines.append(f"  {p.part:32} {p.username:22} reset code {p.reset_code}{enrol}")
    return lines
