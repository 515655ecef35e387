-- The identity service's own schema: the accounts people sign in with, the one-time reset codes officials issue,
-- and the refresh tokens of sign-ins. Secrets are never stored in a form that gives them back: passwords as
-- argon2id hashes, reset codes and refresh tokens as SHA-256 (they are 192-bit random values, so a hash cannot be
-- reversed by trying them), second-factor secrets AES-GCM-sealed under IDENTITY_KEY (they must be read back).

CREATE TABLE accounts (
    account_id           text PRIMARY KEY,
    ward_id              text NOT NULL,
    username             text NOT NULL,
    display_name         text NOT NULL,
    roles                text[] NOT NULL CHECK (cardinality(roles) > 0),
    resident_id          text,
    household_id         text,
    team_ids             text[] NOT NULL DEFAULT '{}',
    password_hash        text,                       -- NULL until the person sets one with a reset code
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    failed_attempts      integer NOT NULL DEFAULT 0,
    lockouts             integer NOT NULL DEFAULT 0,
    locked_until         timestamptz,
    totp_secret          bytea,                      -- sealed (services/identity/secondfactor.py)
    totp_confirmed       boolean NOT NULL DEFAULT false,
    totp_last_step       bigint,                     -- the last time step accepted: a code is not accepted twice
    created_by           text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
-- Sign-in names are unique platform-wide, compared without case.
CREATE UNIQUE INDEX accounts_username ON accounts (lower(username));
CREATE INDEX accounts_ward ON accounts (ward_id, created_at, account_id);

CREATE TABLE reset_codes (
    code_hash            text PRIMARY KEY,
    account_id           text NOT NULL REFERENCES accounts,
    expires_at           timestamptz NOT NULL,
    used_at              timestamptz,
    created_by           text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reset_codes_account ON reset_codes (account_id);

-- A sign-in is a family of refresh tokens: each refresh uses one and issues the next; a token presented again after
-- it was used means it was copied, and the whole family is revoked.
CREATE TABLE refresh_tokens (
    token_hash           text PRIMARY KEY,
    family_id            text NOT NULL,
    account_id           text NOT NULL REFERENCES accounts,
    expires_at           timestamptz NOT NULL,
    family_expires_at    timestamptz NOT NULL,
    used_at              timestamptz,
    revoked_at           timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id);
