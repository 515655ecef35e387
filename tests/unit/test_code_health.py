"""The code stays lint-clean and free of dead code: ``make test`` is what CI runs, so these run in it.

ruff with the rules in pyproject.toml; vulture (configured in pyproject.toml) for functions, methods, classes,
attributes and imports nothing uses. A name a framework calls by convention goes in ``[tool.vulture]
ignore_names``; anything else vulture finds is deleted, not whitelisted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_ruff_finds_nothing():
    run = subprocess.run([BIN / "ruff", "check", "--no-cache", "--output-format", "concise", "."], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_vulture_finds_no_dead_code():
    run = subprocess.run([BIN / "vulture"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode in (0, 3), run.stderr  # 3: it found something (judged below)
    dead = [line for line in run.stdout.splitlines() if not re.search(r": unused variable '", line)]
    assert dead == [], "\n".join(dead)
