"""``python -m shared.devstack run``: the whole platform on one machine (``make run``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from shared.devstack.stack import (
    ROOT,
    EmbeddedPostgres,
    ServiceProcess,
    TansuBroker,
    create_topics,
    owner_url,
    port_is_free,
    service_env,
)
from shared.migrations import migrate, provision
from shared.settings import DATABASE_SERVICES, SERVICE_PORTS, SERVICES, WEB_SERVICES

DEFAULT_PORT_BASE = SERVICE_PORTS["registry"]


def _say(msg: str) -> None:
    try:
        print(f"[ward] {msg}", flush=True)
    except OSError:  # nobody reads any more (a closed terminal, a test that gave up): stopping must still stop all
        pass


def _shown(path: Path) -> str:
    """A path as a person would type it: relative to the checkout when inside it (``.data``), else absolute."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    data = Path(args.data_dir).resolve() if args.data_dir else ROOT / ".data"
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    shown = _shown(data)
    usual = args.port_base == DEFAULT_PORT_BASE
    pg: EmbeddedPostgres | None = None
    broker: TansuBroker | None = None
    procs: list[ServiceProcess] = []
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        admin_url = os.environ.get("DATABASE_URL")
        if admin_url:
            _say("using PostgreSQL from DATABASE_URL")
        else:
            # The usual ports for the usual platform; another one on the same machine (--port-base, the tests) takes
            # free ones rather than race the first for them.
            port = 55432 if usual and port_is_free(55432) else None
            pg = EmbeddedPostgres(data / "postgres", port).start()
            admin_url = pg.admin_url
            _say(f"embedded PostgreSQL on 127.0.0.1:{pg.port} (data in {shown}/postgres)")
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if bootstrap:
            _say(f"using Kafka at {bootstrap}")
        else:
            broker = TansuBroker(19092 if usual and port_is_free(19092) else None, logs / "tansu.log").start()
            bootstrap = broker.bootstrap
            _say(f"embedded tansu broker on {bootstrap} (memory only: its log is lost on restart; "
                 "`wardctl republish` refills it from the outboxes)")
        asyncio.run(create_topics(bootstrap))

        async def _migrate() -> None:
            await provision(admin_url)
            for svc in DATABASE_SERVICES:
                applied = await migrate(owner_url(admin_url, svc), svc)
                _say(f"{svc}: schema ready ({len(applied)} migrations applied)")

        asyncio.run(_migrate())
        ports = {svc: SERVICE_PORTS[svc] - DEFAULT_PORT_BASE + args.port_base for svc in SERVICE_PORTS}
        api_urls = json.dumps({svc: f"http://127.0.0.1:{ports[svc]}" for svc in SERVICES})
        for svc in (*SERVICES, *WEB_SERVICES):
            port = ports[svc]
            if not port_is_free(port):
                _say(f"port {port} for {svc} is taken: stop whatever uses it first")
                return 1
            extra = {"CONSOLE_API_URLS": api_urls} if svc in WEB_SERVICES else {}
            if svc == "notify":  # its messages link to this stack's console
                extra["NOTIFY_CONSOLE_URL"] = f"http://127.0.0.1:{ports['console']}"
            env = service_env(svc, admin_url, bootstrap, port=port, data_dir=data, **extra)
            procs.append(ServiceProcess(svc, env, logs / f"{svc}.log").start())
        for p in procs:
            p.wait_ready(90)
        _say(f"all {len(procs)} services ready in {time.monotonic() - started:.1f}s:")
        for p in procs:
            if p.service in WEB_SERVICES:
                _say(f"  {p.service:<10} {p.base_url}/   (sign in with an account of identity; `make demo` makes "
                     "accounts for the seed ward's people and prints their sign-in names)")
                continue
            _say(f"  {p.service:<10} {p.base_url}/docs   (OpenAPI {p.base_url}/openapi.json, "
                 f"AsyncAPI {p.base_url}/asyncapi.json)")
        _say(f"evidence files in {shown}/evidence/")
        _say(f"logs in {shown}/logs/; a development token: `make token ROLES=ward_official WARD=phu-son`")
        identity_env = service_env("identity", admin_url, bootstrap)
        _say(f"the first official's account: `SERVICE_NAME=identity DATABASE_URL={identity_env['DATABASE_URL']} "
             ".venv/bin/wardctl accounts create-official --ward phu-son --username <name>`")
        _say("Ctrl-C stops everything")
        while not stopping:
            for p in procs:
                if p.proc and p.proc.poll() is not None:
                    _say(f"{p.service} exited with {p.proc.returncode}; see {shown}/logs/{p.service}.log")
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        _say("stopping")
        for p in procs:
            p.stop()
        if broker:
            broker.stop()
        if pg:
            pg.stop()
        _say("stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.devstack")
    sub = parser.add_subparsers(dest="cmd", required=True)
    run_parser = sub.add_parser("run", help="start PostgreSQL, the broker and the six services")
    run_parser.add_argument("--data-dir", help="where PostgreSQL's data and the logs live (default: .data)")
    run_parser.add_argument("--port-base", type=int, default=DEFAULT_PORT_BASE,
                            help="registry's port; the others follow (default 8001: 8001-8007)")
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
