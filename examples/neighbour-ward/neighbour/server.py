"""A tiny HTTP server (standard library): the dashboard as HTML (``/``) and JSON (``/dashboard.json``), and the
webhook receiver (``POST /webhook``) when a signing secret is configured."""

from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from neighbour import dashboard
from neighbour.store import Store
from neighbour.webhooks import APPLIED, Receiver, Rejected

MAX_BODY = 1_000_000


def snapshot(store: Store) -> dict[str, Any]:
    state = store.state()
    return {"cursor": store.cursor(), "totals": dashboard.totals(state), "dashboard": state,
            "recent": store.applied(50)}


def render_html(store: Store) -> str:
    snap = snapshot(store)
    rows = "".join(f"<tr><td>{html.escape(e['type'])}</td><td>{html.escape(str(e['wardid']))}</td>"
                   f"<td>{html.escape(e['via'])}</td></tr>" for e in reversed(snap["recent"]))
    return ("<!doctype html><html lang=en><meta charset=utf-8><meta http-equiv=refresh content=10>"
            "<title>Neighbour ward dashboard</title><h1>Neighbour ward dashboard</h1>"
            f"<pre>{html.escape(dashboard.render_text(snap['dashboard'], snap['cursor']))}</pre>"
            "<h2>Latest events</h2><table><tr><th>type<th>ward<th>via</tr>" + rows + "</table>"
            '<p><a href="/dashboard.json">JSON</a></html>')


def make_server(store: Store, host: str, port: int, receiver: Receiver | None = None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:  # quiet: the follower prints what matters
            pass

        def _send(self, status: int, body: str, content_type: str = "application/json") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path in ("/", "/index.html"):
                self._send(200, render_html(store), "text/html")
            elif self.path == "/dashboard.json":
                self._send(200, json.dumps(snapshot(store)))
            elif self.path == "/applied.json":  # every event applied, oldest first: how it arrived ("via")
                self._send(200, json.dumps(store.applied(limit=1_000_000)))
            elif self.path == "/health":
                self._send(200, '{"status":"ok"}')
            else:
                self._send(404, '{"error":"not found"}')

        def do_POST(self) -> None:
            if self.path != "/webhook" or receiver is None:
                self._send(404, '{"error":"not found"}')
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, '{"error":"too large"}')
                return
            body = self.rfile.read(length)
            try:
                outcome = receiver.receive(body, dict(self.headers.items()))
            except Rejected as exc:
                self._send(400, json.dumps({"error": "rejected", "reason": str(exc)}))
                return
            self._send(200 if outcome != APPLIED else 202, json.dumps({"outcome": outcome}))

    server = ThreadingHTTPServer((host, port), Handler)
    return server


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="dashboard-http", daemon=True)
    thread.start()
    return thread
