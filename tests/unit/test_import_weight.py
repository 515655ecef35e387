"""A service keeps resident only what it uses at rest (issue 19: each service at most 120 MiB at rest). Heavy
libraries that serve a rare request (a PDF drawn, an image read) are imported when first needed: fpdf2 alone, with
the Pillow and fontTools it loads, is ~38 MiB, and took the awards service to 125 MiB at rest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shared.topology import DATABASE_SERVICES

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("fpdf", "PIL", "fontTools", "matplotlib", "locust", "gevent", "moto", "playwright")


PROBE = """
import importlib, json, sys
found = {}
for service in sys.argv[1:]:
    importlib.import_module(f"services.{service}.bootstrap")
    found[service] = [m for m in HEAVY if m in sys.modules and not any(m in v for v in found.values())]
print(json.dumps(found))
"""


def test_starting_a_service_imports_no_heavy_library() -> None:
    """One process imports every service's composition root in turn; a heavy module is charged to the first
    service whose import brought it in."""
    import json

    out = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY!r}" + PROBE, *DATABASE_SERVICES], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert sorted(found) == sorted(DATABASE_SERVICES)
    assert {s: mods for s, mods in found.items() if mods} == {}
