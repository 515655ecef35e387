"""One handler per command of the awards service: load through the unit of work's repositories, apply the rules
of services/awards/domain.py, save, emit the events, name what changed for the audit trail."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from services.awards import domain
from services.awards.certificate import certificate_text, render_certificate
from services.awards.commands import (
    AddCriterion,
    ApproveNomination,
    ClaimCertificate,
    ConfigureIssuer,
    EvaluateCriteria,
    IssueCertificate,
    Nominate,
    RejectNomination,
    ReviewNomination,
    RevokeAward,
    WithdrawClaim,
)
from shared.actor import Principal
from shared.application import Created
from shared.claims import claim_matches
from shared.contracts.awards import (
    MAX_EVIDENCE_IN_EVENT,
    AwardGranted,
    AwardRevoked,
    CertificateIssued,
    CriterionAdded,
    IssuerConfigured,
    NominationApproved,
    NominationProposed,
    NominationRejected,
    NominationReviewed,
)
from shared.errors import InvalidInput, NotFound, RuleViolation

Row = dict[str, Any]


async def recipient_name(uow: Any, ward_id: str, kind: str, ref: str) -> str | None:
    """The name from the registry's events; a reporter has none here, by design."""
    for ref_kind in domain.RECIPIENT_REF_KINDS.get(kind, ()):
        name = await uow.directory.name_of(ward_id, ref_kind, ref)
        if name:
            return name
    return None


# -- configuration ---------------------------------------------------------------------------------------------
async def handle_configure_issuer(cmd: ConfigureIssuer, uow: Any, actor: Principal) -> Created:
    domain.ensure_may_decide(actor, cmd.issuer)  # the city's authority is configured by the city
    actor.ensure_ward(cmd.ward_id)
    domain.check_issuer_period(cmd.valid_from, cmd.valid_until)
    await uow.issuers.put(cmd.ward_id, cmd.issuer, cmd.title, cmd.authority, cmd.signer_name, cmd.valid_from,
                          cmd.valid_until)
    uow.emit(IssuerConfigured(ward_id=cmd.ward_id, subject=f"{cmd.ward_id}:{cmd.issuer}", issuer=cmd.issuer,
                              title=cmd.title, authority=cmd.authority, signer_name=cmd.signer_name,
                              valid_from=cmd.valid_from, valid_until=cmd.valid_until))
    uow.audit("issuer", f"{cmd.ward_id}:{cmd.issuer}:{cmd.valid_from}", ward_id=cmd.ward_id)
    return Created(cmd.model_dump(mode="json"))


async def handle_add_criterion(cmd: AddCriterion, uow: Any, actor: Principal) -> Created:
    domain.ensure_ward_office(actor, cmd.ward_id)
    domain.check_criterion(cmd.achievement_kind, cmd.holder_kind, cmd.min_count, cmd.min_amount_vnd)
    criterion = {"criterion_id": str(uuid.uuid4()), **cmd.model_dump(mode="json")}
    await uow.criteria.add(criterion)
    uow.emit(CriterionAdded(subject=criterion["criterion_id"], **cmd.model_dump(),
                            criterion_id=criterion["criterion_id"]))
    uow.audit("criterion", criterion["criterion_id"], ward_id=cmd.ward_id)
    return Created(criterion)


# -- nominations -----------------------------------------------------------------------------------------------
async def _propose(uow: Any, *, ward_id: str, year: int, recipient_kind: str, recipient_ref: str, title: str,
                   issuer: str, origin: str, criterion_id: str | None, achievement_ids: list[str],
                   evidence_note: str | None) -> Row:
    nomination_id = str(uuid.uuid4())
    evidence = await uow.achievements.evidence_of(achievement_ids)
    name = await recipient_name(uow, ward_id, recipient_kind, recipient_ref)
    nomination = {"nomination_id": nomination_id, "ward_id": ward_id, "year": year, "recipient_kind": recipient_kind,
                  "recipient_ref": recipient_ref, "recipient_name": name, "title": title, "issuer": issuer,
                  "origin": origin, "criterion_id": criterion_id, "evidence_note": evidence_note,
                  "evidence_event_ids": evidence, "achievement_ids": achievement_ids}
    await uow.nominations.add(nomination)
    await uow.achievements.hold(nomination_id, achievement_ids)
    uow.emit(NominationProposed(
        ward_id=ward_id, subject=nomination_id, nomination_id=nomination_id, recipient_kind=recipient_kind,
        recipient_ref=recipient_ref, issuer=issuer, year=year, title=title, origin=origin, criterion_id=criterion_id,
        achievement_ids=achievement_ids, evidence_event_ids=evidence[-MAX_EVIDENCE_IN_EVENT:],
    ))
    return {"nomination_id": nomination_id, "recipient_kind": recipient_kind, "recipient_ref": recipient_ref,
            "recipient_name": name, "title": title, "issuer": issuer, "year": year, "origin": origin,
            "criterion_id": criterion_id, "status": "proposed", "achievement_ids": achievement_ids,
            "evidence_event_ids": evidence, "evidence_note": evidence_note}


