"""The generated deployment files are in sync with the code, and they do what they say when run for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from shared.devstack.stack import PG_SUPERUSER_PASSWORD, EmbeddedPostgres, load_topics
from shared.events import load_all_contracts
from shared.migrations import app_role, migrate, owner_role
from shared.settings import SERVICES, ServiceSettings
from tests.deploy.files import render_module

render = render_module()


def test_generated_files_match_what_the_code_renders():
    stale = [str(path) for path, text in render.render_all().items() if not path.exists() or path.read_text() != text]
    assert not stale, f"run `.venv/bin/python deploy/render.py`: {stale}"
    assert os.access(render.TOPICS_SCRIPT, os.X_OK)


def test_topic_list_holds_every_topic_the_contracts_declare_and_every_dead_letter_topic():
    listed = {t["name"] for t in load_topics()}
    declared = {cls.topic for cls in load_all_contracts().values()}
    assert declared, "the contracts declare topics"
    assert declared <= listed, f"topics used by contracts but missing from deploy/topics.json: {declared - listed}"
    dead_letters = {ServiceSettings(service_name=s, database_url="postgresql://x@h/d").dead_letter_topic
                    for s in SERVICES}
    assert dead_letters <= listed


@pytest.fixture
def fake_kafka_topics(tmp_path: Path) -> Path:
    """Records its arguments. No JVM here: this runs the real init script, not Kafka."""
    log = tmp_path / "calls"
    tool = tmp_path / "kafka-topics.sh"
    tool.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> {log}\n')
    tool.chmod(0o755)
    return tool


def test_init_script_creates_exactly_the_listed_topics_with_the_requested_replication(fake_kafka_topics: Path):
    env = {"PATH": os.environ["PATH"], "KAFKA_TOPICS": str(fake_kafka_topics),
           "BOOTSTRAP_SERVERS": "kafka:9092,kafka-2:9092,kafka-3:9092",
           "TOPIC_REPLICATION_FACTOR": "3", "TOPIC_MIN_INSYNC_REPLICAS": "2"}
    subprocess.run(["bash", str(render.TOPICS_SCRIPT)], env=env, check=True, capture_output=True, timeout=30)
    calls = (fake_kafka_topics.parent / "calls").read_text().splitlines()
    created = {}
    for call in calls:
        args = call.split()
        assert args[args.index("--bootstrap-server") + 1] == env["BOOTSTRAP_SERVERS"]
        if "--create" in args:
            assert "--if-not-exists" in args  # a rerun (compose up again) leaves existing topics alone
            assert args[args.index("--replication-factor") + 1] == "3"
            assert args[args.index("--config") + 1] == "min.insync.replicas=2"
            created[args[args.index("--topic") + 1]] = int(args[args.index("--partitions") + 1])
    assert created == {t["name"]: t["partitions"] for t in load_topics()}

    del env["BOOTSTRAP_SERVERS"]
    refused = subprocess.run(["bash", str(render.TOPICS_SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "BOOTSTRAP_SERVERS" in refused.stderr


@pytest.fixture(scope="module")
def fresh_server() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server of its own: init.sql sets role passwords, and roles are cluster-wide."""
    tmp = Path(tempfile.mkdtemp(prefix="ward-deploy-pg-"))
    os.chmod(tmp, 0o755)
    server = EmbeddedPostgres(tmp / "data").start()
    try:
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(tmp, ignore_errors=True)


