-- runosd schema, part 2: clusters. Forward-only.

CREATE TABLE clusters (
    aid           text NOT NULL REFERENCES accounts (aid) ON DELETE CASCADE,
    cid           text NOT NULL CHECK (cid ~ '^[a-z][a-z0-9]{2}$'),
    name          text NOT NULL,
    description   text NOT NULL DEFAULT '',
    -- wg0 subnet 172.24.<cluster_index>.0/24; 200-207 belong to user VPN devices (wg1).
    cluster_index integer NOT NULL
        CHECK (cluster_index BETWEEN 0 AND 255 AND cluster_index NOT BETWEEN 200 AND 207),
    domain        text NOT NULL,          -- <cid>.<aid>.<base domain>, assigned once
    status        text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'provisioning', 'active', 'degraded', 'deleting')),
    configured    boolean NOT NULL DEFAULT false,
    version       integer NOT NULL DEFAULT 1,   -- ETag
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aid, cid),
    UNIQUE (aid, cluster_index)
);
CREATE INDEX clusters_list ON clusters (aid, created_at, cid);
