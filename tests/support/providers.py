"""Real servers on local ports playing the delivery providers, for the channel and delivery tests.

* :func:`smtp_server`: an aiosmtpd SMTP server that keeps every message it accepts (``SmtpSink.messages``).
* :func:`sms_provider`: the SMS gateway (``POST /messages``): checks the HMAC signature of each request, records it,
  and answers a repeated ``Idempotency-Key`` with the first answer without "sending" again, as the gateway's contract
  says (docs/operations.md); ``signed`` builds the gateway's own signed webhook for inbound tests.
* :func:`zalo_provider`: the Zalo OA Open API v3 (``POST /v3.0/oa/message/cs``): checks the ``access_token``,
  records, answers Zalo's ``{"error": 0, "data": {"message_id": ...}}``; ``signed`` builds an inbound event with
  its ``X-ZEvent-Signature``.

Each can be told to fail its next N requests (``fail_next``): an HTTP status (a 5xx, a 4xx), a Zalo error code, an
SMTP reply code, or ``"slow"``: the request is done (the message sent) but answered only after ``slow_s`` seconds,
later than the client waits: the sender cannot know it went out, the case exactly-once delivery is about.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.channels import sms_signature, zalo_signature


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int  # the HTTP status it was answered with (0: the connection was dropped)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Failures:
    """The next ``count`` requests fail with ``how`` (a status/code, or "drop")."""
    count: int = 0
    how: Any = 503
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> Any | None:
        with self.lock:
            if self.count <= 0:
                return None
            self.count -= 1
            return self.how


# --- SMTP --------------------------------------------------------------------------------------------------------


class SmtpSink:
    """aiosmtpd's handler: keeps what it accepts; ``fail_next`` answers DATA with an SMTP error code."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.attempts = 0
        self._failures = _Failures()
        self.host = "127.0.0.1"
        self.port = 0

    def fail_next(self, count: int, code: int = 451) -> None:
        self._failures.count, self._failures.how = count, code

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        code = self._failures.take()
        if code is not None:
            return f"{code} {'4.3.0 try again later' if code < 500 else '5.7.1 refused'}"
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return f"250 2.0.0 Ok: queued as Q{len(self.messages):06d}"


@contextmanager
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.port = free_port()
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# --- HTTP providers ----------------------------------------------------------------------------------------------


class _HttpProvider:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.url = ""
        self._failures = _Failures()

    slow_s = 1.5

    def fail_next(self, count: int, how: Any = 503) -> None:
        """The next ``count`` requests answer ``how``: an HTTP status, or "slow" (done, answered after ``slow_s``)."""
        self._failures.count, self._failures.how = count, how

    async def _record(self, request: Request) -> tuple[Recorded, Any | None]:
        body = await request.body()
        rec = Recorded(request.url.path, {k.lower(): v for k, v in request.headers.items()}, body, 0)
        self.requests.append(rec)
        return rec, self._failures.take()

    @staticmethod
    def _fail(rec: Recorded, how: Any) -> Response:
        rec.answered = int(how)
        return JSONResponse({"error": "injected"}, status_code=int(how))

    async def _answer(self, failure: Any, response: Response) -> Response:
        if failure == "slow":
            await asyncio.sleep(self.slow_s)
        return response


