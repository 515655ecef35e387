-- Fixed-window request counters of the public and anonymous routes, shared by every replica (shared/ratelimit.py).
-- A bucket names the route and either a keyed pseudonym of the client address or a code: never an address. A
-- window's row is deleted once the window is over (the `rate-limit-purge` job), so the counters keep nothing that
-- could later be matched against the time of an anonymous tip.
CREATE TABLE rate_limits (
    bucket          text NOT NULL,
    window_start    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    hits            integer NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_limits_expiry ON rate_limits (expires_at);
