-- runosd schema, part 13: conditions of a cluster (like a node's), so that a cluster tells why
-- it is in its status: "Deleting" while a cluster.delete job tears it down (True, naming the
-- job) and after that job was cancelled or failed (False, why, and that a new DELETE is
-- allowed). Forward-only.

CREATE TABLE cluster_conditions (
    aid                text NOT NULL,
    cid                text NOT NULL,
    type               text NOT NULL,        -- "Deleting", ...
    status             text NOT NULL CHECK (status IN ('True', 'False', 'Unknown')),
    reason             text NOT NULL DEFAULT '',
    message            text NOT NULL DEFAULT '' CHECK (length(message) <= 400),
    last_transition_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aid, cid, type),
    FOREIGN KEY (aid, cid) REFERENCES clusters (aid, cid) ON DELETE CASCADE
);

-- Clusters left "deleting" by a cancelled or failed cluster.delete job before this version
-- stayed so for ever: back to the status their nodes give (the statement of
-- server/db/fleet_store.c), with the condition saying why.
WITH stuck AS (
    SELECT c.aid, c.cid, (SELECT j.id FROM jobs j WHERE j.aid = c.aid AND j.cid = c.cid
        AND j.type = 'cluster.delete' ORDER BY j.created_at DESC LIMIT 1) AS job_id
    FROM clusters c WHERE c.status = 'deleting' AND NOT EXISTS (SELECT 1 FROM jobs j
        WHERE j.aid = c.aid AND j.cid = c.cid AND j.type = 'cluster.delete'
        AND j.status IN ('pending', 'running'))
), back AS (
    UPDATE clusters cl SET version = cl.version + 1, updated_at = now(), status = CASE
        WHEN cl.configured AND EXISTS (SELECT 1 FROM nodes n WHERE n.aid = cl.aid
            AND n.cid = cl.cid AND n.deleted_at IS NULL AND n.status = 'online'
            AND n.role IN ('controlplane', 'hybrid')) THEN 'active'
        WHEN cl.configured THEN 'degraded'
        WHEN EXISTS (SELECT 1 FROM nodes n WHERE n.aid = cl.aid AND n.cid = cl.cid
            AND n.deleted_at IS NULL) THEN 'provisioning'
        ELSE 'pending' END
    FROM stuck WHERE cl.aid = stuck.aid AND cl.cid = stuck.cid
)
INSERT INTO cluster_conditions (aid, cid, type, status, reason, message)
SELECT aid, cid, 'Deleting', 'False', 'DeleteStopped',
    'Delete job ' || coalesce(job_id::text, '(unknown)')
    || ' was cancelled or failed; delete the cluster again to retry' FROM stuck;
