-- runosd schema, part 4: nodes of clusters and their conditions. Nodes are created by agent
-- registration (agent gateway); until then the API reads and renames them. Forward-only.

CREATE TABLE nodes (
    aid               text NOT NULL,
    cid               text NOT NULL,
    nid               text NOT NULL CHECK (nid ~ '^[a-z][a-z0-9]{3}[a-z]$'),
    name              text NOT NULL,
    role              text NOT NULL CHECK (role IN ('controlplane', 'worker', 'hybrid')),
    status            text NOT NULL DEFAULT 'provisioning'
        CHECK (status IN ('provisioning', 'online', 'offline', 'error')),
    machine_id        text NOT NULL,
    hostname          text NOT NULL DEFAULT '',
    os                text NOT NULL DEFAULT '',
    vpn_host          integer NOT NULL CHECK (vpn_host BETWEEN 1 AND 253),  -- 172.24.<index>.<host>
    external_ip       text NOT NULL DEFAULT '',
    agent_version     text NOT NULL DEFAULT '',
    last_heartbeat_at timestamptz,
    cert_not_after    timestamptz,
    deleted_at        timestamptz,          -- set by a node delete; the row stays for its teardown
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aid, nid),
    FOREIGN KEY (aid, cid) REFERENCES clusters (aid, cid) ON DELETE CASCADE
);
-- A live node holds its VPN address and machine id; a deleted one frees both.
CREATE UNIQUE INDEX nodes_vpn_host ON nodes (aid, cid, vpn_host) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX nodes_machine ON nodes (aid, cid, machine_id) WHERE deleted_at IS NULL;
CREATE INDEX nodes_list ON nodes (aid, cid, created_at, nid);

CREATE TABLE node_conditions (
    aid                text NOT NULL,
    nid                text NOT NULL,
    type               text NOT NULL,        -- "Ready", ...
    status             text NOT NULL CHECK (status IN ('True', 'False', 'Unknown')),
    reason             text NOT NULL DEFAULT '',
    message            text NOT NULL DEFAULT '',
    last_transition_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aid, nid, type),
    FOREIGN KEY (aid, nid) REFERENCES nodes (aid, nid) ON DELETE CASCADE
);
