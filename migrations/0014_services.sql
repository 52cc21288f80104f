-- runosd schema, part 14: services (API.md §6): instances of catalog types in a cluster, what
-- they require, their sealed credentials and the state their cluster reports; and what the
-- work queue needs for them: instructions rendered when the job is made (step_instructions),
-- a sealed payload that is opened only when it is handed to the agent, and steps that wait
-- for a node. Forward-only.

CREATE TABLE services (
    aid              text NOT NULL,
    cid              text NOT NULL,
    id               text NOT NULL CHECK (id ~ '^[a-z][a-z0-9]{3}[a-z]$'),
    type             text NOT NULL CHECK (type ~ '^[a-z][a-z0-9-]{0,30}$'),
    -- <type>-<id>: also the Kubernetes namespace, so at most 63 characters.
    osid             text GENERATED ALWAYS AS (type || '-' || id) STORED,
    name             text NOT NULL,
    version          text NOT NULL,
    replicas         integer NOT NULL CHECK (replicas >= 0),
    storage_mb       integer CHECK (storage_mb > 0),      -- NULL: a stateless type
    storage_class    text,
    flags            jsonb NOT NULL DEFAULT '{}',
    node_affinity_tags jsonb NOT NULL DEFAULT '[]',
    -- provisioning (its create job runs) → installed | failed; deleting (its delete job runs).
    lifecycle        text NOT NULL DEFAULT 'provisioning'
        CHECK (lifecycle IN ('provisioning', 'installed', 'failed', 'deleting')),
    -- [{type, status, reason, message, lastTransitionUs}], as a cluster's.
    conditions       jsonb NOT NULL DEFAULT '[]',
    -- crypto_seal of the credentials JSON, bound to "<aid>/services/<cid>/<osid>".
    credentials      text NOT NULL,
    -- A rotation under way: the new credentials, which become credentials when its job succeeds.
    pending_credentials text,
    job_id           uuid,                                -- the latest job about it
    prior_lifecycle  text,                                -- what a stopped delete goes back to
    -- What a control-plane node of the cluster last reported (POST /agent/v1/service-status).
    reported_state   text CHECK (reported_state IN ('provisioning', 'healthy', 'degraded',
                                                    'unhealthy', 'failed')),
    reported_desired integer,
    reported_ready   integer,
    reported_message text,
    reported_by      text,                                -- the nid
    reported_at      timestamptz,
    version_n        integer NOT NULL DEFAULT 1,          -- ETag
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aid, cid, id),
    UNIQUE (aid, cid, osid),
    FOREIGN KEY (aid, cid) REFERENCES clusters (aid, cid) ON DELETE CASCADE
);
CREATE UNIQUE INDEX services_name ON services (aid, cid, lower(name));
CREATE INDEX services_list ON services (aid, cid, created_at, id);

-- What a service requires: another service of the cluster named by an input (postgresOsid),
-- or the Longhorn instance whose storage class it stores on (field "storageClass"). The
-- required one cannot go while a row names it.
CREATE TABLE service_requires (
    aid         text NOT NULL,
    cid         text NOT NULL,
    id          text NOT NULL,
    field       text NOT NULL,
    required_id text NOT NULL,
    PRIMARY KEY (aid, cid, id, field),
    FOREIGN KEY (aid, cid, id) REFERENCES services (aid, cid, id) ON DELETE CASCADE,
    FOREIGN KEY (aid, cid, required_id) REFERENCES services (aid, cid, id)
);
CREATE INDEX service_requires_required ON service_requires (aid, cid, required_id);

-- Instructions rendered when a job is made (a service's namespace, Secret, chart): the step's
-- plan queues them, in ord, to the node it picks. sealed_payload (crypto_seal bound to
-- "<aid>/jobs/<job id>") replaces payload when set: it is opened only when the instruction is
-- handed to its agent, and cleared once the job ends.
CREATE TABLE step_instructions (
    step_id        uuid NOT NULL REFERENCES job_steps (id) ON DELETE CASCADE,
    ord            integer NOT NULL,
    type           text NOT NULL,
    payload        jsonb NOT NULL DEFAULT '{}',
    sealed_payload text,
    PRIMARY KEY (step_id, ord)
);
ALTER TABLE instructions ADD COLUMN sealed_payload text;

-- A step that found no node to send to waits (status pending) saying why; the sweep tries it
-- again from retry_at.
ALTER TABLE job_steps ADD COLUMN waiting text;
ALTER TABLE job_steps ADD COLUMN retry_at timestamptz;
