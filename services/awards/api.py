"""HTTP routes of the awards service for officials: issuers, criteria, achievements, nominations, awards.

Commands: decode the body and the path into a command and ``dispatch`` it (services/awards/handlers.py decides);
reads: one snapshot through the repositories."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.awards import commands, domain, schemas
from shared.actor import Principal
from shared.auth import CurrentPrincipal
from shared.commands import dispatch, json_response, reading
from shared.contracts.awards import Issuer, NominationStatus
from shared.edge import WardId, content_disposition
from shared.errors import NotFound
from shared.openapi import media
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["awards"])

Year = Annotated[int, Query(ge=2000, le=2100)]



# -- issuing authorities (configuration) -----------------------------------------------------------------------
@router.post("/wards/{ward_id}/issuers/{issuer}", status_code=201, summary="Configure an issuing authority",
             response_model=schemas.IssuerOut)
async def configure_issuer(ward_id: WardId, issuer: Issuer, body: schemas.ConfigureIssuerBody,
                           request: Request, principal: CurrentPrincipal) -> Response:
    cmd = commands.ConfigureIssuer(ward_id=ward_id, issuer=issuer, **body.model_dump())
    return await dispatch(request, cmd, principal)


@router.get("/wards/{ward_id}/issuers", response_model=schemas.PageOf[schemas.IssuerOut])
async def list_issuers(ward_id: WardId, request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    domain.ensure_official_of(principal, ward_id)
    async with reading(request) as uow:
        return json_response(await uow.issuers.page(ward_id, page))


# -- criteria and achievements ---------------------------------------------------------------------------------
@router.post("/wards/{ward_id}/criteria", status_code=201, summary="Configure a criterion for a year",
             response_model=schemas.CriterionOut)
async def add_criterion(ward_id: WardId, body: schemas.AddCriterionBody,
                        request: Request, principal: CurrentPrincipal) -> Response:
    cmd = commands.AddCriterion(ward_id=ward_id, **body.model_dump())
    return await dispatch(request, cmd, principal)


@router.get("/wards/{ward_id}/criteria", response_model=schemas.PageOf[schemas.CriterionOut])
async def list_criteria(ward_id: WardId, year: Year, request: Request, principal: CurrentPrincipal,
                        page: Page) -> Response:
    domain.ensure_official_of(principal, ward_id)
    async with reading(request) as uow:
        return json_response(await uow.criteria.page(ward_id, year, page))


@router.get("/wards/{ward_id}/achievements", summary="Achievements with the events that prove them",
            response_model=schemas.PageOf[schemas.AchievementOut])
async def list_achievements(ward_id: WardId, year: Year, request: Request, principal: CurrentPrincipal,
                            page: Page) -> Response:
    domain.ensure_official_of(principal, ward_id)
    async with reading(request) as uow:
        return json_response(await uow.achievements.page(ward_id, year, page))


# -- nominations -----------------------------------------------------------------------------------------------
@router.post("/wards/{ward_id}/nominations/evaluate", status_code=201,
             summary="Apply the year's criteria: propose nominations with their evidence",
             response_model=schemas.Evaluated, response_description="Nominations were proposed",
             responses={200: {"model": schemas.Evaluated,
                              "description": "Nothing new meets a criterion: no nomination proposed"}})
async def evaluate(ward_id: WardId, body: schemas.EvaluateCriteriaBody,
                   request: Request, principal: CurrentPrincipal) -> Response:
    cmd = commands.EvaluateCriteria(ward_id=ward_id, **body.model_dump())
    return await dispatch(request, cmd, principal)


@router.post("/wards/{ward_id}/nominations", status_code=201, summary="Nominate by hand, with evidence",
             response_model=schemas.NominationOut)
async def nominate(ward_id: WardId, body: schemas.NominateBody,
                   request: Request, principal: CurrentPrincipal) -> Response:
    cmd = commands.Nominate(ward_id=ward_id, **body.model_dump())
    return await dispatch(request, cmd, principal)


@router.get("/wards/{ward_id}/nominations", response_model=schemas.PageOf[schemas.NominationOut])
async def list_nominations(ward_id: WardId, year: Year, request: Request, principal: CurrentPrincipal,
                           page: Page, status: NominationStatus | None = None) -> Response:
    domain.ensure_official_of(principal, ward_id)
    async with reading(request) as uow:
        return json_response(await uow.nominations.page(ward_id, year, status, page))


@router.post("/nominations/{nomination_id}/review", summary="Record the council's review (its minutes)",
             response_model=schemas.NominationDecided)
async def review(nomination_id: str, body: schemas.ReviewBody,
                 request: Request, principal: CurrentPrincipal) -> Response:
    cmd = commands.ReviewNomination(nomination_id=nomination_id, **body.model_dump())
    return await dispatch(request, cmd, principal)


@router.post("/nominations/{nomination_id}/approve", summary="The issuer approves: the award is granted",
             response_model=schemas.NominationDecided)
async def approve(nomination_id: str, body: schemas.ApproveBody,
                  request: Request, principal: CurrentPrincipal) -> Response:
    cmd = commands.ApproveNomination(nomination_id=nomination_id, **body.model_dump())
    return await dispatch(request, cmd, principal)


@router.post("/nominations/{nomination_id}/reject", summary="The issuer rejects the nomination",
             response_model=schemas.NominationDecided)
async def reject(nomination_id: str, body: schemas.RejectBody,
                 request: Request, principal: CurrentPrincipal) -> Response:
    cmd = commands.RejectNomination(nomination_id=nomination_id, **body.model_dump())
    return await dispatch(request, cmd, principal)


# -- awards and certificates -----------------------------------------------------------------------------------
async def _visible_award(request: Request, principal: Principal, award_id: str) -> dict[str, Any]:
    principal.require(*domain.OFFICIALS)
    async with reading(request) as uow:
        a = await uow.awards.get(award_id)
    principal.ensure_reaches(a["ward_id"] if a else None, "no such award")
    assert a is not None
    return a


@router.get("/awards/{award_id}", response_model=schemas.AwardOut)
async def get_award(award_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    a = await _visible_award(request, principal, award_id)
    return json_response({k: v for k, v in a.items() if k not in {"certificate_pdf", "claimed_name"}})


@router.post("/awards/{award_id}/revoke", summary="Revoke an award with a reason",
             response_model=schemas.AwardRevokedOut)
async def revoke(award_id: str, body: schemas.RevokeBody,
                 request: Request, principal: CurrentPrincipal) -> Response:
    cmd = commands.RevokeAward(award_id=award_id, **body.model_dump())
    return await dispatch(request, cmd, principal)


@router.post("/awards/{award_id}/certificate", status_code=201, summary="Issue the certificate of merit (PDF)",
             response_model=schemas.CertificateOut)
async def issue_certificate(award_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.IssueCertificate(award_id=award_id), principal)


@router.get("/awards/{award_id}/certificate.pdf", response_class=Response, summary="The issued Giấy khen",
            responses=media("application/pdf", "The certificate of merit"))
async def certificate_pdf(award_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    a = await _visible_award(request, principal, award_id)
    if a["certificate_pdf"] is None:
        raise NotFound("no certificate has been issued for this award yet")
    return Response(content=bytes(a["certificate_pdf"]), media_type="application/pdf",
                    headers=content_disposition(f"giay-khen-{a['verification_code']}.pdf", inline=True))
