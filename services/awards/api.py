"""HTTP routes of the awards service for officials: issuers, criteria, achievements, nominations, awards."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from services.awards import commands, domain
from services.awards import repository as repo
from shared.auth import CurrentPrincipal, Principal, Role
from shared.commands import Outcome, execute, json_response
from shared.contracts.awards import Issuer
from shared.edge import WardId, content_disposition
from shared.errors import NotFound
from shared.openapi import media
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["awards"])

Year = Annotated[int, Query(ge=2000, le=2100)]
OFFICIALS = (Role.WARD_OFFICIAL, Role.CITY_OFFICIAL, Role.ADMIN)


def _pool(request: Request):  # noqa: ANN202
    return request.app.state.runtime.pool


def _official_of(principal: Principal, ward_id: str) -> None:
    principal.require(*OFFICIALS)
    principal.ensure_ward(ward_id)


# -- issuing authorities (configuration) -----------------------------------------------------------------------
@router.post("/wards/{ward_id}/issuers/{issuer}", status_code=201, summary="Configure an issuing authority")
async def configure_issuer(ward_id: WardId, issuer: Issuer, body: domain.ConfigureIssuer, request: Request,
                           principal: CurrentPrincipal) -> Response:
    principal.require(domain.DECIDING_ROLE[issuer], Role.ADMIN)
    principal.ensure_ward(ward_id)

    async def handler(conn) -> Outcome:  # noqa: ANN001
        await repo.put_issuer(conn, ward_id, issuer, body.title, body.authority, body.signer_name, body.valid_from,
                              body.valid_until)
        return Outcome(body={"ward_id": ward_id, "issuer": issuer, **body.model_dump(mode="json")},
                       target_type="issuer", target_id=f"{ward_id}:{issuer}:{body.valid_from}", ward_id=ward_id,
                       status=201)

    return await execute(_pool(request), request, principal, "issuer.configure", handler)


@router.get("/wards/{ward_id}/issuers")
async def list_issuers(ward_id: WardId, request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    _official_of(principal, ward_id)
    async with _pool(request).acquire() as conn:
        return json_response(repo.ISSUERS.page(await repo.issuers_page(conn, ward_id, page), page))


# -- criteria and achievements ---------------------------------------------------------------------------------
@router.post("/wards/{ward_id}/criteria", status_code=201, summary="Configure a criterion for a year")
async def add_criterion(ward_id: WardId, body: domain.Criterion, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL, Role.ADMIN)
    principal.ensure_ward(ward_id)

    async def handler(conn) -> Outcome:  # noqa: ANN001
        created = await commands.add_criterion(conn, ward_id, body)
        return Outcome(body=created, target_type="criterion", target_id=created["criterion_id"], ward_id=ward_id,
                       status=201)

    return await execute(_pool(request), request, principal, "criterion.add", handler)


@router.get("/wards/{ward_id}/criteria")
async def list_criteria(ward_id: WardId, year: Year, request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    _official_of(principal, ward_id)
    async with _pool(request).acquire() as conn:
        return json_response(repo.CRITERIA.page(await repo.criteria_page(conn, ward_id, year, page), page))


@router.get("/wards/{ward_id}/achievements", summary="Achievements with the events that prove them")
async def list_achievements(ward_id: WardId, year: Year, request: Request, principal: CurrentPrincipal,
                            page: Page) -> Response:
    _official_of(principal, ward_id)
    async with _pool(request).acquire() as conn:
        return json_response(repo.ACHIEVEMENTS.page(await repo.achievements_page(conn, ward_id, year, page), page))


# -- nominations -----------------------------------------------------------------------------------------------
@router.post("/wards/{ward_id}/nominations/evaluate", status_code=201,
             summary="Apply the year's criteria: propose nominations with their evidence")
async def evaluate(ward_id: WardId, year: Annotated[int, Body(embed=True, ge=2000, le=2100)], request: Request,
                   principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL, Role.ADMIN)
    principal.ensure_ward(ward_id)

    async def handler(conn) -> Outcome:  # noqa: ANN001
        proposed = await commands.evaluate_criteria(conn, ward_id, year)
        return Outcome(body={"proposed": proposed}, target_type="criteria", target_id=f"{ward_id}:{year}",
                       ward_id=ward_id, details={"proposed": len(proposed)}, status=201)

    return await execute(_pool(request), request, principal, "nomination.evaluate", handler)


@router.post("/wards/{ward_id}/nominations", status_code=201, summary="Nominate by hand, with evidence")
async def nominate(ward_id: WardId, body: domain.ManualNomination, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL, Role.ADMIN)
    principal.ensure_ward(ward_id)

    async def handler(conn) -> Outcome:  # noqa: ANN001
        created = await commands.nominate_by_hand(conn, ward_id, body)
        return Outcome(body=created, target_type="nomination", target_id=created["nomination_id"], ward_id=ward_id,
                       status=201)

    return await execute(_pool(request), request, principal, "nomination.propose", handler)


@router.get("/wards/{ward_id}/nominations")
async def list_nominations(ward_id: WardId, year: Year, request: Request, principal: CurrentPrincipal,
                           page: Page,
                           status: Literal["proposed", "reviewed", "approved", "rejected"] | None = None) -> Response:
    _official_of(principal, ward_id)
    async with _pool(request).acquire() as conn:
        return json_response(repo.NOMINATIONS.page(await repo.nominations_page(conn, ward_id, year, status, page), page))


async def _decide(request: Request, principal: Principal, command: str, nomination_id: str, run) -> Response:  # noqa: ANN001
    principal.require(*OFFICIALS)

    async def handler(conn) -> Outcome:  # noqa: ANN001
        result = await run(conn)
        return Outcome(body=result, target_type="nomination", target_id=nomination_id, ward_id=result["ward_id"],
                       details={"status": result["status"]})

    return await execute(_pool(request), request, principal, command, handler)


@router.post("/nominations/{nomination_id}/review", summary="Record the council's review (its minutes)")
async def review(nomination_id: str, body: domain.Review, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL, Role.ADMIN)
    return await _decide(request, principal, "nomination.review", nomination_id,
                         lambda conn: commands.review(conn, principal, nomination_id, body))


@router.post("/nominations/{nomination_id}/approve", summary="The issuer approves: the award is granted")
async def approve(nomination_id: str, body: domain.Approve, request: Request, principal: CurrentPrincipal) -> Response:
    return await _decide(request, principal, "nomination.approve", nomination_id,
                         lambda conn: commands.approve(conn, principal, nomination_id, body))


@router.post("/nominations/{nomination_id}/reject", summary="The issuer rejects the nomination")
async def reject(nomination_id: str, body: domain.Reject, request: Request, principal: CurrentPrincipal) -> Response:
    return await _decide(request, principal, "nomination.reject", nomination_id,
                         lambda conn: commands.reject(conn, principal, nomination_id, body))


# -- awards and certificates -----------------------------------------------------------------------------------
async def _visible_award(request: Request, principal: Principal, award_id: str) -> Any:
    principal.require(*OFFICIALS)
    async with _pool(request).acquire() as conn:
        a = await repo.award(conn, award_id)
        if a is None or not principal.can_access_ward(a["ward_id"]):
            raise NotFound("no such award")
        ids = await repo.award_achievement_ids(conn, award_id)
    return a, ids


@router.get("/awards/{award_id}")
async def get_award(award_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    a, ids = await _visible_award(request, principal, award_id)
    body = {k: v for k, v in dict(a).items() if k not in {"certificate_pdf", "claimed_name"}}
    return json_response({**body, "achievement_ids": ids})


@router.post("/awards/{award_id}/revoke", summary="Revoke an award with a reason")
async def revoke(award_id: str, body: domain.Revoke, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(*OFFICIALS)

    async def handler(conn) -> Outcome:  # noqa: ANN001
        result = await commands.revoke(conn, principal, award_id, body)
        return Outcome(body=result, target_type="award", target_id=award_id, ward_id=result["ward_id"],
                       details={"reason": body.reason})

    return await execute(_pool(request), request, principal, "award.revoke", handler)


@router.post("/awards/{award_id}/certificate", status_code=201, summary="Issue the certificate of merit (PDF)")
async def issue_certificate(award_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(*OFFICIALS)

    async def handler(conn) -> Outcome:  # noqa: ANN001
        result = await commands.issue_certificate(conn, principal, award_id)
        return Outcome(body=result, target_type="award", target_id=award_id, ward_id=result["ward_id"], status=201)

    return await execute(_pool(request), request, principal, "certificate.issue", handler)


@router.get("/awards/{award_id}/certificate.pdf", response_class=Response, summary="The issued Giấy khen",
            responses=media("application/pdf", "The certificate of merit"))
async def certificate_pdf(award_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    a, _ = await _visible_award(request, principal, award_id)
    if a["certificate_pdf"] is None:
        raise NotFound("no certificate has been issued for this award yet")
    return Response(content=bytes(a["certificate_pdf"]), media_type="application/pdf",
                    headers=content_disposition(f"giay-khen-{a['verification_code']}.pdf", inline=True))
