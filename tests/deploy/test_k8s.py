"""The kustomize base: a Deployment and a Service per service, probes, resources, a locked-down securityContext."""

from __future__ import annotations

import pytest

from shared.settings import (
    DATABASE_SERVICES,
    KEY_SETTINGS,
    PERSONAL_DATA_KEYS,
    SERVICE_PORTS,
    SERVICES,
    MigrationSettings,
    ServiceSettings,
)
from tests.deploy.files import K8S_BASE, load_yaml, load_yaml_all, render_module

render = render_module()


def kustomization() -> dict:
    return load_yaml(K8S_BASE / "kustomization.yaml")


def documents() -> list[dict]:
    return [doc for resource in kustomization()["resources"] for doc in load_yaml_all(K8S_BASE / resource)]


def of_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


def container(service: str) -> dict:
    (c,) = of_kind("Deployment")[service]["spec"]["template"]["spec"]["containers"]
    return c


def test_kustomization_lists_every_manifest_and_each_one_parses():
    listed = kustomization()["resources"]
    on_disk = sorted(p.name for p in K8S_BASE.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == on_disk
    for doc in documents():
        assert {"apiVersion", "kind", "metadata"} <= set(doc)
    assert kustomization()["images"] == [{"name": render.IMAGE, "newTag": "latest"}]


def test_a_deployment_and_a_service_per_service_with_matching_ports_and_labels():
    deployments, services = of_kind("Deployment"), of_kind("Service")
    assert set(deployments) == set(services) == set(SERVICE_PORTS)  # the API services and the console
    for name in SERVICE_PORTS:
        spec = deployments[name]["spec"]
        assert spec["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}
        assert spec["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == name
        assert services[name]["spec"]["selector"] == spec["selector"]["matchLabels"]
        c = container(name)
        assert c["image"] == render.IMAGE  # the image compose builds; kustomize sets the tag
        assert c["command"] == ["python", "-m", f"services.{name}"]
        assert c["ports"] == [{"name": "http", "containerPort": SERVICE_PORTS[name]}]
        assert services[name]["spec"]["ports"] == [{"name": "http", "port": SERVICE_PORTS[name], "targetPort": "http"}]


@pytest.mark.parametrize("service", SERVICES)
def test_probes_resources_and_security_context(service):
    c = container(service)
    assert c["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert c["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and "memory" in c["resources"]["limits"]
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
    pod = of_kind("Deployment")[service]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == render.IMAGE_UID
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]  # the only writable path


@pytest.mark.parametrize("service", SERVICES)
def test_configuration_comes_from_the_config_map_and_secrets(service):
    c = container(service)
    config = of_kind("ConfigMap")["ward-platform-config"]["data"]
    assert c["envFrom"] == [{"configMapRef": {"name": "ward-platform-config"}}]
    env = {e["name"]: e for e in c["env"]}
    known = {n.upper() for n in ServiceSettings.model_fields}
    assert (set(env) | set(config)) <= known
    keys = {f.upper() for purpose in PERSONAL_DATA_KEYS.get(service, ()) for f in KEY_SETTINGS[purpose]}
    for secret in ("DATABASE_URL", *keys):
        assert "secretKeyRef" in env[secret]["valueFrom"], secret  # never a literal value
        assert secret not in config
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == f"{service}-database"
    # its own keys, from its own Secret, and none of the purposes it does not use; no schema owner's login
    every_key = {f.upper() for fields in KEY_SETTINGS.values() for f in fields}
    assert set(env) & every_key == keys, service
    assert {env[k]["valueFrom"]["secretKeyRef"]["name"] for k in keys} <= {f"{service}-personal-data-keys"}
    assert not [name for name in env if "OWNER" in name or "MIGRATION" in name]
    assert not [e for e in env.values() if "ward-platform-migrations" in str(e)]
    assert env["HTTP_PORT"]["value"] == str(SERVICE_PORTS[service])
    required = {n.upper() for n, f in ServiceSettings.model_fields.items() if f.is_required()} - {"SERVICE_NAME"}
    assert required <= set(env) | set(config)
    assert config["ENVIRONMENT"] == "production" and config["HTTP_HOST"] == "0.0.0.0"
    assert config["KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    # Its own Kafka principal, its password from its own Secret, over TLS.
    assert env["KAFKA_SASL_USERNAME"]["value"] == service
    assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": f"{service}-kafka",
                                                                      "key": "KAFKA_SASL_PASSWORD"}
    assert config["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL" and "KAFKA_SASL_PASSWORD" not in config
    # tokens: the city's OIDC provider (the settings refuse to start without it in production)
    assert config["JWT_JWKS_URL"].endswith("/protocol/openid-connect/certs")
    assert config["JWT_ISSUER"].startswith("https://") and "JWT_SECRET" not in set(env) | set(config)


def test_the_migration_job_alone_reads_the_schema_owners_logins():
    (job,) = of_kind("Job").values()
    assert job["metadata"]["name"] == "ward-migrate"
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] in ("OnFailure", "Never") and pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == render.IMAGE_UID
    (c,) = pod["containers"]
    assert c["image"] == render.IMAGE and c["command"] == ["python", "-m", "shared.cli", "migrate"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"]}
    expected = {f"{s.upper()}_OWNER_DATABASE_URL" for s in DATABASE_SERVICES}  # the console's schema too
    assert set(env) == expected == {n.upper() for n in MigrationSettings.model_fields}
    assert {ref["name"] for ref in env.values()} == {"ward-platform-migrations"}
    for service in SERVICES:  # no Deployment refers to that Secret
        assert "ward-platform-migrations" not in str(of_kind("Deployment")[service])


def test_the_console_holds_its_database_login_and_sealing_key_and_nothing_of_kafka_or_the_audit_chain():
    env = {e["name"]: e for e in container("console")["env"]}
    assert env["CONSOLE_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "console-session-key", "key": "CONSOLE_KEY"}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "console-database"
    assert "http://identity:8007" in env["CONSOLE_API_URLS"]["value"]
    assert not [n for n in env if n.startswith(("KAFKA_", "AUDIT_", "IDEMPOTENCY_"))]


def test_incidents_keeps_evidence_in_s3_with_its_own_login_and_spools_uploads_in_its_own_volume():
    from shared.settings import ServiceSettings

    env = {e["name"]: e for e in container("incidents")["env"]}
    assert env["EVIDENCE_STORE"]["value"] == "s3" and env["EVIDENCE_S3_BUCKET"]["value"] == "ward-evidence"
    for name in ("EVIDENCE_S3_ACCESS_KEY_ID", "EVIDENCE_S3_SECRET_ACCESS_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "incidents-evidence-store"
    assert {n.lower() for n in env} <= set(ServiceSettings.model_fields)
    staging = env["EVIDENCE_STAGING_DIR"]["value"]
    assert {"name": "evidence-staging", "mountPath": staging} in container("incidents")["volumeMounts"]
    for other in ("registry", "mediation", "donations", "awards", "feed"):
        assert not any(e["name"].startswith("EVIDENCE_") for e in container(other)["env"]), other
