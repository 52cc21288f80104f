-- runosd schema, part 3: the audit trail of account changes. Rows are written in the
-- transaction of the change they record, so an acknowledged change always has its entry.
-- Forward-only.

CREATE TABLE audit_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    aid         text NOT NULL REFERENCES accounts (aid) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_type  text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'node', 'system')),
    actor_id    text NOT NULL,
    action      text NOT NULL,           -- "cluster.create", "cluster.rename", ...
    target_type text NOT NULL,
    target_id   text NOT NULL,
    trace_id    text NOT NULL DEFAULT '',
    ip          text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_list ON audit_events (aid, at, id);
