"""SQL of the awards schema, nothing else."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from shared.paging import Keyset, PageRequest

Row = asyncpg.Record


# -- names and facilities (projections of registry events) -----------------------------------------------------
async def upsert_name(conn: asyncpg.Connection, ward_id: str, ref_kind: str, ref: str, name: str,
                      team_kind: str | None = None, group_id: str | None = None) -> None:
    await conn.execute(
        "INSERT INTO names (ward_id, ref_kind, ref, name, team_kind, group_id) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (ward_id, ref_kind, ref) DO UPDATE SET name = EXCLUDED.name, "
        "team_kind = COALESCE(EXCLUDED.team_kind, names.team_kind), group_id = COALESCE(EXCLUDED.group_id, names.group_id), "
        "updated_at = now()",
        ward_id, ref_kind, ref, name, team_kind, group_id,
    )


async def name_of(conn: asyncpg.Connection, ward_id: str, ref_kind: str, ref: str) -> str | None:
    return await conn.fetchval("SELECT name FROM names WHERE ward_id = $1 AND ref_kind = $2 AND ref = $3",
                               ward_id, ref_kind, ref)


async def team_kind(conn: asyncpg.Connection, ward_id: str, team_id: str) -> str | None:
    return await conn.fetchval("SELECT team_kind FROM names WHERE ward_id = $1 AND ref_kind = 'team' AND ref = $2",
                               ward_id, team_id)


async def upsert_facility(conn: asyncpg.Connection, ward_id: str, facility_id: str, group_id: str, kind: str,
                          campaign_id: str | None) -> None:
    await conn.execute(
        "INSERT INTO facilities (ward_id, facility_id, group_id, kind, funded_by_campaign_id) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (ward_id, facility_id) DO UPDATE SET group_id = EXCLUDED.group_id, kind = EXCLUDED.kind, "
        "funded_by_campaign_id = EXCLUDED.funded_by_campaign_id",
        ward_id, facility_id, group_id, kind, campaign_id,
    )


async def facility_group(conn: asyncpg.Connection, ward_id: str, facility_id: str) -> str | None:
    return await conn.fetchval("SELECT group_id FROM facilities WHERE ward_id = $1 AND facility_id = $2",
                               ward_id, facility_id)


# -- achievements ----------------------------------------------------------------------------------------------
async def ensure_achievement(conn: asyncpg.Connection, achievement_id: str, ward_id: str, kind: str, holder_kind: str,
                             holder_ref: str, group_id: str | None, year: int, scope: str) -> None:
    await conn.execute(
        "INSERT INTO achievements (achievement_id, ward_id, kind, holder_kind, holder_ref, group_id, year, scope) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (achievement_id) DO UPDATE "
        "SET group_id = COALESCE(achievements.group_id, EXCLUDED.group_id)",
        achievement_id, ward_id, kind, holder_kind, holder_ref, group_id, year, scope,
    )


async def add_fact(conn: asyncpg.Connection, achievement_id: str, fact_key: str, event_id: str,
                   weight: int = 1, amount_vnd: int = 0) -> bool:
    """Add a fact; False when that fact was already recorded (nothing changes)."""
    status = await conn.execute(
        "INSERT INTO achievement_facts (achievement_id, fact_key, event_id, weight, amount_vnd) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        achievement_id, fact_key, event_id, weight, amount_vnd,
    )
    return status.endswith(" 1")


async def refresh_totals(conn: asyncpg.Connection, achievement_id: str) -> Row:
    return await conn.fetchrow(
        "UPDATE achievements a SET count = GREATEST(t.n, 0), amount_vnd = GREATEST(t.amount, 0), updated_at = now() "
        "FROM (SELECT COALESCE(sum(weight), 0) AS n, COALESCE(sum(amount_vnd), 0) AS amount FROM achievement_facts "
        "      WHERE achievement_id = $1) t "
        "WHERE a.achievement_id = $1 RETURNING a.*",
        achievement_id,
    )


async def evidence_of(conn: asyncpg.Connection, achievement_ids: list[str]) -> list[str]:
    rows = await conn.fetch(
        "SELECT event_id FROM achievement_facts WHERE achievement_id = ANY($1::text[]) ORDER BY recorded_at, event_id",
        achievement_ids,
    )
    return list(dict.fromkeys(r["event_id"] for r in rows))


async def achievement_holding_fact(conn: asyncpg.Connection, ward_id: str, kind: str, fact_key: str) -> Row | None:
    return await conn.fetchrow(
        "SELECT a.* FROM achievement_facts f JOIN achievements a USING (achievement_id) "
        "WHERE a.ward_id = $1 AND a.kind = $2 AND f.fact_key = $3 LIMIT 1",
        ward_id, kind, fact_key,
    )


async def achievements(conn: asyncpg.Connection, ward_id: str, year: int | None = None,
                       ids: list[str] | None = None) -> list[Row]:
    return await conn.fetch(
        "SELECT a.*, (SELECT array_agg(event_id ORDER BY recorded_at, event_id) FROM achievement_facts f "
        "             WHERE f.achievement_id = a.achievement_id) AS evidence_event_ids, "
        "       (SELECT award_id FROM award_achievements aa WHERE aa.achievement_id = a.achievement_id) AS award_id "
        "FROM achievements a WHERE ward_id = $1 AND ($2::int IS NULL OR year = $2) "
        "AND ($3::text[] IS NULL OR achievement_id = ANY($3::text[])) ORDER BY kind, holder_ref, scope",
        ward_id, year, ids,
    )


async def unclaimed_matching(conn: asyncpg.Connection, ward_id: str, year: int, kind: str, holder_kind: str,
                             min_count: int, min_amount: int) -> list[Row]:
    """Achievements meeting a criterion that no open or approved nomination already rests on."""
    return await conn.fetch(
        "SELECT a.* FROM achievements a WHERE a.ward_id = $1 AND a.year = $2 AND a.kind = $3 AND a.holder_kind = $4 "
        "AND a.count >= $5 AND a.amount_vnd >= $6 "
        "AND NOT EXISTS (SELECT 1 FROM nomination_achievements na WHERE na.achievement_id = a.achievement_id AND na.active) "
        "AND NOT EXISTS (SELECT 1 FROM award_achievements aa WHERE aa.achievement_id = a.achievement_id) "
        "ORDER BY a.holder_ref, a.scope FOR UPDATE OF a",
        ward_id, year, kind, holder_kind, min_count, min_amount,
    )


# -- issuers and criteria --------------------------------------------------------------------------------------
async def put_issuer(conn: asyncpg.Connection, ward_id: str, issuer: str, title: str, authority: str,
                     signer_name: str | None, valid_from: date, valid_until: date | None) -> None:
    await conn.execute(
        "INSERT INTO issuers (ward_id, issuer, title, authority, signer_name, valid_from, valid_until) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (ward_id, issuer, valid_from) DO UPDATE SET "
        "title = EXCLUDED.title, authority = EXCLUDED.authority, signer_name = EXCLUDED.signer_name, "
        "valid_until = EXCLUDED.valid_until",
        ward_id, issuer, title, authority, signer_name, valid_from, valid_until,
    )


async def issuer_on(conn: asyncpg.Connection, ward_id: str, issuer: str, day: date) -> Row | None:
    return await conn.fetchrow(
        "SELECT * FROM issuers WHERE ward_id = $1 AND issuer = $2 AND valid_from <= $3 "
        "AND (valid_until IS NULL OR $3 <= valid_until) ORDER BY valid_from DESC LIMIT 1",
        ward_id, issuer, day,
    )


async def insert_criterion(conn: asyncpg.Connection, criterion_id: str, ward_id: str, c: Any) -> None:
    await conn.execute(
        "INSERT INTO criteria (criterion_id, ward_id, year, achievement_kind, holder_kind, min_count, min_amount_vnd, "
        "title, issuer) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        criterion_id, ward_id, c.year, c.achievement_kind, c.holder_kind, c.min_count, c.min_amount_vnd, c.title,
        c.issuer,
    )


async def criteria(conn: asyncpg.Connection, ward_id: str, year: int) -> list[Row]:
    return await conn.fetch("SELECT * FROM criteria WHERE ward_id = $1 AND year = $2 ORDER BY created_at, criterion_id",
                            ward_id, year)


# -- nominations -----------------------------------------------------------------------------------------------
async def insert_nomination(conn: asyncpg.Connection, **n: Any) -> None:
    await conn.execute(
        "INSERT INTO nominations (nomination_id, ward_id, year, recipient_kind, recipient_ref, recipient_name, title, "
        "issuer, origin, criterion_id, evidence_note, evidence_event_ids, status) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'proposed')",
        n["nomination_id"], n["ward_id"], n["year"], n["recipient_kind"], n["recipient_ref"], n["recipient_name"],
        n["title"], n["issuer"], n["origin"], n["criterion_id"], n["evidence_note"], n["evidence_event_ids"],
    )
    for aid in n["achievement_ids"]:
        await conn.execute("INSERT INTO nomination_achievements (nomination_id, achievement_id) VALUES ($1, $2)",
                           n["nomination_id"], aid)


async def nomination_for_update(conn: asyncpg.Connection, nomination_id: str) -> Row | None:
    return await conn.fetchrow("SELECT * FROM nominations WHERE nomination_id = $1 FOR UPDATE", nomination_id)


async def nomination_achievement_ids(conn: asyncpg.Connection, nomination_id: str) -> list[str]:
    rows = await conn.fetch("SELECT achievement_id FROM nomination_achievements WHERE nomination_id = $1 "
                            "ORDER BY achievement_id", nomination_id)
    return [r["achievement_id"] for r in rows]


async def set_nomination(conn: asyncpg.Connection, nomination_id: str, **fields: Any) -> None:
    cols = list(fields)
    sets = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(cols))
    await conn.execute(f"UPDATE nominations SET {sets}, updated_at = now() WHERE nomination_id = $1",  # noqa: S608
                       nomination_id, *fields.values())


async def release_achievements(conn: asyncpg.Connection, nomination_id: str) -> None:
    await conn.execute("UPDATE nomination_achievements SET active = false WHERE nomination_id = $1", nomination_id)


# -- awards ----------------------------------------------------------------------------------------------------
async def insert_award(conn: asyncpg.Connection, achievement_ids: list[str], **a: Any) -> None:
    await conn.execute(
        "INSERT INTO awards (award_id, ward_id, nomination_id, year, recipient_kind, recipient_ref, recipient_name, title, "
        "issuer, issuer_title, issuer_authority, signer_name, decision_number, decision_date, verification_code, status) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'granted')",
        a["award_id"], a["ward_id"], a["nomination_id"], a["year"], a["recipient_kind"], a["recipient_ref"],
        a["recipient_name"], a["title"], a["issuer"], a["issuer_title"], a["issuer_authority"], a["signer_name"],
        a["decision_number"], a["decision_date"], a["verification_code"],
    )
    for aid in achievement_ids:
        await conn.execute("INSERT INTO award_achievements (award_id, achievement_id) VALUES ($1, $2)",
                           a["award_id"], aid)


async def award(conn: asyncpg.Connection, award_id: str, *, for_update: bool = False) -> Row | None:
    sql = "SELECT * FROM awards WHERE award_id = $1 FOR UPDATE" if for_update else "SELECT * FROM awards WHERE award_id = $1"
    return await conn.fetchrow(sql, award_id)


async def award_by_code(conn: asyncpg.Connection, code: str, *, for_update: bool = False) -> Row | None:
    sql = ("SELECT * FROM awards WHERE verification_code = $1 FOR UPDATE" if for_update
           else "SELECT * FROM awards WHERE verification_code = $1")
    return await conn.fetchrow(sql, code)


async def award_achievement_ids(conn: asyncpg.Connection, award_id: str) -> list[str]:
    rows = await conn.fetch("SELECT achievement_id FROM award_achievements WHERE award_id = $1 ORDER BY achievement_id",
                            award_id)
    return [r["achievement_id"] for r in rows]


async def set_award(conn: asyncpg.Connection, award_id: str, **fields: Any) -> None:
    cols = list(fields)
    sets = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(cols))
    await conn.execute(f"UPDATE awards SET {sets} WHERE award_id = $1", award_id, *fields.values())  # noqa: S608


async def awards_of_year(conn: asyncpg.Connection, ward_id: str, year: int) -> list[Row]:
    return await conn.fetch(
        "SELECT a.award_id, a.recipient_kind, a.recipient_ref, a.recipient_name, a.claimed_name, a.title, a.issuer, "
        "a.issuer_title, a.issuer_authority, a.decision_number, a.decision_date, a.verification_code, a.status, "
        "a.revoked_reason, ARRAY(SELECT achievement_id FROM award_achievements aa WHERE aa.award_id = a.award_id "
        "ORDER BY achievement_id) AS achievement_ids FROM awards a WHERE ward_id = $1 AND year = $2 "
        "ORDER BY CASE a.issuer WHEN 'city_chairman' THEN 0 ELSE 1 END, "
        "CASE a.recipient_kind WHEN 'collective' THEN 0 WHEN 'individual' THEN 1 ELSE 2 END, "
        "a.recipient_name NULLS LAST, a.award_id",
        ward_id, year,
    )


# -- reporters' claim verifiers (shared/claims.py) ------------------------------------------------------------
async def keep_claim_verifier(conn: asyncpg.Connection, ward_id: str, reporter_ref: str, verifier: str) -> None:
    await conn.execute(
        "INSERT INTO reporter_claim_verifiers (ward_id, reporter_ref, verifier) VALUES ($1, $2, $3) "
        "ON CONFLICT (ward_id, reporter_ref) DO UPDATE SET verifier = EXCLUDED.verifier", ward_id, reporter_ref, verifier)


async def claim_verifier(conn: asyncpg.Connection, ward_id: str, reporter_ref: str) -> str | None:
    return await conn.fetchval("SELECT verifier FROM reporter_claim_verifiers WHERE ward_id = $1 AND reporter_ref = $2",
                               ward_id, reporter_ref)


# -- the lists of the API (shared.paging) ----------------------------------------------------------------------
ISSUERS = Keyset.of("issuer:text", "valid_from:date")
CRITERIA = Keyset.of("created_at:timestamptz", "criterion_id:text")
ACHIEVEMENTS = Keyset.of("a.kind:text", "a.holder_ref:text", "a.scope:text", "a.achievement_id:text")
NOMINATIONS = Keyset.of("n.created_at:timestamptz", "n.nomination_id:text")


async def issuers_page(conn: asyncpg.Connection, ward_id: str, page: PageRequest) -> list[Row]:
    args: list[Any] = [ward_id]
    return await conn.fetch(ISSUERS.query("SELECT * FROM issuers", ["ward_id = $1"], args, page), *args)


async def criteria_page(conn: asyncpg.Connection, ward_id: str, year: int, page: PageRequest) -> list[Row]:
    args: list[Any] = [ward_id, year]
    return await conn.fetch(CRITERIA.query("SELECT * FROM criteria", ["ward_id = $1", "year = $2"], args, page),
                            *args)


async def achievements_page(conn: asyncpg.Connection, ward_id: str, year: int, page: PageRequest) -> list[Row]:
    args: list[Any] = [ward_id, year]
    return await conn.fetch(ACHIEVEMENTS.query(
        "SELECT a.*, (SELECT array_agg(event_id ORDER BY recorded_at, event_id) FROM achievement_facts f "
        "             WHERE f.achievement_id = a.achievement_id) AS evidence_event_ids, "
        "       (SELECT award_id FROM award_achievements aa WHERE aa.achievement_id = a.achievement_id) AS award_id "
        "FROM achievements a", ["a.ward_id = $1", "a.year = $2"], args, page), *args)


async def nominations_page(conn: asyncpg.Connection, ward_id: str, year: int, status: str | None,
                           page: PageRequest) -> list[Row]:
    args: list[Any] = [ward_id, year, status]
    return await conn.fetch(NOMINATIONS.query(
        "SELECT n.*, ARRAY(SELECT achievement_id FROM nomination_achievements na "
        "WHERE na.nomination_id = n.nomination_id ORDER BY achievement_id) AS achievement_ids FROM nominations n",
        ["n.ward_id = $1", "n.year = $2", "$3::text IS NULL OR n.status = $3"], args, page), *args)

