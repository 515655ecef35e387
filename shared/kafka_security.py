"""How a service authenticates to Kafka, in one place for every client it opens (the faststream broker that
consumes, the relay's producer).

The container stacks run Apache Kafka with SASL/SCRAM-SHA-512: one principal per service, whose ACLs
(deploy/kafka/create-acls.sh, generated from the contracts by deploy/render.py) let it write only the topics it
publishes and read only the topics it consumes. SCRAM never sends the password, so SASL_PLAINTEXT is tolerable
inside one private container network; across hosts use SASL_SSL. The embedded tansu broker has no SASL and no
ACLs: PLAINTEXT is for one developer's machine, and production settings refuse it (shared/settings.py).
"""

from __future__ import annotations

import ssl
from typing import Any

from faststream.security import BaseSecurity, SASLScram256, SASLScram512

from shared.settings import ServiceSettings


def _ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    return ssl.create_default_context(cafile=settings.kafka_ssl_cafile)


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's producers, consumers and admin clients."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    context = _ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if protocol.startswith("SASL"):
        assert settings.kafka_sasl_username and settings.kafka_sasl_password  # the settings validator insists
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password.get_secret_value(),
        )
    return options


def broker_security(settings: ServiceSettings) -> BaseSecurity | None:
    """The same credentials for faststream's ``KafkaBroker(security=...)``."""
    protocol = settings.kafka_security_protocol
    context = _ssl_context(settings)
    if protocol.startswith("SASL"):
        assert settings.kafka_sasl_username and settings.kafka_sasl_password
        cls = SASLScram512 if settings.kafka_sasl_mechanism == "SCRAM-SHA-512" else SASLScram256
        return cls(settings.kafka_sasl_username, settings.kafka_sasl_password.get_secret_value(),
                   ssl_context=context, use_ssl=protocol == "SASL_SSL")
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    return None
