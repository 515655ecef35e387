"""The identity service consumes no other service's events: accounts are its own, and what a role needs of the
registry (a resident's and household's ids, a member's teams) is given by the official who creates the account.
(deploy/render.py derives the Kafka read ACLs from ``HANDLERS``; empty: the runtime starts no consumer.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from shared.events import Event

HANDLERS: dict[type[Event], Callable[[Any, Any], Awaitable[None]]] = {}
