"""Two-way anonymous messages (issue 17): the police of the ward ask an anonymous tipster a question through the
tip; the tipster, proven only by the follow-up code and secret, reads it (``POST /v1/follow-up``, by SMS ``TD``) and
answers (``POST /v1/follow-up/messages``, by SMS ``TL``).

Nothing identifies the tipster on either side: an answer is written by "the holder of the code", audited as
``anonymous``, and its event carries ids only. The texts are encrypted at rest (they can identify the tipster or a
third party), bound to the message; the events ``TipQuestionAsked`` and ``TipAnswered`` carry no text."""

from __future__ import annotations

import uuid
from typing import Any

from services.incidents.commands import AnswerPolice, AskTipster
from services.incidents.domain import State, secret_matches
from services.incidents.handlers import _facts
from services.incidents.intake import normal_code
from services.incidents.repository import tip_message_context
from shared import clock
from shared.actor import Principal, Role
from shared.application import Created
from shared.contracts.incidents import TipAnswered, TipQuestionAsked
from shared.crypto import PersonalDataProtector
from shared.errors import InvalidInput, NotFound, RuleViolation

Row = dict[str, Any]

#: The questions one tip may carry still unanswered: the police ask, then wait (and a flood of questions would reach
#: the tipster as one long SMS).
MAX_OPEN_QUESTIONS = 5
#: What a wrong secret and an unknown code both answer: no oracle for valid codes.
NO_SUCH_TIP = "no tip with this code and secret"


def text_of(pii: PersonalDataProtector, message: Row) -> str:
    return pii.decrypt(message["text_sealed"], tip_message_context(message["message_id"]))


def for_police(pii: PersonalDataProtector, message: Row) -> dict[str, Any]:
    """A message as the police of the ward read it."""
    return {"message_id": message["message_id"], "incident_id": message["incident_id"], "author": message["author"],
            "officer_ref": message["officer_ref"], "reply_to": message["reply_to"], "text": text_of(pii, message),
            "created_at": message["created_at"], "answered_at": message["answered_at"]}


def for_tipster(pii: PersonalDataProtector, message: Row) -> dict[str, Any]:
    """A message as the tipster reads it through the follow-up: no officer named."""
    return {"message_id": message["message_id"], "author": message["author"], "reply_to": message["reply_to"],
            "text": text_of(pii, message), "created_at": message["created_at"],
            "answered": message["answered_at"] is not None if message["author"] == "police" else None}


def open_questions(messages: list[Row]) -> list[Row]:
    return [m for m in messages if m["author"] == "police" and m["answered_at"] is None]


async def tip_by_code(uow: Any, code: str, secret: str) -> Row:
    """The anonymous tip this code and secret open, or 404 (the same for a wrong secret and an unknown code)."""
    normal = normal_code(code)
    inc = await uow.incidents.by_follow_up_code(normal) if normal else None
    if inc is None or not secret_matches(secret, inc["secret_hash"]):
        raise NotFound(NO_SUCH_TIP)
    return inc


async def handle_ask(cmd: AskTipster, uow: Any, actor: Principal) -> Created:
    actor.require(Role.POLICE)
    inc = await uow.incidents.get(cmd.incident_id, for_update=True)
    actor.ensure_reaches(inc["ward_id"] if inc else None, "no such incident")
    if not inc["anonymous"]:
        raise RuleViolation("only an anonymous tipster is asked through the tip: an identified reporter is "
                            "contacted directly (POST .../reporter-disclosure)")
    if inc["state"] == State.CLOSED.value:
        raise RuleViolation("the incident is closed: reopen it to ask the tipster")
    if len(open_questions(await uow.tip_messages.all_of(inc["incident_id"]))) >= MAX_OPEN_QUESTIONS:
        raise RuleViolation(f"the tipster has {MAX_OPEN_QUESTIONS} questions unanswered already")
    message_id, now = str(uuid.uuid4()), clock.now()
    row = {"message_id": message_id, "incident_id": inc["incident_id"], "ward_id": inc["ward_id"],
           "author": "police", "officer_ref": actor.subject, "reply_to": None,
           "text_sealed": uow.pii.encrypt(cmd.text, tip_message_context(message_id)), "created_at": now}
    await uow.tip_messages.add(row)
    uow.emit(TipQuestionAsked(**_facts(inc), message_id=message_id, officer_ref=actor.subject))
    uow.audit("incident", inc["incident_id"], ward_id=inc["ward_id"], details={"tip_message": message_id,
                                                                               "author": "police"})
    return Created(for_police(uow.pii, {**row, "answered_at": None}))


async def handle_answer(cmd: AnswerPolice, uow: Any, actor: Principal) -> Created:
    """The tipster's answer: to ``reply_to`` (a question of the police on this tip), or a message of their own."""
    if actor.subject != "anonymous":
        raise RuntimeError("a tipster's answer runs as the anonymous reporter: the audit trail must not name them")
    inc = await tip_by_code(uow, cmd.follow_up_code, cmd.secret)
    inc = await uow.incidents.get(inc["incident_id"], for_update=True)  # one answer at a time per tip
    question = None
    if cmd.reply_to is not None:
        question = await uow.tip_messages.get(cmd.reply_to)
        if question is None or question["incident_id"] != inc["incident_id"] or question["author"] != "police":
            raise InvalidInput("reply_to is not a question of the police on this tip")
    elif cmd.reply_to_oldest:
        waiting = open_questions(await uow.tip_messages.all_of(inc["incident_id"]))
        question = waiting[0] if waiting else None
    message_id, now = str(uuid.uuid4()), clock.now()
    officer = question["officer_ref"] if question else inc["assignee_officer"]
    await uow.tip_messages.add({
        "message_id": message_id, "incident_id": inc["incident_id"], "ward_id": inc["ward_id"], "author": "tipster",
        "officer_ref": officer, "reply_to": question["message_id"] if question else None,
        "text_sealed": uow.pii.encrypt(cmd.text, tip_message_context(message_id)), "created_at": now})
    if question is not None:
        await uow.tip_messages.mark_answered(question["message_id"], now)
    uow.emit(TipAnswered(**_facts(inc), message_id=message_id, officer_ref=officer))
    uow.audit("incident", inc["incident_id"], ward_id=inc["ward_id"], details={"tip_message": message_id,
                                                                               "author": "tipster"})
    return Created({"message_id": message_id, "reply_to": question["message_id"] if question else None,
                    "created_at": now})


HANDLERS = {AskTipster: handle_ask, AnswerPolice: handle_answer}
