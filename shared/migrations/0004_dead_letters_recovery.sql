-- Dead letters that can be recovered (`wardctl dead-letters`), and events of a type this version does not know
-- yet, parked until a version that knows the type starts.

-- The original message is kept with its dead letter, so that a redrive sends exactly what arrived; the status
-- records what became of it: open (waiting for an operator), redriving (sent again to this service's consumer),
-- redriven (handled on a redrive), discarded (an operator's decision, with its reason in the audit trail).
ALTER TABLE dead_letters
    ADD COLUMN event_type      text,
    ADD COLUMN message_key     bytea,
    ADD COLUMN payload         bytea,
    ADD COLUMN headers         jsonb,                 -- {name: text}, as on the dead-letter topic
    ADD COLUMN status          text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'redriving', 'redriven', 'discarded')),
    ADD COLUMN redrives        integer NOT NULL DEFAULT 0,
    ADD COLUMN last_redrive_at timestamptz,
    ADD COLUMN resolved_at     timestamptz,
    ADD COLUMN resolved_by     text;
CREATE INDEX dead_letters_message ON dead_letters (message_id);
CREATE INDEX dead_letters_unresolved ON dead_letters (created_at) WHERE status IN ('open', 'redriving');

-- Events of a well-formed but unknown type (a producer deployed before this consumer): the raw message, in the
-- order they arrived. No inbox row: the inbox records them when they are drained through it.
CREATE TABLE parked_events (
    seq             bigserial PRIMARY KEY,
    message_id      text NOT NULL UNIQUE,             -- the CloudEvents id
    topic           text NOT NULL,
    kafka_partition integer,
    kafka_offset    bigint,
    event_type      text NOT NULL,
    message_key     bytea,
    payload         bytea NOT NULL,
    headers         jsonb NOT NULL,                   -- [[name, base64 value], ...], exactly as received
    parked_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parked_events_type ON parked_events (event_type, seq);
