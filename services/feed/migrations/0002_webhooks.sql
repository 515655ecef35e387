-- Push by webhook (services/feed/webhooks.py, delivery.py). A webhook belongs to a subscriber and holds one
-- position in feed_events: the seq of the last event it delivered or that its filters skipped. The next event
-- that matches is the held one: retried until a 2xx, nothing after it sent before.
CREATE TABLE webhooks (
    webhook_id       text PRIMARY KEY,
    subscriber_id    text NOT NULL REFERENCES subscribers (subscriber_id),
    url              text NOT NULL,
    wards            text[],            -- NULL: no narrowing (the subscriber's own scope still applies)
    event_types      text[],
    secret_sealed    bytea NOT NULL,    -- AES-GCM under FEED_KEY (services/feed/signing.py), never in clear
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    paused_reason    text,
    position         bigint NOT NULL DEFAULT 0,
    failures         integer NOT NULL DEFAULT 0,     -- consecutive failed attempts of the held event
    first_failed_at  timestamptz,                   -- the held event's first failure: the give-up window starts
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_by_subscriber ON webhooks (subscriber_id, created_at, webhook_id);
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE status = 'active';

-- Every attempt, automatic or asked for (manual). outcome: delivered (2xx) | failed.
CREATE TABLE webhook_deliveries (
    delivery_id   text PRIMARY KEY,
    webhook_id    text NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
    seq           bigint NOT NULL REFERENCES feed_events (seq),
    event_id      uuid NOT NULL,
    event_type    text NOT NULL,
    attempt       integer NOT NULL,
    manual        boolean NOT NULL DEFAULT false,
    attempted_at  timestamptz NOT NULL,
    http_status   integer,
    duration_ms   integer NOT NULL,
    error         text,
    outcome       text NOT NULL CHECK (outcome IN ('delivered', 'failed'))
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, attempted_at DESC, delivery_id DESC);

-- Redeliveries asked for by the subscriber: sent once each by the worker, out of the ordered stream, logged.
CREATE TABLE webhook_redeliveries (
    redelivery_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id     text NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
    seq            bigint NOT NULL REFERENCES feed_events (seq),
    requested_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_redeliveries_pending ON webhook_redeliveries (webhook_id, redelivery_id);
