"""The browser of the browser tests: Debian's ``chromium`` driven by Playwright through ``executable_path``
(Playwright's own browser download cannot reach its server here, nor from CI).

Found on the PATH; when it is missing and the tests run as root on Debian (CI does), installed with apt-get;
otherwise the tests are skipped with the reason and the command that would make them run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser")
#: Screenshots and axe reports, one folder per test (gitignored).
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"


def _found() -> str | None:
    return next((p for p in map(shutil.which, NAMES) if p), None)


def chromium_path() -> str:
    found = _found()
    if found:
        return found
    if not shutil.which("apt-get"):
        pytest.skip("no chromium on the PATH, and no apt-get to install it: install a Chromium and put it on the PATH")
    if os.geteuid() != 0:
        pytest.skip("no chromium on the PATH, and not root to install it: run `sudo apt-get install -y chromium`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env, capture_output=True, text=True,
                         timeout=900)
    if run.returncode != 0:  # the package lists may be missing on a fresh machine
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        run = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env, capture_output=True,
                             text=True, timeout=900)
    found = _found()
    if not found:
        pytest.skip(f"`apt-get install -y chromium` failed ({run.returncode}): {run.stderr.strip()[-300:]}")
    return found


#: Chromium as root in a container needs --no-sandbox (no user namespaces); the pages are our own.
LAUNCH_ARGS = ["--no-sandbox", "--disable-dev-shm-usage"]
