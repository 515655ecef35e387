"""``python -m neighbour``: follow a ward's public feed, keep a dashboard, optionally receive webhooks.

    FEED_API_KEY=wfk_... python -m neighbour --feed http://127.0.0.1:8006 --db neighbour.sqlite3 --port 8090
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from neighbour import dashboard
from neighbour.pull import FeedRefused, Follower
from neighbour.server import make_server, serve_in_background
from neighbour.store import Store
from neighbour.webhooks import Receiver


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m neighbour", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--feed", default=os.environ.get("FEED_URL", "http://127.0.0.1:8006"),
                   help="the feed's base URL (env FEED_URL)")
    p.add_argument("--db", default=os.environ.get("NEIGHBOUR_DB", "neighbour.sqlite3"), help="the state file")
    p.add_argument("--ward", action="append", default=[], help="only this ward (repeatable; narrows the key's wards)")
    p.add_argument("--type", action="append", default=[], help="only this event type (repeatable)")
    p.add_argument("--wait", type=int, default=25, help="long-poll seconds (0..30)")
    p.add_argument("--host", default="127.0.0.1", help="where the dashboard page (and the webhook receiver) listen")
    p.add_argument("--port", type=int, default=int(os.environ.get("NEIGHBOUR_PORT", "0") or 0),
                   help="serve the dashboard (and POST /webhook) on this port; 0 = no server")
    p.add_argument("--no-pull", action="store_true", help="webhooks only: do not poll the feed")
    p.add_argument("--once", action="store_true", help="fetch until caught up, print the dashboard, exit")
    args = p.parse_args(argv)

    api_key = os.environ.get("FEED_API_KEY", "")
    secrets = [s for s in os.environ.get("FEED_WEBHOOK_SECRETS", "").split(",") if s]
    if not args.no_pull and not api_key:
        p.error("set FEED_API_KEY (the key an official of the ward gave you) or use --no-pull")
    store = Store(args.db)
    # SIGTERM as Ctrl-C: a batch being applied is rolled back whole (its cursor with it) and fetched again.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    if args.port:
        server = make_server(store, args.host, args.port, Receiver(secrets, store) if secrets else None)
        serve_in_background(server)
        print(f"dashboard on http://{args.host}:{server.server_port}/ "
              + ("(webhooks: POST /webhook)" if secrets else "(no webhook secret: receiver off)"), flush=True)

    def say(msg: str) -> None:
        print(msg, flush=True)

    try:
        if args.no_pull:
            threading.Event().wait()
        else:
            follower = Follower(args.feed, api_key, store, wait=0 if args.once else args.wait,
                                wards=args.ward, types=args.type, say=say)
            if args.once:
                while follower.poll_once():
                    pass
            else:
                say(f"following {args.feed} from cursor {store.cursor() or '(the beginning)'}")
                follower.run()
    except KeyboardInterrupt:
        pass
    except FeedRefused as exc:
        print(f"the feed refused this subscriber: {exc}", file=sys.stderr, flush=True)
        return 3
    print(dashboard.render_text(store.state(), store.cursor()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
