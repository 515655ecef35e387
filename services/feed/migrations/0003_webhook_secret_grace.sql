-- A rotated webhook secret stays valid for a grace period (services/feed/webhooks.py SECRET_GRACE): deliveries are
-- signed with both secrets until then, so a receiver can switch without a failed delivery. Sealed like the current
-- one (AES-GCM under FEED_KEY), never in clear.
ALTER TABLE webhooks
    ADD COLUMN previous_secret_sealed bytea,
    ADD COLUMN previous_secret_until  timestamptz;
