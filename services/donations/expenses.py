"""Use cases of expenses (khoản chi): proposed with their invoice, approved by a ward official, and paid only
from the campaign's balance. An approved expense that bought cameras carries them in ``ExpenseRecorded`` so
the registry registers each one as a facility."""

from __future__ import annotations

import asyncpg

from services.donations import domain
from services.donations import repository as repo
from services.donations.commands import load_campaign, new_id
from services.donations.models import ApproveExpense, ProposeExpense
from shared import outbox
from shared.auth import Principal
from shared.commands import Outcome
from shared.contracts.donations import CameraPurchase, ExpenseRecorded
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound


async def propose_expense(conn: asyncpg.Connection, campaign_id: str, body: ProposeExpense,
                          principal: Principal) -> Outcome:
    campaign = await load_campaign(conn, campaign_id, principal, lock=False)
    if not 0 < body.amount_vnd <= domain.MAX_ENTRY_VND:
        raise InvalidInput("amount_vnd must be a positive whole number of đồng")
    expense_id = new_id()
    await repo.insert_expense(conn, {
        "expense_id": expense_id, "campaign_id": campaign_id, "item": body.item, "amount_vnd": body.amount_vnd,
        "invoice_ref": body.invoice_ref, "paid_on": body.paid_on,
        "cameras": [c.model_dump(mode="json") for c in body.cameras], "proposed_by": principal.subject,
    })
    return Outcome(body={"expense_id": expense_id, "status": "proposed"}, target_type="expense",
                   target_id=expense_id, ward_id=campaign["ward_id"], status=201,
                   details={"campaign_id": campaign_id, "amount_vnd": body.amount_vnd})


async def approve_expense(conn: asyncpg.Connection, expense_id: str, body: ApproveExpense,
                          principal: Principal) -> Outcome:
    expense = await repo.get_expense(conn, expense_id)
    if expense is None:
        raise NotFound("no such expense")
    # The campaign's row lock serialises approvals: two approvals cannot both spend the same balance.
    campaign = await load_campaign(conn, expense["campaign_id"], principal, lock=True, not_found="no such expense")
    expense = await repo.get_expense(conn, expense_id)  # re-read under the lock
    assert expense is not None
    if expense["approved_by"] is not None:
        raise Conflict("this expense is already approved")
    if expense["proposed_by"] == principal.subject:
        raise Forbidden("an expense is approved by another official than the one who proposed it")
    raised = await repo.raised_vnd(conn, campaign["campaign_id"])
    spent = await repo.spent_vnd(conn, campaign["campaign_id"])
    domain.check_expense_within_balance(expense["amount_vnd"], raised - spent)
    await repo.approve_expense(conn, expense_id, principal.subject, body.approval_ref)
    cameras = [CameraPurchase.model_validate(c) for c in expense["cameras"]]
    await outbox.enqueue(conn, ExpenseRecorded(
        ward_id=campaign["ward_id"], subject=campaign["campaign_id"], expense_id=expense_id,
        campaign_id=campaign["campaign_id"], group_id=campaign["group_id"], item=expense["item"],
        amount_vnd=expense["amount_vnd"], invoice_ref=expense["invoice_ref"], cameras=cameras,
        paid_on=expense["paid_on"]))
    balance = raised - spent - expense["amount_vnd"]
    return Outcome(body={"expense_id": expense_id, "status": "approved", "balance_vnd": balance},
                   target_type="expense", target_id=expense_id, ward_id=campaign["ward_id"],
                   details={"approval_ref": body.approval_ref, "amount_vnd": expense["amount_vnd"]})
