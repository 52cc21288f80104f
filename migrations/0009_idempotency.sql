-- runosd schema, part 9: Idempotency-Key (API.md §1). The first response to a POST with a key
-- is kept for 24 hours per scope (the account of the path, else the caller) and replayed for a
-- repeat with the same request; while the first runs, repeats are refused. Forward-only.

CREATE TABLE idempotency_keys (
    scope        text NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
    state        text NOT NULL DEFAULT 'in_flight' CHECK (state IN ('in_flight', 'done')),
    status       integer,
    content_type text,
    body         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
