"""docs/subscribing.md is all a neighbouring ward reads: every feed operation it names must exist in the feed's
OpenAPI document (a renamed route fails here, not in a neighbour's first try), and the example's README names
only options the example has."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from services.feed.bootstrap import build
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "subscribing.md").read_text()
EXAMPLE = ROOT / "examples" / "neighbour-ward"


def _operations(text: str) -> set[tuple[str, str]]:
    """(METHOD, templated path) of every `GET|POST /v1/...` and every curl to "$FEED/v1/..." in the text."""
    found = {(m, p) for m, p in re.findall(r"\b(GET|POST) (/v1/[\w{}/.-]+)", text)}
    for line in re.findall(r"curl [^\n]*(?:\\\n[^\n]*)*", text):
        method = "POST" if "-X POST" in line else "GET"
        found |= {(method, p) for p in re.findall(r"\$FEED(/v1/[\w{}/.-]+)", line)}
    return {(m, re.sub(r"\{[^}]+\}", "{}", p.rstrip("/."))) for m, p in found}


def test_every_operation_the_guide_names_exists_in_the_feeds_openapi():
    app = build(ServiceSettings(service_name="feed", database_url="postgresql://u:p@127.0.0.1:1/x"))
    spec = {(method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
            for path, ops in app.openapi()["paths"].items() for method in ops}
    named = _operations(DOC)
    assert len(named) >= 10, named
    assert named <= spec, sorted(named - spec)
    # the contract, which the guide points to without a token
    assert "$FEED/asyncapi/public.yaml" in DOC and ("GET", "/asyncapi/public.yaml") in spec
    assert "$FEED/schemas/<type>.json" in DOC and ("GET", "/schemas/{}.json") in spec


def test_the_examples_readme_names_only_options_it_has():
    helped = subprocess.run([sys.executable, "-m", "neighbour", "--help"], cwd=EXAMPLE, capture_output=True,
                            text=True, timeout=60, check=True).stdout
    readme = (EXAMPLE / "README.md").read_text()
    for option in set(re.findall(r"`(--[a-z-]+)", readme)):
        assert option in helped, option
