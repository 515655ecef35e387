"""Use cases of the awards service, each on one connection inside the caller's transaction
(``shared.commands.execute`` for HTTP): load, apply the rule, save, enqueue the events."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import asyncpg

from services.awards import domain
from services.awards import repository as repo
from services.awards.certificate import CertificateText, recipient_display, render_certificate
from services.awards.consumers import MAX_EVIDENCE_IN_EVENT
from shared import outbox
from shared.auth import Principal
from shared.claims import claim_matches
from shared.contracts.awards import (
    AwardGranted,
    AwardRevoked,
    CertificateIssued,
    NominationApproved,
    NominationProposed,
    NominationRejected,
    NominationReviewed,
)
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation

RECIPIENT_REF_KIND = {"individual": ("resident",), "collective": ("team", "group")}


async def recipient_name(conn: asyncpg.Connection, ward_id: str, kind: str, ref: str) -> str | None:
    """The name from the registry's events; a reporter has none here, by design."""
    for ref_kind in RECIPIENT_REF_KIND.get(kind, ()):
        name = await repo.name_of(conn, ward_id, ref_kind, ref)
        if name:
            return name
    return None


# -- configuration ---------------------------------------------------------------------------------------------
async def add_criterion(conn: asyncpg.Connection, ward_id: str, body: domain.Criterion) -> dict[str, Any]:
    criterion_id = str(uuid.uuid4())
    await repo.insert_criterion(conn, criterion_id, ward_id, body)
    return {"criterion_id": criterion_id, "ward_id": ward_id, **body.model_dump(mode="json")}


# -- nominations -----------------------------------------------------------------------------------------------
async def _propose(conn: asyncpg.Connection, *, ward_id: str, year: int, recipient_kind: str, recipient_ref: str,
                   title: str, issuer: str, origin: str, criterion_id: str | None, achievement_ids: list[str],
                   evidence_note: str | None) -> dict[str, Any]:
    nomination_id = str(uuid.uuid4())
    evidence = await repo.evidence_of(conn, achievement_ids)
    name = await recipient_name(conn, ward_id, recipient_kind, recipient_ref)
    try:
        async with conn.transaction():  # a savepoint: the unique index speaks for "already nominated"
            await repo.insert_nomination(
                conn, nomination_id=nomination_id, ward_id=ward_id, year=year, recipient_kind=recipient_kind,
                recipient_ref=recipient_ref, recipient_name=name, title=title, issuer=issuer, origin=origin,
                criterion_id=criterion_id, evidence_note=evidence_note, evidence_event_ids=evidence,
                achievement_ids=achievement_ids,
            )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("an achievement of this nomination already backs another nomination or award") from exc
    await outbox.enqueue(conn, NominationProposed(
        ward_id=ward_id, subject=nomination_id, nomination_id=nomination_id, recipient_kind=recipient_kind,
        recipient_ref=recipient_ref, issuer=issuer, year=year, title=title, origin=origin, criterion_id=criterion_id,
        achievement_ids=achievement_ids, evidence_event_ids=evidence[-MAX_EVIDENCE_IN_EVENT:],
    ))
    return {"nomination_id": nomination_id, "recipient_kind": recipient_kind, "recipient_ref": recipient_ref,
            "recipient_name": name, "title": title, "issuer": issuer, "year": year, "origin": origin,
            "criterion_id": criterion_id, "status": "proposed", "achievement_ids": achievement_ids,
            "evidence_event_ids": evidence, "evidence_note": evidence_note}


async def evaluate_criteria(conn: asyncpg.Connection, ward_id: str, year: int) -> list[dict[str, Any]]:
    """Propose a nomination for every achievement that meets a criterion and backs nothing yet."""
    proposed = []
    for c in await repo.criteria(conn, ward_id, year):
        matching = await repo.unclaimed_matching(conn, ward_id, year, c["achievement_kind"], c["holder_kind"],
                                                 c["min_count"], c["min_amount_vnd"])
        for a in matching:
            proposed.append(await _propose(
                conn, ward_id=ward_id, year=year, recipient_kind=a["holder_kind"], recipient_ref=a["holder_ref"],
                title=c["title"], issuer=c["issuer"], origin="criterion", criterion_id=c["criterion_id"],
                achievement_ids=[a["achievement_id"]], evidence_note=None,
            ))
    return proposed


async def nominate_by_hand(conn: asyncpg.Connection, ward_id: str, body: domain.ManualNomination) -> dict[str, Any]:
    ids = list(dict.fromkeys(body.achievement_ids))
    found = {r["achievement_id"]: r for r in await repo.achievements(conn, ward_id, ids=ids)} if ids else {}
    for aid in ids:
        a = found.get(aid)
        if a is None:
            raise InvalidInput(f"achievement {aid} is not one of this ward's")
        if a["holder_ref"] != body.recipient_ref or a["holder_kind"] != body.recipient_kind:
            raise InvalidInput(f"achievement {aid} belongs to another holder")
        if a["year"] != body.year:
            raise InvalidInput(f"achievement {aid} is of {a['year']}, not {body.year}")
    if await recipient_name(conn, ward_id, body.recipient_kind, body.recipient_ref) is None:
        raise InvalidInput("the recipient is not known from the registry (no resident, team or group by that id)")
    return await _propose(conn, ward_id=ward_id, year=body.year, recipient_kind=body.recipient_kind,
                          recipient_ref=body.recipient_ref, title=body.title, issuer=body.issuer, origin="manual",
                          criterion_id=None, achievement_ids=ids, evidence_note=body.evidence_note)


