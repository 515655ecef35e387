"""Contracts and plumbing that all six services share.

Every service is wired the same way (see ``shared.service.ServiceRuntime``): settings, a PostgreSQL pool as
its own login role, migrations, the transactional outbox and its relay, the inbox-backed Kafka consumer with
retries and a dead-letter topic, audit records, telemetry, and the HTTP application with auth, health,
metrics, problem details and idempotency keys.
"""
