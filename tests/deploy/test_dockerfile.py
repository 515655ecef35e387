"""The one image of the five services: multi-stage, slim, non-root, built from the lock file, with a health check."""

from __future__ import annotations

import http.server
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.settings import SERVICE_PORTS
from tests.deploy.files import DEPLOY, ROOT, compose, healthcheck_module, render_module

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def stages() -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            name = rest.split(" AS ")[-1].strip() if " AS " in rest else str(len(found))
            current = found.setdefault(name, [("FROM", rest)])
        elif found:
            current.append((keyword, rest))
    return found


def args_default(name: str) -> str:
    return next(rest.split("=", 1)[1] for kw, rest in instructions() if kw == "ARG" and rest.startswith(name + "="))


def test_multi_stage_on_slim_python_311():
    built = stages()
    assert list(built) == ["build", "runtime"]
    assert args_default("PYTHON_IMAGE").startswith("python:3.11-slim")
    for stage in built.values():
        assert stage[0][1].startswith("${PYTHON_IMAGE}")
    runtime = built["runtime"]
    assert ("COPY", "--from=build /opt/venv /opt/venv") in runtime
    assert not any(kw == "RUN" and "pip install" in rest for kw, rest in runtime)  # no build tools in the image


def test_dependencies_come_from_the_lock_file_without_dev_tools():
    build = stages()["build"]
    assert ("COPY", "pyproject.toml requirements.lock ./") in build
    (install,) = [rest for kw, rest in build if kw == "RUN" and "pip install" in rest]
    assert "-c requirements.lock" in install and "['project']['dependencies']" in install
    assert "pip check" in install


def test_runs_as_a_numeric_non_root_user_and_listens_on_all_interfaces():
    runtime = stages()["runtime"]
    users = [rest for kw, rest in runtime if kw == "USER"]
    assert users and users[-1] == f"{render_module().IMAGE_UID}:{render_module().IMAGE_UID}"
    env = " ".join(rest for kw, rest in runtime if kw == "ENV")
    assert "HTTP_HOST=0.0.0.0" in env and "ENVIRONMENT=production" in env
    exposed = {int(p) for kw, rest in runtime if kw == "EXPOSE" for p in rest.split()}
    assert exposed == set(SERVICE_PORTS.values())


def test_the_service_is_chosen_by_build_argument_or_command():
    runtime = stages()["runtime"]
    assert ("ARG", 'SERVICE=""') in runtime
    cmd = next(rest for kw, rest in runtime if kw == "CMD")
    assert "exec python -m" in cmd and "services.${WARD_SERVICE" in cmd
    for name, svc in compose()["services"].items():
        if name in SERVICE_PORTS:
            assert svc["command"] == ["python", "-m", f"services.{name}"]


def test_image_carries_the_code_the_services_need_and_nothing_local():
    runtime = stages()["runtime"]
    copied = " ".join(rest for kw, rest in runtime if kw == "COPY")
    for path in ("shared", "services", "deploy/healthcheck.py"):
        assert path in copied
    ignored = (ROOT / ".dockerignore").read_text().split()
    for secret_or_local in (".env", ".venv", ".data", ".git", "shared/devkeys"):
        assert secret_or_local in ignored


def test_healthcheck_instruction_uses_the_readiness_script():
    check = next(rest for kw, rest in stages()["runtime"] if kw == "HEALTHCHECK")
    assert check.endswith('CMD ["python", "/app/deploy/healthcheck.py"]')


# ---- deploy/healthcheck.py, run for real against an HTTP server -------------------------------------------------

class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health/ready" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _run_check(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.run([sys.executable, str(DEPLOY / "healthcheck.py"), *args], env=env, capture_output=True,
                          timeout=30).returncode


def test_healthcheck_passes_only_when_ready(health_server):
    port = health_server.server_address[1]
    _Health.status = 200
    assert _run_check(f"http://127.0.0.1:{port}/health/ready") == 0
    assert _run_check(env={"HTTP_PORT": str(port), "PATH": "/usr/bin:/bin"}) == 0  # the URL from HTTP_PORT
    _Health.status = 503  # database or broker unavailable
    assert _run_check(f"http://127.0.0.1:{port}/health/ready") == 1
    health_server.shutdown()
    health_server.server_close()
    assert _run_check(f"http://127.0.0.1:{port}/health/ready") == 1  # nothing listens


def test_healthcheck_finds_the_port_from_the_build_argument_or_the_command(tmp_path: Path):
    hc = healthcheck_module()
    assert hc.default_url({"WARD_SERVICE": "mediation"}) == "http://127.0.0.1:8003/health/ready"
    cmdline = tmp_path / "cmdline"
    cmdline.write_bytes(b"python\0-m\0services.donations\0")
    assert hc.default_url({}, str(cmdline)) == "http://127.0.0.1:8004/health/ready"
