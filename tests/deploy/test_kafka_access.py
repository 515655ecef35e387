"""Kafka access in the container stacks: every client authenticates (SASL/SCRAM, one principal per service), and
the ACLs that deploy/kafka/create-acls.sh creates are exactly what the contracts say each service publishes and
consumes. No JVM here: the real script runs against recording stand-ins of kafka-configs.sh and kafka-acls.sh."""

from __future__ import annotations

import importlib
import os
import subprocess
from pathlib import Path

import pytest

from shared.events import PUBLIC_TOPIC, PublicEvent, load_all_contracts
from shared.kafka_security import broker_security, client_options
from shared.settings import SERVICES, ServiceSettings
from tests.deploy.files import compose, compose_cluster, env_map, interpolate
from tests.deploy.test_compose import _brokers, app_services, render, secrets_env


@pytest.fixture
def fake_kafka_tools(tmp_path: Path) -> dict[str, str]:
    """kafka-configs.sh and kafka-acls.sh that record their arguments (and the SCRAM file they were given)."""
    tools = {}
    for tool in ("kafka-configs", "kafka-acls"):
        path = tmp_path / f"{tool}.sh"
        path.write_text(
            "#!/usr/bin/env bash\n"
            f'printf "%s\\n" "$*" >> {tmp_path}/{tool}.calls\n'
            'for ((i=1; i<=$#; i++)); do if [ "${!i}" = --add-config-file ]; then j=$((i+1)); '
            f'cat "${{!j}}" >> {tmp_path}/scram-files; fi; done\n'
        )
        path.chmod(0o755)
        tools[tool] = str(path)
    return tools


