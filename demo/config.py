"""Where the five services answer: command-line flags, then environment variables, then the `make run` ports."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from shared.settings import DEV_JWT_KID, SERVICE_PORTS, SERVICES

__all__ = ["SERVICES", "Config", "parse"]


@dataclass(frozen=True)
class Config:
    urls: dict[str, str]
    #: The Ed25519 key (PEM) the demo signs its tokens with, and its kid; None: the development key of make run.
    signing_key: str | None = None
    kid: str = DEV_JWT_KID
    ward_id: str = "phu-son"
    #: How long to wait for an effect that travels through Kafka before calling the run failed.
    timeout: float = 60.0
    #: Where people open the console (printed with the demo's accounts).
    console_url: str = f"http://127.0.0.1:{SERVICE_PORTS['console']}"

    def url(self, service: str) -> str:
        return self.urls[service].rstrip("/")


def parse(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m demo", description=(
        "Replay the Phú Sơn article against a running platform (make run) through its HTTP APIs, then print "
        "the article's figures as the services report them. Exits 1 if a figure does not match."))
    for svc in SERVICES:
        env = f"DEMO_{svc.upper()}_URL"
        parser.add_argument(f"--{svc}", default=os.environ.get(env, f"http://127.0.0.1:{SERVICE_PORTS[svc]}"),
                            help=f"base URL of {svc} (env {env}; default :{SERVICE_PORTS[svc]})")
    parser.add_argument("--ward", default=os.environ.get("DEMO_WARD", "phu-son"), help="ward id (default phu-son)")
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("DEMO_TIMEOUT", "60")),
                        help="seconds to wait for an effect carried by Kafka (default 60)")
    parser.add_argument("--signing-key", default=os.environ.get("DEMO_SIGNING_KEY"),
                        help="PEM file of the Ed25519 key to sign tokens with, whose public key the services trust "
                             "(default: the development key that make run trusts)")
    parser.add_argument("--kid", default=os.environ.get("DEMO_KID", DEV_JWT_KID),
                        help=f"the key id of --signing-key (default {DEV_JWT_KID})")
    parser.add_argument("--console", default=os.environ.get("DEMO_CONSOLE_URL",
                                                            f"http://127.0.0.1:{SERVICE_PORTS['console']}"),
                        help="where people open the console, printed with the accounts the demo made (env "
                             "DEMO_CONSOLE_URL)")
    args = parser.parse_args(argv)
    return Config(urls={svc: getattr(args, svc) for svc in SERVICES}, signing_key=args.signing_key, kid=args.kid,
                  ward_id=args.ward, timeout=args.timeout, console_url=args.console)
