"""Delivery channels: email over SMTP, SMS through a signed HTTP gateway, Zalo Official Account messages.

Each adapter sends one :class:`Outgoing` and answers :class:`Sent` or raises :class:`ChannelError`, whose
``retryable`` says whether the same message may succeed later (a timeout, a refused connection, a 5xx, an SMTP 4xx,
a rate limit) or never will (a 4xx: a bad address, a refused request). Nothing here logs, and no error carries a
recipient's address or a message's text: callers may record ``str(error)`` as it is.

* **SMTP** (``Mailer``, aiosmtplib): STARTTLS, implicit TLS or none per ``NOTIFY_SMTP_TLS``. The ``Message-ID`` is
  derived from the idempotency key (the delivery id), so a message sent twice is recognisably one.
* **SMS gateway** (``SmsGateway``): ``POST {SMS_GATEWAY_URL}/messages`` with a JSON body ``{to, text, reference}``
  and the headers ``X-Key-Id``, ``X-Timestamp`` (Unix seconds) and ``X-Signature`` = lowercase hex of
  HMAC-SHA256(``SMS_GATEWAY_SECRET``, timestamp + body), and ``Idempotency-Key`` (the delivery id: the gateway
  answers a repeated key with the first message's result and sends nothing). Its answer ``{"message_id": ...}``.
  The same scheme verifies the gateway's inbound webhooks (``verify_inbound``), within a replay window.
* **Zalo OA** (``ZaloGateway``): Open API v3 ``POST {ZALO_OA_API_URL}/v3.0/oa/message/cs`` with the OA's
  ``access_token`` header, ``{"recipient": {"user_id": ...}, "message": {"text": ...}}``; Zalo answers HTTP 200 with
  ``{"error": 0, "data": {"message_id": ...}}`` or a negative ``error``. Inbound webhooks carry
  ``X-ZEvent-Signature: mac=<hex>`` = SHA-256(app id + raw body + the body's ``timestamp`` + OA secret key), as
  Zalo's webhook documentation describes it (docs/operations.md cites it).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

import httpx
from pydantic import BaseModel

__all__ = ["ChannelError", "InvalidSignature", "Mailer", "Outgoing", "Sent", "SmsGateway", "ZaloGateway",
           "channels_from", "sms_signature", "zalo_signature"]


class Outgoing(BaseModel):
    to: str
    subject: str
    text: str
    idempotency_key: str  # the delivery id


class Sent(BaseModel):
    provider_message_id: str | None


class ChannelError(Exception):
    """A send that did not happen. The message names the failure (a status, an error code, an exception type),
    never the recipient or the text."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class InvalidSignature(Exception):
    """An inbound webhook whose signature is missing, wrong or outside the replay window."""


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _http_error(exc: Exception) -> ChannelError:
    """What the network did, by type (never the exception's text, which may hold a URL with a token)."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return ChannelError("timeout", retryable=True)
    return ChannelError(type(exc).__name__, retryable=True)


def _status_error(status: int) -> ChannelError:
    # 408 and 429: the request was fine, the moment was not
    return ChannelError(f"HTTP {status}", retryable=status >= 500 or status in (408, 429))


# --- email -------------------------------------------------------------------------------------------------------


class Mailer:
    channel = "email"

    def __init__(self, *, host: str, port: int, sender: str, username: str = "", password: str | None = None,
                 tls: str = "starttls", timeout_s: float = 10.0, validate_certs: bool = True) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.tls = username, password, tls
        self.timeout_s, self.validate_certs = timeout_s, validate_certs
        domain = parseaddr(sender)[1].rpartition("@")[2] or "ward-platform.invalid"
        self._domain = domain

    def message(self, msg: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = msg.to
        mail["Subject"] = msg.subject
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = f"<{msg.idempotency_key}@{self._domain}>"
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a notification
        mail.set_content(msg.text)
        return mail

    async def send(self, msg: Outgoing) -> Sent:
        import aiosmtplib

        mail = self.message(msg)
        try:
            async with asyncio.timeout(self.timeout_s):  # the whole exchange (aiosmtplib's is per command)
                _errors, response = await aiosmtplib.send(
                    mail, hostname=self.host, port=self.port, username=self.username or None,
                    password=self.password if self.username else None, use_tls=self.tls == "tls",
                    start_tls=self.tls == "starttls", timeout=self.timeout_s, validate_certs=self.validate_certs)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise ChannelError(f"SMTP recipient refused {codes[0] if codes else ''}".strip(),
                               retryable=all(400 <= c < 500 for c in codes)) from None
        except aiosmtplib.SMTPResponseException as exc:  # 4xx: try again later (RFC 5321 4.2.1); 5xx: never
            raise ChannelError(f"SMTP {exc.code}", retryable=400 <= exc.code < 500) from None
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            raise ChannelError("timeout", retryable=True) from None
        except (aiosmtplib.SMTPException, OSError) as exc:  # connection refused or dropped, TLS failure
            raise ChannelError(type(exc).__name__, retryable=True) from None
        queued = re.search(r"queued as (\S+)", response or "")
        return Sent(provider_message_id=queued.group(1) if queued else str(mail["Message-ID"]).strip("<>"))

    async def aclose(self) -> None:
        return None


class _HttpChannel:
    """What the HTTP channels share: the timeout of a whole exchange, the clock, and one client, made on first use
    unless given (a test's) and closed by ``aclose`` only if made here."""

    def __init__(self, *, timeout_s: float, client: httpx.AsyncClient | None, clock: Any) -> None:
        self.timeout_s = timeout_s
        self._client, self._own_client = client, client is None
        self._clock = clock

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None


# --- SMS ---------------------------------------------------------------------------------------------------------


def sms_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256(secret, timestamp + body): the SMS gateway's scheme, both ways."""
    return hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).hexdigest()


