-- runosd schema, part 10: the TOTP second factor and CLI device login (API.md §3).
-- Forward-only.

-- Sealed TOTP secrets (ARCHITECTURE §5, bound to "user/<uid>/totp"): the enabled one and
-- one waiting for its first code. The last step used makes every code single use.
ALTER TABLE users ADD COLUMN totp_secret    text CHECK (totp_secret LIKE 'v1.%');
ALTER TABLE users ADD COLUMN totp_pending   text CHECK (totp_pending LIKE 'v1.%');
ALTER TABLE users ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;

-- CLI device login: the CLI starts one (its token is kept as SHA-256), a signed-in user
-- approves it for an account, the CLI polls once for an API key of that account.
CREATE TABLE device_logins (
    id          uuid PRIMARY KEY,
    token_hash  bytea NOT NULL CHECK (length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    approved_by uuid REFERENCES users (uid) ON DELETE CASCADE,
    aid         text REFERENCES accounts (aid) ON DELETE CASCADE,
    approved_at timestamptz,
    used_at     timestamptz
);
CREATE INDEX device_logins_expires ON device_logins (expires_at);
