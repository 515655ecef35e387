"""``wardctl``: operator and developer commands.

* ``wardctl token --roles police --ward phu-son [--aud registry]`` - mint a development token (signed with the
  development key, which only development/test services trust)
* ``wardctl republish --service registry --since 2026-11-01T00:00Z [--until ...]`` - send the outbox events
  of a time range again (a broker that lost its log); consumers' inboxes make repeats harmless
* ``wardctl migrate [SERVICE ...]`` - apply the services' migrations (all six by default) as their schema owners
  (``<SERVICE>_OWNER_DATABASE_URL``): the one step that holds the owners' credentials
* ``wardctl keys status SERVICE`` - how many ciphertexts and blind indexes each key id still protects
* ``wardctl keys rotate SERVICE [--batch-size 500]`` - re-encrypt the service's personal data under its active
  keys, in batches, while it runs (resumable: run it again after an interruption)
* ``wardctl schemas [--write|--check]`` - the events' JSON Schemas, the catalogue in docs/events.md and the public
  feed's AsyncAPI document (docs/asyncapi/public-feed.yaml)
* ``wardctl dead-letters list|show|redrive|discard SERVICE [--id N] [--event-id ID] [--event-type T] [--topic T]
  [--since T] [--until T] [--all]`` - a service's dead letters: read them, hand them to its running consumer
  again, or close them with a reason (audit trail)
* ``wardctl parked SERVICE`` - events of a type the service does not know yet, waiting for a release that does
* ``wardctl accounts announce [--ward W]`` - every account's ``AccountChanged`` again (notify joining a platform)
* ``wardctl accounts create-official --ward W --username U [--name N] [--role ward_official]`` - the first official
  of a ward (or a city official, an admin with ``--ward '*'``) on the identity service; prints a one-time reset code
  with which they set a password and enrol a second factor (audited as ``operator:<who>``)
* ``wardctl audit verify SERVICE [--no-kafka] [--no-outbox]`` - check a service's audit chain row by row and
  against the heads it published (on ``<service>.audit`` and in its outbox); names the first broken link
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from shared.topology import SERVICES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "shared" / "contracts" / "schemas"
CATALOGUE = ROOT / "docs" / "events.md"
PUBLIC_ASYNCAPI = ROOT / "docs" / "asyncapi" / "public-feed.yaml"


def _dt(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cmd_token(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from shared.actor import Role
    from shared.devtokens import mint_token

    extra = {k: getattr(args, k) for k in ("resident_id", "household_id", "azp") if getattr(args, k)}
    if args.team_ids:
        extra["team_ids"] = args.team_ids.split(",")
    roles = args.roles.split(",")
    unknown_roles = sorted(set(roles) - {str(r) for r in Role})
    if unknown_roles:
        print(f"unknown role {', '.join(unknown_roles)}: one or more of {', '.join(Role)}", file=sys.stderr)
        return 2
    audience = args.aud.split(",") if args.aud else list(SERVICES)
    unknown = sorted(set(audience) - set(SERVICES))
    if unknown:
        print(f"unknown audience {', '.join(unknown)}: one or more of {', '.join(SERVICES)}", file=sys.stderr)
        return 2
    try:
        token = mint_token(subject=args.sub, roles=roles, ward=args.ward, audience=audience,
                           ttl=timedelta(seconds=args.ttl), **extra)
    except RuntimeError as exc:
        print(f"wardctl token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


async def _republish(args: argparse.Namespace) -> int:
    from shared.db import create_pool
    from shared.outbox import mark_for_republish
    from shared.settings import ServiceSettings

    settings = ServiceSettings(service_name=args.service)
    pool = await create_pool(settings.database_url, args.service, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:  # each chunk commits on its own: the relay starts on the first ones
            n = await mark_for_republish(conn, _dt(args.since), _dt(args.until) if args.until else datetime.now(UTC),
                                         args.topic or None)
    finally:
        await pool.close()
    print(f"{args.service}: {n} outbox events queued for republishing; the running relay sends them")
    return 0


async def _migrate(args: argparse.Namespace) -> int:
    from shared.migrations import migrate
    from shared.settings import DATABASE_SERVICES, MigrationSettings

    services = [*args.services, *(args.service or [])] or list(DATABASE_SERVICES)
    unknown = [s for s in services if s not in DATABASE_SERVICES]
    if unknown:
        print(f"unknown service(s): {', '.join(unknown)} (one of {', '.join(DATABASE_SERVICES)})", file=sys.stderr)
        return 2
    settings = MigrationSettings()
    try:
        urls = {svc: settings.owner_url(svc) for svc in services}
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for svc in services:
        applied = await migrate(urls[svc], svc)
        print(f"{svc}: applied {', '.join(applied) if applied else 'nothing (up to date)'}", flush=True)
    return 0


async def _keys(args: argparse.Namespace) -> int:
    from shared import keyrotation
    from shared.db import create_pool
    from shared.settings import ServiceSettings

    settings = ServiceSettings(service_name=args.service)
    if not keyrotation.encrypted_columns(args.service):
        print(f"{args.service} encrypts no personal data: it holds no key")
        return 0
    pool = await create_pool(settings.database_url, args.service, min_size=1, max_size=1)
    try:
        if args.keys_cmd == "rotate":
            pii = settings.protector()
            print(f"{args.service}: re-encrypting under key {pii.active_key_id!r}"
                  + (f", indexes under {pii.active_index_key_id!r}" if pii.index else ""), flush=True)
            try:
                done = await keyrotation.rotate(
                    pool, args.service, pii, batch_size=args.batch_size,
                    progress=lambda col, n: print(f"  {col}: {n} rewritten", flush=True))
            except keyrotation.RotationError as exc:
                print(f"rotation stopped: {exc}. What was rewritten before stays; run it again once fixed.",
                      file=sys.stderr)
                return 1
            for col, n in done.items():
                print(f"{col}: {n} rewritten")
        async with pool.acquire() as conn:
            counts = await keyrotation.status(conn, args.service)
    finally:
        await pool.close()
    for col, by_key in counts.items():
        listed = ", ".join(f"{kid}={n}" for kid, n in by_key.items()) or "none"
        print(f"{col}: {listed}")
    return 0


def _selection(args: argparse.Namespace):
    from shared.deadletters import Selection

    return Selection(ids=args.id or [], event_ids=args.event_id or [], event_type=args.event_type, topic=args.topic,
                     since=_dt(args.since) if args.since else None, until=_dt(args.until) if args.until else None,
                     everything=args.all)


async def _dead_letters(args: argparse.Namespace) -> int:
    from shared import audit
    from shared import deadletters as dl
    from shared.db import create_pool
    from shared.settings import ServiceSettings

    settings = ServiceSettings(service_name=args.service)
    keys = audit.AuditKeys.from_settings(settings)
    sel = _selection(args)
    actor = args.operator or os.environ.get("WARDCTL_OPERATOR") or getpass.getuser()
    pool = await create_pool(settings.database_url, args.service, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            if args.action in ("list", "show"):
                statuses = dl.STATUSES if args.status == "any" else (
                    (args.status,) if args.status else (dl.STATUSES if sel.ids or sel.event_ids else dl.UNRESOLVED))
                rows = await dl.select(conn, sel, statuses, limit=None if args.action == "show" else args.limit)
                if args.action == "show":
                    if not sel.narrowed:
                        print("show needs --id or another filter", file=sys.stderr)
                        return 2
                    print("\n\n".join(dl.detail(r, with_payload=args.payload) for r in rows) or "no such dead letter")
                    return 0 if rows else 1
                print(f"{args.service}: {len(rows)} dead letters ({', '.join(statuses)})")
                if rows:
                    print(dl.SUMMARY_HEADER)
                    for r in rows:
                        print(dl.summary_line(r))
                return 0
            try:
                async with conn.transaction():
                    if args.action == "discard":
                        if not args.reason:
                            print("discard needs --reason (it goes to the audit trail)", file=sys.stderr)
                            return 2
                        done = await dl.discard(conn, sel, keys=keys, actor=actor, reason=args.reason)
                        print(f"{args.service}: {len(done)} dead letters discarded by {actor}: {_ids(done)}")
                        return 0
                    queued, missing = await dl.redrive(conn, args.service, sel, keys=keys, actor=actor, again=args.again)
            except dl.NothingSelected as exc:
                print(str(exc), file=sys.stderr)
                return 2
            print(f"{args.service}: {len(queued)} dead letters queued for redrive: {_ids(queued)}; "
                  f"its running consumer handles them")
            if missing:
                print(f"{len(missing)} without a stored message (dead-lettered before it was kept), not redriven: "
                      f"{_ids(missing)}")
            if not args.wait or not queued:
                return 0 if queued or not missing else 1
            return await _wait_for_redrive(conn, args.service, queued, args.wait)
    finally:
        await pool.close()


async def _wait_for_redrive(conn, service: str, ids: list[int], timeout: float) -> int:
    from shared import deadletters as dl

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        states = await dl.statuses_of(conn, ids)
        if all(s != "redriving" for s in states.values()) or loop.time() > deadline:
            break
        await asyncio.sleep(0.5)
    by: dict[str, list[int]] = {}
    for i, s in sorted(states.items()):
        by.setdefault(s, []).append(i)
    print(f"{service}: redriven {len(by.get('redriven', []))}, failed again {len(by.get('open', []))} "
          f"{_ids(by.get('open', []))}, still pending {len(by.get('redriving', []))} {_ids(by.get('redriving', []))}")
    if by.get("redriving"):
        return 3
    return 1 if by.get("open") else 0


async def _parked(args: argparse.Namespace) -> int:
    from shared.db import create_pool
    from shared.settings import ServiceSettings

    settings = ServiceSettings(service_name=args.service)
    pool = await create_pool(settings.database_url, args.service, min_size=1, max_size=1)
    try:
        rows = await pool.fetch("SELECT seq, parked_at, topic, event_type, message_id FROM parked_events "
                                "ORDER BY seq LIMIT $1", args.limit)
        total = await pool.fetchval("SELECT count(*) FROM parked_events")
    finally:
        await pool.close()
    print(f"{args.service}: {total} parked events (drained when a release that knows their type starts)")
    for r in rows:
        print(f"{r['seq']:>6}  {r['parked_at']:%Y-%m-%dT%H:%M:%SZ}  {r['topic']}  {r['event_type']}  {r['message_id']}")
    return 0


def _ids(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:50]))
    return shown + (f" (and {len(ids) - 50} more)" if len(ids) > 50 else "")


async def _audit_verify(args: argparse.Namespace) -> int:
    from shared import audit
    from shared.db import create_pool
    from shared.kafka_security import client_options
    from shared.settings import ServiceSettings

    settings = ServiceSettings(service_name=args.service)
    keys = audit.AuditKeys.from_settings(settings)
    heads: list[audit.Head] = []
    if not args.no_kafka:
        try:
            heads += await audit.heads_from_kafka(settings.kafka_bootstrap_servers, args.service,
                                                  timeout_s=args.kafka_timeout, **client_options(settings))
        except Exception as exc:  # the broker is the anchor: say so rather than pass on the outbox alone
            print(f"{args.service}: cannot read {args.service}.audit from {settings.kafka_bootstrap_servers} "
                  f"({type(exc).__name__}: {exc}); use --no-kafka to verify without it", file=sys.stderr)
            return 2
    pool = await create_pool(settings.database_url, args.service, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            if not args.no_outbox:
                heads += await audit.heads_from_outbox(conn, args.service)
            report = await audit.verify(conn, keys, heads)
    finally:
        await pool.close()
    sources = sorted({h.source for h in heads}) or ["none"]
    summary = (f"{args.service}: {report.rows} rows ({report.legacy_rows} from before keying), last seq "
               f"{report.last_seq}, {report.heads_checked} of {len(heads)} published heads checked "
               f"(from {', '.join(sources)})")
    if report.broken is not None:
        print(f"{args.service}: BROKEN ({report.broken.kind}) at seq {report.broken.seq}: {report.broken.message}")
        print(summary)
        return 1
    print(f"{args.service}: audit chain intact")
    print(summary)
    return 0


def render_schemas() -> dict[Path, str]:
    from shared.events import DEFAULT_FEED_PUBLIC_URL, load_all_contracts, schema_of

    files: dict[Path, str] = {}
    types = load_all_contracts()
    for event_type, cls in types.items():
        files[SCHEMA_DIR / f"{event_type}.json"] = json.dumps(schema_of(cls), indent=2, ensure_ascii=False) + "\n"
    files[CATALOGUE] = render_catalogue(types)
    from shared.asyncapi_public import as_yaml, public_feed_asyncapi

    files[PUBLIC_ASYNCAPI] = as_yaml(public_feed_asyncapi(DEFAULT_FEED_PUBLIC_URL))
    return files


def render_catalogue(types: dict) -> str:
    lines = [
        "# Event catalogue",
        "",
        "Generated by `make schemas` from the Pydantic models in `shared/contracts/`; do not edit by hand.",
        "Every event travels as CloudEvents 1.0 in Kafka binary mode (`ce_id`, `ce_source`, `ce_type`,",
        "`ce_specversion`, `ce_time`, `ce_subject`, `content-type`, the extension `ce_wardid`, plus `traceparent`);",
        "the key is `subject`. JSON Schemas: `shared/contracts/schemas/<type>.json` (the public ones are also served",
        "by the feed at `/schemas/<type>.json`). The public topic's AsyncAPI 3.0 document: `docs/asyncapi/public-feed.yaml`.",
        "",
    ]
    by_service: dict[str, list] = {}
    for t, cls in types.items():
        by_service.setdefault(cls.source_service if not t.startswith("public.") else "public", []).append((t, cls))
    for service, items in sorted(by_service.items()):
        lines += [f"## {service}", ""]
        for t, cls in items:
            public = getattr(cls, "public_counterpart", None)
            lines += [f"### `{t}`", "", f"Topic `{cls.topic}` · model `{cls.__module__}.{cls.__name__}`", ""]
            doc = (cls.__doc__ or "").strip()
            if doc:
                lines += [doc, ""]
            if public:
                lines += [f"Public counterpart: `{public}`", ""]
            lines += ["| field | type | description |", "| --- | --- | --- |"]
            schema = cls.model_json_schema(mode="serialization")
            required = set(schema.get("required", []))
            for name, prop in schema.get("properties", {}).items():
                typ = prop.get("type") or prop.get("format") or ("ref" if "$ref" in prop else "") or \
                    " / ".join(str(x.get("type", x.get("$ref", "")).split("/")[-1]) for x in prop.get("anyOf", []))
                desc = (prop.get("description") or "").replace("|", "\\|").replace("\n", " ")
                lines.append(f"| `{name}`{'' if name in required else ' (optional)'} | {typ} | {desc} |")
            lines.append("")
    return "\n".join(lines)


def cmd_schemas(args: argparse.Namespace) -> int:
    files = render_schemas()
    if args.write:
        SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        print(f"wrote {len(files) - 2} schemas, {CATALOGUE.relative_to(ROOT)} and {PUBLIC_ASYNCAPI.relative_to(ROOT)}")
        return 0
    stale = [str(p.relative_to(ROOT)) for p, t in files.items() if not p.exists() or p.read_text() != t]
    if stale:
        print("out of date (run `make schemas`):\n  " + "\n  ".join(stale))
        return 1
    print("schemas and catalogue up to date")
    return 0


async def _accounts(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from services.identity.operator import create_official
    from shared.errors import ProblemError
    from shared.settings import ServiceSettings

    operator = args.operator or os.environ.get("WARDCTL_OPERATOR") or getpass.getuser()
    if args.accounts_cmd == "announce":
        from services.identity.operator import announce_accounts

        done = await announce_accounts(ServiceSettings(service_name="identity"), operator, ward=args.ward)
        print(f"{done['announced']} accounts announced again (AccountChanged through the outbox), by {operator}")
        return 0
    try:
        made = await create_official(ServiceSettings(service_name="identity"), operator, ward=args.ward,
                                     username=args.username, display_name=args.name or args.username, role=args.role)
    except (ProblemError, ValidationError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    account = made["account"]
    print(f"{args.role} account {account['account_id']} "
          f"({account['username']}) in ward {account['ward_id']}, created by {operator}")
    print(f"one-time reset code (shown once; valid until {made['reset_code_expires_at']}): {made['reset_code']}")
    print("its holder sets a password with it (POST /v1/password on the identity service) and enrols a second factor")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wardctl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("token", help="mint a development bearer token")
    t.add_argument("--roles", required=True, help="comma-separated: resident,team_member,team_leader,police,"
                   "ward_official,city_official,admin,feed_subscriber")
    t.add_argument("--ward", required=True)
    t.add_argument("--sub", default="dev-user")
    t.add_argument("--resident-id")
    t.add_argument("--household-id")
    t.add_argument("--team-ids", help="comma-separated team ids")
    t.add_argument("--azp", help="the OAuth client id (a feed subscriber's oauth_client_id, with --roles feed_subscriber)")
    t.add_argument("--aud", help="comma-separated services the token is for (default: all six)")
    t.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600, the services' maximum)")
    r = sub.add_parser("republish", help="republish outbox events of a time range")
    r.add_argument("--service", required=True)
    r.add_argument("--since", required=True)
    r.add_argument("--until")
    r.add_argument("--topic", action="append")
    m = sub.add_parser("migrate", help="apply the services' migrations as their schema owners (all by default)")
    m.add_argument("services", nargs="*", metavar="SERVICE")
    m.add_argument("--service", action="append", help=argparse.SUPPRESS)  # the former spelling
    k = sub.add_parser("keys", help="personal-data keys: status, rotate")
    ksub = k.add_subparsers(dest="keys_cmd", required=True)
    ks = ksub.add_parser("status", help="how many values each key id still protects")
    ks.add_argument("service")
    kr = ksub.add_parser("rotate", help="re-encrypt the service's personal data under its active keys")
    kr.add_argument("service")
    kr.add_argument("--batch-size", type=int, default=500)
    s = sub.add_parser("schemas", help="check (default) or --write the JSON Schemas and the catalogue")
    s.add_argument("--write", action="store_true")
    d = sub.add_parser("dead-letters", help="list, show, redrive or discard a service's dead letters")
    d.add_argument("action", choices=["list", "show", "redrive", "discard"])
    d.add_argument("service")
    d.add_argument("--id", type=int, action="append", help="a dead-letter record id (repeatable)")
    d.add_argument("--event-id", action="append", help="an event id (repeatable)")
    d.add_argument("--event-type")
    d.add_argument("--topic", help="the topic the event came from")
    d.add_argument("--since", help="dead-lettered at or after (ISO 8601)")
    d.add_argument("--until", help="dead-lettered before (ISO 8601)")
    d.add_argument("--all", action="store_true", help="redrive/discard: every unresolved dead letter")
    d.add_argument("--status", choices=["open", "redriving", "redriven", "discarded", "any"],
                   help="list/show: which records (default: open and redriving)")
    d.add_argument("--limit", type=int, default=200, help="list: at most this many")
    d.add_argument("--payload", action="store_true", help="show: print the message body too")
    d.add_argument("--reason", help="discard: why (recorded in the audit trail)")
    d.add_argument("--operator", help="who decides (default: $WARDCTL_OPERATOR or the login name)")
    d.add_argument("--again", action="store_true", help="redrive: also those already sent and not yet handled")
    d.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                   help="redrive: wait for the consumer's outcome; exit 1 if some failed again, 3 if still pending")
    pk = sub.add_parser("parked", help="list a service's parked events (types it does not know yet)")
    pk.add_argument("service")
    pk.add_argument("--limit", type=int, default=200)
    a = sub.add_parser("audit", help="the audit chain: verify SERVICE")
    a_sub = a.add_subparsers(dest="audit_cmd", required=True)
    v = a_sub.add_parser("verify", help="check a service's audit chain and its published heads")
    v.add_argument("service", choices=SERVICES)
    v.add_argument("--no-kafka", action="store_true", help="do not read the heads on <service>.audit")
    v.add_argument("--no-outbox", action="store_true", help="do not read the heads in the service's outbox")
    v.add_argument("--kafka-timeout", type=float, default=30.0, help="seconds to read the topic (default 30)")
    ac = sub.add_parser("accounts", help="the identity service's accounts: create-official, announce")
    ac_sub = ac.add_subparsers(dest="accounts_cmd", required=True)
    co = ac_sub.add_parser("create-official", help="create an official's account; prints a one-time reset code")
    co.add_argument("--ward", required=True, help="the ward id, or * for a city official or admin")
    co.add_argument("--username", required=True)
    co.add_argument("--name", help="the display name (default: the username)")
    co.add_argument("--role", default="ward_official", choices=["ward_official", "police", "city_official", "admin"])
    co.add_argument("--operator", help="who runs this, for the audit trail (default: $WARDCTL_OPERATOR or the login)")
    an = ac_sub.add_parser("announce", help="publish every account's AccountChanged again (notify joining a platform "
                                            "that already has accounts)")
    an.add_argument("--ward", help="only this ward's accounts (default: all)")
    an.add_argument("--operator", help="who runs this, for the audit trail (default: $WARDCTL_OPERATOR or the login)")
    args = parser.parse_args(argv)
    if args.cmd == "accounts":
        return asyncio.run(_accounts(args))
    if args.cmd == "parked":
        return asyncio.run(_parked(args))
    if args.cmd == "dead-letters":
        return asyncio.run(_dead_letters(args))
    if args.cmd == "token":
        return cmd_token(args)
    if args.cmd == "republish":
        return asyncio.run(_republish(args))
    if args.cmd == "migrate":
        return asyncio.run(_migrate(args))
    if args.cmd == "audit":
        return asyncio.run(_audit_verify(args))
    if args.cmd == "keys":
        return asyncio.run(_keys(args))
    return cmd_schemas(args)


if __name__ == "__main__":
    sys.exit(main())