async def _load(conn: asyncpg.Connection, principal: Principal, nomination_id: str) -> asyncpg.Record:
    n = await repo.nomination_for_update(conn, nomination_id)
    if n is None or not principal.can_access_ward(n["ward_id"]):
        raise NotFound("no such nomination")
    return n


def _facts(n: asyncpg.Record) -> dict[str, Any]:
    return {"ward_id": n["ward_id"], "subject": n["nomination_id"], "nomination_id": n["nomination_id"],
            "recipient_kind": n["recipient_kind"], "recipient_ref": n["recipient_ref"], "issuer": n["issuer"],
            "year": n["year"]}


async def review(conn: asyncpg.Connection, principal: Principal, nomination_id: str, body: domain.Review) -> dict:
    n = await _load(conn, principal, nomination_id)
    domain.check_transition(n["status"], "reviewed")
    await repo.set_nomination(conn, nomination_id, status="reviewed", council_minutes_ref=body.council_minutes_ref)
    await outbox.enqueue(conn, NominationReviewed(**_facts(n), council_minutes_ref=body.council_minutes_ref))
    return {"nomination_id": nomination_id, "status": "reviewed", "council_minutes_ref": body.council_minutes_ref,
            "ward_id": n["ward_id"]}


async def approve(conn: asyncpg.Connection, principal: Principal, nomination_id: str, body: domain.Approve) -> dict:
    n = await _load(conn, principal, nomination_id)
    domain.ensure_may_decide(principal, n["issuer"])
    domain.check_transition(n["status"], "approved")
    authority = await repo.issuer_on(conn, n["ward_id"], n["issuer"], body.decision_date)
    if authority is None:
        raise RuleViolation(f"no {n['issuer']} is configured for this ward on {body.decision_date}")
    name = await recipient_name(conn, n["ward_id"], n["recipient_kind"], n["recipient_ref"]) or n["recipient_name"]
    if n["recipient_kind"] != "reporter" and not name:
        raise RuleViolation("the recipient's name is not known yet (no registry event names them)")
    achievement_ids = await repo.nomination_achievement_ids(conn, nomination_id)
    award_id = str(uuid.uuid4())
    code = domain.new_verification_code(n["year"])
    try:
        async with conn.transaction():
            await repo.insert_award(
                conn, achievement_ids, award_id=award_id, ward_id=n["ward_id"], nomination_id=nomination_id,
                year=n["year"], recipient_kind=n["recipient_kind"], recipient_ref=n["recipient_ref"],
                recipient_name=name if n["recipient_kind"] != "reporter" else None, title=n["title"],
                issuer=n["issuer"], issuer_title=authority["title"], issuer_authority=authority["authority"],
                signer_name=authority["signer_name"], decision_number=body.decision_number,
                decision_date=body.decision_date, verification_code=code,
            )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("an achievement of this nomination already backs an award") from exc
    await repo.set_nomination(conn, nomination_id, status="approved", decision_number=body.decision_number,
                              decision_date=body.decision_date, recipient_name=name)
    await outbox.enqueue(
        conn,
        NominationApproved(**_facts(n), award_id=award_id, decision_number=body.decision_number,
                           decision_date=body.decision_date),
        AwardGranted(
            ward_id=n["ward_id"], subject=award_id, award_id=award_id, recipient_kind=n["recipient_kind"],
            recipient_ref=n["recipient_ref"], recipient_name=name if n["recipient_kind"] != "reporter" else None,
            title=n["title"], issuer=n["issuer"], decision_number=body.decision_number,
            decision_date=body.decision_date, verification_code=code, year=n["year"], nomination_id=nomination_id,
            achievement_ids=achievement_ids,
        ),
    )
    return {"nomination_id": nomination_id, "status": "approved", "award_id": award_id, "verification_code": code,
            "ward_id": n["ward_id"]}


async def reject(conn: asyncpg.Connection, principal: Principal, nomination_id: str, body: domain.Reject) -> dict:
    n = await _load(conn, principal, nomination_id)
    domain.ensure_may_decide(principal, n["issuer"])
    domain.check_transition(n["status"], "rejected")
    await repo.set_nomination(conn, nomination_id, status="rejected", rejection_reason=body.reason,
                              decision_number=body.decision_number, decision_date=body.decision_date)
    await repo.release_achievements(conn, nomination_id)  # a rejected nomination no longer holds its evidence
    await outbox.enqueue(conn, NominationRejected(**_facts(n), reason=body.reason,
                                                  decision_number=body.decision_number,
                                                  decision_date=body.decision_date))
    return {"nomination_id": nomination_id, "status": "rejected", "ward_id": n["ward_id"]}


