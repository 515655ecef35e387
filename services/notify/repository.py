"""SQL of the notify schema: people, contacts, preferences, notifications and deliveries, and the projections
routing reads (tips, groups, teams and their members, temporary residences, boarding houses).

Rows come back as plain dicts; the in-memory fakes of tests/notify/fakes.py answer the same, and one handler suite
runs over both.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from shared.paging import Keyset, PageRequest

INBOX_ORDER = Keyset.of("created_at:timestamptz", "notification_id:text", descending=True)
DELIVERY_ORDER = Keyset.of("d.not_before:timestamptz", "d.delivery_id:text")
DELIVERY_COLUMNS = ("delivery_id, notification_id, channel, status, not_before, digest, attempts, last_error, "
                    "sent_at, updated_at")


def _dict(row: asyncpg.Record | None) -> dict[str, Any] | None:
    return None if row is None else dict(row)


def _person(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out["roles"], out["team_ids"] = list(out["roles"]), list(out["team_ids"])
    return out


class PeopleRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def put(self, row: dict[str, Any]) -> None:
        """The account's current state (an older event than the one applied changes nothing)."""
        await self.conn.execute(
            """INSERT INTO people (person_id, ward_id, roles, resident_id, team_ids, disabled, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (person_id) DO UPDATE SET ward_id = $2, roles = $3, resident_id = $4, team_ids = $5,
                 disabled = $6, updated_at = $7 WHERE people.updated_at <= $7""",
            row["person_id"], row["ward_id"], row["roles"], row["resident_id"], row["team_ids"], row["disabled"],
            row["updated_at"])

    async def get(self, person_id: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow("SELECT * FROM people WHERE person_id = $1", person_id)
        return None if row is None else _person(row)

    async def with_role(self, ward_id: str, role: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch("SELECT * FROM people WHERE ward_id = $1 AND $2 = ANY(roles) AND NOT disabled "
                                     "ORDER BY person_id", ward_id, role)
        return [_person(r) for r in rows]

    async def residents(self, resident_ids: list[str]) -> list[dict[str, Any]]:
        rows = await self.conn.fetch("SELECT * FROM people WHERE resident_id = ANY($1::text[]) AND NOT disabled "
                                     "ORDER BY person_id", resident_ids)
        return [_person(r) for r in rows]

    async def leaders_of(self, team_id: str) -> list[dict[str, Any]]:
        """The team's leaders: the accounts of the residents the registry names its leader, and the accounts with
        the team_leader role for this team."""
        rows = await self.conn.fetch(
            """SELECT * FROM people p WHERE NOT p.disabled AND (
                 p.resident_id IN (SELECT resident_id FROM team_members WHERE team_id = $1 AND role = 'leader')
                 OR ('team_leader' = ANY(p.roles) AND $1 = ANY(p.team_ids)))
               ORDER BY person_id""", team_id)
        return [_person(r) for r in rows]


    async def group_leaders(self, group_id: str) -> list[dict[str, Any]]:
        """The group's leaders (tổ trưởng): team_leader accounts that lead one of the group's teams (the console's
        group pages are theirs)."""
        rows = await self.conn.fetch(
            """SELECT * FROM people WHERE NOT disabled AND 'team_leader' = ANY(roles)
               AND team_ids && ARRAY(SELECT team_id FROM teams WHERE group_id = $1) ORDER BY person_id""", group_id)
        return [_person(r) for r in rows]


class ProjectionRepository:
    """Other services' facts routing needs: ids, dates and roles only."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # tips (and any incident, for its assignment)
    async def put_tip(self, incident_id: str, ward_id: str, group_id: str, **fields: Any) -> None:
        await self.conn.execute(
            "INSERT INTO tips (incident_id, ward_id, group_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            incident_id, ward_id, group_id)
        if fields:
            sets = ", ".join(f"{k} = ${i + 2}" for i, k in enumerate(fields))
            await self.conn.execute(f"UPDATE tips SET {sets}, updated_at = now() WHERE incident_id = $1",  # noqa: S608 - our column names
                                    incident_id, *fields.values())

    async def tip(self, incident_id: str) -> dict[str, Any] | None:
        return _dict(await self.conn.fetchrow("SELECT * FROM tips WHERE incident_id = $1", incident_id))

    async def tips_due_by(self, last_day: date) -> list[dict[str, Any]]:
        """Open crime tips whose deadline is on or before ``last_day``."""
        rows = await self.conn.fetch("SELECT * FROM tips WHERE is_crime_tip AND NOT closed AND deadline_on <= $1 "
                                     "ORDER BY deadline_on, incident_id", last_day)
        return [dict(r) for r in rows]

    # registry
    async def put_group(self, group_id: str, ward_id: str, name: str) -> None:
        await self.conn.execute("INSERT INTO groups VALUES ($1, $2, $3) ON CONFLICT (group_id) DO UPDATE SET name = $3",
                                group_id, ward_id, name)

    async def groups(self, ward_id: str) -> dict[str, dict[str, Any]]:
        rows = await self.conn.fetch("SELECT * FROM groups WHERE ward_id = $1", ward_id)
        return {r["group_id"]: dict(r) for r in rows}

    async def put_team(self, team_id: str, ward_id: str, group_id: str, kind: str) -> None:
        await self.conn.execute("INSERT INTO teams VALUES ($1, $2, $3, $4) ON CONFLICT (team_id) DO NOTHING",
                                team_id, ward_id, group_id, kind)

    async def teams_of(self, group_id: str, kind: str) -> list[str]:
        rows = await self.conn.fetch("SELECT team_id FROM teams WHERE group_id = $1 AND kind = $2 ORDER BY team_id",
                                     group_id, kind)
        return [r["team_id"] for r in rows]

    async def put_member(self, team_id: str, resident_id: str, role: str | None) -> None:
        """The member's role in the team; None: left it."""
        if role is None:
            await self.conn.execute("DELETE FROM team_members WHERE team_id = $1 AND resident_id = $2",
                                    team_id, resident_id)
        else:
            await self.conn.execute(
                "INSERT INTO team_members VALUES ($1, $2, $3) ON CONFLICT (team_id, resident_id) DO UPDATE SET role = $3",
                team_id, resident_id, role)

    async def put_residence(self, declaration_id: str, ward_id: str, resident_id: str, group_id: str,
                            valid_until: date | None, ended: bool = False) -> None:
        if valid_until is None:
            await self.conn.execute("UPDATE residences SET ended = $2 WHERE declaration_id = $1", declaration_id, ended)
            return
        await self.conn.execute(
            """INSERT INTO residences VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (declaration_id) DO UPDATE SET valid_until = $5, ended = $6""",
            declaration_id, ward_id, resident_id, group_id, valid_until, ended)

    async def residences_until(self, last_day: date) -> list[dict[str, Any]]:
        rows = await self.conn.fetch("SELECT * FROM residences WHERE NOT ended AND valid_until <= $1 "
                                     "ORDER BY valid_until, declaration_id", last_day)
        return [dict(r) for r in rows]

    async def put_boarding_house(self, boarding_house_id: str, ward_id: str, group_id: str, landlord: str) -> None:
        await self.conn.execute(
            """INSERT INTO boarding_houses VALUES ($1, $2, $3, $4)
               ON CONFLICT (boarding_house_id) DO UPDATE SET landlord_resident_id = $4""",
            boarding_house_id, ward_id, group_id, landlord)



class NotificationRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, row: dict[str, Any]) -> bool:
        """Insert unless this person already has a notification of this fact. True when it is new."""
        added = await self.conn.fetchval(
            """INSERT INTO notifications (notification_id, person_id, ward_id, kind, fact_key, urgent, title, body,
                 link, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (person_id, fact_key) DO NOTHING RETURNING true""",
            row["notification_id"], row["person_id"], row["ward_id"], row["kind"], row["fact_key"], row["urgent"],
            row["title"], row["body"], row["link"], row["created_at"])
        return bool(added)

    async def get(self, person_id: str, notification_id: str) -> dict[str, Any] | None:
        return _dict(await self.conn.fetchrow(
            "SELECT * FROM notifications WHERE notification_id = $1 AND person_id = $2", notification_id, person_id))

    async def page(self, person_id: str, unread: bool, page: PageRequest) -> list[dict[str, Any]]:
        args: list[Any] = [person_id]
        where = ["person_id = $1"] + (["read_at IS NULL"] if unread else [])
        rows = await self.conn.fetch(INBOX_ORDER.query("SELECT * FROM notifications", where, args, page), *args)
        return [dict(r) for r in rows]

    async def of(self, person_id: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch("SELECT * FROM notifications WHERE person_id = $1 "
                                     "ORDER BY created_at DESC, notification_id DESC", person_id)
        return [dict(r) for r in rows]

    async def mark_read(self, person_id: str, notification_id: str, at: datetime) -> None:
        await self.conn.execute("UPDATE notifications SET read_at = COALESCE(read_at, $3) "
                                "WHERE notification_id = $1 AND person_id = $2", notification_id, person_id, at)

    async def read_all(self, person_id: str, at: datetime) -> int:
        status = await self.conn.execute("UPDATE notifications SET read_at = $2 WHERE person_id = $1 "
                                         "AND read_at IS NULL", person_id, at)
        return int(status.split()[-1])

    async def unread_count(self, person_id: str) -> int:
        return int(await self.conn.fetchval(
            "SELECT count(*) FROM notifications WHERE person_id = $1 AND read_at IS NULL", person_id))


class DeliveryRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, row: dict[str, Any]) -> None:
        await self.conn.execute(
            """INSERT INTO deliveries (delivery_id, notification_id, channel, status, not_before, digest, updated_at)
               VALUES ($1, $2, $3, 'pending', $4, $5, $6) ON CONFLICT (notification_id, channel) DO NOTHING""",
            row["delivery_id"], row["notification_id"], row["channel"], row["not_before"], row["digest"],
            row["updated_at"])

    async def of(self, person_id: str, notification_id: str | None) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            f"""SELECT {", ".join("d." + c.strip() for c in DELIVERY_COLUMNS.split(","))}
                FROM deliveries d JOIN notifications n USING (notification_id)
                WHERE n.person_id = $1 AND ($2::text IS NULL OR d.notification_id = $2)
                ORDER BY d.not_before, d.delivery_id LIMIT 500""", person_id, notification_id)  # noqa: S608
        return [dict(r) for r in rows]


    async def page(self, person_id: str, notification_id: str | None, page: PageRequest) -> list[dict[str, Any]]:
        """The person's deliveries (of one notification, if given), by ``not_before``: a page and one more."""
        args: list[Any] = [person_id, notification_id]
        columns = ", ".join("d." + c.strip() for c in DELIVERY_COLUMNS.split(","))
        sql = DELIVERY_ORDER.query(f"SELECT {columns} FROM deliveries d JOIN notifications n USING (notification_id)",  # noqa: S608
                                   ["n.person_id = $1", "$2::text IS NULL OR d.notification_id = $2"], args, page)
        return [dict(r) for r in await self.conn.fetch(sql, *args)]


class ContactRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def of(self, person_id: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch("SELECT * FROM contacts WHERE person_id = $1 ORDER BY channel", person_id)
        return [dict(r) for r in rows]

    async def get(self, person_id: str, channel: str) -> dict[str, Any] | None:
        return _dict(await self.conn.fetchrow("SELECT * FROM contacts WHERE person_id = $1 AND channel = $2",
                                              person_id, channel))

    async def put(self, person_id: str, channel: str, address_sealed: bytes) -> None:
        """A new address, not verified yet (it replaces the old one, which stops receiving at once)."""
        await self.conn.execute(
            """INSERT INTO contacts (person_id, channel, address_sealed, verified_at) VALUES ($1, $2, $3, NULL)
               ON CONFLICT (person_id, channel) DO UPDATE SET address_sealed = $3, verified_at = NULL""",
            person_id, channel, address_sealed)

    async def verify(self, person_id: str, channel: str, at: datetime) -> None:
        await self.conn.execute("UPDATE contacts SET verified_at = $3 WHERE person_id = $1 AND channel = $2",
                                person_id, channel, at)

    async def delete(self, person_id: str, channel: str) -> bool:
        status = await self.conn.execute("DELETE FROM contacts WHERE person_id = $1 AND channel = $2",
                                         person_id, channel)
        await self.conn.execute("DELETE FROM contact_codes WHERE person_id = $1 AND channel = $2", person_id, channel)
        return status != "DELETE 0"

    async def verified(self, person_id: str) -> set[str]:
        rows = await self.conn.fetch("SELECT channel FROM contacts WHERE person_id = $1 AND verified_at IS NOT NULL",
                                     person_id)
        return {r["channel"] for r in rows}

    # the pending code of a contact
    async def put_code(self, person_id: str, channel: str, code_hash: bytes, expires_at: datetime) -> None:
        await self.conn.execute(
            """INSERT INTO contact_codes VALUES ($1, $2, $3, $4, 0) ON CONFLICT (person_id, channel)
               DO UPDATE SET code_hash = $3, expires_at = $4, attempts = 0""",
            person_id, channel, code_hash, expires_at)

    async def code(self, person_id: str, channel: str) -> dict[str, Any] | None:
        """The pending code, locked until the transaction ends: attempts sent at once are counted one after
        another (each sees the ones before it), so a code gets its MAX_CODE_ATTEMPTS tries in all."""
        return _dict(await self.conn.fetchrow("SELECT * FROM contact_codes WHERE person_id = $1 AND channel = $2 "
                                              "FOR UPDATE", person_id, channel))

    async def count_attempt(self, person_id: str, channel: str) -> None:
        await self.conn.execute("UPDATE contact_codes SET attempts = attempts + 1 WHERE person_id = $1 "
                                "AND channel = $2", person_id, channel)

    async def drop_code(self, person_id: str, channel: str) -> None:
        await self.conn.execute("DELETE FROM contact_codes WHERE person_id = $1 AND channel = $2", person_id, channel)


class PreferenceRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def of(self, person_id: str) -> dict[str, dict[str, Any]]:
        rows = await self.conn.fetch("SELECT * FROM preferences WHERE person_id = $1", person_id)
        return {r["kind"]: {"kind": r["kind"], "channels": list(r["channels"]), "digest": r["digest"]} for r in rows}

    async def put(self, person_id: str, kind: str, channels: list[str], digest: bool) -> None:
        await self.conn.execute(
            """INSERT INTO preferences VALUES ($1, $2, $3, $4)
               ON CONFLICT (person_id, kind) DO UPDATE SET channels = $3, digest = $4""",
            person_id, kind, channels, digest)
