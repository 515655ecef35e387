"""`make run` (python -m shared.devstack run) from nothing: embedded PostgreSQL and tansu, migrations, the five
services ready within a minute, their API docs printed; Ctrl-C (SIGINT) stops everything."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from shared.devstack.stack import ROOT, port_is_free
from shared.settings import SERVICES

pytestmark = pytest.mark.e2e


def _free_block(n: int = 5) -> int:
    for base in range(21001, 60000, 17):
        if all(port_is_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no block of free ports")


def test_make_run_brings_the_platform_up_within_a_minute_and_ctrl_c_stops_it() -> None:
    data = Path(tempfile.mkdtemp(prefix="ward-make-run-"))
    os.chmod(data, 0o755)
    base = _free_block()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "shared.devstack", "run", "--data-dir", str(data),
                             "--port-base", str(base)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops everything" in line or time.monotonic() - started > 90:
                break
        ready_after = time.monotonic() - started
        output = "".join(lines)
        assert "all five services ready" in output, output
        assert ready_after < 60, output
        for i, svc in enumerate(SERVICES):
            assert f"http://127.0.0.1:{base + i}/docs" in output and svc in output
            with urllib.request.urlopen(f"http://127.0.0.1:{base + i}/health/ready", timeout=5) as r:
                assert r.status == 200
        assert re.search(r"schema ready \(\d+ migrations applied\)", output)
        assert (data / "postgres" / "PG_VERSION").exists()  # the data survives a restart
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest
    assert "stopped" in rest
    for i in range(len(SERVICES)):  # nobody listens any more
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", base + i)) != 0