async def propose_by_criteria(uow: Any, ward_id: str, year: int) -> list[Row]:
    """Propose a nomination for every achievement that meets a criterion and backs nothing yet (the command, and
    the daily job for every ward)."""
    proposed = []
    for c in await uow.criteria.of_year(ward_id, year):
        for a in await uow.achievements.unclaimed_meeting(ward_id, year, c["achievement_kind"], c["holder_kind"],
                                                          c["min_count"], c["min_amount_vnd"]):
            proposed.append(await _propose(
                uow, ward_id=ward_id, year=year, recipient_kind=a["holder_kind"], recipient_ref=a["holder_ref"],
                title=c["title"], issuer=c["issuer"], origin="criterion", criterion_id=c["criterion_id"],
                achievement_ids=[a["achievement_id"]], evidence_note=None,
            ))
    return proposed


async def handle_evaluate_criteria(cmd: EvaluateCriteria, uow: Any, actor: Principal) -> Created | dict:
    """201 with the nominations it proposed; 200 with none when there was nothing new to propose."""
    domain.ensure_ward_office(actor, cmd.ward_id)
    proposed = await propose_by_criteria(uow, cmd.ward_id, cmd.year)
    uow.audit("criteria", f"{cmd.ward_id}:{cmd.year}", ward_id=cmd.ward_id, details={"proposed": len(proposed)})
    return Created({"proposed": proposed}) if proposed else {"proposed": []}


async def handle_nominate(cmd: Nominate, uow: Any, actor: Principal) -> Created:
    domain.ensure_ward_office(actor, cmd.ward_id)
    domain.check_evidence(cmd.achievement_ids, cmd.evidence_note)
    ids = list(dict.fromkeys(cmd.achievement_ids))
    found = {a["achievement_id"]: a for a in await uow.achievements.of_ward(cmd.ward_id, ids=ids)} if ids else {}
    domain.check_backing(ids, found, recipient_kind=cmd.recipient_kind, recipient_ref=cmd.recipient_ref,
                         year=cmd.year)
    if await recipient_name(uow, cmd.ward_id, cmd.recipient_kind, cmd.recipient_ref) is None:
        raise InvalidInput("the recipient is not known from the registry (no resident, team or group by that id)")
    nomination = await _propose(uow, ward_id=cmd.ward_id, year=cmd.year, recipient_kind=cmd.recipient_kind,
                                recipient_ref=cmd.recipient_ref, title=cmd.title, issuer=cmd.issuer, origin="manual",
                                criterion_id=None, achievement_ids=ids, evidence_note=cmd.evidence_note)
    uow.audit("nomination", nomination["nomination_id"], ward_id=cmd.ward_id)
    return Created(nomination)


async def _nomination(uow: Any, actor: Principal, nomination_id: str) -> Row:
    n = await uow.nominations.get_for_update(nomination_id)
    actor.ensure_reaches(n["ward_id"] if n else None, "no such nomination")
    assert n is not None
    return n


def _facts(n: Row) -> dict[str, Any]:
    return {"ward_id": n["ward_id"], "subject": n["nomination_id"], "nomination_id": n["nomination_id"],
            "recipient_kind": n["recipient_kind"], "recipient_ref": n["recipient_ref"], "issuer": n["issuer"],
            "year": n["year"]}


def _decided(uow: Any, n: Row, status: str) -> None:
    uow.audit("nomination", n["nomination_id"], ward_id=n["ward_id"], details={"status": status})


async def handle_review(cmd: ReviewNomination, uow: Any, actor: Principal) -> dict:
    actor.require(*domain.WARD_OFFICE)
    n = await _nomination(uow, actor, cmd.nomination_id)
    domain.check_transition(n["status"], "reviewed")
    await uow.nominations.update(cmd.nomination_id, status="reviewed", council_minutes_ref=cmd.council_minutes_ref)
    uow.emit(NominationReviewed(**_facts(n), council_minutes_ref=cmd.council_minutes_ref))
    _decided(uow, n, "reviewed")
    return {"nomination_id": cmd.nomination_id, "status": "reviewed", "council_minutes_ref": cmd.council_minutes_ref,
            "ward_id": n["ward_id"]}


