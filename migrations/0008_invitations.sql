-- runosd schema, part 8: invitations to join an account (API.md §3). The token (rni_...) is
-- stored as its SHA-256; an invitation is used once, by a user with the invited email, before
-- it expires. Forward-only.

CREATE TABLE invitations (
    id          uuid PRIMARY KEY,
    aid         text NOT NULL REFERENCES accounts (aid) ON DELETE CASCADE,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_by  uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid
);
CREATE INDEX invitations_aid ON invitations (aid, created_at);
CREATE INDEX memberships_aid ON memberships (aid, joined_at, uid);
