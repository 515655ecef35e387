"""Container health check: exit 0 when the service answers 200 on ``/health/ready``, 1 otherwise.

    python /app/deploy/healthcheck.py [URL]

Without URL: ``http://127.0.0.1:$HTTP_PORT/health/ready``; without HTTP_PORT, the port of the service named by
``WARD_SERVICE`` (the image's build argument) or by the container's command (``python -m services.<name>``). Ready means the service's database and the broker answer
(``shared.http``). Standard library only, as it runs every few seconds.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path


def service_in_command(cmdline: bytes) -> str | None:
    """``registry`` from a /proc/<pid>/cmdline such as ``python\0-m\0services.registry\0``."""
    for arg in cmdline.decode(errors="replace").split("\0"):
        if arg.startswith("services.") and arg.count(".") == 1:
            return arg.split(".", 1)[1]
    return None


def default_url(environ: dict[str, str] | None = None, cmdline_path: str = "/proc/1/cmdline") -> str:
    env = os.environ if environ is None else environ
    port = env.get("HTTP_PORT")
    if not port:
        service = env.get("WARD_SERVICE")
        if not service:
            try:
                service = service_in_command(Path(cmdline_path).read_bytes())
            except OSError:
                service = None
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from shared.settings import SERVICE_PORTS  # only when the port is not given: it imports pydantic

        port = str(SERVICE_PORTS[service or ""])
    return f"http://127.0.0.1:{port}/health/ready"


def check(url: str, timeout: float = 4.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):  # 503 (HTTPError), refused, timeout
        return False


def main(argv: list[str]) -> int:
    url = argv[0] if argv else default_url()
    if check(url):
        return 0
    print(f"not ready: {url}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
