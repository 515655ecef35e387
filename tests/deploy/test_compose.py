"""docker-compose.yml describes the topology the embedded stack runs, with nothing the code needs left out."""

from __future__ import annotations

import base64
import json
import os
from urllib.parse import urlsplit

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.migrations import app_role, owner_role
from shared.settings import (
    DATABASE_SERVICES,
    KEY_SETTINGS,
    PERSONAL_DATA_KEYS,
    SERVICE_PORTS,
    SERVICES,
    WEB_SERVICES,
    MigrationSettings,
    ServiceSettings,
)
from tests.deploy.files import (
    COMPOSE,
    COMPOSE_CLUSTER,
    DEPLOY,
    INFRASTRUCTURE,
    ROOT,
    STEPS,
    MissingVariable,
    compose,
    compose_cluster,
    compose_schema,
    env_map,
    interpolate,
    load_yaml,
    render_module,
    required_variables,
    service_of_command,
)

render = render_module()

#: Settings without which a service in a container is wrong even though ServiceSettings has a default:
#: production mode (refuses development secrets), the secrets themselves, an address reachable from other
#: containers, the real brokers with the idempotent producer, and trace export.
CONTAINER_SETTINGS = {
    "environment", "jwt_issuer", "jwt_jwks_url", "http_host", "http_port",
    "kafka_bootstrap_servers", "kafka_enable_idempotence", "otel_exporter_otlp_endpoint",
}


def key_settings(service: str) -> set[str]:
    """The personal-data key settings a service is given: those of the purposes it uses, no other."""
    return {f for purpose in PERSONAL_DATA_KEYS.get(service, ()) for f in KEY_SETTINGS[purpose]}


def secrets_env() -> dict[str, str]:
    """A distinct, strong value for every variable the compose files require (what city IT puts in .env)."""
    env = {name: f"{name.lower()}-{'x' * 24}" for name in required_variables(COMPOSE)}
    for name in env:
        if name.endswith("_ACTIVE_KEY_ID"):
            env[name] = "k1"
        elif name.endswith("_KEYS"):
            env[name] = json.dumps({"k1": base64.b64encode(os.urandom(32)).decode()})
        elif name.endswith("_PSEUDONYM_KEY"):
            env[name] = base64.b64encode(os.urandom(32)).decode()
        elif name == "IDENTITY_SIGNING_KEY":  # an Ed25519 private key in PEM
            env[name] = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        elif name == "IDENTITY_SIGNING_KID":
            env[name] = "identity-k1"
    return env


def app_services(config: dict) -> dict[str, dict]:
    """The API services (the console, a web application without Kafka, is checked on its own)."""
    return {name: svc for name, svc in config["services"].items() if name not in INFRASTRUCTURE | STEPS
            and not name.startswith("kafka-") and name not in WEB_SERVICES}


def test_compose_files_are_valid_against_the_compose_specification():
    schema = compose_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for config in (compose(), load_yaml(COMPOSE_CLUSTER), compose_cluster()):
        errors = sorted(validator.iter_errors(config), key=lambda e: list(e.path))
        assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors]


def test_the_schema_check_would_catch_a_malformed_service():
    validator = jsonschema.Draft202012Validator(compose_schema())
    broken = compose()
    broken["services"]["registry"]["depends_on"] = {"postgres": {"condition": "when_it_feels_like_it"}}
    assert list(validator.iter_errors(broken))


def test_topology_is_the_embedded_stacks_five_services_plus_infrastructure():
    config = interpolate(compose(), secrets_env())
    assert set(config["services"]) == INFRASTRUCTURE | STEPS | set(SERVICES) | set(WEB_SERVICES)
    on_disk = {p.name for p in (ROOT / "services").iterdir() if (p / "__main__.py").exists()}
    assert set(app_services(config)) | set(WEB_SERVICES) == on_disk == set(SERVICE_PORTS)
    for name, svc in app_services(config).items():
        assert service_of_command(svc["command"]) == name, f"{name} runs {svc['command']}"
        assert svc["ports"] == [f"127.0.0.1:{SERVICE_PORTS[name]}:{SERVICE_PORTS[name]}"], name
    # The infrastructure on the ports `make run` uses, for tools on the host.
    assert config["services"]["postgres"]["ports"] == ["127.0.0.1:55432:5432"]
    assert "127.0.0.1:19092:19092" in config["services"]["kafka"]["ports"]
    assert config["services"]["jaeger"]["ports"] == ["127.0.0.1:16686:16686"]


