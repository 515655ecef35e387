"""Validated settings for every service (pydantic-settings).

A service refuses to start on a missing secret, or on a development default outside development/test mode.
Settings are read once, in the composition root; business code never reads ``os.environ``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Development-only defaults. They are public (they are in this file), so a non-development environment
#: that still uses one is refused at start-up.
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"
DEV_PII_KEY = "ZGV2LW9ubHktcGlpLWtleS1jaGFuZ2UtbWUtMDEyMzQ="  # base64 of 32 bytes, dev only

SERVICE_PORTS: dict[str, int] = {
    "registry": 8001,
    "incidents": 8002,
    "mediation": 8003,
    "donations": 8004,
    "awards": 8005,
}
SERVICES: tuple[str, ...] = tuple(SERVICE_PORTS)


def dev_password(role: str) -> str:
    """The deterministic password of a database role on the embedded development stack."""
    return f"dev-{role}-password"


class ServiceSettings(BaseSettings):
    """Settings of one service process, from the environment (or a .env file)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    service_name: str = Field(description="registry, incidents, mediation, donations or awards")
    environment: Literal["development", "test", "production"] = "development"

    database_url: str = Field(description="The service's own login role, e.g. postgresql://registry:pw@db/ward")
    migration_database_url: str | None = Field(
        default=None, description="The schema owner's login (runs migrations); defaults to database_url"
    )
    db_pool_min: int = 1
    db_pool_max: int = 10

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_acks: Literal["all"] = "all"  # never 1: a leader crash must not lose an acknowledged event
    kafka_enable_idempotence: bool = False  # on against Apache Kafka; tansu does not speak InitProducerId v0
    # tansu answers an empty fetch after ~half of this: it is the latency of a hop, and an idle consumer's polling
    # rate. 5 ms made an idle platform keep a core busy; 25 ms costs ~12 ms a hop and a fraction of the CPU.
    kafka_fetch_max_wait_ms: int = 25
    kafka_max_message_bytes: int = 1_000_000

    http_host: str = "127.0.0.1"
    http_port: int | None = None

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = "ward-platform"
    pii_key: SecretStr = Field(
        default=SecretStr(DEV_PII_KEY), description="base64 32-byte key for personal data at rest"
    )

    outbox_retention_days: int = 30
    relay_batch_size: int = 500
    relay_poll_interval_s: float = 0.05
    relay_lease_s: float = 30.0
    consumer_max_attempts: int = 3
    consumer_retry_backoff_s: float = 0.05
    consumer_batch_max_records: int = 500
    consumer_max_payload_bytes: int = 256_000
    scheduler_interval_s: float = 60.0

    problem_docs_url: str = Field(
        default="/problems",
        description="Where problem types are documented; a problem's type is this URL + '#' + its slug. "
        "The default is the page every service serves; set it to the published docs/problems.md.",
    )

    otel_exporter_otlp_endpoint: str | None = None
    log_level: str = "INFO"

    @property
    def port(self) -> int:
        return self.http_port or SERVICE_PORTS.get(self.service_name, 8000)

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.service_name}.dead-letter"

    @property
    def consumer_group(self) -> str:
        return f"{self.service_name}-service"

    @model_validator(mode="after")
    def _refuse_development_secrets_outside_development(self) -> ServiceSettings:
        if self.service_name not in SERVICES:
            raise ValueError(f"SERVICE_NAME must be one of {', '.join(SERVICES)}")
        if self.environment == "production":
            bad = []
            if self.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
                bad.append("JWT_SECRET")
            if self.pii_key.get_secret_value() == DEV_PII_KEY:
                bad.append("PII_KEY")
            for name in ("database_url", "migration_database_url"):
                url = getattr(self, name) or ""
                if "dev-" in url and "-password" in url:
                    bad.append(name.upper())
            if len(self.jwt_secret.get_secret_value()) < 32:
                bad.append("JWT_SECRET (shorter than 32 characters)")
            if bad:
                raise ValueError(
                    "refusing to start in production with development defaults or weak secrets: "
                    + ", ".join(bad)
                )
        return self
