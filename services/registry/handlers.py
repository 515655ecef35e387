"""Every command of the registry and its handler (one module per area: people, teams, places, residence)."""

from __future__ import annotations

from services.registry import (
    handlers_areas,
    handlers_people,
    handlers_places,
    handlers_residence,
    handlers_teams,
)

HANDLERS = {
    **handlers_people.HANDLERS,
    **handlers_teams.HANDLERS,
    **handlers_places.HANDLERS,
    **handlers_residence.HANDLERS,
    **handlers_areas.HANDLERS,
}
