-- The console's sessions. The cookie holds a random session id; only its SHA-256 is stored here, so a copy of this
-- table opens no session. The tokens identity gave (or, between the password and the code, the password itself)
-- are sealed under CONSOLE_KEY (shared.idempotency.Sealer, purpose "console-session"), bound to the session.
CREATE TABLE sessions (
    session_hash      bytea PRIMARY KEY,
    csrf_token        text NOT NULL,
    sealed            bytea,
    access_expires_at timestamptz,
    expires_at        timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
