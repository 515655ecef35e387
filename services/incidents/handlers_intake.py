"""Reports in by SMS and Zalo (issue 17): a text that the webhook (api_intake.py) parsed (intake.py) is filed as any
report is (``handlers.handle_report``: the same checks, events and audit row), with its channel, and answers the
text to send back. That answer is what the idempotency record keeps (sealed): a redelivered webhook re-sends the
same reply, the follow-up code and secret of a tip included, and files nothing twice.

Nothing of an anonymous tipster reaches this handler: the command holds the text, the group and the channel, and
runs as the anonymous reporter. An identified report's sender (the number, or the Zalo user id) is in its
``reporter`` and is encrypted with the identity, like any reporter's."""

from __future__ import annotations

from typing import Any

from services.incidents import intake
from services.incidents.commands import ReportByMessage
from services.incidents.handlers import handle_report
from services.incidents.repository import identity_context
from shared.actor import Principal
from shared.application import Created
from shared.jsonutil import dumps


async def handle_report_by_message(cmd: ReportByMessage, uow: Any, actor: Principal) -> Created:
    made = (await handle_report(cmd, uow, actor)).value
    incident_id = made["incident_id"]
    await uow.intake.add_channel(incident_id, cmd.channel)
    if cmd.anonymous:
        reply = intake.tip_receipt(made["follow_up_code"], made["secret"], cut=cmd.cut)
    else:
        # How the police reach this reporter: the number (or the Zalo id) they wrote from, encrypted with the name.
        sms = cmd.channel == "sms"
        identity = {"resident_id": None, "full_name": cmd.reporter.full_name, "phone": cmd.sender if sms else None,
                    "zalo_user_id": None if sms else cmd.sender, "channel": cmd.channel}
        await uow.intake.set_identity(incident_id, uow.pii.encrypt(dumps(identity), identity_context(incident_id)))
        reply = intake.report_receipt(incident_id, cut=cmd.cut)
    return Created({"incident_id": incident_id, "anonymous": cmd.anonymous, "reply": reply})


HANDLERS = {ReportByMessage: handle_report_by_message}
