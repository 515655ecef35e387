"""Prometheus, its alert rules and the Grafana dashboard of the container stack, checked offline: promtool
validates the configuration and unit-tests every alert, and every metric a query names is one the services export."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

import shared.metrics  # noqa: F401 - registers the platform's metrics
from shared.settings import SERVICE_PORTS, SERVICES
from tests.deploy.files import DEPLOY, ROOT, compose, load_yaml

PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "ward-platform.json"


def promtool() -> str:
    found = shutil.which("promtool") or (str(ROOT / ".venv/bin/promtool") if (ROOT / ".venv/bin/promtool").exists() else None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: `make test` installs it from Debian's prometheus package")
        pytest.skip("promtool not installed (make test installs it)")
    return found


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_configuration_and_the_rules():
    config = _promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    rules = _promtool("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_each_alert_fires_on_the_series_that_should_trigger_it_and_only_then():
    tested = set(re.findall(r"alertname: (\w+)", (PROMETHEUS / "alerts.test.yml").read_text()))
    assert tested == set(_alerts()), "every alert has a promtool unit test"
    done = _promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_would_catch_a_broken_rule(tmp_path: Path):
    broken = tmp_path / "alerts.yml"
    broken.write_text((PROMETHEUS / "alerts.yml").read_text().replace("> 300", "> > 300"))
    done = subprocess.run([promtool(), "check", "rules", str(broken)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0


def _alerts() -> dict[str, dict]:
    return {r["alert"]: r for g in load_yaml(PROMETHEUS / "alerts.yml")["groups"] for r in g["rules"]}


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _queries() -> list[str]:
    exprs = [t["expr"] for p in _dashboard()["panels"] for t in p["targets"]]
    return exprs + [r["expr"] for r in _alerts().values()]


def exported_series() -> set[str]:
    """The sample names the services can expose, from the metric families registered by shared.metrics."""
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""], "summary": ["_sum", "_count"]}
    names = set()
    for family in REGISTRY.collect():
        if family.name.startswith("ward_"):
            names |= {family.name + s for s in suffixes.get(family.type, [""])}
    return names


def test_every_metric_a_query_names_is_exported_by_the_services():
    exported = exported_series()
    assert "ward_http_requests_total" in exported and "ward_consumer_lag" in exported
    named = {m for q in _queries() for m in re.findall(r"\bward_[a-z0-9_]+", q)}
    assert named, "the queries name the platform's metrics"
    assert named <= exported, f"not exported by any service: {sorted(named - exported)}"
    # `up` is Prometheus's own; it only exists for the job that scrapes the services.
    jobs = {j["job_name"] for j in load_yaml(PROMETHEUS / "prometheus.yml")["scrape_configs"]}
    for q in _queries():
        for job in re.findall(r'up\{job="([^"]+)"\}', q):
            assert job in jobs


def test_the_cross_check_would_catch_a_misspelt_metric(monkeypatch):
    named = {m for m in re.findall(r"\bward_[a-z0-9_]+", "rate(ward_outbox_publishd_total[5m])")}
    assert not named <= exported_series()


def test_the_dashboard_shows_what_operators_asked_for_from_the_provisioned_data_source():
    dashboard = _dashboard()
    datasource = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for p in panels:
        assert p["targets"], p["title"]
        assert p["datasource"]["uid"] == datasource["uid"]
        assert all(t["datasource"]["uid"] == datasource["uid"] for t in p["targets"])
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    for needed in ('up{job="ward-services"}', "ward_outbox_published_total", "ward_outbox_oldest_unpublished_age_seconds",
                   "ward_consumer_lag", "ward_dead_letters_total", "histogram_quantile(0.5", "histogram_quantile(0.99",
                   'status=~"5.."', "ward_http_request_duration_seconds_bucket"):
        assert needed in exprs, needed
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "ward-platform.yml")["providers"][0]
    grafana = compose()["services"]["grafana"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]


def test_prometheus_scrapes_every_service_and_loads_the_rules_compose_mounts():
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    (services,) = [j for j in config["scrape_configs"] if j["job_name"] == "ward-services"]
    targets = {t for sc in services["static_configs"] for t in sc["targets"]}
    # the API services and the console (services/console/telemetry.py: the same HTTP metrics)
    assert targets == {f"{name}:{SERVICE_PORTS[name]}" for name in (*SERVICES, "console")}
    prometheus = compose()["services"]["prometheus"]
    assert "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in prometheus["volumes"]
    assert config["rule_files"] == ["alerts.yml"]
    assert ":" in prometheus["image"] and not prometheus["image"].endswith(":latest")


def _anchors(markdown: str) -> set[str]:
    def slug(heading: str) -> str:
        return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")
    return {slug(line.lstrip("#")) for line in markdown.splitlines() if line.startswith("#")}


def test_every_alert_has_a_runbook_section_in_the_operations_guide():
    anchors = _anchors((ROOT / "docs" / "operations.md").read_text())
    for name, rule in _alerts().items():
        runbook = rule["annotations"]["runbook"]
        page, anchor = runbook.split("#")
        assert page == "docs/operations.md" and anchor == f"alert-{name.lower()}", name
        assert anchor in anchors, f"docs/operations.md has no section for {name}"
        assert rule["labels"]["severity"] in {"critical", "warning"}