@pytest.mark.parametrize("files", ["base", "cluster"])
def test_every_published_port_binds_to_loopback_unless_the_operator_says_otherwise(files):
    config = compose() if files == "base" else compose_cluster()
    published = {name: svc.get("ports", []) for name, svc in interpolate(config, secrets_env())["services"].items()}
    assert any(published.values())
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
    opened = interpolate(config, {**secrets_env(), "WARD_BIND_ADDRESS": "0.0.0.0"})["services"]
    assert opened["registry"]["ports"] == [f"0.0.0.0:{SERVICE_PORTS['registry']}:{SERVICE_PORTS['registry']}"]


def test_services_wait_for_their_dependencies_and_report_readiness():
    config = compose()
    for name, svc in app_services(config).items():
        assert svc["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
            "kafka-init": {"condition": "service_completed_successfully"},
            "otel-collector": {"condition": "service_started"},
            # incidents keeps evidence files in MinIO: its bucket and user first (docs/evidence.md)
            **({"minio-init": {"condition": "service_completed_successfully"}} if name == "incidents" else {}),
        }, name
        test = svc["healthcheck"]["test"]
        assert test == ["CMD", "python", "/app/deploy/healthcheck.py",
                        f"http://127.0.0.1:{SERVICE_PORTS[name]}/health/ready"], name
        assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"], name
        assert svc["build"]["dockerfile"] == "Dockerfile"
    services = config["services"]
    assert services["kafka-init"]["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert services["kafka-init"]["restart"] == "no"
    assert "/health" not in str(services["postgres"]["healthcheck"])
    assert "-h 127.0.0.1" in services["postgres"]["healthcheck"]["test"][1]  # not healthy while init.sql runs
    health = services["kafka"]["healthcheck"]["test"]
    assert health[:3] == ["CMD", "bash", "/deploy/admin-client.sh"]  # authenticated: no listener is open
    assert "kafka-broker-api-versions.sh --bootstrap-server localhost:9094" in health[-1]


def test_every_environment_variable_of_a_service_is_a_setting_it_reads():
    known = {name.upper() for name in ServiceSettings.model_fields}
    for name, svc in app_services(compose_cluster()).items():
        unknown = set(env_map(svc["environment"])) - known
        assert not unknown, f"{name}: {unknown} are not fields of ServiceSettings (typo?)"


def test_every_required_setting_is_given_and_the_services_accept_them_in_production(monkeypatch):
    required = {n for n, f in ServiceSettings.model_fields.items() if f.is_required()} - {"service_name"}
    assert required, "ServiceSettings has required fields (database_url at least)"
    config = interpolate(compose(), secrets_env())
    postgres_env = env_map(config["services"]["postgres"]["environment"])
    for name, svc in app_services(config).items():
        env = env_map(svc["environment"])
        missing = {s for s in required | CONTAINER_SETTINGS | key_settings(name) if s.upper() not in env}
        assert not missing, f"{name} lacks {missing}"
        # the keys of the purposes it uses, and no other service's or purpose's key
        given_keys = {f for fields in KEY_SETTINGS.values() for f in fields if f.upper() in env}
        assert given_keys == key_settings(name), name
        for field in ServiceSettings.model_fields:
            monkeypatch.delenv(field.upper(), raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = ServiceSettings(service_name=service_of_command(svc["command"]), _env_file=None)

        assert settings.environment == "production"  # its validator refused development secrets: none here
        assert settings.http_host == "0.0.0.0" and settings.port == SERVICE_PORTS[name]
        assert settings.kafka_enable_idempotence is True and settings.kafka_acks == "all"
        assert settings.otel_exporter_otlp_endpoint == "http://otel-collector:4318"
        assert settings.jwt_jwks_url == "http://keycloak:8080/realms/ward/protocol/openid-connect/certs"
        assert settings.jwt_issuer == "http://127.0.0.1:8180/realms/ward" and settings.audience == name
        parts = urlsplit(settings.database_url)
        role = app_role(name)
        assert (parts.username, parts.hostname, parts.path) == (role, "postgres", f"/{render.DATABASE}")
        # The password the service logs in with is the one init.sql gives the role.
        assert parts.password == postgres_env[render.password_env(role)], role
        # ... and it holds no schema owner's password at all (the owner could rewrite the audit trail and ledger)
        owner_passwords = {postgres_env[render.password_env(owner_role(s))] for s in DATABASE_SERVICES}
        assert not [k for k, v in env.items() if any(p in v for p in owner_passwords)], name
        assert settings.key_purposes == PERSONAL_DATA_KEYS.get(name, frozenset())
        settings.protector()  # the keyrings it is given parse


def test_the_migrate_step_alone_holds_the_schema_owners_logins(monkeypatch):
    config = interpolate(compose(), secrets_env())
    postgres_env = env_map(config["services"]["postgres"]["environment"])
    migrate = config["services"]["migrate"]
    assert migrate["command"] == ["python", "-m", "shared.cli", "migrate"]  # every service: `wardctl migrate`
    assert migrate["restart"] == "no" and migrate["read_only"] is True and migrate["cap_drop"] == ["ALL"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["image"] == config["services"]["registry"]["image"]
    env = env_map(migrate["environment"])
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = MigrationSettings(_env_file=None)
    for service in DATABASE_SERVICES:
        parts = urlsplit(settings.owner_url(service))
        assert (parts.username, parts.hostname) == (owner_role(service), "postgres")
        assert parts.password == postgres_env[render.password_env(owner_role(service))], service
    assert set(env) == {f"{s.upper()}_OWNER_DATABASE_URL" for s in DATABASE_SERVICES}  # and nothing else: no key, no token


def test_compose_refuses_to_start_without_a_secret():
    env = secrets_env()
    for secret in ("REGISTRY_PII_KEYS", "INCIDENTS_PSEUDONYM_KEY", "POSTGRES_PASSWORD", "REGISTRY_DB_PASSWORD",
                   "REGISTRY_OWNER_DB_PASSWORD", "KEYCLOAK_DB_PASSWORD", "KEYCLOAK_ADMIN_PASSWORD"):
        with pytest.raises(MissingVariable):
            interpolate(compose(), {k: v for k, v in env.items() if k != secret})
        with pytest.raises(MissingVariable):
            interpolate(compose(), {**env, secret: ""})
    text = COMPOSE.read_text()
    assert "dev-" not in text and "password@" not in text  # no development password slipped in


def test_env_example_lists_every_required_variable_with_an_empty_value():
    lines = [ln for ln in (DEPLOY / "compose.env.example").read_text().splitlines()
             if ln and not ln.startswith("#")]
    example = dict(ln.split("=", 1) for ln in lines)
    assert set(example) == required_variables(COMPOSE) | required_variables(COMPOSE_CLUSTER)
    assert all(v == "" for v in example.values()), "the example must not carry a usable secret"


def test_postgres_is_initialised_with_every_role_password_and_the_generated_init_sql():
    pg = compose()["services"]["postgres"]
    env = env_map(pg["environment"])
    assert env["POSTGRES_DB"] == render.DATABASE
    assert {render.password_env(r) for r in render.database_roles()} <= set(env)
    assert "./deploy/postgres/init.sql:/docker-entrypoint-initdb.d/10-ward-init.sql:ro" in pg["volumes"]
    assert pg["image"].startswith("postgres:18")  # the major version the embedded stack runs


def test_topics_are_created_by_the_init_service_from_the_one_topic_list():
    services = compose()["services"]
    init = services["kafka-init"]
    assert init["image"] == services["kafka"]["image"]  # its kafka-topics.sh matches the broker
    assert init["entrypoint"] == ["/bin/bash", "/deploy/admin-client.sh", "/bin/bash", "-c",
                                  "bash /deploy/create-topics.sh && bash /deploy/create-acls.sh"]
    for script in ("admin-client.sh", "create-topics.sh", "create-acls.sh"):
        assert f"./deploy/kafka/{script}:/deploy/{script}:ro" in init["volumes"]
    assert env_map(init["environment"])["BOOTSTRAP_SERVERS"] == "kafka:9094"  # the admin's listener
    kafka_env = env_map(services["kafka"]["environment"])
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # only the list's topics exist


def _brokers(config: dict) -> dict[str, dict[str, str]]:
    return {name: env_map(svc["environment"]) for name, svc in config["services"].items()
            if "broker" in env_map(svc.get("environment")).get("KAFKA_PROCESS_ROLES", "")}


def _advertised(env: dict[str, str], listener: str = "CLIENT") -> str:
    address = next(x for x in env["KAFKA_ADVERTISED_LISTENERS"].split(",") if x.startswith(f"{listener}://"))
    return address.removeprefix(f"{listener}://")


def test_one_kraft_broker_in_the_base_file_is_what_the_services_connect_to():
    config = interpolate(compose(), secrets_env())
    brokers = _brokers(config)
    assert list(brokers) == ["kafka"]
    env = brokers["kafka"]
    assert config["services"]["kafka"]["image"].startswith("apache/kafka:")
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft: no ZooKeeper
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16  # a KRaft cluster id is 16 bytes
    for svc in app_services(config).values():
        assert env_map(svc["environment"])["KAFKA_BOOTSTRAP_SERVERS"] == _advertised(env)


def test_cluster_file_runs_three_brokers_with_replication_3_and_min_insync_2():
    config = interpolate(compose_cluster(), secrets_env())
    brokers = _brokers(config)
    assert sorted(brokers) == ["kafka", "kafka-2", "kafka-3"]
    node_ids = {env["KAFKA_NODE_ID"] for env in brokers.values()}
    assert node_ids == {"1", "2", "3"}
    voters = {f"{env['KAFKA_NODE_ID']}@{name}:9093" for name, env in brokers.items()}
    for name, env in brokers.items():
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters, name
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3" and env["KAFKA_MIN_INSYNC_REPLICAS"] == "2", name
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3", name
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3", name
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2", name
        assert _advertised(env) == f"{name}:9092", name
    assert len({env["CLUSTER_ID"] for env in brokers.values()}) == 1
    assert len({env["KAFKA_ADVERTISED_LISTENERS"] for env in brokers.values()}) == 3
    init = config["services"]["kafka-init"]
    init_env = env_map(init["environment"])
    assert (init_env["TOPIC_REPLICATION_FACTOR"], init_env["TOPIC_MIN_INSYNC_REPLICAS"]) == ("3", "2")
    all_brokers = {_advertised(env) for env in brokers.values()}
    assert set(init_env["BOOTSTRAP_SERVERS"].split(",")) == {_advertised(env, "BROKER") for env in brokers.values()}
    assert {n for n, d in init["depends_on"].items() if d["condition"] == "service_healthy"} == set(brokers)
    for name, svc in app_services(config).items():
        assert set(env_map(svc["environment"])["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == all_brokers, name


def test_cluster_file_only_adds_to_mappings_of_the_base_services():
    # Compose concatenates some lists of an override (ports, volumes) where tests/deploy/files.merge replaces
    # them: keeping the override to mappings keeps the merged view in these tests true to compose's.
    base = compose()["services"]
    for name, svc in load_yaml(COMPOSE_CLUSTER)["services"].items():
        if name in base:
            assert set(svc) <= {"environment", "depends_on"}, name
            assert all(isinstance(v, dict) for v in svc.values()), name


def test_traces_go_from_the_services_through_the_collector_to_jaeger():
    config = compose()
    collector = config["services"]["otel-collector"]
    assert "./deploy/otel-collector.yaml:/etc/otelcol/config.yaml:ro" in collector["volumes"]
    assert collector["command"] == ["--config=/etc/otelcol/config.yaml"]
    assert config["services"]["jaeger"]["image"].startswith("jaegertracing/jaeger:2.")
    otel = load_yaml(DEPLOY / "otel-collector.yaml")
    assert otel["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"
    pipeline = otel["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"] and pipeline["processors"][0] == "memory_limiter"
    (exporter,) = pipeline["exporters"]
    assert otel["exporters"][exporter]["endpoint"] == "jaeger:4317"
    # the services also export logs (OTLP /v1/logs): without a logs pipeline the collector would refuse them
    logs = otel["service"]["pipelines"]["logs"]
    assert logs["receivers"] == ["otlp"] and all(e in otel["exporters"] for e in logs["exporters"])


def test_third_party_images_are_pinned():
    for name, svc in compose_cluster()["services"].items():
        if name not in set(SERVICE_PORTS) | STEPS:  # ours: the image compose builds
            image = svc["image"]
            assert ":" in image and not image.endswith(":latest"), f"{name}: {image}"


def test_the_console_runs_in_production_with_its_own_login_and_key_and_calls_the_services_by_name(monkeypatch):
    config = interpolate(compose(), secrets_env())
    postgres_env = env_map(config["services"]["postgres"]["environment"])
    env = env_map(config["services"]["console"]["environment"])
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = ServiceSettings(service_name="console", _env_file=None)  # production: refuses development secrets
    parts = urlsplit(settings.database_url)
    assert parts.username == "console" and parts.password == postgres_env[render.password_env("console")]
    assert settings.console_api_urls["identity"] == "http://identity:8007"
    assert config["services"]["console"]["ports"] == ["127.0.0.1:8008:8008"]


def test_incidents_keeps_evidence_in_minio_with_a_user_of_its_own():
    config = interpolate(compose(), secrets_env())
    services = config["services"]
    env = env_map(services["incidents"]["environment"])
    assert env["EVIDENCE_STORE"] == "s3" and env["EVIDENCE_S3_ENDPOINT_URL"] == "http://minio:9000"
    # its own MinIO user (made by minio-init), never the root login
    assert env["EVIDENCE_S3_ACCESS_KEY_ID"] == secrets_env()["INCIDENTS_EVIDENCE_ACCESS_KEY"]
    assert secrets_env()["MINIO_ROOT_PASSWORD"] not in json.dumps(services["incidents"])
    assert not services["minio"].get("ports")  # only the compose network reaches it
    assert any(t.startswith(env["EVIDENCE_STAGING_DIR"]) for t in services["incidents"]["tmpfs"])
    init = (DEPLOY / "minio" / "init.sh").read_text()
    assert "mc mb --ignore-existing ward/ward-evidence" in init and "policy attach" in init
    policy = json.loads((DEPLOY / "minio" / "evidence-policy.json").read_text())
    assert {a for s in policy["Statement"] for a in s["Action"]} == {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"}
