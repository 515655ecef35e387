"""`make run` (python -m shared.devstack run) from nothing: embedded PostgreSQL and tansu, migrations, the six
services ready (how long it took is printed, never asserted: a loaded CI machine took 88 s where a quiet one takes 16 s),
their API docs printed; Ctrl-C (SIGINT) stops everything; and started again at
once (its ports' connections still in TIME_WAIT), it comes up again on the same ports and data."""

from __future__ import annotations

import json
import os
import random
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
from shared.settings import SERVICE_PORTS, SERVICES

# Two starts, the README's walk-through and two stops: on a loaded 2-core CI machine more than the suite's 180 s.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def _free_block(n: int = len(SERVICE_PORTS)) -> int:
    """n free ports in a row below the ephemeral range, from a random start: runs on one machine at once (xdist
    workers, several checkouts) rarely try the same block between the check and the bind."""
    start = random.randrange(21001, 30000)
    for base in [*range(start, 32000, 17), *range(21001, start, 17)]:
        if all(port_is_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no block of free ports")


def _start(data: Path, base: int, patience: float = 300) -> tuple[subprocess.Popen[str], str, float]:
    """Start `make run`; return the process, what it printed until it was ready (or gave up after ``patience``
    seconds), and how long."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "shared.devstack", "run", "--data-dir", str(data),
                             "--port-base", str(base)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops everything" in line or time.monotonic() - started > patience:
                break
    except BaseException:  # pytest-timeout's signal, Ctrl-C: the half-started platform must not outlive the test
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    return proc, "".join(lines), time.monotonic() - started


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    return rest


def _first_ten_minutes(data: Path, base: int) -> None:
    """The README's walk-through, as it stands, against this platform (its ports and data directory)."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- first-ten-minutes", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    for i, svc in enumerate(SERVICE_PORTS):
        block = block.replace(f"127.0.0.1:{SERVICE_PORTS[svc]}", f"127.0.0.1:{base + i}")
    block = block.replace(".data/logs", f"{data}/logs")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert '"ward_id":"tan-an"' in out.replace(" ", "") and "Tổ dân phố số 1" in out  # the commands answered
    groups = json.loads(out.splitlines()[2])  # incidents' public groups: the event arrived there
    assert [g["name"] for g in groups["items"]] == ["Tổ dân phố số 1"], out
    traced = [json.loads(line) for line in out.splitlines()[3:]]
    assert {r["service"] for r in traced} >= {"registry", "incidents"}, out  # one trace across both services
    assert {r["logger"] for r in traced} >= {"ward.access", "ward.events"}, out


def test_make_run_brings_the_platform_up_ctrl_c_stops_it_and_it_starts_again_at_once() -> None:
    data = Path(tempfile.mkdtemp(prefix="ward-make-run-"))
    os.chmod(data, 0o755)
    base = _free_block()
    proc, output, ready_after = _start(data, base)
    try:
        assert f"all {len(SERVICE_PORTS)} services ready" in output, output
        assert f"console    http://127.0.0.1:{base + list(SERVICE_PORTS).index('console')}/" in output, output  # the console, where to sign in
        print(f"make run: all services ready after {ready_after:.1f} s")
        for svc in SERVICES:
            i = list(SERVICE_PORTS).index(svc)  # the block follows SERVICE_PORTS, the console among them
            assert f"http://127.0.0.1:{base + i}/docs" in output and svc in output
            with urllib.request.urlopen(f"http://127.0.0.1:{base + i}/health/ready", timeout=5) as r:
                assert r.status == 200
        assert re.search(r"schema ready \(\d+ migrations applied\)", output)
        assert (data / "postgres" / "PG_VERSION").exists()  # the data survives a restart
        assert f"data in {data}/postgres" in output and f"logs in {data}/logs/" in output  # where they really are
        assert ".data/" not in output, output
        _first_ten_minutes(data, base)
    finally:
        rest = _stop(proc)
    assert proc.returncode == 0, rest
    assert "stopped" in rest
    for i in range(len(SERVICE_PORTS)):  # nobody listens any more
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", base + i)) != 0

    # At once again: the health checks above left connections in TIME_WAIT on the services' ports.
    again, output, _ = _start(data, base)
    try:
        assert "is taken" not in output, output
        assert f"all {len(SERVICE_PORTS)} services ready" in output, output
        assert "schema ready (0 migrations applied)" in output  # the same data directory, already migrated
        with urllib.request.urlopen(f"http://127.0.0.1:{base}/health/ready", timeout=5) as r:
            assert r.status == 200
    finally:
        rest = _stop(again)
    assert again.returncode == 0, rest
