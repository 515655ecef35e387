-- Two-way anonymous messages (issue 17): the police of the ward ask an anonymous tipster a question through the
-- tip; the tipster reads it with the follow-up code and secret and answers. The text is encrypted (it can identify
-- the tipster, or a third party) under the service's PII keys, bound to the message (repository.ENCRYPTED_COLUMNS,
-- so `wardctl keys rotate` re-encrypts it). Nothing of the tipster: an answer's author is the tip's holder of the
-- code and secret, recorded as 'tipster'.
CREATE TABLE tip_messages (
    message_id          text PRIMARY KEY,
    incident_id         text NOT NULL REFERENCES incidents (incident_id),
    ward_id             text NOT NULL,
    author              text NOT NULL CHECK (author IN ('police', 'tipster')),
    officer_ref         text,                          -- the officer who asked (a question), or was answered
    reply_to            text REFERENCES tip_messages (message_id),
    text_sealed         bytea NOT NULL,
    created_at          timestamptz NOT NULL,
    answered_at         timestamptz,                   -- a question: when the tipster first answered it
    CHECK (author = 'tipster' OR officer_ref IS NOT NULL),
    CHECK (author = 'tipster' OR reply_to IS NULL)
);
CREATE INDEX tip_messages_incident ON tip_messages (incident_id, created_at, message_id);

REVOKE DELETE, TRUNCATE ON tip_messages FROM {{app_role}};
