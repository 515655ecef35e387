"""The problem catalogue, its documentation and the error classes agree: every type a service can send is
documented, here and on the page each service serves."""

from __future__ import annotations

from pathlib import Path

import shared.outbox  # noqa: F401 - defines a problem class of its own
from shared import errors, problems
from shared.edge import UnstorableText
from shared.limits import too_large

DOCS = Path(__file__).resolve().parents[2] / "docs" / "problems.md"


def _subclasses(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]


def test_every_problem_class_has_a_documented_type():
    text, page = DOCS.read_text(), problems.render_html()
    for cls in [errors.ProblemError, *_subclasses(errors.ProblemError)]:
        entry = problems.BY_SLUG.get(cls.type_suffix)
        assert entry is not None and entry.status == cls.status, cls
        assert f'<a id="{cls.type_suffix}"></a>' in text and f'id="{cls.type_suffix}"' in page, cls
    for p in problems.CATALOGUE:
        assert f'<a id="{p.slug}"></a>\n## {p.title} ({p.status}, `{p.slug}`)\n\n{p.meaning}\n' in text, p.slug


def test_type_uris_are_documentation_links_or_about_blank():
    assert problems.type_uri("/problems", "conflict") == "/problems#conflict"
    assert problems.type_uri("https://docs.example.org/problems.html", "forbidden") == (
        "https://docs.example.org/problems.html#forbidden")
    assert problems.type_uri("/problems", "http-418") == "about:blank"
    assert problems.BY_STATUS[UnstorableText("x").status_code] == "invalid-input"
    assert too_large(10).type_suffix in problems.BY_SLUG and problems.BY_STATUS[413] == too_large(10).type_suffix
