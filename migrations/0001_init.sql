-- runosd schema, part 1: users, accounts, memberships, sessions, API keys.
-- Forward-only: never edit this file once it has landed; add 0002_... instead.

CREATE TABLE users (
    uid           uuid PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name          text NOT NULL DEFAULT '',
    password_hash text NOT NULL,           -- argon2id PHC string, never the password
    mfa_enabled   boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE accounts (
    aid          text PRIMARY KEY CHECK (aid ~ '^[a-z][a-z0-9]{3}[a-z]$'),
    name         text NOT NULL,
    company_name text NOT NULL DEFAULT '',
    website      text NOT NULL DEFAULT '',
    base_domain  text NOT NULL,
    version      integer NOT NULL DEFAULT 1,   -- ETag of the profile
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    aid        text NOT NULL REFERENCES accounts (aid) ON DELETE CASCADE,
    uid        uuid NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    is_default boolean NOT NULL DEFAULT false,
    joined_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aid, uid)
);
CREATE INDEX memberships_uid ON memberships (uid, joined_at, aid);
CREATE UNIQUE INDEX memberships_one_default ON memberships (uid) WHERE is_default;

-- Sessions and API keys keep only the SHA-256 of their token. Revoked rows stay
-- so that a revoked token is answered "revoked" rather than "unknown".
CREATE TABLE sessions (
    id         uuid PRIMARY KEY,
    uid        uuid NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX sessions_uid ON sessions (uid);

CREATE TABLE api_keys (
    id         uuid PRIMARY KEY,
    aid        text NOT NULL REFERENCES accounts (aid) ON DELETE CASCADE,
    created_by uuid NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    name       text NOT NULL,
    prefix     text NOT NULL,              -- "rnp_" and 8 characters, for recognition
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    role       text NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    version    integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX api_keys_aid ON api_keys (aid, created_at, id) WHERE revoked_at IS NULL;