class SmsProvider(_HttpProvider):
    def __init__(self, key_id: str, secret: str) -> None:
        super().__init__()
        self.key_id, self.secret = key_id, secret
        self.sent: list[dict[str, Any]] = []  # one per message really "sent" (after deduplication)
        self._by_key: dict[str, str] = {}

    def signed(self, payload: dict[str, Any], *, timestamp: int | None = None,
               secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        """An inbound webhook as the gateway sends it: body and signed headers."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return body, {"Content-Type": "application/json", "X-Key-Id": self.key_id, "X-Timestamp": ts,
                      "X-Signature": sms_signature(secret or self.secret, ts, body)}

    async def messages(self, request: Request) -> Response:
        rec, failure = await self._record(request)
        if failure not in (None, "slow"):
            return self._fail(rec, failure)
        return await self._answer(failure, self._message(rec))

    def _message(self, rec: Recorded) -> Response:
        h = rec.headers
        ts = h.get("x-timestamp", "")
        if (h.get("x-key-id") != self.key_id or not ts.isdigit() or abs(time.time() - int(ts)) > 300
                or sms_signature(self.secret, ts, rec.body) != h.get("x-signature")):
            rec.answered = 401
            return JSONResponse({"error": "bad signature"}, status_code=401)
        payload = rec.json()
        if not payload.get("to") or not payload.get("text"):
            rec.answered = 422
            return JSONResponse({"error": "to and text are required"}, status_code=422)
        key = h.get("idempotency-key")
        if key and key in self._by_key:
            rec.answered = 200
            return JSONResponse({"message_id": self._by_key[key], "duplicate": True})
        message_id = f"sms-{uuid.uuid4().hex[:12]}"
        if key:
            self._by_key[key] = message_id
        self.sent.append({**payload, "message_id": message_id})
        rec.answered = 200
        return JSONResponse({"message_id": message_id})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/messages", self.messages, methods=["POST"])])


class ZaloProvider(_HttpProvider):
    def __init__(self, access_token: str, app_id: str, oa_secret_key: str) -> None:
        super().__init__()
        self.access_token, self.app_id, self.oa_secret_key = access_token, app_id, oa_secret_key
        self.sent: list[dict[str, Any]] = []

    def fail_next(self, count: int, how: Any = 503) -> None:
        """As for any provider; a negative int is a Zalo error code answered with HTTP 200, as Zalo does."""
        super().fail_next(count, how)

    def signed(self, event: dict[str, Any], *, secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        """An inbound event as Zalo posts it to the OA's webhook (``timestamp`` in milliseconds, in the body)."""
        event = {"app_id": self.app_id, "timestamp": str(int(time.time() * 1000)), **event}
        body = json.dumps(event, ensure_ascii=False).encode()
        mac = zalo_signature(self.app_id, body, str(event["timestamp"]), secret or self.oa_secret_key)
        return body, {"Content-Type": "application/json", "X-ZEvent-Signature": mac}

    async def message_cs(self, request: Request) -> Response:
        rec, failure = await self._record(request)
        if isinstance(failure, int) and failure < 0:
            rec.answered = 200
            return JSONResponse({"error": failure, "message": "injected"})
        if failure not in (None, "slow"):
            return self._fail(rec, failure)
        return await self._answer(failure, self._message(rec))

    def _message(self, rec: Recorded) -> Response:
        rec.answered = 200
        if rec.headers.get("access_token") != self.access_token:
            return JSONResponse({"error": -216, "message": "Access token is invalid"})
        payload = rec.json()
        user_id = (payload.get("recipient") or {}).get("user_id")
        text = (payload.get("message") or {}).get("text")
        if not user_id or not text:
            return JSONResponse({"error": -201, "message": "Parameters are invalid"})
        message_id = uuid.uuid4().hex
        self.sent.append({"user_id": user_id, "text": text, "message_id": message_id})
        return JSONResponse({"data": {"message_id": message_id, "user_id": user_id}, "error": 0,
                             "message": "Success"})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v3.0/oa/message/cs", self.message_cs, methods=["POST"])])


@asynccontextmanager
async def _served(provider: _HttpProvider) -> AsyncIterator[Any]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(provider.app(), lifespan="off", log_level="critical",
                                           access_log=False, timeout_graceful_shutdown=3))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        assert server.started, "the provider did not start"
        provider.url = f"http://127.0.0.1:{port}"
        yield provider
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def sms_provider(key_id: str = "test-key", secret: str = "test-sms-secret-0123456789") -> AsyncIterator[SmsProvider]:
    async with _served(SmsProvider(key_id, secret)) as provider:
        yield provider


@asynccontextmanager
async def zalo_provider(access_token: str = "test-zalo-token", app_id: str = "4242",
                        oa_secret_key: str = "test-oa-secret-key") -> AsyncIterator[ZaloProvider]:
    async with _served(ZaloProvider(access_token, app_id, oa_secret_key)) as provider:
        yield provider
