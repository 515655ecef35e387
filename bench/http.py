"""``make bench``, HTTP under 50 clients: the incidents service's main reads and write against a bare FastAPI twin.

One incidents process (``python -m services.incidents``, as ``make run`` starts it) is seeded through its own API
(``SEED`` identified reports in ten residential groups, the groups made known as the registry's events would make
them), then locust (``bench/locustfile.py``, headless, in its own process) runs ``USERS`` clients that loop without
pause for ``seconds``: the ward's list as the police read it, one incident, a resident's report (4:4:2). The same
load then runs against ``bench/http_twin.py`` (uvicorn, one process, the same SQL on the same database; what it
leaves out is in its docstring). Each run starts from the same seeded rows: what the previous one wrote is deleted.

Rate limits: the routes measured have none (``shared/ratelimit.py`` limits only the anonymous and public routes:
anonymous tips, follow-ups, verification), so the load is identified reports and reads, and an error here is a
real one, not a 429. The resident tokens are spread over ``RESIDENTS`` people anyway.

Memory: the service's resident set (psutil) at rest after its start and its peak under the load, sampled every
0.2 s; the twin's alongside.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx

from shared.devstack.stack import ServiceProcess, free_port, service_env
from tests.conftest import token

ROOT = Path(__file__).resolve().parents[1]
WARD = "phu-son"
USERS = 50
SEED = 500
RESIDENTS = 20
GROUPS = [f"bench-grp-{i}" for i in range(10)]
CATEGORIES = ["theft", "fraud", "drugs", "fire", "dispute", "public_order", "other"]


@dataclass(frozen=True)
class Stats:
    """One endpoint's line of a locust run (milliseconds; locust rounds times over 100 ms to 10 ms)."""

    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p99: float

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else float("nan")


def parse_stats(path: Path) -> dict[str, Stats]:
    """Locust's ``<prefix>_stats.csv``: one ``Stats`` per endpoint name, and ``Aggregated`` for the whole run."""
    out = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            name = row["Name"]
            out[name] = Stats(
                name,
                int(row["Request Count"]),
                int(row["Failure Count"]),
                float(row["Requests/s"]),
                float(row["50%"]) if row["50%"] != "N/A" else float("nan"),
                float(row["99%"]) if row["99%"] != "N/A" else float("nan"),
            )
    return out


def parse_failures(path: Path) -> list[str]:
    """Locust's ``<prefix>_failures.csv`` as ``"<n> x <method> <name>: <error>"`` lines."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [
            f"{r['Occurrences']} x {r['Method']} {r['Name']}: {r['Error'][:160]}" for r in csv.DictReader(f)
        ]


class PeakRss:
    """The largest resident set of a process, sampled every ``every`` seconds in a thread while in use."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.every = every
        self.peak = 0.0
        self.cpu_started = self.cpu_used = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def now(self) -> float:
        return self.proc.memory_info().rss / 2**20

    def cpu_s(self) -> float:
        """CPU seconds the process has used (user + system): per request, the figure a busy machine bends least."""
        times = self.proc.cpu_times()
        return times.user + times.system

    def _sample(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # the process may be gone at the end
                self.peak = max(self.peak, self.now())
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRss:
        self.cpu_started = self.cpu_s()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(Exception):
            self.cpu_used = self.cpu_s() - self.cpu_started


def run_locust(host: str, data: Path, prefix: Path, seconds: int, users: int = USERS) -> dict[str, Stats]:
    """locust headless against ``host`` for ``seconds``; its per-endpoint stats."""
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{seconds}s",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    log = prefix.with_suffix(".log")
    with log.open("wb") as out:
        subprocess.run(
            cmd,
            cwd=ROOT,
            env={**os.environ, "BENCH_HTTP_DATA": str(data)},
            stdout=out,
            stderr=out,
            timeout=seconds + 60,
            check=False,
        )  # locust exits 1 when any request failed
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise RuntimeError(f"locust wrote no stats: {log.read_text()[-2000:]}")
    return parse_stats(stats)


async def _seed(base: str, residents: list[str], n: int) -> list[str]:
    ids: list[str] = []
    queue = iter(range(n))

    async def worker(c: httpx.AsyncClient) -> None:
        for i in queue:
            r = await c.post(
                "/v1/incidents",
                headers={"Authorization": f"Bearer {residents[i % len(residents)]}"},
                json={
                    "category": CATEGORIES[i % len(CATEGORIES)],
                    "place": {"group_id": GROUPS[i % len(GROUPS)], "address": f"{i} ngõ 5"},
                    "description": f"bench report {i}: xe máy bị lấy trộm",
                    "reporter": {"full_name": f"Người dân {i % len(residents)}"},
                },
            )
            r.raise_for_status()
            ids.append(r.json()["incident_id"])

    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        await asyncio.gather(*(worker(c) for _ in range(8)))
    return ids


async def _reset(db, keep: list[str]) -> None:
    """Delete what a load wrote (incidents, their transitions, outbox rows), so that each run reads the same rows."""
    owner = await asyncpg.connect(db.owner_url("incidents"))
    try:
        await owner.execute('SET search_path TO "incidents"')
        await owner.execute("DELETE FROM incident_transitions WHERE incident_id <> ALL($1::text[])", keep)
        await owner.execute("DELETE FROM incidents WHERE incident_id <> ALL($1::text[])", keep)
        await owner.execute(
            "DELETE FROM outbox WHERE published_at IS NOT NULL OR topic = 'incidents.incidents'"
        )
        await owner.execute("VACUUM (ANALYZE) incidents, incident_transitions, outbox")
    finally:
        await owner.close()


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


@contextlib.contextmanager
def twin_process(db) -> Iterator[tuple[str, int]]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.http_twin:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--no-proxy-headers",
        ],
        cwd=ROOT,
        env={**os.environ, "TWIN_DATABASE_URL": db.app_url("incidents")},
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/v1/incidents")
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Result:
    platform: dict[str, Stats]
    raw: dict[str, Stats]
    rest_mib: float
    peak_mib: float
    raw_rest_mib: float
    raw_peak_mib: float
    seconds: int
    failures: list[str]
    cpu_s: float = 0.0  # CPU seconds the service process used during its load (its relay included)
    raw_cpu_s: float = 0.0


