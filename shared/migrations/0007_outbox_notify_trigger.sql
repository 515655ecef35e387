-- The relay's wake-up (NOTIFY <schema>_outbox) comes from the insert itself: one statement-level trigger, delivered
-- at commit (PostgreSQL folds a transaction's identical notifications into one), instead of a pg_notify statement
-- after every enqueue: one round trip less per command, and every writer of the outbox wakes the relay.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(current_schema() || '_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
