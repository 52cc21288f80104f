-- runosd schema, part 15: applications from Git (API.md §7, docs/apps.md): the apps of a
-- cluster with their build and run settings, their plain and sealed env vars, the services they
-- require, their deployments, custom domains and the GitHub deliveries their webhook answered.
-- Secrets are only ever stored sealed (crypto_seal, ARCHITECTURE.md §5). Every table carries
-- aid and every index of a tenant query starts with it. Forward-only.

CREATE TABLE apps (
    aid              text NOT NULL,
    cid              text NOT NULL,
    -- Unique in the whole system (not only its cluster): the webhook path
    -- /webhooks/github/<id> names an app by its id alone.
    id               text NOT NULL UNIQUE CHECK (id ~ '^[a-z][a-z0-9]{3}[a-z]$'),
    -- app-<id>: also the Kubernetes namespace.
    osid             text GENERATED ALWAYS AS ('app-' || id) STORED,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The name made DNS-safe (server/apps/domains.c): the first part of its generated domains
    -- <dns_name>-<id>[-<port>].<cluster domain>, so short enough for a 63-character label.
    dns_name         text NOT NULL CHECK (dns_name ~ '^[a-z]([-a-z0-9]{0,49}[a-z0-9])?$'),
    repo_provider    text NOT NULL CHECK (repo_provider = 'github'),
    repo_url         text NOT NULL CHECK (repo_url ~ '^https://github\.com/[^/]+/[^/]+$'),
    repo_branch      text NOT NULL CHECK (length(repo_branch) BETWEEN 1 AND 255),
    -- servicePortMappings' ports in order: the first one gets <dns_name>-<id>.<cluster domain>.
    -- Their custom domains are rows of app_domains.
    ports            integer[] NOT NULL CHECK (cardinality(ports) BETWEEN 1 AND 8
                                               AND 1 <= ALL (ports) AND 65535 >= ALL (ports)),
    replicas         integer NOT NULL DEFAULT 1 CHECK (replicas BETWEEN 0 AND 20),
    build_method     text NOT NULL DEFAULT 'buildkit' CHECK (build_method IN ('buildkit', 'arc')),
    dockerfile       text NOT NULL DEFAULT 'Dockerfile',
    source_dir       text NOT NULL DEFAULT '.',
    health_check_path text CHECK (health_check_path ~ '^/'),
    health_check_port integer CHECK (health_check_port BETWEEN 1 AND 65535),
    -- Kubernetes resources; NULL: none asked for.
    cpu_request_mc   integer CHECK (cpu_request_mc > 0),
    memory_request_mb integer CHECK (memory_request_mb > 0),
    cpu_limit_mc     integer CHECK (cpu_limit_mc > 0),
    memory_limit_mb  integer CHECK (memory_limit_mb > 0),
    deployment_strategy text NOT NULL DEFAULT 'rolling'
        CHECK (deployment_strategy IN ('rolling', 'recreate')),
    -- crypto_seal of the repository access token (private repositories), bound to
    -- "<aid>/apps/<cid>/<osid>/access-token"; NULL for a public repository. Only ever sent to
    -- the building agent.
    access_token     text,
    -- crypto_seal of the webhook secret, bound to "<aid>/apps/<cid>/<osid>/webhook-secret":
    -- shown once at create (and rotation) and opened to check X-Hub-Signature-256.
    webhook_secret   text NOT NULL,
    -- active, or deleting while its delete job runs.
    lifecycle        text NOT NULL DEFAULT 'active' CHECK (lifecycle IN ('active', 'deleting')),
    job_id           uuid,                                -- the latest job about it
    -- What a control-plane node of the cluster last reported (POST /agent/v1/service-status,
    -- the same list as services').
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
    CHECK ((cpu_request_mc IS NULL OR cpu_limit_mc IS NULL OR cpu_request_mc <= cpu_limit_mc)
           AND (memory_request_mb IS NULL OR memory_limit_mb IS NULL
                OR memory_request_mb <= memory_limit_mb)),
    FOREIGN KEY (aid, cid) REFERENCES clusters (aid, cid) ON DELETE CASCADE
);
CREATE UNIQUE INDEX apps_name ON apps (aid, cid, lower(name));
CREATE INDEX apps_list ON apps (aid, cid, created_at, id);

-- The ConfigMap's keys, in the clear.
CREATE TABLE app_env_vars (
    aid     text NOT NULL,
    cid     text NOT NULL,
    app_id  text NOT NULL,
    key     text NOT NULL CHECK (key ~ '^[A-Za-z_][A-Za-z0-9_]{0,254}$'),
    value   text NOT NULL,
    PRIMARY KEY (aid, cid, app_id, key),
    FOREIGN KEY (aid, cid, app_id) REFERENCES apps (aid, cid, id) ON DELETE CASCADE
);

-- The Secret's keys set by the user: each value a crypto_seal bound to
-- "<aid>/apps/<cid>/<osid>/env/<key>", so a value moved to another key or app does not open.
-- Write-only through the API: only the keys are shown.
CREATE TABLE app_secret_env_vars (
    aid     text NOT NULL,
    cid     text NOT NULL,
    app_id  text NOT NULL,
    key     text NOT NULL CHECK (key ~ '^[A-Za-z_][A-Za-z0-9_]{0,254}$'),
    sealed  text NOT NULL,
    PRIMARY KEY (aid, cid, app_id, key),
    FOREIGN KEY (aid, cid, app_id) REFERENCES apps (aid, cid, id) ON DELETE CASCADE
);

-- A service of the same cluster an app requires, under an alias, and which of its credential
-- fields each deploy injects into the app's Secret under which env var key ({"url":
-- "DATABASE_URL"}). The foreign key without cascade keeps a required service's row while an app
-- names it; its delete is refused with the dependents before any job starts.
CREATE TABLE app_requires (
    aid         text NOT NULL,
    cid         text NOT NULL,
    app_id      text NOT NULL,
    alias       text NOT NULL CHECK (alias ~ '^[A-Za-z][A-Za-z0-9_-]{0,62}$'),
    service_id  text NOT NULL,
    env         jsonb NOT NULL CHECK (jsonb_typeof(env) = 'object'),
    PRIMARY KEY (aid, cid, app_id, alias),
    FOREIGN KEY (aid, cid, app_id) REFERENCES apps (aid, cid, id) ON DELETE CASCADE,
    FOREIGN KEY (aid, cid, service_id) REFERENCES services (aid, cid, id)
);
CREATE INDEX app_requires_service ON app_requires (aid, cid, service_id);

