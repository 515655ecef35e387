"""The catalogue of problem types (RFC 9457) every service answers with, and their documentation.

A problem's ``type`` is ``{PROBLEM_DOCS_URL}#{slug}``: by default ``/problems#slug``, a URI reference that every
service resolves itself (``GET /problems`` renders this catalogue), so a type always leads to its explanation
wherever the platform runs. An operator who publishes ``docs/problems.md`` (or a page of their own) sets
``PROBLEM_DOCS_URL`` to it and the types become absolute URLs. A status with no entry here is sent as
``about:blank`` with the status's reason phrase as title (RFC 9457 section 4.2.1). ``docs/problems.md`` holds
the same text; a test keeps the two and the error classes in step.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from http import HTTPStatus

DEFAULT_PROBLEM_DOCS_URL = "/problems"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    meaning: str


CATALOGUE: tuple[ProblemType, ...] = (
    ProblemType("bad-request", 400, "Bad request",
                "The request could not be read (a body that is not valid UTF-8, a malformed form)."),
    ProblemType("invalid-input", 422, "Invalid input",
                "The request does not match the operation's schema, or holds text that cannot be stored (a NUL "
                "character, an unpaired surrogate). `errors` lists each problem as `loc` (where: `path`, "
                "`query`, `header` or `body`, then the field), `msg` and `type`; the values themselves are "
                "never repeated."),
    ProblemType("unauthorized", 401, "Unauthorized",
                "No bearer token, or one that is not valid (signature, issuer, expiry, claims). The response "
                "carries `WWW-Authenticate: Bearer`. Checked before the body is read."),
    ProblemType("forbidden", 403, "Forbidden", "The token is valid but its roles do not allow this operation."),
    ProblemType("not-found", 404, "Not found",
                "No such resource, or one outside the caller's reach (the two are not told apart)."),
    ProblemType("method-not-allowed", 405, "Method not allowed",
                "The path exists but not with this method; `Allow` lists the methods it takes."),
    ProblemType("conflict", 409, "Conflict", "The request conflicts with the current state (a duplicate)."),
    ProblemType("content-too-large", 413, "Content too large",
                "The request body is larger than the route takes (refused before it is read)."),
    ProblemType("rule-violated", 422, "Rule violated",
                "The request is well-formed but breaks a domain rule (an illegal transition, a legal limit)."),
    ProblemType("event-too-large", 422, "Event too large",
                "The change would publish an event larger than the broker takes (`KAFKA_MAX_MESSAGE_BYTES`, in "
                "`limit`); nothing was changed."),
    ProblemType("too-many-requests", 429, "Too many requests",
                "The caller exceeded a rate limit; `Retry-After` says when to try again."),
    ProblemType("internal", 500, "Internal error", "An unexpected error; nothing was changed. It is logged."),
    ProblemType("unavailable", 503, "Service unavailable",
                "A dependency the request needs does not answer (the identity provider's keys, to check a token "
                "signed with a key the service has not seen); nothing was changed. Try again later."),
    ProblemType("unsupported-media-type", 415, "Unsupported media type",
                "The file's content (never its name or declared type) is not of a type the route accepts, or it "
                "cannot be cleaned of its metadata (docs/evidence.md); nothing was stored."),
)
BY_SLUG = {p.slug: p for p in CATALOGUE}
#: The slug of an HTTP error raised by the framework itself (unknown route, wrong method, ...), by status.
BY_STATUS = {p.status: p.slug for p in CATALOGUE if p.slug not in {"rule-violated", "event-too-large"}}


def type_uri(docs_url: str, slug: str) -> str:
    return f"{docs_url}#{slug}" if slug in BY_SLUG else "about:blank"


def title_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def render_html() -> str:
    rows = "\n".join(
        f'<section id="{p.slug}"><h2>{html.escape(p.title)} <small>({p.status}, <code>{p.slug}</code>)</small>'
        f"</h2><p>{html.escape(p.meaning)}</p></section>" for p in CATALOGUE)
    return ("<!doctype html><html lang=en><meta charset=utf-8><title>Problem types</title>"
            "<h1>Problem types</h1><p>Every error is an RFC 9457 problem (<code>application/problem+json</code>) "
            "with <code>type</code>, <code>title</code>, <code>status</code>, <code>detail</code> and "
            f"<code>instance</code>.</p>\n{rows}\n</html>")
