-- Plumbing every service has in its own schema: the transactional outbox, the inbox of handled events,
-- dead letters, the audit trail (insert-only for the application role, hash-chained) and idempotency keys.

CREATE TABLE outbox (
    seq             bigserial PRIMARY KEY,            -- publication order
    event_id        uuid NOT NULL UNIQUE,
    topic           text NOT NULL,
    message_key     text NOT NULL,                    -- the aggregate id: one aggregate's events stay in order
    event_type      text NOT NULL,
    headers         jsonb NOT NULL,                   -- CloudEvents attributes (binary mode)
    payload         bytea NOT NULL,
    trace_context   jsonb NOT NULL DEFAULT '{}',      -- W3C traceparent/tracestate of the writing span
    created_at      timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    lease_until     timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    published_at    timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_unpublished_key ON outbox (message_key, seq) WHERE published_at IS NULL;
CREATE INDEX outbox_created ON outbox (created_at);

-- One row per event this service has handled (or dead-lettered): written in the same transaction as the
-- handler's effects, so a redelivered event changes nothing.
CREATE TABLE inbox (
    message_id      text PRIMARY KEY,                 -- the event id, or topic/partition/offset if unreadable
    topic           text NOT NULL,
    event_type      text,
    outcome         text NOT NULL CHECK (outcome IN ('handled', 'dead_lettered', 'ignored')),
    handled_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dead_letters (
    id              bigserial PRIMARY KEY,
    message_id      text NOT NULL,
    topic           text NOT NULL,
    kafka_partition integer,
    kafka_offset    bigint,
    error           text NOT NULL,
    attempts        integer NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    seq             bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor           text NOT NULL,                    -- the token's subject (pseudonymous for residents)
    actor_roles     text[] NOT NULL,
    ward_id         text,
    command         text NOT NULL,
    target_type     text NOT NULL,
    target_id       text NOT NULL,
    details         jsonb NOT NULL DEFAULT '{}',
    prev_hash       text NOT NULL,
    hash            text NOT NULL UNIQUE
);
-- The application may add to the audit trail and read it, never change or remove it.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {{app_role}};

CREATE TABLE idempotency_keys (
    principal       text NOT NULL,
    key             text NOT NULL,
    method          text NOT NULL,
    path            text NOT NULL,
    request_hash    text NOT NULL,
    status_code     integer NOT NULL,
    response_body   bytea NOT NULL,
    content_type    text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
