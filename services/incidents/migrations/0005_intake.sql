-- Reports in by SMS and Zalo (issue 17): the channel a report came in by. Nothing of the sender: an anonymous tip
-- keeps no number and no Zalo user id anywhere (not here, not in the incident, the audit trail, an event or a log);
-- an identified report keeps the number only inside incidents.reporter_identity (encrypted, like any reporter's).
-- The webhook's provider message id is never stored in clear: the idempotency record that deduplicates a
-- redelivered webhook is keyed by a keyed hash of it, and is deleted after IDEMPOTENCY_RETENTION_HOURS.
CREATE TABLE incident_channels (
    incident_id         text PRIMARY KEY REFERENCES incidents (incident_id),
    channel             text NOT NULL CHECK (channel IN ('sms', 'zalo'))
);