async def run(db, bootstrap: str, seconds: int = 20, say: Callable[[str], None] = print) -> Result:
    tmp = Path(tempfile.mkdtemp(prefix="ward-bench-http-"))
    conn = await db.connect("incidents")
    try:
        await conn.executemany(
            "INSERT INTO known_groups (group_id, ward_id, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [(g, WARD, f"Tổ {i}") for i, g in enumerate(GROUPS)],
        )
    finally:
        await conn.close()
    ttl = {"ttl": timedelta(minutes=30)}
    residents = [
        token("resident", WARD, sub=f"bench-resident-{i}", resident_id=f"bench-res-{i}", **ttl)
        for i in range(RESIDENTS)
    ]
    service = ServiceProcess(
        "incidents",
        service_env("incidents", db.admin_url, bootstrap, port=free_port(), ENVIRONMENT="test"),
        tmp / "incidents.log",
    ).start()
    try:
        await asyncio.to_thread(service.wait_ready, 90)
        assert service.proc is not None
        await asyncio.sleep(1)
        rss = PeakRss(service.proc.pid)
        rest = rss.now()
        seeded = await _seed(service.base_url, residents, SEED)
        data = tmp / "data.json"
        data.write_text(
            json.dumps(
                {
                    "residents": residents,
                    "police": token("police", WARD, **ttl),
                    "groups": GROUPS,
                    "incidents": seeded,
                    "categories": CATEGORIES,
                }
            )
        )
        with rss:
            platform = await asyncio.to_thread(run_locust, service.base_url, data, tmp / "platform", seconds)
        failures = parse_failures(tmp / "platform_failures.csv")
    finally:
        service.stop()
    await _reset(db, seeded)
    with twin_process(db) as (base, pid):
        twin_rss = PeakRss(pid)
        raw_rest = twin_rss.now()
        with twin_rss:
            raw = await asyncio.to_thread(run_locust, base, data, tmp / "raw", seconds)
        failures += [f"raw twin: {f}" for f in parse_failures(tmp / "raw_failures.csv")]
    await _reset(db, seeded)
    shutil.rmtree(tmp, ignore_errors=True)
    for line in failures[:10]:
        say(f"http failures: {line}")
    return Result(platform, raw, rest, rss.peak, raw_rest, twin_rss.peak, seconds, failures, rss.cpu_used,
                  twin_rss.cpu_used)


def table(result: Result) -> list[str]:
    """The lines ``python -m bench`` prints."""
    lines = [
        f"\nHTTP, {USERS} clients, {result.seconds} s each (ms; req/s){'':8}platform{'':27}raw twin{'':14}ratio",
        f"{'endpoint':<28}{'p50':>7}{'p99':>7}{'req/s':>8}{'errors':>8}   {'p50':>7}{'p99':>7}{'req/s':>8}"
        f"{'p99 x':>9}{'req/s':>7}",
    ]
    names = [n for n in result.platform if n != "Aggregated"] + ["Aggregated"]
    for name in names:
        p, r = result.platform.get(name), result.raw.get(name)
        if p is None or r is None:
            continue
        label = "all (4:4:2 mix)" if name == "Aggregated" else name
        lines.append(
            f"{label:<28}{p.p50:>7.0f}{p.p99:>7.0f}{p.rps:>8.0f}{p.error_rate:>8.1%}   {r.p50:>7.0f}"
            f"{r.p99:>7.0f}{r.rps:>8.0f}{p.p99 / r.p99:>8.1f}x{p.rps / r.rps:>7.2f}"
        )
    p, r = result.platform.get("Aggregated"), result.raw.get("Aggregated")
    if p is not None and r is not None and p.requests and r.requests and result.cpu_s and result.raw_cpu_s:
        mine, raw = result.cpu_s * 1000 / p.requests, result.raw_cpu_s * 1000 / r.requests
        lines.append(f"CPU per request (the process's user + system time / requests): platform {mine:.2f} ms, "
                     f"raw twin {raw:.2f} ms, ratio {raw / mine:.2f}")
    lines.append(
        f"memory under HTTP load: incidents {result.rest_mib:.0f} MiB at rest, peak {result.peak_mib:.0f} MiB "
        f"(target <= 120); raw twin {result.raw_rest_mib:.0f} / {result.raw_peak_mib:.0f} MiB"
    )
    return lines