def _psql_init(server: EmbeddedPostgres, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # As the postgres image runs /docker-entrypoint-initdb.d/*.sql: psql -v ON_ERROR_STOP=1 --no-psqlrc.
    return subprocess.run(
        [str(server.bin / "psql"), "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-h", "127.0.0.1", "-p", str(server.port),
         "-U", "postgres", "-d", render.DATABASE, "-f", str(render.INIT_SQL)],
        env={"PATH": os.environ["PATH"], "PGPASSWORD": PG_SUPERUSER_PASSWORD, **env},
        capture_output=True, text=True, timeout=60,
    )


async def test_init_sql_provisions_each_service_so_it_can_migrate_and_reach_only_its_schema(fresh_server):
    passwords = {render.password_env(r): f"{r}-Pw'{i}" for i, r in enumerate(render.database_roles())}
    missing_one = {k: v for k, v in passwords.items() if k != "AWARDS_DB_PASSWORD"}
    refused = _psql_init(fresh_server, missing_one)
    assert refused.returncode != 0 and "AWARDS_DB_PASSWORD is not set" in refused.stderr
    assert "Pw'" not in refused.stderr  # no password echoed into the container log

    done = _psql_init(fresh_server, passwords)
    assert done.returncode == 0, done.stderr
    assert _psql_init(fresh_server, passwords).returncode == 0  # idempotent, as the embedded provisioning is

    def url(role: str) -> str:
        return f"postgresql://{role}@127.0.0.1:{fresh_server.port}/{render.DATABASE}"

    for service in SERVICES:
        owner = owner_role(service)
        applied = await migrate_with_password(url(owner), passwords[render.password_env(owner)], service)
        assert applied and applied[0].startswith("shared/"), service  # the owner may create in its schema
    for service in SERVICES:
        app = app_role(service)
        conn = await asyncpg.connect(url(app), password=passwords[render.password_env(app)])
        try:
            assert await conn.fetchval("SHOW search_path") == service
            await conn.fetchval("SELECT count(*) FROM outbox")  # its own tables, granted by default privileges
            other = next(s for s in SERVICES if s != service)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f'SELECT count(*) FROM "{other}".outbox')
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("CREATE TABLE public.sneaky (id int)")
        finally:
            await conn.close()
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(url("registry"), password="dev-registry-password")


def _pg_tool(server: EmbeddedPostgres, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A PostgreSQL client tool as the superuser, against the ``ward`` database (what operators run)."""
    where = ["-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-d", render.DATABASE]
    return subprocess.run([str(server.bin / tool), *where, *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "PGPASSWORD": PG_SUPERUSER_PASSWORD})


async def migrate_with_password(url: str, password: str, service: str) -> list[str]:
    # shared.migrations.migrate takes a DSN: put the password in it (quoted, as it holds a quote).
    from urllib.parse import quote

    user_host = url.removeprefix("postgresql://")
    user, host = user_host.split("@", 1)
    return await migrate(f"postgresql://{user}:{quote(password, safe='')}@{host}", service)


# incidents too: its place indexes are on the extensions provisioning installs in public (cube, earthdistance).
@pytest.mark.parametrize("service", ["donations", "incidents"])
async def test_one_schema_is_backed_up_and_restored_as_operations_md_says(fresh_server, tmp_path, service):
    """pg_dump -n <schema> -Fc, DROP SCHEMA, pg_restore: the service's rows and its login's rights come back."""
    passwords = {render.password_env(r): f"{r}-backup-pw" for r in render.database_roles()}
    assert _psql_init(fresh_server, passwords).returncode == 0
    owner_password = passwords[render.password_env(owner_role(service))]
    await migrate_with_password(f"postgresql://{service}_owner@127.0.0.1:{fresh_server.port}/{render.DATABASE}",
                                owner_password, service)
    app_url = f"postgresql://{service}@127.0.0.1:{fresh_server.port}/{render.DATABASE}"
    app_password = passwords[render.password_env(service)]
    conn = await asyncpg.connect(app_url, password=app_password)
    try:
        await conn.execute("INSERT INTO inbox(message_id, topic, outcome) VALUES ('kept', 'registry.teams', 'handled')")
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", service)
        indexes = await conn.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1", service)
    finally:
        await conn.close()

    dump = tmp_path / f"{service}.dump"
    assert _pg_tool(fresh_server, "pg_dump", "-n", service, "-Fc", "-f", str(dump)).returncode == 0
    assert _pg_tool(fresh_server, "psql", "-c", f"DROP SCHEMA {service} CASCADE").returncode == 0
    restored = _pg_tool(fresh_server, "pg_restore", "--exit-on-error", str(dump))
    assert restored.returncode == 0, restored.stderr

    conn = await asyncpg.connect(app_url, password=app_password)
    try:
        restored_tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", service)
        assert sorted(r[0] for r in restored_tables) == sorted(r[0] for r in tables)
        assert await conn.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1", service) == indexes
        assert await conn.fetchval("SELECT message_id FROM inbox") == "kept"  # the rows, and the login's rights
        await conn.execute("INSERT INTO inbox(message_id, topic, outcome) VALUES ('new', 'registry.teams', 'handled')")
    finally:
        await conn.close()
    # The owner still sees every migration as applied: a restart applies nothing twice.
    assert await migrate_with_password(
        f"postgresql://{service}_owner@127.0.0.1:{fresh_server.port}/{render.DATABASE}", owner_password, service
    ) == []