async def handle_approve(cmd: ApproveNomination, uow: Any, actor: Principal) -> dict:
    actor.require(*domain.OFFICIALS)
    n = await _nomination(uow, actor, cmd.nomination_id)
    domain.ensure_may_decide(actor, n["issuer"])
    domain.check_transition(n["status"], "approved")
    authority = await uow.issuers.on(n["ward_id"], n["issuer"], cmd.decision_date)
    if authority is None:
        raise RuleViolation(f"no {n['issuer']} is configured for this ward on {cmd.decision_date}")
    known = await recipient_name(uow, n["ward_id"], n["recipient_kind"], n["recipient_ref"]) or n["recipient_name"]
    name = domain.name_on_award(n["recipient_kind"], known)
    award_id, code = str(uuid.uuid4()), domain.new_verification_code(n["year"])
    await uow.awards.add({
        "award_id": award_id, "ward_id": n["ward_id"], "nomination_id": cmd.nomination_id, "year": n["year"],
        "recipient_kind": n["recipient_kind"], "recipient_ref": n["recipient_ref"], "recipient_name": name,
        "title": n["title"], "issuer": n["issuer"], "issuer_title": authority["title"],
        "issuer_authority": authority["authority"], "signer_name": authority["signer_name"],
        "decision_number": cmd.decision_number, "decision_date": cmd.decision_date, "verification_code": code,
        "achievement_ids": n["achievement_ids"],
    })
    await uow.achievements.bind_to_award(award_id, n["achievement_ids"])
    await uow.nominations.update(cmd.nomination_id, status="approved", decision_number=cmd.decision_number,
                                 decision_date=cmd.decision_date, recipient_name=name)
    uow.emit(
        NominationApproved(**_facts(n), award_id=award_id, decision_number=cmd.decision_number,
                           decision_date=cmd.decision_date),
        AwardGranted(
            ward_id=n["ward_id"], subject=award_id, award_id=award_id, recipient_kind=n["recipient_kind"],
            recipient_ref=n["recipient_ref"], recipient_name=name, title=n["title"], issuer=n["issuer"],
            decision_number=cmd.decision_number, decision_date=cmd.decision_date, verification_code=code,
            year=n["year"], nomination_id=cmd.nomination_id, achievement_ids=n["achievement_ids"],
        ),
    )
    _decided(uow, n, "approved")
    return {"nomination_id": cmd.nomination_id, "status": "approved", "award_id": award_id,
            "verification_code": code, "ward_id": n["ward_id"]}


async def handle_reject(cmd: RejectNomination, uow: Any, actor: Principal) -> dict:
    actor.require(*domain.OFFICIALS)
    n = await _nomination(uow, actor, cmd.nomination_id)
    domain.ensure_may_decide(actor, n["issuer"])
    domain.check_transition(n["status"], "rejected")
    await uow.nominations.update(cmd.nomination_id, status="rejected", rejection_reason=cmd.reason,
                                 decision_number=cmd.decision_number, decision_date=cmd.decision_date)
    await uow.achievements.release(cmd.nomination_id)  # a rejected nomination no longer holds its evidence
    uow.emit(NominationRejected(**_facts(n), reason=cmd.reason, decision_number=cmd.decision_number,
                                decision_date=cmd.decision_date))
    _decided(uow, n, "rejected")
    return {"nomination_id": cmd.nomination_id, "status": "rejected", "ward_id": n["ward_id"]}


# -- awards and certificates -----------------------------------------------------------------------------------
async def _award(uow: Any, actor: Principal, award_id: str) -> Row:
    a = await uow.awards.get(award_id, for_update=True)
    actor.ensure_reaches(a["ward_id"] if a else None, "no such award")
    assert a is not None
    return a


async def handle_revoke(cmd: RevokeAward, uow: Any, actor: Principal) -> dict:
    actor.require(*domain.OFFICIALS)
    a = await _award(uow, actor, cmd.award_id)
    domain.ensure_may_decide(actor, a["issuer"])
    domain.check_revocable(a["status"])
    await uow.awards.update(cmd.award_id, status="revoked", revoked_reason=cmd.reason, revoked_on=cmd.revoked_on)
    uow.emit(AwardRevoked(
        ward_id=a["ward_id"], subject=cmd.award_id, award_id=cmd.award_id, recipient_kind=a["recipient_kind"],
        recipient_ref=a["recipient_ref"], verification_code=a["verification_code"], reason=cmd.reason,
        revoked_on=cmd.revoked_on,
    ))
    uow.audit("award", cmd.award_id, ward_id=a["ward_id"], details={"reason": cmd.reason})
    return {"award_id": cmd.award_id, "status": "revoked", "ward_id": a["ward_id"]}


