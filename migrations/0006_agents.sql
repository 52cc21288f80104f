-- runosd schema, part 6: what node agents bring (AGENT.md §1-4): their certificates, the
-- cluster credentials a control-plane node reports, VPN keys, events, and the jobs that slow
-- writes start (API.md §5; their steps and instructions come with the agent-work issue).
-- Forward-only.

-- Every certificate the agent CA issued to a node. A node delete revokes them all at once;
-- servers learn of revocations by polling revoked_at (index below).
CREATE TABLE node_certificates (
    serial     text PRIMARY KEY CHECK (serial ~ '^[0-9a-f]{32}$'),
    aid        text NOT NULL,
    nid        text NOT NULL,
    not_after  timestamptz NOT NULL,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (aid, nid) REFERENCES nodes (aid, nid) ON DELETE CASCADE
);
CREATE INDEX node_certificates_node ON node_certificates (aid, nid);
CREATE INDEX node_certificates_revoked ON node_certificates (revoked_at) WHERE revoked_at IS NOT NULL;

-- WireGuard identity a node reports through vpn/sync.
ALTER TABLE nodes ADD COLUMN vpn_pub_key  text NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN vpn_endpoint text NOT NULL DEFAULT '';

-- The VIP holder among the control-plane nodes, fenced by a generation.
ALTER TABLE clusters ADD COLUMN vip_holder_nid text;
ALTER TABLE clusters ADD COLUMN vip_generation integer NOT NULL DEFAULT 0;

-- Kubernetes admin credentials reported by a control-plane node: one sealed JSON value
-- {caCert, adminCert, adminKey} (ARCHITECTURE §5, bound to "<aid>/cluster_credentials/<cid>").
CREATE TABLE cluster_credentials (
    aid                text NOT NULL,
    cid                text NOT NULL,
    sealed             text NOT NULL CHECK (sealed LIKE 'v1.%'),
    kubernetes_version text NOT NULL DEFAULT '',
    reported_by        text NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aid, cid),
    FOREIGN KEY (aid, cid) REFERENCES clusters (aid, cid) ON DELETE CASCADE
);

-- What agents report through /agent/v1/logs and /agent/v1/status.
CREATE TABLE node_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    aid        text NOT NULL,
    nid        text NOT NULL,
    type       text NOT NULL,
    severity   integer NOT NULL CHECK (severity BETWEEN 1 AND 3),
    message    text NOT NULL,
    details    jsonb NOT NULL DEFAULT '{}',
    at         timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (aid, nid) REFERENCES nodes (aid, nid) ON DELETE CASCADE
);
CREATE INDEX node_events_node ON node_events (aid, nid, at);

-- Jobs (API.md §5). A slow write inserts one in its own transaction; the agent-work issue
-- adds the steps, the instructions and the runner that moves them on.
CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    aid          text NOT NULL REFERENCES accounts (aid) ON DELETE CASCADE,
    cid          text,
    type         text NOT NULL,
    status       text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    progress     integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    current_step integer NOT NULL DEFAULT 0,
    error        text,
    result       jsonb,
    target_type  text NOT NULL,
    target_id    text NOT NULL,
    attempt      integer NOT NULL DEFAULT 1,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    completed_at timestamptz
);
CREATE INDEX jobs_list ON jobs (aid, created_at, id);
CREATE INDEX jobs_pending ON jobs (created_at) WHERE status IN ('pending', 'running');
