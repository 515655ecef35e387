-- An anonymous tip's claim verifier (shared/claims.py): a hash, bound to reporter_ref, of the claim secret derived
-- from the follow-up secret. Computed at intake, the one moment the secret is known besides a follow-up; sent to
-- awards in IncidentResolved so that only the holder of the follow-up secret can put a name on the reporter's
-- certificate. NULL for identified reports, and for tips received before this migration.
ALTER TABLE incidents ADD COLUMN claim_verifier text;
