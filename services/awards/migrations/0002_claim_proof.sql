-- Claiming a reporter's certificate needs proof (shared/claims.py): the claim verifier of each anonymous tip's
-- reporter_ref, from incidents' IncidentResolved. A hash of a random secret; never the secret.
CREATE TABLE reporter_claim_verifiers (
    ward_id         text NOT NULL,
    reporter_ref    text NOT NULL,
    verifier        text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ward_id, reporter_ref)
);

-- Fixed-window request counters of the public claim routes, shared by every replica (services/awards/ratelimit.py).
-- A bucket names the route and a keyed pseudonym of the client address, or the certificate code: never an address.
CREATE TABLE rate_limit_windows (
    bucket          text NOT NULL,
    window_start    timestamptz NOT NULL,
    hits            integer NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_limit_windows_start ON rate_limit_windows (window_start);
