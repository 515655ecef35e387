"""Errors that become RFC 9457 problem details over HTTP. Domain code raises these, never HTTPException."""

from __future__ import annotations

from typing import Any


class ProblemError(Exception):
    status: int = 400
    title: str = "Bad request"
    type_suffix: str = "bad-request"

    headers: dict[str, str] = {}  # response headers every problem of this class carries

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers = {**type(self).headers, **(headers or {})}


class InvalidInput(ProblemError):
    status, title, type_suffix = 422, "Invalid input", "invalid-input"


class Unauthorized(ProblemError):
    """A 401: always with an RFC 6750 ``WWW-Authenticate`` challenge (shared.auth passes a precise one, with
    ``error="invalid_token"``, when a token was sent)."""

    status, title, type_suffix = 401, "Unauthorized", "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="ward-platform"'}


class ServiceUnavailable(ProblemError):
    """A dependency the request needs (the identity provider's keys) does not answer: try again later."""

    status, title, type_suffix = 503, "Service unavailable", "unavailable"


class Forbidden(ProblemError):
    status, title, type_suffix = 403, "Forbidden", "forbidden"


class NotFound(ProblemError):
    status, title, type_suffix = 404, "Not found", "not-found"


class Conflict(ProblemError):
    status, title, type_suffix = 409, "Conflict", "conflict"


class RuleViolation(ProblemError):
    """A request that is well-formed but breaks a domain rule (an illegal transition, a limit)."""

    status, title, type_suffix = 422, "Rule violated", "rule-violated"


class TooManyRequests(ProblemError):
    """Over a rate limit: answered 429 with ``Retry-After`` (seconds)."""

    status, title, type_suffix = 429, "Too many requests", "too-many-requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after_s}, headers={"Retry-After": str(retry_after_s)})


class ContentTooLarge(ProblemError):
    """A body over a limit found while it streams in (an evidence file over its kind's size), not from its
    declared length: the same problem type as the edge's refusal."""

    status, title, type_suffix = 413, "Content too large", "content-too-large"


class UnsupportedMediaType(ProblemError):
    """A file whose content (never its name or declared type) is not one the route accepts, or cannot be cleaned."""

    status, title, type_suffix = 415, "Unsupported media type", "unsupported-media-type"
