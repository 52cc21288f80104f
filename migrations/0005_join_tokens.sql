-- runosd schema, part 5: the agent CA and join tokens. Forward-only.

-- The one agent CA of the installation (AGENT.md §1). Its private key is sealed with the
-- master key (ARCHITECTURE §5); the certificate is public. The first server to start inserts
-- it; the primary key keeps it single when several start at once.
CREATE TABLE agent_ca (
    id         integer PRIMARY KEY CHECK (id = 1),
    cert_pem   text NOT NULL,
    key_sealed text NOT NULL CHECK (key_sealed LIKE 'v1.%'),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Join tokens let a machine register as a node of one cluster (API.md §4). Only the SHA-256
-- of a token is stored. A token is good while not revoked, not expired and uses < max_uses;
-- registration consumes it in one UPDATE that checks all three.
CREATE TABLE join_tokens (
    aid        text NOT NULL,
    cid        text NOT NULL,
    id         uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    prefix     text NOT NULL,
    role       text NOT NULL CHECK (role IN ('controlplane', 'worker', 'hybrid')),
    max_uses   integer NOT NULL CHECK (max_uses >= 1),
    uses       integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    created_by text NOT NULL,
    version    integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aid, id),
    FOREIGN KEY (aid, cid) REFERENCES clusters (aid, cid) ON DELETE CASCADE
);
CREATE INDEX join_tokens_list ON join_tokens (aid, cid, created_at, id);
