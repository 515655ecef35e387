"""Reading the deployment files the way Docker Compose and kustomize would, without a Docker engine."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_CLUSTER = ROOT / "docker-compose.cluster.yml"
DEPLOY = ROOT / "deploy"
K8S_BASE = DEPLOY / "k8s" / "base"

INFRASTRUCTURE = {"postgres", "kafka", "kafka-init", "otel-collector", "jaeger", "prometheus", "grafana", "keycloak",
                  "minio", "minio-init"}
#: One-shot steps of ours that run before the services (the image, another command).
STEPS = {"migrate"}
KEYCLOAK_REALM = DEPLOY / "keycloak" / "ward-realm.json"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())  # resolves anchors and `<<` merge keys, as compose does


def load_yaml_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


def merge(base: Any, override: Any) -> Any:
    """Compose's merge of an override file, for mappings (the cluster file only adds to mappings)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return override


def compose_cluster() -> dict[str, Any]:
    return merge(compose(), load_yaml(COMPOSE_CLUSTER))


def compose_schema() -> dict[str, Any]:
    """The Compose Specification schema vendored by check-jsonschema (no network)."""
    import check_jsonschema

    path = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    return json.loads(path.read_text())


_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")


class MissingVariable(LookupError):
    pass


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable interpolation: ``${X}``, ``${X:-default}``, ``${X-default}``, ``${X:?error}``, ..."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        present = name in env and (env[name] != "" or not (op or "").startswith(":"))
        if op in (":?", "?") and not present:
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-"):
            return env[name] if present else arg
        if op in (":+", "+"):
            return arg if present else ""
        return env.get(name, "")

    return _VARIABLE.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


def required_variables(path: Path) -> set[str]:
    """Variables a compose file refuses to run without (``${X:?...}``)."""
    return {m["name"] for m in _VARIABLE.finditer(path.read_text()) if m["op"] in (":?", "?")}


def env_map(environment: Any) -> dict[str, str]:
    """A service's ``environment`` as a mapping (compose allows a list of ``KEY=value`` too)."""
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {k: "" if v is None else str(v) for k, v in (environment or {}).items()}


def service_of_command(command: list[str]) -> str | None:
    """``registry`` from ``["python", "-m", "services.registry"]``."""
    if len(command) == 3 and command[:2] == ["python", "-m"] and command[2].startswith("services."):
        return command[2].split(".", 1)[1]
    return None


def render_module() -> ModuleType:
    """deploy/render.py, the generator of the deployment files, imported from its path."""
    import sys

    if "ward_deploy_render" in sys.modules:
        return sys.modules["ward_deploy_render"]
    spec = importlib.util.spec_from_file_location("ward_deploy_render", DEPLOY / "render.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def healthcheck_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ward_deploy_healthcheck", DEPLOY / "healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
