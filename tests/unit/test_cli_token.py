"""`wardctl token` starts fast: it imports neither the web stack nor the settings (issue 20: a script needing
twenty tokens waited half a minute), and the token it prints is one the services accept."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from shared.auth import TokenVerifier
from shared.settings import ServiceSettings

PROBE = """
import contextlib, io, sys
from shared.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    rc = main(["token", "--roles", "ward_official", "--ward", "phu-son", "--sub", "fast"])
heavy = sorted(m for m in ("fastapi", "starlette", "pydantic_settings", "asyncpg", "aiokafka") if m in sys.modules)
print(rc, ",".join(heavy) or "-", out.getvalue().strip())
"""


async def test_wardctl_token_imports_nothing_heavy_and_mints_a_token_the_services_accept():
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", PROBE], capture_output=True, text=True,
                                   check=True)
    rc, heavy, token = done.stdout.split()
    assert (rc, heavy) == ("0", "-")
    principal = await TokenVerifier(ServiceSettings(service_name="registry",
                                                    database_url="postgresql://u:p@127.0.0.1:1/x")).verify(token)
    assert principal.subject == "fast" and principal.ward_id == "phu-son"
