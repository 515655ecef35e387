-- The feed service's own schema: every public event of the platform (public.ward-events), in the order it was
-- appended, and the subscribers (other wards, their systems) with their API keys.

-- Every public event once. `seq` is the feed's total order and what cursors encode: appends are serialised
-- (pg_advisory_xact_lock in FeedEventRepository.append), so rows commit in `seq` order and a reader paging by
-- `seq` never skips a row that commits late. Insert-only for the service: it never changes a public fact.
CREATE TABLE feed_events (
    seq                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id             uuid NOT NULL UNIQUE,
    ward_id              text NOT NULL,
    event_type           text NOT NULL,
    subject              text NOT NULL,
    source               text NOT NULL,
    time                 timestamptz NOT NULL,
    data                 jsonb NOT NULL,
    recorded_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feed_events_ward ON feed_events (ward_id, seq);
REVOKE UPDATE, DELETE, TRUNCATE ON feed_events FROM {{app_role}};

-- A subscriber: who may read which wards' public events (event_types NULL: every public type).
CREATE TABLE subscribers (
    subscriber_id        text PRIMARY KEY,
    name                 text NOT NULL,
    wards                text[] NOT NULL CHECK (cardinality(wards) > 0),
    event_types          text[],
    oauth_client_id      text UNIQUE,
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_by           text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    disabled_at          timestamptz,
    last_used_at         timestamptz,
    use_count            bigint NOT NULL DEFAULT 0
);
CREATE INDEX subscribers_created ON subscribers (created_at, subscriber_id);

-- A subscriber's API keys: never the key itself, only the SHA-256 of the whole key and its public id.
CREATE TABLE api_keys (
    key_id               text PRIMARY KEY,
    subscriber_id        text NOT NULL REFERENCES subscribers (subscriber_id),
    key_hash             bytea NOT NULL UNIQUE,
    created_by           text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    revoked_at           timestamptz,
    last_used_at         timestamptz,
    use_count            bigint NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_subscriber ON api_keys (subscriber_id, created_at);
