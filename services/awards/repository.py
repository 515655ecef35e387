"""SQL of the awards schema, nothing else: one repository per aggregate, each on the unit of work's connection.

Results are plain dicts (tests/awards/fakes.py answers the same ones from memory). The link tables that carry the
law's "one achievement backs one award" (``nomination_achievements``, ``award_achievements``, unique indexes)
belong to the achievements: holding an achievement for a nomination, or binding it to an award, is a write of
``AchievementRepository`` that answers ``Conflict`` when the index refuses it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from shared.errors import Conflict
from shared.paging import Keyset, PageRequest

Row = dict[str, Any]


def _row(record: asyncpg.Record | None) -> Row | None:
    return None if record is None else dict(record)


def _set_clause(fields: dict[str, Any]) -> str:
    return ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(fields))


class _Repository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn


# -- what awards knows of other services' things (projections of their events) --------------------------------
class DirectoryRepository(_Repository):
    """Names (registry), cameras (registry facilities) and reporters' claim verifiers (incidents)."""

    async def put_name(self, ward_id: str, ref_kind: str, ref: str, name: str, team_kind: str | None = None,
                       group_id: str | None = None) -> None:
        await self.conn.execute(
            "INSERT INTO names (ward_id, ref_kind, ref, name, team_kind, group_id) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (ward_id, ref_kind, ref) DO UPDATE SET name = EXCLUDED.name, "
            "team_kind = COALESCE(EXCLUDED.team_kind, names.team_kind), "
            "group_id = COALESCE(EXCLUDED.group_id, names.group_id), updated_at = now()",
            ward_id, ref_kind, ref, name, team_kind, group_id,
        )

    async def name_of(self, ward_id: str, ref_kind: str, ref: str) -> str | None:
        return await self.conn.fetchval("SELECT name FROM names WHERE ward_id = $1 AND ref_kind = $2 AND ref = $3",
                                        ward_id, ref_kind, ref)

    async def put_facility(self, ward_id: str, facility_id: str, group_id: str, kind: str,
                           campaign_id: str | None) -> None:
        await self.conn.execute(
            "INSERT INTO facilities (ward_id, facility_id, group_id, kind, funded_by_campaign_id) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ward_id, facility_id) DO UPDATE SET group_id = EXCLUDED.group_id, "
            "kind = EXCLUDED.kind, funded_by_campaign_id = EXCLUDED.funded_by_campaign_id",
            ward_id, facility_id, group_id, kind, campaign_id,
        )

    async def facility_group(self, ward_id: str, facility_id: str) -> str | None:
        return await self.conn.fetchval("SELECT group_id FROM facilities WHERE ward_id = $1 AND facility_id = $2",
                                        ward_id, facility_id)

    async def keep_claim_verifier(self, ward_id: str, reporter_ref: str, verifier: str) -> None:
        await self.conn.execute(
            "INSERT INTO reporter_claim_verifiers (ward_id, reporter_ref, verifier) VALUES ($1, $2, $3) "
            "ON CONFLICT (ward_id, reporter_ref) DO UPDATE SET verifier = EXCLUDED.verifier",
            ward_id, reporter_ref, verifier)

    async def claim_verifier(self, ward_id: str, reporter_ref: str) -> str | None:
        return await self.conn.fetchval(
            "SELECT verifier FROM reporter_claim_verifiers WHERE ward_id = $1 AND reporter_ref = $2",
            ward_id, reporter_ref)


# -- achievements ----------------------------------------------------------------------------------------------
ACHIEVEMENTS = Keyset.of("a.kind:text", "a.holder_ref:text", "a.scope:text", "a.achievement_id:text")
_ACHIEVEMENT = (
    "SELECT a.*, COALESCE((SELECT array_agg(event_id ORDER BY recorded_at, event_id) FROM achievement_facts f "
    "                      WHERE f.achievement_id = a.achievement_id), '{}') AS evidence_event_ids, "
    "       (SELECT award_id FROM award_achievements aa WHERE aa.achievement_id = a.achievement_id) AS award_id "
    "FROM achievements a"
)


