-- runosd schema, part 7: work for agents (AGENT.md §5-6, API.md §5): the steps of jobs, the
-- instructions steps send to nodes, and the steps' logs. The queue lives here, so it survives
-- every process. Forward-only.

CREATE TABLE job_steps (
    id           uuid PRIMARY KEY,
    job_id       uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    aid          text NOT NULL,
    step_number  integer NOT NULL CHECK (step_number >= 1),
    name         text NOT NULL,
    status       text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    result       jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    completed_at timestamptz,
    UNIQUE (job_id, step_number)
);

-- One unit of work for one node. seq orders a node's instructions; attempt fences replies.
-- status: pending (waiting, not before not_before) → leased (delivered, until lease_expires_at)
-- → completed | failed | cancelled. A lease that runs out puts it back to pending with
-- attempt kept (the next delivery is attempt + 1), or fails it after the last attempt.
CREATE TABLE instructions (
    tag              uuid PRIMARY KEY,
    seq              bigint GENERATED ALWAYS AS IDENTITY,
    aid              text NOT NULL,
    nid              text NOT NULL,
    job_id           uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    step_id          uuid NOT NULL REFERENCES job_steps (id) ON DELETE CASCADE,
    type             text NOT NULL,
    payload          jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'leased', 'completed', 'failed', 'cancelled')),
    attempt          integer NOT NULL DEFAULT 0,
    not_before       timestamptz NOT NULL DEFAULT now(),
    lease_expires_at timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    reply_type       text,
    reply            jsonb,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz
);
-- What a node's poll claims: its pending instructions in queue order.
CREATE INDEX instructions_pending ON instructions (aid, nid, seq) WHERE status = 'pending';
-- What the lease sweeper looks at.
CREATE INDEX instructions_leased ON instructions (lease_expires_at) WHERE status = 'leased';
CREATE INDEX instructions_step ON instructions (step_id);

CREATE TABLE step_logs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    step_id    uuid NOT NULL REFERENCES job_steps (id) ON DELETE CASCADE,
    aid        text NOT NULL,
    level      text NOT NULL DEFAULT 'info' CHECK (level IN ('debug', 'info', 'warn', 'error')),
    message    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX step_logs_step ON step_logs (step_id, id);

-- Revoked certificate serials, kept apart from node_certificates (whose rows go when their
-- cluster is deleted): every instance polls this to refuse revoked certificates it has cached.
CREATE TABLE certificate_revocations (
    serial     text PRIMARY KEY,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX certificate_revocations_at ON certificate_revocations (revoked_at);
