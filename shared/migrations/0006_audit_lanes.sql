-- The audit chain in lanes: a transaction appends to the first lane no other transaction holds (a transaction-level
-- advisory lock per lane, taken by audit_slot()), so commands that commit together no longer wait for one another's
-- commit behind one lock. Each lane is a hash chain of its own (a row links to the row before it in its lane; a
-- row's lane is under its MAC), and the audit-head job publishes every lane's head. One command at a time always
-- finds lane 0 free: a quiet service keeps one chain. Rows written before this migration are lane 0, the chain they
-- always were. A replica of the previous version (one chain: it links its row to the last row of any lane) must
-- not append beside this version's: the upgrade that applies this migration replaces a service's replicas instead
-- of rolling them (docs/operations.md, Upgrading).
ALTER TABLE audit_log ADD COLUMN lane smallint NOT NULL DEFAULT 0;
CREATE INDEX audit_log_lane_seq ON audit_log (lane, seq);

-- Where this transaction appends: the first of lanes 0..lanes-1 that is free, or, when every lane is taken, the
-- given one waited for (transaction-level advisory locks keyed (hashtext('<schema>:audit'), lane), held until the
-- transaction ends); with that lane's last hash, the next seq and the time, read after the lock was granted (a
-- VOLATILE function takes a fresh snapshot for each of its queries: it sees the row the lane's previous holder
-- committed). One round trip instead of three.
CREATE FUNCTION audit_slot(lanes integer, fallback integer)
RETURNS TABLE (slot_lane integer, slot_prev text, slot_seq bigint, slot_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    lock_key integer := hashtext(current_schema() || ':audit');
    chosen integer := NULL;
BEGIN
    FOR candidate IN 0 .. lanes - 1 LOOP
        IF pg_try_advisory_xact_lock(lock_key, candidate) THEN
            chosen := candidate;
            EXIT;
        END IF;
    END LOOP;
    IF chosen IS NULL THEN
        PERFORM pg_advisory_xact_lock(lock_key, fallback);
        chosen := fallback;
    END IF;
    RETURN QUERY SELECT chosen,
        (SELECT a.hash FROM audit_log a WHERE a.lane = chosen ORDER BY a.seq DESC LIMIT 1),
        nextval(pg_get_serial_sequence('audit_log', 'seq')), clock_timestamp();
END
$$;