class AchievementRepository(_Repository):
    async def ensure(self, achievement_id: str, ward_id: str, kind: str, holder_kind: str, holder_ref: str,
                     group_id: str | None, year: int, scope: str) -> None:
        await self.conn.execute(
            "INSERT INTO achievements (achievement_id, ward_id, kind, holder_kind, holder_ref, group_id, year, scope) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (achievement_id) DO UPDATE "
            "SET group_id = COALESCE(achievements.group_id, EXCLUDED.group_id)",
            achievement_id, ward_id, kind, holder_kind, holder_ref, group_id, year, scope,
        )

    async def add_fact(self, achievement_id: str, fact_key: str, event_id: str, weight: int = 1,
                       amount_vnd: int = 0) -> Row | None:
        """Add a fact and answer the achievement with its new totals; None when that fact was already recorded
        (nothing changes)."""
        status = await self.conn.execute(
            "INSERT INTO achievement_facts (achievement_id, fact_key, event_id, weight, amount_vnd) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            achievement_id, fact_key, event_id, weight, amount_vnd,
        )
        if not status.endswith(" 1"):
            return None
        await self.conn.execute(
            "UPDATE achievements a SET count = GREATEST(t.n, 0), amount_vnd = GREATEST(t.amount, 0), "
            "updated_at = now() FROM (SELECT COALESCE(sum(weight), 0) AS n, COALESCE(sum(amount_vnd), 0) AS amount "
            "FROM achievement_facts WHERE achievement_id = $1) t WHERE a.achievement_id = $1", achievement_id)
        return _row(await self.conn.fetchrow(f"{_ACHIEVEMENT} WHERE a.achievement_id = $1", achievement_id))

    async def holding_fact(self, ward_id: str, kind: str, fact_key: str) -> str | None:
        """The id of the achievement of this kind that counts this fact."""
        return await self.conn.fetchval(
            "SELECT a.achievement_id FROM achievement_facts f JOIN achievements a USING (achievement_id) "
            "WHERE a.ward_id = $1 AND a.kind = $2 AND f.fact_key = $3 LIMIT 1", ward_id, kind, fact_key)

    async def evidence_of(self, achievement_ids: list[str]) -> list[str]:
        """The ids of the events that prove these achievements, oldest first, each once."""
        rows = await self.conn.fetch(
            "SELECT event_id FROM achievement_facts WHERE achievement_id = ANY($1::text[]) "
            "ORDER BY recorded_at, event_id", achievement_ids)
        return list(dict.fromkeys(r["event_id"] for r in rows))

    async def of_ward(self, ward_id: str, *, year: int | None = None, ids: list[str] | None = None) -> list[Row]:
        rows = await self.conn.fetch(
            f"{_ACHIEVEMENT} WHERE a.ward_id = $1 AND ($2::int IS NULL OR a.year = $2) "
            "AND ($3::text[] IS NULL OR a.achievement_id = ANY($3::text[])) ORDER BY a.kind, a.holder_ref, a.scope",
            ward_id, year, ids)
        return [dict(r) for r in rows]

    async def unclaimed_meeting(self, ward_id: str, year: int, kind: str, holder_kind: str, min_count: int,
                                min_amount_vnd: int) -> list[Row]:
        """Achievements meeting a criterion that no open or approved nomination, nor an award, rests on (locked:
        two evaluations at once propose each once)."""
        rows = await self.conn.fetch(
            "SELECT a.* FROM achievements a WHERE a.ward_id = $1 AND a.year = $2 AND a.kind = $3 "
            "AND a.holder_kind = $4 AND a.count >= $5 AND a.amount_vnd >= $6 "
            "AND NOT EXISTS (SELECT 1 FROM nomination_achievements na "
            "                WHERE na.achievement_id = a.achievement_id AND na.active) "
            "AND NOT EXISTS (SELECT 1 FROM award_achievements aa WHERE aa.achievement_id = a.achievement_id) "
            "ORDER BY a.holder_ref, a.scope FOR UPDATE OF a",
            ward_id, year, kind, holder_kind, min_count, min_amount_vnd)
        return [dict(r) for r in rows]

    async def hold(self, nomination_id: str, achievement_ids: list[str]) -> None:
        """The nomination rests on these achievements; one already held by another is refused (the index)."""
        try:
            async with self.conn.transaction():
                for aid in achievement_ids:
                    await self.conn.execute(
                        "INSERT INTO nomination_achievements (nomination_id, achievement_id) VALUES ($1, $2)",
                        nomination_id, aid)
        except asyncpg.UniqueViolationError as exc:
            raise Conflict("an achievement of this nomination already backs another nomination or award") from exc

    async def release(self, nomination_id: str) -> None:
        """A rejected nomination no longer holds its evidence."""
        await self.conn.execute("UPDATE nomination_achievements SET active = false WHERE nomination_id = $1",
                                nomination_id)

    async def bind_to_award(self, award_id: str, achievement_ids: list[str]) -> None:
        """Law on Emulation and Commendation: one achievement is rewarded once. The unique key is the rule."""
        try:
            async with self.conn.transaction():
                for aid in achievement_ids:
                    await self.conn.execute("INSERT INTO award_achievements (award_id, achievement_id) VALUES ($1, $2)",
                                            award_id, aid)
        except asyncpg.UniqueViolationError as exc:
            raise Conflict("an achievement of this nomination already backs an award") from exc

    async def page(self, ward_id: str, year: int, page: PageRequest) -> dict[str, Any]:
        args: list[Any] = [ward_id, year]
        rows = await self.conn.fetch(ACHIEVEMENTS.query(_ACHIEVEMENT, ["a.ward_id = $1", "a.year = $2"], args, page),
                                     *args)
        return ACHIEVEMENTS.page(rows, page)


