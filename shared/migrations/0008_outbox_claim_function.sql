-- The relay's claim in one round trip: the claim lock (which makes "no earlier row of the same key is leased to
-- someone else" exact) and the claim itself in one function, called as a statement of its own (its transaction ends
-- with it), instead of BEGIN, the lock, the claim and COMMIT. The lock is taken first and the claim is a query of its
-- own inside the VOLATILE function, so it reads with a snapshot taken after the lock was granted. The candidates are
-- read in seq order from the unpublished rows' index and the claimed rows updated by their key, whatever the
-- statistics say: a backlog written in a burst (a refill, a republish of a million rows) is not analysed yet, and a
-- plan that reads the whole backlog to sort it made each claim cost as much as the backlog (0.5 s at 200k rows).
CREATE FUNCTION outbox_claim(batch_size integer, claimer text, lease_s double precision)
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
              WHERE p.message_key = o.message_key AND p.published_at IS NULL AND p.lease_owner IS NOT NULL
                AND p.seq < o.seq AND p.lease_until >= now())
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
