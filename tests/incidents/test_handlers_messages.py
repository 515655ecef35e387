"""The handlers of issue 17 (reports by message, two-way anonymous messages) on the in-memory unit of work and on
PostgreSQL (the fakes answer what the SQL answers), and the parsing of inbound texts (intake.py, pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.incidents import handlers, handlers_intake, handlers_messages, intake
from services.incidents.commands import AnswerPolice, AskTipster, ReportByMessage
from services.incidents.repository import identity_context, tip_message_context
from services.incidents.uow import IncidentsUnitOfWork
from shared.actor import ALL_WARDS, Principal, Role
from shared.contracts.incidents import TipAnswered, TipQuestionAsked
from shared.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from shared.paging import PageRequest
from tests.application import applications, audited, emitted
from tests.incidents.conftest import GROUP, WARD, registry_facts
from tests.incidents.fakes import FakeIncidentsUnitOfWork
from tests.incidents.test_handlers import PII, POLICE, POLICE_ELSEWHERE, feed

TIPSTER = Principal(handlers.ANONYMOUS, frozenset({Role.RESIDENT}), ALL_WARDS)
IN_WARD = Principal(handlers.ANONYMOUS, frozenset({Role.RESIDENT}), WARD)
HANDLERS = {**handlers.HANDLERS, **handlers_intake.HANDLERS, **handlers_messages.HANDLERS}


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest):
    def real(ctx, conn, *, read_only=False):
        return IncidentsUnitOfWork(ctx, conn, read_only=read_only, pii=PII)

    async with applications(request, "incidents", FakeIncidentsUnitOfWork, real, HANDLERS) as application:
        await feed(application, *registry_facts())
        yield application


def by_message(**over: Any) -> ReportByMessage:
    body: dict[str, Any] = {"category": "other", "place": {"group_id": GROUP}, "description": "Trộm xe ở hẻm 5",
                            "anonymous": True, "channel": "sms"}
    return ReportByMessage.model_validate({**body, **over})


async def sms_tip(app) -> tuple[str, str, str]:
    reply = await app.run(by_message(), IN_WARD)
    code, secret = reply["reply"].split("Mã: ")[1].split(" Mật mã: ")
    return reply["incident_id"], code, secret.split(" ")[0]


async def test_a_tip_by_message_answers_its_receipt_and_keeps_the_channel_not_the_sender(app):
    incident_id, code, secret = await sms_tip(app)
    async with app.read() as uow:
        inc = await uow.incidents.get(incident_id)
        assert await uow.intake.channel(incident_id) == "sms"
    assert inc["anonymous"] and inc["follow_up_code"] == code and inc["reporter_identity"] is None
    assert await audited(app) == [("incident.report_by_message", "incident", incident_id)]
    with pytest.raises(ValueError, match="keeps nothing of its sender"):
        by_message(sender="+84912345678")


async def test_an_identified_report_by_message_keeps_the_sender_with_the_identity(app):
    ref = PII.pseudonym("zalo:123456789", handlers.REPORTER_PURPOSE)
    cmd = by_message(anonymous=False, channel="zalo", reporter={"full_name": "Lê Thị Hoa"}, sender="123456789")
    made = await app.run(cmd, Principal(f"reporter:{ref}", frozenset({Role.RESIDENT}), WARD))
    assert made["anonymous"] is False and "Đã nhận tin báo" in made["reply"]
    async with app.read() as uow:
        inc = await uow.incidents.get(made["incident_id"])
    assert json.loads(PII.decrypt(inc["reporter_identity"], identity_context(made["incident_id"]))) == {
        "resident_id": None, "full_name": "Lê Thị Hoa", "phone": None, "zalo_user_id": "123456789",
        "channel": "zalo"}
    with pytest.raises(RuleViolation, match="identified reporter"):
        await app.run(AskTipster(incident_id=made["incident_id"], text="Ai?"), POLICE)


async def test_question_and_answer_through_the_tip(app):
    incident_id, code, secret = await sms_tip(app)
    with pytest.raises(Forbidden):
        await app.run(AskTipster(incident_id=incident_id, text="Mấy người?"), TIPSTER)
    with pytest.raises(NotFound):
        await app.run(AskTipster(incident_id=incident_id, text="Mấy người?"), POLICE_ELSEWHERE)
    asked = await app.run(AskTipster(incident_id=incident_id, text="Mấy người?"), POLICE)
    with pytest.raises(NotFound):
        await app.run(AnswerPolice(follow_up_code=code, secret="wrong", text="Hai"), TIPSTER)
    with pytest.raises(InvalidInput):
        await app.run(AnswerPolice(follow_up_code=code, secret=secret, text="Hai", reply_to="nope"), TIPSTER)
    answered = await app.run(AnswerPolice(follow_up_code=code.lower().replace("-", ""), secret=secret, text="Hai",
                                          reply_to_oldest=True), TIPSTER)
    assert answered["reply_to"] == asked["message_id"]
    async with app.read() as uow:
        messages = await uow.tip_messages.all_of(incident_id)
        page = await uow.tip_messages.list(incident_id, PageRequest(1, None))
    assert [(m["author"], m["officer_ref"], m["reply_to"]) for m in messages] == [
        ("police", POLICE.subject, None), ("tipster", POLICE.subject, asked["message_id"])]
    assert messages[0]["answered_at"] is not None and handlers_messages.open_questions(messages) == []
    assert PII.decrypt(messages[1]["text_sealed"], tip_message_context(messages[1]["message_id"])) == "Hai"
    assert len(page["items"]) == 1 and page["next_cursor"]
    events = [e for e in await emitted(app) if isinstance(e, TipQuestionAsked | TipAnswered)]
    assert [(type(e).__name__, e.message_id, e.officer_ref) for e in events] == [
        ("TipQuestionAsked", asked["message_id"], POLICE.subject),
        ("TipAnswered", answered["message_id"], POLICE.subject)]
    assert "Hai" not in events[1].model_dump_json() and "Mấy" not in events[0].model_dump_json()

    # A message of the tipster's own goes to the officer the tip is assigned to (none here: None).
    own = await app.run(AnswerPolice(follow_up_code=code, secret=secret, text="Thêm: xe màu đỏ"), TIPSTER)
    assert own["reply_to"] is None
    # At most MAX_OPEN_QUESTIONS waiting; a closed tip takes no question.
    for n in range(handlers_messages.MAX_OPEN_QUESTIONS):
        await app.run(AskTipster(incident_id=incident_id, text=f"Câu {n}"), POLICE)
    with pytest.raises(RuleViolation, match="unanswered"):
        await app.run(AskTipster(incident_id=incident_id, text="Thêm một câu"), POLICE)


@pytest.mark.parametrize(("text", "kind"), [
    ("Có người lạ cạy khoá xe máy", "tip"), ("TG có trộm ở chợ", "tip"), ("Tố giác: có trộm ở chợ", "tip"),
    ("BT Nguyễn Văn A: mất xe đạp ở chợ", "report"), ("bt Nguyen Van A: mat xe dap", "report"),
    ("BT Nguyễn Văn A mất xe", "invalid"), ("Báo tin có trộm: hai người", "tip"),
    ("TD TB-ABCDE-FGHJK s3cr3t", "follow_up"), ("theo dõi tbabcdefghjk s3cr3t", "follow_up"),
    ("Theo dõi thấy có hai người lạ", "tip"), ("TL TB-ABCDE-FGHJK s3cr3t Hai người", "answer"),
    ("Trả lời TB-ABCDE-FGHJK s3cr3t Hai người", "answer"), ("TRA LOI TB-ABCDE-FGHJK s3cr3t", "tip"),
    ("TL TB-ABCDE-FGHJK", "invalid"), ("HD", "help"), ("Hướng dẫn", "help"), ("Hướng dẫn viên bị móc túi", "tip"),
    ("", "invalid"), ("\x00\x00", "invalid"), ("hi", "invalid"),
])
def test_keywords_with_and_without_diacritics(text: str, kind: str) -> None:
    assert intake.parse(text).kind == kind


def test_what_is_kept_of_a_text() -> None:
    found = intake.parse("TL tb-abcde-fghjk s3cr3t  Hai người\x00, xe đỏ")
    assert (found.code, found.secret, found.text) == ("TB-ABCDE-FGHJK", "s3cr3t", "Hai người, xe đỏ")
    long = intake.parse("x" * 3000)
    assert long.cut and len(long.text) == intake.MAX_TEXT
    assert intake.ascii_text("Đã nhận tin tố giác") == "Da nhan tin to giac"
