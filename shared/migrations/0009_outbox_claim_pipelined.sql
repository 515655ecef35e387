-- The relay keeps two batches in flight (shared/relay.py, publish_once): it claims the next batch while the broker
-- acknowledges the last one. A row is now held back only while an earlier row of its key is leased to ANOTHER relay:
-- the rows this relay has in flight are in its producer's queue ahead of the new ones, and one producer keeps a key's
-- messages in order (one partition, sent in order), exactly as within one batch. A relay whose cycle fails takes a new
-- owner name (its leases left then hold their keys back like any other relay's, until released or expired), so a
-- failed batch's keys are never overtaken by the same relay's later claims.
--
-- The check for an earlier leased row now goes through an index whose predicate no other index shares. With the
-- predicate "published_at IS NULL AND lease_owner IS NOT NULL", a table analysed when every row was published (the
-- state just before `wardctl republish` makes 200k rows unpublished at once) gave every partial index an estimate of
-- one row, and PostgreSQL probed the unpublished rows' index instead, reading the whole backlog for every candidate:
-- the first claim after a republish of 200k rows took 60 s. A row is leased exactly while lease_owner is set (publishing,
-- releasing and republishing clear it), so the index of the leased rows needs no other condition.
DROP INDEX outbox_leased_key;
CREATE INDEX outbox_leased_key ON outbox (message_key, seq) WHERE lease_owner IS NOT NULL;
CREATE OR REPLACE FUNCTION outbox_claim(batch_size integer, claimer text, lease_s double precision)
RETURNS TABLE (seq bigint, event_id uuid, topic text, message_key text, event_type text, headers jsonb,
               payload bytea, trace_context jsonb)
LANGUAGE plpgsql VOLATILE
SET enable_bitmapscan = off SET enable_sort = off SET enable_hashjoin = off SET enable_seqscan = off AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(current_schema() || ':outbox-claim'));
    RETURN QUERY
    WITH candidates AS (
        SELECT o.seq FROM outbox o
        WHERE o.published_at IS NULL
          AND (o.lease_until IS NULL OR o.lease_until < now())
          AND NOT EXISTS (
              SELECT 1 FROM outbox p
              WHERE p.message_key = o.message_key AND p.lease_owner IS NOT NULL
                AND p.seq < o.seq AND p.lease_until >= now() AND p.lease_owner <> claimer
              OFFSET 0)
        ORDER BY o.seq
        LIMIT batch_size
        FOR UPDATE SKIP LOCKED
    )
    UPDATE outbox o SET lease_owner = claimer, lease_until = now() + make_interval(secs => lease_s),
                        attempts = o.attempts + 1
    WHERE o.seq = ANY (ARRAY(SELECT c.seq FROM candidates c))
    RETURNING o.seq, o.event_id, o.topic, o.message_key, o.event_type, o.headers, o.payload, o.trace_context;
END
$$;
