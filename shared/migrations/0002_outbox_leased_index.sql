-- The relay's claim looks for an earlier, still leased row of the same key (to keep one aggregate's order across
-- replicas). Only the rows in flight are leased, so this index stays tiny and the check cheap however long the
-- backlog is (without it the check walked every unpublished row of the key: quadratic in a backlog).
CREATE INDEX outbox_leased_key ON outbox (message_key, seq) WHERE published_at IS NULL AND lease_owner IS NOT NULL;