# -- awards ----------------------------------------------------------------------------------------------------
async def _award(conn: asyncpg.Connection, principal: Principal, award_id: str) -> asyncpg.Record:
    a = await repo.award(conn, award_id, for_update=True)
    if a is None or not principal.can_access_ward(a["ward_id"]):
        raise NotFound("no such award")
    return a


async def revoke(conn: asyncpg.Connection, principal: Principal, award_id: str, body: domain.Revoke) -> dict:
    a = await _award(conn, principal, award_id)
    domain.ensure_may_decide(principal, a["issuer"])
    if a["status"] == "revoked":
        raise RuleViolation("this award is already revoked")
    await repo.set_award(conn, award_id, status="revoked", revoked_reason=body.reason, revoked_on=body.revoked_on)
    await outbox.enqueue(conn, AwardRevoked(
        ward_id=a["ward_id"], subject=award_id, award_id=award_id, recipient_kind=a["recipient_kind"],
        recipient_ref=a["recipient_ref"], verification_code=a["verification_code"], reason=body.reason,
        revoked_on=body.revoked_on,
    ))
    return {"award_id": award_id, "status": "revoked", "ward_id": a["ward_id"]}


def certificate_text(a: Any) -> CertificateText:
    return CertificateText(
        issuer_title=a["issuer_title"], recipient=recipient_display(a), recipient_kind=a["recipient_kind"],
        citation=a["title"], decision_number=a["decision_number"], decision_date=a["decision_date"],
        verification_code=a["verification_code"], signer_name=a["signer_name"], revoked=a["status"] == "revoked",
    )


async def issue_certificate(conn: asyncpg.Connection, principal: Principal, award_id: str) -> dict:
    """Render and keep the Giấy khen as issued (again after a reporter chose to be named)."""
    a = await _award(conn, principal, award_id)
    if a["status"] == "revoked":
        raise RuleViolation("a revoked award has no certificate to issue")
    pdf = render_certificate(certificate_text(a))
    digest = hashlib.sha256(pdf).hexdigest()
    await repo.set_award(conn, award_id, certificate_pdf=pdf, certificate_sha256=digest)
    await outbox.enqueue(conn, CertificateIssued(ward_id=a["ward_id"], subject=award_id, award_id=award_id,
                                                 verification_code=a["verification_code"], sha256=digest))
    return {"award_id": award_id, "verification_code": a["verification_code"], "sha256": digest,
            "ward_id": a["ward_id"]}


async def _proven_reporter_award(conn: asyncpg.Connection, code: str, proof: str) -> Any:
    """The reporter's award this code names, if ``proof`` is its reporter's claim secret (shared/claims.py)."""
    a = await repo.award_by_code(conn, domain.normalise_code(code), for_update=True)
    if a is None or a["recipient_kind"] != "reporter":
        raise NotFound("no reporter's award has this verification code")
    verifier = await repo.claim_verifier(conn, a["ward_id"], a["recipient_ref"])
    if not claim_matches(proof, a["recipient_ref"], verifier):
        # The printed code is not enough: only the reporter, through the follow-up, holds the claim secret.
        raise Forbidden("the claim secret does not match this certificate")
    return a


async def _reissue_if_issued(conn: asyncpg.Connection, award_id: str) -> None:
    """A certificate already issued is rendered again, so that the kept PDF shows the name chosen, or none."""
    a = await repo.award(conn, award_id)
    if a is None or a["certificate_pdf"] is None or a["status"] == "revoked":
        return
    pdf = render_certificate(certificate_text(a))
    digest = hashlib.sha256(pdf).hexdigest()
    await repo.set_award(conn, award_id, certificate_pdf=pdf, certificate_sha256=digest)
    await outbox.enqueue(conn, CertificateIssued(ward_id=a["ward_id"], subject=award_id, award_id=award_id,
                                                 verification_code=a["verification_code"], sha256=digest))


async def claim(conn: asyncpg.Connection, code: str, body: domain.Claim) -> dict:
    """A reporter chooses to be named on their certificate (or changes the name), proven by the claim secret.
    Only the chosen name is kept; nothing else."""
    a = await _proven_reporter_award(conn, code, body.claim_secret)
    if a["status"] == "revoked":
        raise RuleViolation("this award was revoked")
    await repo.set_award(conn, a["award_id"], claimed_name=body.display_name)
    await _reissue_if_issued(conn, a["award_id"])
    return {"award_id": a["award_id"], "verification_code": a["verification_code"], "claimed": True,
            "ward_id": a["ward_id"]}


async def withdraw_claim(conn: asyncpg.Connection, code: str, body: domain.ClaimWithdrawal) -> dict:
    """The reporter takes their name off the certificate again, with the same proof; it reads "anonymous" again."""
    a = await _proven_reporter_award(conn, code, body.claim_secret)
    if a["claimed_name"] is not None:
        await repo.set_award(conn, a["award_id"], claimed_name=None)
        await _reissue_if_issued(conn, a["award_id"])
    return {"award_id": a["award_id"], "verification_code": a["verification_code"], "claimed": False,
            "ward_id": a["ward_id"]}