async def _issue(uow: Any, a: Row) -> str:
    """Render the certificate as it reads now, keep it and say so; its digest."""
    pdf = render_certificate(certificate_text(a))
    digest = hashlib.sha256(pdf).hexdigest()
    await uow.awards.update(a["award_id"], certificate_pdf=pdf, certificate_sha256=digest)
    uow.emit(CertificateIssued(ward_id=a["ward_id"], subject=a["award_id"], award_id=a["award_id"],
                               verification_code=a["verification_code"], sha256=digest))
    return digest


async def handle_issue_certificate(cmd: IssueCertificate, uow: Any, actor: Principal) -> Created:
    """Render and keep the Giấy khen as issued (again after a reporter chose to be named)."""
    actor.require(*domain.OFFICIALS)
    a = await _award(uow, actor, cmd.award_id)
    domain.check_certifiable(a["status"])
    digest = await _issue(uow, a)
    uow.audit("award", cmd.award_id, ward_id=a["ward_id"])
    return Created({"award_id": cmd.award_id, "verification_code": a["verification_code"], "sha256": digest,
                    "ward_id": a["ward_id"]})


async def _proven_reporter_award(uow: Any, code: str, proof: str) -> Row:
    """The reporter's award this code names, if ``proof`` is its reporter's claim secret (shared/claims.py)."""
    a = await uow.awards.by_code(domain.normalise_code(code), for_update=True)
    if a is None or a["recipient_kind"] != "reporter":
        raise NotFound("no reporter's award has this verification code")
    verifier = await uow.directory.claim_verifier(a["ward_id"], a["recipient_ref"])
    domain.ensure_claim_proven(claim_matches(proof, a["recipient_ref"], verifier))
    return a


async def _reissue_if_issued(uow: Any, award_id: str) -> None:
    """A certificate already issued is rendered again, so that the kept PDF shows the name chosen, or none."""
    a = await uow.awards.get(award_id)
    if a is not None and a["certificate_pdf"] is not None and a["status"] != "revoked":
        await _issue(uow, a)


async def handle_claim(cmd: ClaimCertificate, uow: Any, _actor: Principal) -> dict:
    """A reporter chooses to be named on their certificate (or changes the name), proven by the claim secret.
    Only the chosen name is kept; nothing else. The audit row says an award was claimed, never by whom or under
    which name."""
    a = await _proven_reporter_award(uow, cmd.code, cmd.claim_secret)
    domain.check_claimable(a["status"])
    await uow.awards.update(a["award_id"], claimed_name=cmd.display_name)
    await _reissue_if_issued(uow, a["award_id"])
    uow.audit("award", a["award_id"], ward_id=a["ward_id"])
    return {"award_id": a["award_id"], "verification_code": a["verification_code"], "claimed": True,
            "ward_id": a["ward_id"]}


async def handle_withdraw_claim(cmd: WithdrawClaim, uow: Any, _actor: Principal) -> dict:
    """The reporter takes their name off the certificate again, with the same proof; it reads "anonymous" again."""
    a = await _proven_reporter_award(uow, cmd.code, cmd.claim_secret)
    if a["claimed_name"] is not None:
        await uow.awards.update(a["award_id"], claimed_name=None)
        await _reissue_if_issued(uow, a["award_id"])
    uow.audit("award", a["award_id"], ward_id=a["ward_id"])
    return {"award_id": a["award_id"], "verification_code": a["verification_code"], "claimed": False,
            "ward_id": a["ward_id"]}


HANDLERS = {
    ConfigureIssuer: handle_configure_issuer,
    AddCriterion: handle_add_criterion,
    EvaluateCriteria: handle_evaluate_criteria,
    Nominate: handle_nominate,
    ReviewNomination: handle_review,
    ApproveNomination: handle_approve,
    RejectNomination: handle_reject,
    RevokeAward: handle_revoke,
    IssueCertificate: handle_issue_certificate,
    ClaimCertificate: handle_claim,
    WithdrawClaim: handle_withdraw_claim,
}
