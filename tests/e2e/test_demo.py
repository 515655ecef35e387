"""`make demo` replays the Phú Sơn article against the five services running as processes, through their HTTP
APIs only, and every figure it prints is read back from the services and equals the article's."""

from __future__ import annotations

import pytest

from demo.config import SERVICES, Config
from demo.run import run_demo

pytestmark = pytest.mark.e2e


async def test_the_demo_replays_the_article_and_reads_back_its_figures(platform):  # noqa: ANN001
    printed: list[str] = []
    config = Config(urls={svc: platform.url(svc) for svc in SERVICES}, timeout=60)

    result = await run_demo(config, say=printed.append)

    s = result.summary
    assert result.ok, "\n".join(printed)
    assert s.value("ANXH teams (tổ ANXH)") == 10
    assert s.value("security-and-order teams (tổ bảo vệ ANTT)") == 1
    assert s.value("inter-household fire-prevention teams (tổ PCCC liên gia)") == 2
    assert s.value("public fire-fighting points") == 1
    assert s.value("mobilisation teams (tổ vận động)") == 10
    assert s.value("mobilisation teams that collected") == 10
    assert 55_000_000 <= s.value("raised for security cameras") < 60_000_000  # "nearly 60 million VND"
    assert s.value("disputes mediated successfully (hòa giải thành)") == 10
    assert s.value("disputes resolved as mediated") == 10
    assert s.value("briefing: successful mediations") == 10
    assert set(s.value("crime tips solved (drugs, theft)")) == {"drugs", "theft"}
    assert s.value("award issuers") == {"city_chairman", "ward_chairman"}
    assert s.value("recipients") >= {"collective", "individual"}
    assert s.value("certificate PDF verified (public endpoint)") is True
    assert "every figure matches the article" in printed[-1]

    # Run again on the same platform: the ward is found, the replay gets a group of its own, and its figures are
    # again the article's, not the sum of both runs.
    again = await run_demo(config, say=printed.append)
    assert again.ok, "\n".join(printed)
    assert again.ward.group_id != result.ward.group_id
    assert again.summary.value("disputes mediated successfully (hòa giải thành)") == 10
    assert 55_000_000 <= again.summary.value("raised for security cameras") < 60_000_000