def _run_acl_script(tools: dict[str, str], passwords: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "KAFKA_CONFIGS": tools["kafka-configs"], "KAFKA_ACLS": tools["kafka-acls"],
           "BOOTSTRAP_SERVERS": "kafka:9094", "COMMAND_CONFIG": "/tmp/admin.properties", **passwords}
    return subprocess.run(["bash", str(render.ACLS_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def _passwords() -> dict[str, str]:
    return {render.kafka_password_env(p): f"pw-{p}-{'x' * 16}" for p in render.kafka_principals()}


def _granted(calls: list[str]) -> set[tuple[str, str, str, str, str]]:
    """(principal, resource, name, operation, pattern) for every ACL the script asked kafka-acls.sh to add."""
    granted = set()
    for call in calls:
        args = call.split()
        if "--add" not in args:
            continue
        principal = args[args.index("--allow-principal") + 1].removeprefix("User:")
        operation = args[args.index("--operation") + 1]
        pattern = args[args.index("--resource-pattern-type") + 1]
        if "--cluster" in args:
            granted.add((principal, "cluster", "kafka-cluster", operation, pattern))
        for i, arg in enumerate(args):
            if arg in ("--topic", "--group"):
                granted.add((principal, arg[2:], args[i + 1], operation, pattern))
    return granted


def _wired(service: str) -> tuple[set[str], set[str], ServiceSettings]:
    """The topics a service's runtime really publishes and consumes, as its bootstrap wires it."""
    settings = ServiceSettings(service_name=service, environment="test", database_url="postgresql://x@127.0.0.1:1/x",
                               _env_file=None)
    runtime = importlib.import_module(f"services.{service}.bootstrap").build(settings).state.runtime
    return {c.topic for c in runtime.publishes}, {c.topic for c in runtime.handlers}, settings


def test_the_acls_are_exactly_what_each_service_publishes_and_consumes(fake_kafka_tools):
    done = _run_acl_script(fake_kafka_tools, _passwords())
    assert done.returncode == 0, done.stderr
    calls = Path(fake_kafka_tools["kafka-acls"]).with_name("kafka-acls.calls").read_text().splitlines()
    expected = set()
    for service in SERVICES:
        publishes, consumes, settings = _wired(service)
        assert publishes and (consumes or service == "identity"), service  # identity consumes nothing
        dead_letter = settings.dead_letter_topic
        expected |= {(service, "topic", t, "Write", "literal") for t in publishes | {dead_letter}}
        # its own audit topic, read back by `wardctl audit verify` with the service's credentials
        expected |= {(service, "topic", t, "Read", "literal") for t in consumes | {dead_letter, f"{service}.audit"}}
        expected |= {(service, "group", settings.consumer_group, "Read", "literal"),
                     (service, "cluster", "kafka-cluster", "IdempotentWrite", "literal")}
    expected |= {(render.SUBSCRIBER_PRINCIPAL, "topic", PUBLIC_TOPIC, "Read", "literal"),
                 (render.SUBSCRIBER_PRINCIPAL, "group", f"{render.SUBSCRIBER_PRINCIPAL}-", "Read", "prefixed")}
    assert _granted(calls) == expected


def test_no_service_may_write_another_services_topics_and_subscribers_read_only_the_public_topic(fake_kafka_tools):
    assert _run_acl_script(fake_kafka_tools, _passwords()).returncode == 0
    calls = Path(fake_kafka_tools["kafka-acls"]).with_name("kafka-acls.calls").read_text().splitlines()
    granted = _granted(calls)
    for principal, resource, name, operation, _ in granted:
        if resource == "topic" and operation == "Write" and name != PUBLIC_TOPIC:
            assert name.split(".")[0] == principal, f"{principal} may write {name}"
    subscriber = {(r, n, o) for p, r, n, o, _ in granted if p == render.SUBSCRIBER_PRINCIPAL}
    assert {(r, n) for r, n, o in subscriber if r == "topic"} == {("topic", PUBLIC_TOPIC)}
    assert {o for _, _, o in subscriber} == {"Read"}


def test_each_principal_gets_a_scram_password_that_never_appears_on_a_command_line(fake_kafka_tools, tmp_path):
    passwords = _passwords()
    assert _run_acl_script(fake_kafka_tools, passwords).returncode == 0
    configs = (tmp_path / "kafka-configs.calls").read_text().splitlines()
    users = {c.split()[c.split().index("--entity-name") + 1] for c in configs}
    assert users == set(render.kafka_principals())
    everything = configs + (tmp_path / "kafka-acls.calls").read_text().splitlines()
    assert not any(pw in call for pw in passwords.values() for call in everything)
    scram = (tmp_path / "scram-files").read_text()
    assert all(f"SCRAM-SHA-512=[iterations=8192,password={pw}]" in scram for pw in passwords.values())


def test_a_missing_password_stops_the_script_before_it_changes_anything(fake_kafka_tools, tmp_path):
    passwords = _passwords()
    del passwords["AWARDS_KAFKA_PASSWORD"]
    refused = _run_acl_script(fake_kafka_tools, passwords)
    assert refused.returncode != 0 and "AWARDS_KAFKA_PASSWORD" in refused.stderr
    assert not (tmp_path / "kafka-configs.calls").exists() and not (tmp_path / "kafka-acls.calls").exists()


@pytest.mark.parametrize("files", ["base", "cluster"])
def test_every_broker_authenticates_every_listener_and_denies_what_no_acl_allows(files):
    config = interpolate(compose() if files == "base" else compose_cluster(), secrets_env())
    brokers = _brokers(config)
    assert brokers
    for name, env in brokers.items():
        protocols = dict(x.split(":") for x in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
        assert set(protocols.values()) <= {"SASL_PLAINTEXT", "SASL_SSL"}, name
        assert {x.split("://")[0] for x in env["KAFKA_LISTENERS"].split(",")} <= set(protocols), name
        assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false", name
        assert env["KAFKA_SUPER_USERS"] == "User:admin", name
        # Clients speak SCRAM; PLAIN (the admin's) only on the brokers' own listeners.
        assert env["KAFKA_LISTENER_NAME_CLIENT_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512", name
        assert env["KAFKA_LISTENER_NAME_HOST_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512", name
        assert env["KAFKA_ADVERTISED_LISTENERS"].count("CLIENT://") == 1, name
        assert secrets_env()["KAFKA_ADMIN_PASSWORD"] in env["KAFKA_LISTENER_NAME_BROKER_PLAIN_SASL_JAAS_CONFIG"]


def test_each_service_connects_as_its_own_principal_with_the_password_the_init_job_sets():
    config = interpolate(compose(), secrets_env())
    init_env = env_map(config["services"]["kafka-init"]["environment"])
    for name, svc in app_services(config).items():
        env = env_map(svc["environment"])
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT" and env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["KAFKA_SASL_USERNAME"] == name
        assert env["KAFKA_SASL_PASSWORD"] == init_env[render.kafka_password_env(name)]
    assert render.kafka_password_env(render.SUBSCRIBER_PRINCIPAL) in init_env


def test_the_clients_take_their_credentials_from_the_settings():
    plain = ServiceSettings(service_name="awards", database_url="postgresql://a@b/c", _env_file=None)
    assert client_options(plain) == {"security_protocol": "PLAINTEXT"} and broker_security(plain) is None
    sasl = ServiceSettings(service_name="awards", database_url="postgresql://a@b/c", _env_file=None,
                           kafka_security_protocol="SASL_SSL", kafka_sasl_username="awards",
                           kafka_sasl_password="s3cret-s3cret")
    options = client_options(sasl)
    assert options["sasl_mechanism"] == "SCRAM-SHA-512" and options["sasl_plain_username"] == "awards"
    assert options["sasl_plain_password"] == "s3cret-s3cret" and options["ssl_context"] is not None
    security = broker_security(sasl)
    assert type(security).__name__ == "SASLScram512" and security.use_ssl is True


def test_settings_refuse_sasl_without_credentials_and_an_unauthenticated_broker_in_production():
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        ServiceSettings(service_name="awards", database_url="postgresql://a@b/c", _env_file=None,
                        kafka_security_protocol="SASL_PLAINTEXT")
    strong = {"jwt_issuer": "https://id.example/realms/ward", "jwt_jwks_url": "https://id.example/certs",
              "pii_key": "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0=",
              "environment": "production", "service_name": "awards", "database_url": "postgresql://a@b/c",
              "_env_file": None, "audit_key": "k" * 40, "audit_key_id": "k1",
              "idempotency_key": "i" * 40}
    with pytest.raises(ValueError, match="KAFKA_SECURITY_PROTOCOL"):
        ServiceSettings(**strong)
    ServiceSettings(**strong, kafka_allow_plaintext=True)  # an operator's explicit choice


@pytest.mark.parametrize("service", SERVICES)
def test_every_public_event_of_a_service_is_in_what_it_publishes_so_it_may_write_the_public_topic(service):
    """The outbox writes the public copies (``Event.public_copies``) beside the events: the service needs Write on
    the public topic, and the ACLs come from PUBLISHES."""
    public = {c for c in load_all_contracts().values() if issubclass(c, PublicEvent) and c.source_service == service}
    assert public - set(importlib.import_module(f"services.{service}.bootstrap").PUBLISHES) == set()
