"""JSON responses with the platform's encoder (dates, UUIDs, Vietnamese text unescaped)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from shared.jsonutil import dumps


def json_response(body: Any, status: int = 200) -> Response:
    return Response(content=dumps(body).encode(), status_code=status, media_type="application/json")
