"""Validated settings for every service (pydantic-settings).

A service refuses to start on a missing secret, or on a development default outside development/test mode.
Settings are read once, in the composition root; business code never reads ``os.environ``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.forwarding import LOOPBACK, networks
from shared.topology import (  # noqa: F401  (re-exported: every module imports them from here)
    DATABASE_SERVICES,
    DEV_JWKS,
    DEV_JWT_ISSUER,
    DEV_JWT_KID,
    DEV_JWT_PUBLIC_X,
    SERVICE_PORTS,
    SERVICES,
    WEB_SERVICES,
)

#: Development-only defaults. They are public (they are in this file), so a non-development environment
#: that still uses one is refused at start-up.
#: The single key of the platform before keyrings (base64 of 32 bytes): development data written then is still
#: read with it, as the ``legacy`` key of the development keyrings.
DEV_PII_KEY = "ZGV2LW9ubHktcGlpLWtleS1jaGFuZ2UtbWUtMDEyMzQ="
DEV_ENCRYPTION_KEY = "ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktY2hhbmdlISE="  # b"dev-only-encryption-key-change!!"
DEV_INDEX_KEY = "ZGV2LW9ubHktYmxpbmQtaW5kZXgta2V5LWNoYW5nZSE="  # b"dev-only-blind-index-key-change!"
DEV_PII_KEYS = json.dumps({"dev1": DEV_ENCRYPTION_KEY, "legacy": DEV_PII_KEY})
DEV_INDEX_KEYS = json.dumps({"dev1": DEV_INDEX_KEY, "legacy": DEV_PII_KEY})
DEV_KEY_VALUES = frozenset({DEV_PII_KEY, DEV_ENCRYPTION_KEY, DEV_INDEX_KEY})
DEV_AUDIT_KEY = "dev-only-audit-key-change-me-0123456789abcdef"
DEV_IDEMPOTENCY_KEY = "dev-only-idempotency-key-change-me-0123456789"
DEV_FEED_KEY = "dev-only-feed-webhook-secret-key-change-me-0123"
DEV_IDENTITY_KEY = "dev-only-identity-second-factor-key-change-me-01"
DEV_CONSOLE_KEY = "dev-only-console-session-sealing-key-change-me-01"
DEV_NOTIFY_KEY = "dev-only-notify-contact-sealing-key-change-me-0123"

#: The development token issuer and the public half of the development signing key (Ed25519; the private half is
#: shared/devkeys/DEV-ONLY-token-signing-key.pem, used by ``wardctl token`` and the tests). A service in
#: development/test mode without JWT_JWKS_URL trusts this JWKS; production refuses it.
#: Asymmetric JWS algorithms a service may be configured to accept. HS* (a shared secret every verifier could sign
#: with) and ``none`` are never accepted.
ASYMMETRIC_JWT_ALGORITHMS = frozenset(
    {"EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)

#: Which keys each service holds (shared.crypto): registry encrypts national IDs and looks them up by blind
#: index; incidents encrypts reporters' and warned persons' identities and names reporters by pseudonym. The
#: other services hold no personal data encrypted at rest and are given (and accept) no key. Must agree with the
#: services' ``ENCRYPTED_COLUMNS`` (tests/unit/test_keys.py checks it).
PERSONAL_DATA_KEYS: dict[str, frozenset[str]] = {
    "registry": frozenset({"encryption", "index"}),
    "incidents": frozenset({"encryption", "pseudonym"}),
}
#: The settings of each key purpose.
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "encryption": ("pii_keys", "pii_active_key_id"),
    "index": ("index_keys", "index_active_key_id"),
    "pseudonym": ("pseudonym_key",),
}


def dev_password(role: str) -> str:
    """The deterministic password of a database role on the embedded development stack."""
    return f"dev-{role}-password"


class ServiceSettings(BaseSettings):
    """Settings of one service process, from the environment (or a .env file)."""

    # hide_input_in_errors: a refused setting is named, never echoed (the input holds the secrets).
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True)

    service_name: str = Field(description="registry, incidents, mediation, donations, awards or feed")
    environment: Literal["development", "test", "production"] = "development"

    # Only the application role: the schema owner's login is for `wardctl migrate` (shared.migrations), never for
    # a running service, so that a compromised service cannot rewrite the insert-only audit trail or ledger.
    database_url: str = Field(description="The service's own login role, e.g. postgresql://registry:pw@db/ward")
    db_pool_min: int = 1
    db_pool_max: int = 10

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_acks: Literal["all"] = "all"  # never 1: a leader crash must not lose an acknowledged event
    kafka_enable_idempotence: bool = False  # on against Apache Kafka; tansu does not speak InitProducerId v0
    # tansu answers an empty fetch after ~half of this: it is the latency of a hop, and an idle consumer's polling
    # rate. 5 ms made an idle platform keep a core busy; 25 ms costs ~12 ms a hop and a fraction of the CPU.
    kafka_fetch_max_wait_ms: int = 25
    kafka_metadata_max_age_ms: int = Field(
        default=10_000, ge=1_000,
        description="How often clients refresh topic metadata, so that a consumer group notices a topic's new "
        "partitions (e.g. a topic the embedded broker created with its own partition count) within seconds, not "
        "aiokafka's five minutes",
    )
    kafka_max_message_bytes: int = Field(
        default=1_000_000, ge=10_000,
        description="The largest Kafka message (value, key and headers): the producer's max_request_size, the "
        "consumer's limit (a larger message is dead-lettered) and the outbox's, which refuses a bigger event when "
        "it is enqueued; at most the broker's message.max.bytes",
    )
    # How the service authenticates to Kafka. The container stacks use SASL/SCRAM with one principal per service
    # and ACLs generated from the contracts (deploy/kafka/create-acls.sh); the embedded tansu broker has neither,
    # so development defaults to PLAINTEXT, which production refuses unless KAFKA_ALLOW_PLAINTEXT says otherwise.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = Field(default=None, description="The service's Kafka principal")
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(default=None, description="CA bundle for SASL_SSL/SSL (system CAs if unset)")
    kafka_allow_plaintext: bool = Field(
        default=False, description="Allow an unauthenticated broker in production (a private network you trust)"
    )

    http_host: str = "127.0.0.1"
    http_port: int | None = None
    http_max_body_bytes: int = Field(
        default=1_048_576, ge=0, description="Largest request body a route accepts unless it declares its own (413)"
    )
    http_max_json_depth: int = Field(default=32, ge=1, description="Deepest JSON nesting a request body may have")

    # Bearer tokens: asymmetric JWTs from an OpenID Connect provider, verified against its JWKS (shared/auth.py).
    jwt_issuer: str = Field(default=DEV_JWT_ISSUER, description="the `iss` every token must carry (the OIDC issuer)")
    jwt_jwks_url: str | None = Field(
        default=None, description="the provider's JWKS, e.g. https://id.example/realms/ward/protocol/openid-connect/certs"
    )
    jwt_jwks: str | None = Field(
        default=None, description="an inline JWKS (JSON) instead of a URL; development/test only"
    )
    jwt_audience: str | None = Field(default=None, description="the `aud` this service accepts; default: its name")
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["EdDSA", "RS256"])
    jwt_max_lifetime_s: int = Field(default=3600, gt=0, description="tokens whose exp - iat exceeds this are refused")
    jwt_leeway_s: int = Field(default=30, ge=0, le=300, description="clock skew allowed on exp/nbf/iat")
    jwt_jwks_cache_s: float = Field(default=300, gt=0, description="how long a fetched JWKS is used")
    jwt_jwks_refresh_cooldown_s: float = Field(
        default=30, ge=0, description="an unknown kid refetches the JWKS at most this often"
    )
    jwt_jwks_timeout_s: float = Field(default=5, gt=0)
    # Keys for personal data (shared.crypto), only in the services of PERSONAL_DATA_KEYS. Unset in development and
    # tests: the development keys below are used; production refuses to start without them.
    pii_keys: SecretStr | None = Field(
        default=None, description='encryption keyring: JSON {"<key id>": "<base64 of 32 bytes>", ...}'
    )
    pii_active_key_id: str | None = Field(default=None, description="the key id new ciphertexts are written under")
    index_keys: SecretStr | None = Field(default=None, description="blind-index keyring, same format as PII_KEYS")
    index_active_key_id: str | None = None
    pseudonym_key: SecretStr | None = Field(default=None, description="base64 of 32 bytes; never rotated")

    # The audit chain's HMAC key (shared.audit): held by the service, never by the database. Rotation: give the new
    # key a new AUDIT_KEY_ID and move the old one into AUDIT_RETIRED_KEYS ({"<id>": "<key>"}) so that verification
    # still checks the rows it signed.
    audit_key: SecretStr = Field(default=SecretStr(DEV_AUDIT_KEY), description="HMAC key of the audit chain")
    audit_key_id: str = Field(default="dev", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    audit_retired_keys: dict[str, SecretStr] = Field(default_factory=dict)
    audit_head_interval_s: float = Field(default=300.0, gt=0, description="How often the chain's head is published")

    # The public claim routes of awards (a reporter naming themselves on a certificate): requests per window, counted
    # per client address and per certificate code, across replicas (shared/ratelimit.py).
    claim_rate_limit: int = Field(default=20, ge=1)
    claim_rate_window_s: int = Field(default=600, ge=1)
    # The other public and anonymous routes (anonymous tip intake, follow-up, certificate verification), per client
    # address and, where the route names one, per code (shared/ratelimit.py).
    public_rate_limit: int = Field(default=30, ge=1)
    public_rate_window_s: int = Field(default=60, ge=1)
    # Who may tell a service the client's address (X-Forwarded-For, shared/forwarding.py): the console and the
    # ingress, as addresses or networks (JSON list). Unset: the loopback in development and tests, nobody in
    # production. Only these limits use it (sign-in, public routes); anyone else's X-Forwarded-For is ignored.
    trusted_proxies: list[str] | None = Field(
        default=None, description='JSON list of addresses or networks, e.g. ["10.42.0.0/16"]; unset: loopback '
                                  "in development and tests, none in production")

    outbox_retention_days: int = 30
    outbox_retention_interval_s: float = 3600.0  # how often the retention job deletes published rows past it
    idempotency_key: SecretStr = Field(
        default=SecretStr(DEV_IDEMPOTENCY_KEY),
        description="seals the replies kept for Idempotency-Key retries (AES-GCM; at least 32 characters, one per service)",
    )
    idempotency_retired_keys: list[SecretStr] = Field(
        default_factory=list, description="keys replaced within the retention period: their records still open",
    )
    idempotency_retention_hours: float = Field(
        default=24, gt=0, description="how long a command's response is kept for a retry with its Idempotency-Key"
    )
    relay_batch_size: int = 500
    relay_lease_s: float = 30.0
    consumer_max_attempts: int = 3
    consumer_retry_backoff_s: float = 0.05
    consumer_batch_max_records: int = 500
    # Parked events (a type an older replica did not know) are drained at start and then this often.
    parked_drain_interval_s: float = 60.0

    # The public feed (services/feed): where other wards reach it, and whether its webhooks may call private hosts.
    feed_public_url: str = Field(
        default="http://127.0.0.1:8006",
        description="The feed's public base URL: the $id of the public JSON Schemas and the AsyncAPI server",
    )
    feed_allow_private_callbacks: bool = Field(
        default=False, description="Let webhooks call loopback/private/link-local hosts (development and tests only)",
    )

    problem_docs_url: str = Field(
        default="/problems",
        description="Where problem types are documented; a problem's type is this URL + '#' + its slug. "
        "The default is the page every service serves; set it to the published docs/problems.md.",
    )

    otel_exporter_otlp_endpoint: str | None = None
    log_level: str = "INFO"

    # The feed's webhooks (services/feed: webhooks.py, callbacks.py, delivery.py). Signing secrets are kept
    # AES-GCM-sealed under FEED_KEY (shared.idempotency.Sealer); a replaced key goes to FEED_RETIRED_KEYS.
    feed_key: SecretStr = Field(default=SecretStr(DEV_FEED_KEY),
                                description="seals webhook signing secrets at rest (at least 32 characters)")
    feed_retired_keys: list[SecretStr] = Field(default_factory=list)
    feed_webhook_retry_base_s: float = Field(default=5.0, gt=0, description="first retry delay; doubles")
    feed_webhook_retry_cap_s: float = Field(default=3600.0, gt=0, description="longest retry delay")
    feed_webhook_give_up_s: float = Field(
        default=86400.0, gt=0, description="a webhook is paused this long after its held event first failed")
    feed_webhook_timeout_s: float = Field(default=10.0, gt=0, description="one delivery's whole HTTP exchange")
    feed_webhook_poll_s: float = Field(
        default=5.0, gt=0, description="how often an idle worker looks for due retries (NOTIFY wakes it sooner)")
    feed_webhook_workers: int = Field(default=4, ge=1, description="deliveries in flight per replica")

    # The identity service (services/identity): the key it signs tokens with (Ed25519 PEM; unset in development
    # and tests: the development key, which every service there already trusts; production refuses it), the key
    # that seals second-factor secrets at rest (shared.idempotency.Sealer, purpose "totp-secret"), and sign-in limits.
    identity_signing_key: SecretStr | None = Field(
        default=None, description="Ed25519 private key (PEM) the identity service signs tokens with")
    identity_signing_kid: str = Field(default=DEV_JWT_KID, pattern=r"^[A-Za-z0-9._-]{1,64}$",
                                      description="the `kid` of the signing key in the identity service's JWKS")
    identity_public_url: str = Field(default="http://127.0.0.1:8007",
                                     description="where the identity service is reached: its discovery document's URLs")
    identity_key: SecretStr = Field(default=SecretStr(DEV_IDENTITY_KEY),
                                    description="seals second-factor (TOTP) secrets at rest (at least 32 characters)")
    identity_retired_keys: list[SecretStr] = Field(default_factory=list)
    identity_access_token_ttl_s: int = Field(default=600, gt=0, le=3600)
    # The console (services/console): the key its sessions' tokens are sealed under at rest, where it finds the
    # services' APIs, and how long a session lasts.
    console_key: SecretStr = Field(default=SecretStr(DEV_CONSOLE_KEY),
                                   description="seals the tokens the console keeps for a session (>= 32 characters)")
    console_retired_keys: list[SecretStr] = Field(default_factory=list)
    console_api_urls: dict[str, str] = Field(
        default_factory=lambda: {s: f"http://127.0.0.1:{p}" for s, p in SERVICE_PORTS.items() if s != "console"},
        description='where the console calls each service, JSON {"registry": "http://registry:8001", ...}')
    console_session_idle_s: int = Field(default=8 * 3600, gt=0, description="a session unused this long ends")
    # Where a city runs an OpenID Connect provider (Keycloak): the console signs people in through it
    # (authorization code + PKCE S256). Unset: the built-in accounts of identity.
    console_oidc_issuer: str = Field(default="", description="the provider's issuer URL (its discovery document)")
    console_oidc_client_id: str = Field(default="", description="the console's client id at the provider")
    console_oidc_client_secret: SecretStr | None = Field(
        default=None, description="the client secret of a confidential client; unset for a public client (PKCE)")
    console_oidc_redirect_url: str = Field(
        default="", description="the callback URL registered at the provider; default: this request's "
                                "origin + /sign-in/oidc/callback")
    console_oidc_discovery_url: str = Field(
        default="", description="where the console reads the discovery document when the issuer's public URL is "
                                "not reachable from it (compose: http://keycloak:8080/realms/ward/...)")
    console_oidc_name: str = Field(default="", description='the provider as people know it ("Sign in with ...")')
    console_oidc_only: bool = Field(default=False, description="offer only the provider, not identity's accounts")
    console_oidc_scope: str = Field(default="openid profile")
    # The console's map of the ward (pages_map.py): the background tiles are optional (none: the group areas and the
    # markers on a plain background, which works offline); the Content-Security-Policy of the map page admits the
    # tile server's origin only when one is set.
    console_map_tiles_url: str = Field(
        default="", description="a tile URL template, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png; "
                                "empty: no tiles")
    console_map_tiles_attribution: str = Field(default="", description="the tiles' attribution, shown on the map")
    console_map_center: str = Field(default="21.0285,105.8542,15",
                                    description="latitude,longitude,zoom where the map opens when the ward has no "
                                                "group areas yet")
    console_evidence_max_bytes: int = Field(default=256 * 1024 * 1024, gt=0,
                                            description="the largest evidence file the console passes on (the "
                                                        "incidents service's per-kind limits still apply)")
    sign_in_rate_limit: int = Field(default=20, ge=1, description="sign-in and reset attempts per address per window")
    sign_in_rate_window_s: int = Field(default=300, ge=1)
    # Evidence files on incidents (issue 18, docs/evidence.md): where they are stored and how large each kind may be.
    evidence_store: Literal["local", "s3"] = Field(
        default="local", description="local: a directory (EVIDENCE_DIR); s3: an S3 API (MinIO, a cloud bucket)")
    evidence_dir: str | None = Field(
        default=None, description="the directory of the local store (make run: <data dir>/evidence); unset with "
                                  "EVIDENCE_STORE=local: uploads answer 503")
    evidence_s3_endpoint_url: str | None = Field(default=None, description="e.g. http://minio:9000; unset: AWS")
    evidence_s3_bucket: str = Field(default="ward-evidence", description="the bucket evidence files are kept in")
    evidence_s3_region: str = "us-east-1"
    evidence_s3_prefix: str = Field(default="", description="a key prefix within the bucket")
    evidence_s3_access_key_id: str | None = None
    evidence_s3_secret_access_key: SecretStr | None = None
    evidence_s3_sse: str | None = Field(default=None, description="server-side encryption to ask for, e.g. AES256")
    evidence_s3_create_bucket: bool = Field(
        default=False, description="create the bucket when missing (never in production)")
    evidence_staging_dir: str | None = Field(
        default=None, description="where uploads are spooled while checked and cleaned (EVIDENCE_STORE=s3; unset: "
                                  "the system's temporary directory; the local store uses <EVIDENCE_DIR>/.staging)")
    evidence_max_image_bytes: int = Field(default=20 * 1024 * 1024, ge=1, description="JPEG, PNG, WebP")
    evidence_max_video_bytes: int = Field(default=200 * 1024 * 1024, ge=1, description="MP4, WebM")
    evidence_max_document_bytes: int = Field(default=20 * 1024 * 1024, ge=1, description="PDF")
    evidence_max_image_pixels: int = Field(
        default=30_000_000, ge=1, description="larger images are refused (decoding one takes ~3 bytes a pixel)")
    # Delivery channels (shared/channels.py; docs/operations.md "Connecting real providers"). Empty: channel off.
    notify_smtp_host: str = Field(default="", description="the SMTP server (submission); empty: no email")
    notify_smtp_port: int = Field(default=587, ge=1, le=65535)
    notify_smtp_username: str = Field(default="", description="empty: no SMTP authentication")
    notify_smtp_password: SecretStr | None = None
    notify_smtp_tls: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (submission, 587), tls (implicit TLS, 465) or none (a local relay)")
    notify_smtp_from: str = Field(default="", description='the From address, e.g. "Phường Phú Sơn <no-reply@...>"')
    sms_gateway_url: str = Field(default="", description="the SMS gateway's base URL; messages go to {url}/messages")
    sms_gateway_key_id: str = Field(default="", description="names the shared secret (X-Key-Id) both ways")
    sms_gateway_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key signing requests to the gateway and verifying its webhooks")
    sms_gateway_replay_window_s: int = Field(default=300, ge=1, description="a signed request older or newer is refused")
    zalo_oa_api_url: str = Field(default="https://openapi.zalo.me", description="the Zalo OA Open API")
    zalo_oa_access_token: SecretStr | None = Field(default=None, description="the OA's access token; unset: no Zalo")
    zalo_app_secret: SecretStr | None = Field(
        default=None, description="the OA secret key that Zalo's X-ZEvent-Signature of webhooks is computed with")
    zalo_app_id: str = Field(default="", description="the Zalo app's id (part of X-ZEvent-Signature)")
    notify_channel_timeout_s: float = Field(default=10.0, gt=0, description="one send to a provider, whole exchange")
    # The delivery worker (services/notify/delivery.py), in every replica of notify.
    notify_delivery_max_attempts: int = Field(default=8, ge=1, description="a delivery is failed after this many")
    notify_delivery_retry_base_s: float = Field(default=30.0, gt=0, description="first retry delay; doubles, jittered")
    notify_delivery_retry_cap_s: float = Field(default=3600.0, gt=0, description="longest retry delay")
    notify_delivery_lease_s: float = Field(
        default=120.0, gt=0, description="a delivery being sent is taken over by another worker after this long "
                                         "(its worker died); well above NOTIFY_CHANNEL_TIMEOUT_S")
    notify_delivery_poll_s: float = Field(default=5.0, gt=0, description="how often an idle worker looks for due ones")
    notify_delivery_workers: int = Field(default=2, ge=1, description="deliveries in flight per replica")
    # The notify service (issue 17, docs/services/notify.md): the key contact addresses are sealed under at rest
    # (shared.idempotency.Sealer, purpose "contact"), where its messages link to, the ward's time zone (quiet hours,
    # digests, "deadline near"), and when its scheduled job warns ahead of a deadline.
    notify_key: SecretStr = Field(default=SecretStr(DEV_NOTIFY_KEY),
                                  description="seals people's contact addresses at rest (at least 32 characters)")
    notify_retired_keys: list[SecretStr] = Field(default_factory=list)
    notify_console_url: str = Field(default="http://127.0.0.1:8008",
                                    description="the console's public URL: every message links there")
    notify_timezone: str = Field(default="Asia/Ho_Chi_Minh", description="the ward's time zone (IANA name)")
    notify_tip_deadline_warn_days: int = Field(default=3, ge=1, le=20,
                                               description="days before a crime tip's deadline its officer is told")
    notify_residence_warn_days: int = Field(default=7, ge=1, le=60,
                                            description="days before a temporary residence expires it is said")
    notify_scan_interval_s: float = Field(default=300.0, gt=0,
                                          description="how often the job looks for deadlines near and expiries")
    notify_verify_rate_limit: int = Field(default=5, ge=1, description="verification codes sent per person per hour")

    # Reports in by SMS and Zalo (incidents, issue 17): the residential group a text is filed under (a text names no
    # place; the police correct it at triage), and how many texts one sender may send per window (counted under a
    # keyed pseudonym of the number, deleted when the window ends, as for client addresses). The gateways' own
    # settings (SMS_GATEWAY_*, ZALO_*) are shared/channels.py's; a channel without them answers 404.
    incidents_intake_group_id: str | None = Field(
        default=None, max_length=64, description="the residential group reports by SMS/Zalo are filed under")
    intake_rate_limit: int = Field(default=10, ge=1, description="texts one sender may send per window")
    intake_rate_window_s: int = Field(default=600, ge=1)

    @property
    def trusted_proxy_networks(self) -> tuple[Any, ...]:
        """TRUSTED_PROXIES as networks (shared/forwarding.py)."""
        if self.trusted_proxies is None:
            return () if self.environment == "production" else networks(LOOPBACK)
        return networks(tuple(self.trusted_proxies))

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            try:
                networks(tuple(value))
            except ValueError as exc:
                raise ValueError("TRUSTED_PROXIES must be a JSON list of IP addresses or networks") from exc
        return value

    @property
    def port(self) -> int:
        return self.http_port or SERVICE_PORTS.get(self.service_name, 8000)

    @property
    def audience(self) -> str:
        return self.jwt_audience or self.service_name

    def trusted_jwks(self) -> dict[str, Any] | None:
        """The static JWKS this service trusts (None when it fetches JWT_JWKS_URL)."""
        if self.jwt_jwks_url:
            return None
        if self.jwt_jwks:
            return json.loads(self.jwt_jwks)
        return DEV_JWKS

    @field_validator("jwt_algorithms")
    @classmethod
    def _only_asymmetric_algorithms(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if a not in ASYMMETRIC_JWT_ALGORITHMS]
        if bad or not value:
            raise ValueError(f"JWT_ALGORITHMS must be a non-empty subset of {sorted(ASYMMETRIC_JWT_ALGORITHMS)}")
        return value

    @field_validator("jwt_jwks")
    @classmethod
    def _jwks_is_a_key_set(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                keys = json.loads(value).get("keys")
            except (ValueError, AttributeError):
                keys = None
            if not isinstance(keys, list) or not keys:
                raise ValueError("JWT_JWKS must be a JSON Web Key Set: {\"keys\": [...]}")
        return value

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.service_name}.dead-letter"

    @property
    def consumer_group(self) -> str:
        return f"{self.service_name}-service"

    @property
    def key_purposes(self) -> frozenset[str]:
        return PERSONAL_DATA_KEYS.get(self.service_name, frozenset())

    def protector(self):
        """The personal-data protector with exactly this service's keys (development keys when unset)."""
        from shared.crypto import KeyRing, PersonalDataProtector, decode_key

        need = self.key_purposes

        def ring(name: str, keys: SecretStr | None, active: str | None, dev_keys: str) -> KeyRing:
            if keys is None:
                return KeyRing.parse(name, dev_keys, "dev1")
            return KeyRing.parse(name, keys.get_secret_value(), active)

        encryption = ring("PII_KEYS", self.pii_keys, self.pii_active_key_id, DEV_PII_KEYS) if "encryption" in need else None
        index = ring("INDEX_KEYS", self.index_keys, self.index_active_key_id, DEV_INDEX_KEYS) if "index" in need else None
        pseudonym = None
        if "pseudonym" in need:
            pseudonym = decode_key("PSEUDONYM_KEY", self.pseudonym_key.get_secret_value() if self.pseudonym_key
                                   else DEV_PII_KEY)
        return PersonalDataProtector(encryption, index, pseudonym, service=self.service_name)

    def _identity_problems(self) -> list[str]:
        return _identity_problems_of(self)

    def _check_keys(self) -> list[str]:
        """A service gets the keys of its purposes and no other; in production, none may be a development key."""
        self.protector()  # malformed keyrings fail now, at start-up, with the setting's name
        bad: list[str] = []
        need = self.key_purposes
        for purpose, fields in KEY_SETTINGS.items():
            given = [f for f in fields if getattr(self, f) is not None]
            if purpose not in need:
                if given:
                    raise ValueError(f"{self.service_name} does not use the {purpose} key: it must not be given "
                                     + ", ".join(f.upper() for f in given))
                continue
            secret = getattr(self, fields[0])
            if self.environment == "production":
                if secret is None:
                    bad.append(f"{fields[0].upper()} (not set)")
                    continue
                text = secret.get_secret_value()
                values = set(json.loads(text).values()) if text.lstrip().startswith("{") else {text}
                if values & DEV_KEY_VALUES:
                    bad.append(fields[0].upper())
        return bad

    @model_validator(mode="after")
    def _refuse_development_secrets_outside_development(self) -> ServiceSettings:
        if self.service_name not in SERVICE_PORTS:
            raise ValueError(f"SERVICE_NAME must be one of {', '.join(SERVICE_PORTS)}")
        key_problems = self._check_keys()
        if self.jwt_jwks_url and self.jwt_jwks:
            raise ValueError("set JWT_JWKS_URL or JWT_JWKS, not both")
        if self.environment == "production" and self.service_name in WEB_SERVICES:
            # The console verifies no token, holds no audit chain, idempotency record or Kafka client: only its
            # sealing key and its database login matter.
            bad = [*key_problems, *(["DATABASE_URL"] if "dev-" in self.database_url and "-password" in
                                    self.database_url else [])]
            if any(k.get_secret_value() == DEV_CONSOLE_KEY or len(k.get_secret_value()) < 32
                   for k in [self.console_key, *self.console_retired_keys]):
                bad.append("CONSOLE_KEY (the development key, or shorter than 32 characters)")
            if bad:
                raise ValueError("refusing to start in production with development defaults or weak secrets: "
                                 + ", ".join(bad))
        elif self.environment == "production":
            bad = list(key_problems)
            if not self.jwt_jwks_url:
                bad.append("JWT_JWKS_URL (unset: production verifies tokens against the OIDC provider's JWKS)")
            if self.jwt_jwks:
                dev = any(k.get("kid") == DEV_JWT_KID or k.get("x") == DEV_JWT_PUBLIC_X
                          for k in json.loads(self.jwt_jwks)["keys"] if isinstance(k, dict))
                bad.append("JWT_JWKS (the development key)" if dev else "JWT_JWKS (use JWT_JWKS_URL)")
            if self.jwt_issuer == DEV_JWT_ISSUER:
                bad.append("JWT_ISSUER")
            audit_keys = [self.audit_key, *self.audit_retired_keys.values()]
            if any(k.get_secret_value() == DEV_AUDIT_KEY for k in audit_keys) or self.audit_key_id == "dev":
                bad.append("AUDIT_KEY")
            if any(len(k.get_secret_value()) < 32 for k in audit_keys):
                bad.append("AUDIT_KEY (shorter than 32 characters)")
            idempotency_keys = [self.idempotency_key, *self.idempotency_retired_keys]
            if any(k.get_secret_value() == DEV_IDEMPOTENCY_KEY for k in idempotency_keys):
                bad.append("IDEMPOTENCY_KEY")
            if any(len(k.get_secret_value()) < 32 for k in idempotency_keys):
                bad.append("IDEMPOTENCY_KEY (shorter than 32 characters)")
            if self.service_name == "feed" and any(
                    k.get_secret_value() == DEV_FEED_KEY or len(k.get_secret_value()) < 32
                    for k in [self.feed_key, *self.feed_retired_keys]):
                bad.append("FEED_KEY (the development key, or shorter than 32 characters)")
            if self.service_name == "identity":
                bad.extend(self._identity_problems())
            if self.service_name == "notify" and any(
                    k.get_secret_value() == DEV_NOTIFY_KEY or len(k.get_secret_value()) < 32
                    for k in [self.notify_key, *self.notify_retired_keys]):
                bad.append("NOTIFY_KEY (the development key, or shorter than 32 characters)")
            if "dev-" in self.database_url and "-password" in self.database_url:
                bad.append("DATABASE_URL")
            if self.kafka_security_protocol == "PLAINTEXT" and not self.kafka_allow_plaintext:
                bad.append("KAFKA_SECURITY_PROTOCOL (PLAINTEXT: unauthenticated; use SASL_SSL or SASL_PLAINTEXT,"
                           " or set KAFKA_ALLOW_PLAINTEXT=true)")
            if bad:
                raise ValueError(
                    "refusing to start in production with development defaults or weak secrets: "
                    + ", ".join(bad)
                )
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs KAFKA_SASL_USERNAME and "
                             "KAFKA_SASL_PASSWORD")
        return self


