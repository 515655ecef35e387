-- Idempotency records no longer keep the response in clear: it is sealed (AES-GCM, bound to the service, the
-- caller and the key) and the request is compared by a keyed fingerprint (shared/idempotency.py). Rows written
-- before are sealed by the service's idempotency job; every row is deleted after IDEMPOTENCY_RETENTION_HOURS.
ALTER TABLE idempotency_keys ADD COLUMN sealed boolean NOT NULL DEFAULT false;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