# -- issuers and criteria --------------------------------------------------------------------------------------
ISSUERS = Keyset.of("issuer:text", "valid_from:date")


class IssuerRepository(_Repository):
    async def put(self, ward_id: str, issuer: str, title: str, authority: str, signer_name: str | None,
                  valid_from: date, valid_until: date | None) -> None:
        await self.conn.execute(
            "INSERT INTO issuers (ward_id, issuer, title, authority, signer_name, valid_from, valid_until) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (ward_id, issuer, valid_from) DO UPDATE SET "
            "title = EXCLUDED.title, authority = EXCLUDED.authority, signer_name = EXCLUDED.signer_name, "
            "valid_until = EXCLUDED.valid_until",
            ward_id, issuer, title, authority, signer_name, valid_from, valid_until,
        )

    async def on(self, ward_id: str, issuer: str, day: date) -> Row | None:
        """The authority in office on ``day`` (the latest configured that covers it)."""
        return _row(await self.conn.fetchrow(
            "SELECT * FROM issuers WHERE ward_id = $1 AND issuer = $2 AND valid_from <= $3 "
            "AND (valid_until IS NULL OR $3 <= valid_until) ORDER BY valid_from DESC LIMIT 1",
            ward_id, issuer, day))

    async def page(self, ward_id: str, page: PageRequest) -> dict[str, Any]:
        args: list[Any] = [ward_id]
        rows = await self.conn.fetch(ISSUERS.query("SELECT * FROM issuers", ["ward_id = $1"], args, page), *args)
        return ISSUERS.page(rows, page)


CRITERIA = Keyset.of("created_at:timestamptz", "criterion_id:text")


class CriterionRepository(_Repository):
    async def add(self, criterion: Row) -> None:
        c = criterion
        await self.conn.execute(
            "INSERT INTO criteria (criterion_id, ward_id, year, achievement_kind, holder_kind, min_count, "
            "min_amount_vnd, title, issuer) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            c["criterion_id"], c["ward_id"], c["year"], c["achievement_kind"], c["holder_kind"], c["min_count"],
            c["min_amount_vnd"], c["title"], c["issuer"])

    async def of_year(self, ward_id: str, year: int) -> list[Row]:
        rows = await self.conn.fetch(
            "SELECT * FROM criteria WHERE ward_id = $1 AND year = $2 ORDER BY created_at, criterion_id", ward_id, year)
        return [dict(r) for r in rows]

    async def wards_of_year(self, year: int) -> list[str]:
        rows = await self.conn.fetch("SELECT DISTINCT ward_id FROM criteria WHERE year = $1 ORDER BY ward_id", year)
        return [r["ward_id"] for r in rows]

    async def page(self, ward_id: str, year: int, page: PageRequest) -> dict[str, Any]:
        args: list[Any] = [ward_id, year]
        rows = await self.conn.fetch(
            CRITERIA.query("SELECT * FROM criteria", ["ward_id = $1", "year = $2"], args, page), *args)
        return CRITERIA.page(rows, page)


# -- nominations -----------------------------------------------------------------------------------------------
NOMINATIONS = Keyset.of("n.created_at:timestamptz", "n.nomination_id:text")
_NOMINATION = ("SELECT n.*, ARRAY(SELECT achievement_id FROM nomination_achievements na "
               "WHERE na.nomination_id = n.nomination_id ORDER BY achievement_id) AS achievement_ids FROM nominations n")