-- One deploy (or rollback) of an app: what was built and rolled out by which job. sha is NULL
-- until the build of a branch head says which commit it built. A newer deploy supersedes an
-- older one that has not started its rollout (docs/apps.md).
CREATE TABLE app_deployments (
    id            uuid PRIMARY KEY,
    aid           text NOT NULL,
    cid           text NOT NULL,
    app_id        text NOT NULL,
    job_id        uuid,
    sha           text CHECK (sha ~ '^[0-9a-f]{40}$'),
    image_tag     text,                                   -- harbor.<domain>/<osid>/app:<sha>
    image_digest  text CHECK (image_digest ~ '^sha256:[0-9a-f]{64}$'),
    status        text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'building', 'deploying', 'succeeded', 'failed',
                          'superseded', 'cancelled')),
    trigger       text NOT NULL CHECK (trigger IN ('api', 'webhook', 'rollback')),
    rollback_of   uuid REFERENCES app_deployments (id) ON DELETE SET NULL,
    message       text,                                   -- why it failed or was cancelled
    created_at    timestamptz NOT NULL DEFAULT now(),
    rollout_at    timestamptz,                            -- its rollout started (deploying)
    finished_at   timestamptz,
    CHECK (status <> 'succeeded' OR image_digest IS NOT NULL),
    FOREIGN KEY (aid, cid, app_id) REFERENCES apps (aid, cid, id) ON DELETE CASCADE
);
CREATE INDEX app_deployments_list ON app_deployments (aid, cid, app_id, created_at DESC, id);
CREATE INDEX app_deployments_open ON app_deployments (aid, cid, app_id, created_at)
    WHERE status IN ('pending', 'building', 'deploying');

-- A custom domain of an app's port. An fqdn belongs to one app in the whole system.
-- Verification: a CNAME to the port's generated domain, or a TXT _runos-challenge.<fqdn>
-- holding verification_token; retried in the background from next_check_at.
CREATE TABLE app_domains (
    fqdn               text PRIMARY KEY CHECK (fqdn = lower(fqdn) AND length(fqdn) <= 253),
    aid                text NOT NULL,
    cid                text NOT NULL,
    app_id             text NOT NULL,
    port               integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    status             text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'verified', 'failed')),
    verification_token text NOT NULL,
    certificate_status text NOT NULL DEFAULT 'none'
        CHECK (certificate_status IN ('none', 'pending', 'issued', 'failed')),
    attempts           integer NOT NULL DEFAULT 0,
    next_check_at      timestamptz NOT NULL DEFAULT now(),
    checked_at         timestamptz,
    verified_at        timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (aid, cid, app_id) REFERENCES apps (aid, cid, id) ON DELETE CASCADE
);
CREATE INDEX app_domains_app ON app_domains (aid, cid, app_id, created_at);
CREATE INDEX app_domains_due ON app_domains (next_check_at) WHERE status = 'pending';

-- The GitHub deliveries an app's webhook took: a repeated X-GitHub-Delivery gets the first
-- answer again. The row is claimed (status NULL) before the delivery is handled, so repeats
-- that arrive at once on several instances start one deploy; status and body are the answer.
CREATE TABLE github_deliveries (
    aid          text NOT NULL,
    cid          text NOT NULL,
    app_id       text NOT NULL,
    delivery_id  text NOT NULL CHECK (length(delivery_id) BETWEEN 1 AND 100),
    status       integer,
    body         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aid, cid, app_id, delivery_id),
    FOREIGN KEY (aid, cid, app_id) REFERENCES apps (aid, cid, id) ON DELETE CASCADE
);
CREATE INDEX github_deliveries_age ON github_deliveries (created_at);
