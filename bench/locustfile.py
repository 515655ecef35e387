"""The load of ``bench/http.py`` (run by locust in its own process: gevent never enters the bench's asyncio one).

Each simulated client loops without pause over the incidents service's main reads and write: the ward's list as
the police read it (4), one incident (4), a resident's identified report (2). ``BENCH_HTTP_DATA`` names a JSON file
with the bearer tokens (several residents, one police officer), the residential groups and the seeded incidents'
ids. The raw twin (``bench/http_twin.py``) gets the same requests, headers included, and ignores the tokens.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, constant, task

DATA = json.loads(Path(os.environ["BENCH_HTTP_DATA"]).read_text())


class WardClient(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.resident = {"Authorization": f"Bearer {random.choice(DATA['residents'])}"}
        self.police = {"Authorization": f"Bearer {DATA['police']}"}

    @task(4)
    def list_incidents(self) -> None:
        self.client.get("/v1/incidents", headers=self.police, name="GET /v1/incidents")

    @task(4)
    def one_incident(self) -> None:
        self.client.get(
            f"/v1/incidents/{random.choice(DATA['incidents'])}",
            headers=self.police,
            name="GET /v1/incidents/{id}",
        )

    @task(2)
    def report(self) -> None:
        self.client.post(
            "/v1/incidents",
            headers=self.resident,
            name="POST /v1/incidents",
            json={
                "category": random.choice(DATA["categories"]),
                "place": {"group_id": random.choice(DATA["groups"]), "address": "12 ngõ 5, tổ 3"},
                "description": "Xe máy bị lấy trộm trước cửa nhà lúc đêm",
                "reporter": {"full_name": "Nguyễn Văn An", "phone": "0901 234 567"},
            },
        )
