-- The audit chain becomes keyed: each new row's hash is an HMAC-SHA256 under the service's audit key, which the
-- database does not hold; the row names the key by its id so that the key can rotate. Rows written before this
-- migration keep key_id NULL and are verified as they were written (a plain SHA-256 chain); the first keyed row
-- links to the last of them.
ALTER TABLE audit_log ADD COLUMN key_id text;
