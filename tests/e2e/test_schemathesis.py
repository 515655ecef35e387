"""Schema fuzzing: schemathesis against each service's OpenAPI document, on the running platform (five service
processes, real PostgreSQL, real broker), after the seed article was replayed through the APIs.

Every generated request goes out with a token of one of several roles (or none), and with path ids, query ids
and body ids drawn, half of the time, from the real seeded data, so that valid requests reach the handlers too.
Each response must pass schemathesis' ``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance`` and ``response_schema_conformance``: no 5xx, no status, media type or body the
document does not declare (every error an RFC 9457 problem).

``FUZZ_EXAMPLES`` examples per operation (10 by default, for ``make test``); ``make fuzz`` runs 200 and shrinks.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.settings import SERVICES
from tests.conftest import auth

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
WARD = "phu-son"

#: Where each service's real ids come from, by the name the API gives them (path, query or body field).
ID_SOURCES: dict[str, dict[str, str]] = {
    "registry": {
        "ward_id": "SELECT id FROM wards", "group_id": "SELECT id FROM groups",
        "household_id": "SELECT id FROM households", "resident_id": "SELECT id FROM residents",
        "team_id": "SELECT id FROM teams", "facility_id": "SELECT id FROM facilities",
        "house_id": "SELECT id FROM boarding_houses", "declaration_id": "SELECT id FROM declarations",
    },
    "incidents": {
        "ward_id": "SELECT DISTINCT ward_id FROM incidents", "incident_id": "SELECT incident_id FROM incidents",
        "group_id": "SELECT group_id FROM known_groups", "team_id": "SELECT team_id FROM known_teams",
        "camera_id": "SELECT facility_id FROM cameras",
        "month": "SELECT DISTINCT to_char(received_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM') FROM incidents",
    },
    "mediation": {
        "ward_id": "SELECT DISTINCT ward_id FROM cases", "case_id": "SELECT case_id FROM cases",
        "team_id": "SELECT team_id FROM teams", "resident_id": "SELECT resident_id FROM residents",
        "group_id": "SELECT DISTINCT group_id FROM teams",
    },
    "donations": {
        "ward_id": "SELECT DISTINCT ward_id FROM campaigns", "campaign_id": "SELECT campaign_id FROM campaigns",
        "pledge_id": "SELECT pledge_id FROM pledges", "expense_id": "SELECT expense_id FROM expenses",
        "contribution_id": "SELECT entry_id FROM ledger_entries WHERE entry_kind = 'contribution'",
        "team_id": "SELECT team_id FROM teams", "group_id": "SELECT DISTINCT group_id FROM campaigns",
    },
    "awards": {
        "ward_id": "SELECT DISTINCT ward_id FROM awards", "award_id": "SELECT award_id FROM awards",
        "nomination_id": "SELECT nomination_id FROM nominations",
        "code": "SELECT verification_code FROM awards", "year": "SELECT DISTINCT year::text FROM awards",
    },
    "feed": {
        "subscriber_id": "SELECT subscriber_id FROM subscribers", "key_id": "SELECT key_id FROM api_keys",
    },
    "identity": {"account_id": "SELECT account_id FROM accounts", "ward_id": "SELECT DISTINCT ward_id FROM accounts"},
    "notify": {"notification_id": "SELECT notification_id FROM notifications",
               "channel": "SELECT DISTINCT channel FROM contacts", "kind": "SELECT DISTINCT kind FROM notifications"},
}


async def _real_ids(db: Any, service: str) -> dict[str, list[Any]]:
    ids: dict[str, list[Any]] = {}
    for name, sql in ID_SOURCES[service].items():
        values = [r[0] for r in await db.fetch(service, sql) if r[0] is not None]
        if name == "year":
            values = [int(v) for v in values]
        if values:
            ids[name] = values[:50]
    return ids


async def _identities(db: Any) -> list[dict[str, str]]:
    """Headers of the callers the fuzzer plays: nobody, a resident of a real household, a team leader of a real
    team, a police officer, a ward official and a city official (every ward)."""
    resident = (await db.fetch("registry", "SELECT id, household_id FROM residents WHERE ward_id = $1 LIMIT 1",
                               WARD))[0]
    teams = [r["id"] for r in await db.fetch("registry", "SELECT id FROM teams WHERE ward_id = $1", WARD)]
    return [
        {},
        auth("resident", WARD, resident_id=resident["id"], household_id=resident["household_id"]),
        auth(["team_leader", "team_member"], WARD, resident_id=resident["id"], team_ids=teams),
        auth("police", WARD),
        auth("ward_official", WARD),
        auth("city_official", "*"),
    ]


def _with_real_ids(data: st.DataObject, values: dict[str, Any] | None, ids: dict[str, list[Any]]) -> None:
    for name in list(values or {}):
        if name in ids and data.draw(st.booleans(), label=f"real {name}"):
            values[name] = data.draw(st.sampled_from(ids[name]), label=name)  # type: ignore[index]


def _runner(cases: st.SearchStrategy, url: str, ids: dict[str, list[Any]], identities: list[dict[str, str]],
            examples: int) -> Any:
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate, Phase.shrink] if EXAMPLES > 10 else
              [Phase.explicit, Phase.generate])
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(cases, label="case")
        _with_real_ids(data, case.path_parameters, ids)
        _with_real_ids(data, case.query, ids)
        if isinstance(case.body, dict):
            _with_real_ids(data, case.body, ids)
        headers = data.draw(st.sampled_from(identities), label="caller")
        case.call_and_validate(base_url=url, headers=headers, checks=CHECKS, timeout=30)

    return run


def _fuzz(service: str, url: str, ids: dict[str, list[Any]], identities: list[dict[str, str]]) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
        try:
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
        except Exception:
            pass
        # An operation that takes nothing (health, metrics, documents) varies only by caller: a few examples do.
        takes_input = bool(operation.path_parameters or operation.query or operation.body)
        run = _runner(st.one_of(strategies), url, ids, identities, EXAMPLES if takes_input else 3)
        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failures (schemathesis groups them)
            failures.append(f"{service} {operation.method.upper()} {operation.path}:\n{exc}")
    return failures


@pytest.mark.timeout(1800)  # a loaded machine is slow; nothing here waits on a timer
@pytest.mark.parametrize("service", SERVICES)
async def test_every_operation_conforms_to_its_openapi_document(platform, replayed, service):
    ids = await _real_ids(platform.db, service)
    identities = await _identities(platform.db)
    failures = await asyncio.to_thread(_fuzz, service, platform.url(service), ids, identities)
    assert not failures, "\n\n".join(failures)