class SmsGateway(_HttpChannel):
    channel = "sms"

    def __init__(self, *, url: str, key_id: str, secret: str, timeout_s: float = 10.0, replay_window_s: int = 300,
                 client: httpx.AsyncClient | None = None, clock: Any = time.time) -> None:
        super().__init__(timeout_s=timeout_s, client=client, clock=clock)
        self.url = url.rstrip("/")
        self.key_id, self._secret = key_id, secret
        self.replay_window_s = replay_window_s

    def signed_headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The headers that sign ``body`` (also what a test plays the gateway's webhooks with)."""
        ts = str(int(self._clock()) if timestamp is None else timestamp)
        return {"X-Key-Id": self.key_id, "X-Timestamp": ts, "X-Signature": sms_signature(self._secret, ts, body)}

    async def send(self, msg: Outgoing) -> Sent:
        body = json.dumps({"to": msg.to, "text": msg.text, "reference": msg.idempotency_key},
                          ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": msg.idempotency_key,
                   **self.signed_headers(body)}
        try:
            async with asyncio.timeout(self.timeout_s):  # the whole exchange (httpx's is per phase)
                response = await self._http().post(f"{self.url}/messages", content=body, headers=headers,
                                                   timeout=self.timeout_s)
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            raise _http_error(exc) from None
        if not 200 <= response.status_code < 300:
            raise _status_error(response.status_code)
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        message_id = answer.get("message_id") if isinstance(answer, dict) else None
        return Sent(provider_message_id=str(message_id) if message_id is not None else None)

    def verify_inbound(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Raises :class:`InvalidSignature` unless the gateway signed exactly this body within the window."""
        h = _lower(headers)
        ts, signature = h.get("x-timestamp", ""), h.get("x-signature", "")
        if not ts.isdigit() or not signature:
            raise InvalidSignature("unsigned")
        if h.get("x-key-id", self.key_id) != self.key_id:
            raise InvalidSignature("unknown key id")
        if abs(self._clock() - int(ts)) > self.replay_window_s:
            raise InvalidSignature("outside the replay window")
        if not hmac.compare_digest(sms_signature(self._secret, ts, body), signature.strip().lower()):
            raise InvalidSignature("bad signature")


# --- Zalo Official Account ---------------------------------------------------------------------------------------

#: Zalo Open API error codes worth another try later: -32 (the app's request rate exceeded), -216/-124 (access
#: token invalid/expired: an operator or a refresh job replaces it; the message itself is fine).
ZALO_RETRYABLE_ERRORS = frozenset({-32, -124, -216})


def zalo_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """``mac=`` + hex SHA-256(app id + raw body + timestamp + OA secret key), Zalo's ``X-ZEvent-Signature``."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()).hexdigest()
    return f"mac={digest}"


class ZaloGateway(_HttpChannel):
    channel = "zalo"

    def __init__(self, *, api_url: str, access_token: str, app_id: str = "", app_secret: str | None = None,
                 timeout_s: float = 10.0, client: httpx.AsyncClient | None = None, clock: Any = time.time) -> None:
        super().__init__(timeout_s=timeout_s, client=client, clock=clock)
        self.api_url = api_url.rstrip("/")
        self._token, self.app_id, self._secret = access_token, app_id, app_secret

    async def send(self, msg: Outgoing) -> Sent:
        """A consultation (``cs``) message to a follower: ``msg.to`` is the follower's Zalo user id for this OA."""
        if not self._token:
            raise ChannelError("no access token", retryable=False)
        if msg.to.startswith(("+", "0")):  # a phone number: only ZNS (templates) reaches one, not the OA API
            raise ChannelError("Zalo OA messages need the follower's user id, not a phone number", retryable=False)
        body = json.dumps({"recipient": {"user_id": msg.to}, "message": {"text": msg.text[:2000]}},
                          ensure_ascii=False, separators=(",", ":")).encode()
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await self._http().post(
                    f"{self.api_url}/v3.0/oa/message/cs", content=body, timeout=self.timeout_s,
                    headers={"Content-Type": "application/json", "access_token": self._token})
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            raise _http_error(exc) from None
        if not 200 <= response.status_code < 300:
            raise _status_error(response.status_code)
        try:
            answer = response.json()
        except ValueError:
            raise ChannelError("Zalo answered no JSON", retryable=True) from None
        error = answer.get("error", -1) if isinstance(answer, dict) else -1
        if error != 0:
            code = error if isinstance(error, int) else -1
            raise ChannelError(f"Zalo error {code}", retryable=code in ZALO_RETRYABLE_ERRORS)
        data = answer.get("data") or {}
        message_id = data.get("message_id") if isinstance(data, dict) else None
        return Sent(provider_message_id=str(message_id) if message_id is not None else None)

    def verify_inbound(self, body: bytes, headers: Mapping[str, str], *, max_age_s: float | None = None) -> None:
        """Raises :class:`InvalidSignature` unless ``X-ZEvent-Signature`` is Zalo's for this body. Zalo retries a
        webhook for hours with the same timestamp, so no replay window by default: deduplicate by the message id
        (``max_age_s`` refuses older events where that is wanted)."""
        if not self._secret or not self.app_id:
            raise InvalidSignature("ZALO_APP_ID and ZALO_APP_SECRET are not configured")
        signature = _lower(headers).get("x-zevent-signature", "").strip()
        try:
            event = json.loads(body)
        except ValueError:
            raise InvalidSignature("not JSON") from None
        timestamp = event.get("timestamp") if isinstance(event, dict) else None
        if not signature or timestamp is None:
            raise InvalidSignature("unsigned")
        timestamp = str(timestamp)
        if not hmac.compare_digest(zalo_signature(self.app_id, body, timestamp, self._secret), signature):
            raise InvalidSignature("bad signature")
        if max_age_s is not None and timestamp.isdigit() and self._clock() - int(timestamp) / 1000 > max_age_s:
            raise InvalidSignature("too old")


Channel = Mailer | SmsGateway | ZaloGateway


def channels_from(settings: Any) -> dict[str, Channel]:
    """The configured channels by name (``email``, ``sms``, ``zalo``); an unconfigured one is absent."""
    out: dict[str, Channel] = {}
    timeout = getattr(settings, "notify_channel_timeout_s", 10.0)
    if settings.notify_smtp_host and settings.notify_smtp_from:
        password = settings.notify_smtp_password
        out["email"] = Mailer(host=settings.notify_smtp_host, port=settings.notify_smtp_port,
                              sender=settings.notify_smtp_from, username=settings.notify_smtp_username,
                              password=password.get_secret_value() if password else None,
                              tls=settings.notify_smtp_tls, timeout_s=timeout)
    if settings.sms_gateway_url and settings.sms_gateway_secret:
        out["sms"] = SmsGateway(url=settings.sms_gateway_url, key_id=settings.sms_gateway_key_id,
                                secret=settings.sms_gateway_secret.get_secret_value(), timeout_s=timeout,
                                replay_window_s=settings.sms_gateway_replay_window_s)
    if settings.zalo_oa_access_token or (settings.zalo_app_id and settings.zalo_app_secret):
        # inbound only (app id and secret, no token) still verifies webhooks; its send refuses, not retryable
        secret, token = settings.zalo_app_secret, settings.zalo_oa_access_token
        out["zalo"] = ZaloGateway(api_url=settings.zalo_oa_api_url,
                                  access_token=token.get_secret_value() if token else "",
                                  app_id=settings.zalo_app_id, app_secret=secret.get_secret_value() if secret else None,
                                  timeout_s=timeout)
    return out