def _identity_problems_of(settings: ServiceSettings) -> list[str]:
    """What production refuses in the identity service: no signing key or the development one (public: anyone could
    sign tokens every service accepts), and a development or short key for second-factor secrets."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    bad = []
    if settings.identity_signing_key is None:
        bad.append("IDENTITY_SIGNING_KEY (unset: the development key)")
    else:
        try:
            key = serialization.load_pem_private_key(
                settings.identity_signing_key.get_secret_value().encode(), password=None)
        except ValueError:
            key = None
        if not isinstance(key, Ed25519PrivateKey):
            bad.append("IDENTITY_SIGNING_KEY (not an Ed25519 private key in PEM)")
        else:
            import base64
            raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == DEV_JWT_PUBLIC_X:
                bad.append("IDENTITY_SIGNING_KEY (the development key)")
    if settings.identity_signing_kid == DEV_JWT_KID:
        bad.append("IDENTITY_SIGNING_KID (the development key's id)")
    if any(k.get_secret_value() == DEV_IDENTITY_KEY or len(k.get_secret_value()) < 32
           for k in [settings.identity_key, *settings.identity_retired_keys]):
        bad.append("IDENTITY_KEY (the development key, or shorter than 32 characters)")
    return bad


class MigrationSettings(BaseSettings):
    """The schema owners' logins, read only by ``wardctl migrate`` (the one-shot migration step): never by a
    running service. ``<SERVICE>_OWNER_DATABASE_URL`` per service, e.g.
    ``REGISTRY_OWNER_DATABASE_URL=postgresql://registry_owner:pw@db/ward``."""

    # hide_input_in_errors: a refused setting is named, never echoed (the input holds the secrets).
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True)

    registry_owner_database_url: SecretStr | None = None
    incidents_owner_database_url: SecretStr | None = None
    mediation_owner_database_url: SecretStr | None = None
    donations_owner_database_url: SecretStr | None = None
    awards_owner_database_url: SecretStr | None = None
    feed_owner_database_url: SecretStr | None = None
    identity_owner_database_url: SecretStr | None = None
    console_owner_database_url: SecretStr | None = None
    notify_owner_database_url: SecretStr | None = None

    def owner_url(self, service: str) -> str:
        value = getattr(self, f"{service}_owner_database_url", None)
        if value is None:
            raise ValueError(f"{service.upper()}_OWNER_DATABASE_URL is not set (the {service}_owner login)")
        return value.get_secret_value()