class NominationRepository(_Repository):
    async def add(self, n: Row) -> None:
        """A proposed nomination. Its ``achievement_ids`` are held with ``AchievementRepository.hold`` (the link rows
        are the achievements'); reads answer them with the nomination."""
        await self.conn.execute(
            "INSERT INTO nominations (nomination_id, ward_id, year, recipient_kind, recipient_ref, recipient_name, "
            "title, issuer, origin, criterion_id, evidence_note, evidence_event_ids, status) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'proposed')",
            n["nomination_id"], n["ward_id"], n["year"], n["recipient_kind"], n["recipient_ref"], n["recipient_name"],
            n["title"], n["issuer"], n["origin"], n["criterion_id"], n["evidence_note"], n["evidence_event_ids"])

    async def get_for_update(self, nomination_id: str) -> Row | None:
        row = await self.conn.fetchrow("SELECT * FROM nominations WHERE nomination_id = $1 FOR UPDATE", nomination_id)
        if row is None:
            return None
        return _row(await self.conn.fetchrow(f"{_NOMINATION} WHERE n.nomination_id = $1", nomination_id))

    async def update(self, nomination_id: str, **fields: Any) -> None:
        await self.conn.execute(
            f"UPDATE nominations SET {_set_clause(fields)}, updated_at = now() WHERE nomination_id = $1",  # noqa: S608
            nomination_id, *fields.values())

    async def page(self, ward_id: str, year: int, status: str | None, page: PageRequest) -> dict[str, Any]:
        args: list[Any] = [ward_id, year, status]
        rows = await self.conn.fetch(NOMINATIONS.query(
            _NOMINATION, ["n.ward_id = $1", "n.year = $2", "$3::text IS NULL OR n.status = $3"], args, page), *args)
        return NOMINATIONS.page(rows, page)


# -- awards ----------------------------------------------------------------------------------------------------
_AWARD = ("SELECT a.*, ARRAY(SELECT achievement_id FROM award_achievements aa WHERE aa.award_id = a.award_id "
          "ORDER BY achievement_id) AS achievement_ids FROM awards a")


class AwardRepository(_Repository):
    async def add(self, a: Row) -> None:
        """A granted award. Its ``achievement_ids`` are bound with ``AchievementRepository.bind_to_award`` (the link
        rows are the achievements'); reads answer them with the award."""
        await self.conn.execute(
            "INSERT INTO awards (award_id, ward_id, nomination_id, year, recipient_kind, recipient_ref, recipient_name, "
            "title, issuer, issuer_title, issuer_authority, signer_name, decision_number, decision_date, "
            "verification_code, status) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'granted')",
            a["award_id"], a["ward_id"], a["nomination_id"], a["year"], a["recipient_kind"], a["recipient_ref"],
            a["recipient_name"], a["title"], a["issuer"], a["issuer_title"], a["issuer_authority"], a["signer_name"],
            a["decision_number"], a["decision_date"], a["verification_code"])

    async def get(self, award_id: str, *, for_update: bool = False) -> Row | None:
        if for_update:
            await self.conn.execute("SELECT 1 FROM awards WHERE award_id = $1 FOR UPDATE", award_id)
        return _row(await self.conn.fetchrow(f"{_AWARD} WHERE a.award_id = $1", award_id))

    async def by_code(self, code: str, *, for_update: bool = False) -> Row | None:
        if for_update:
            await self.conn.execute("SELECT 1 FROM awards WHERE verification_code = $1 FOR UPDATE", code)
        return _row(await self.conn.fetchrow(f"{_AWARD} WHERE a.verification_code = $1", code))

    async def update(self, award_id: str, **fields: Any) -> None:
        await self.conn.execute(f"UPDATE awards SET {_set_clause(fields)} WHERE award_id = $1",  # noqa: S608
                                award_id, *fields.values())

    async def granted_of_year(self, ward_id: str, year: int) -> list[Row]:
        """The festival's order: the city chairman's first, collectives before individuals, then by name."""
        rows = await self.conn.fetch(
            f"{_AWARD} WHERE a.ward_id = $1 AND a.year = $2 AND a.status = 'granted' "
            "ORDER BY CASE a.issuer WHEN 'city_chairman' THEN 0 ELSE 1 END, "
            "CASE a.recipient_kind WHEN 'collective' THEN 0 WHEN 'individual' THEN 1 ELSE 2 END, "
            "a.recipient_name NULLS LAST, a.award_id", ward_id, year)
        return [dict(r) for r in rows]
