-- runosd schema, part 12: each running step counts its instructions still to be answered, so a
-- reply is one statement that also tells whether it was the step's last (only then is the job
-- moved on, under its row lock). The count is kept by the statements that queue, answer and
-- lose instructions; db_job_advance still counts the instructions themselves. Forward-only.

ALTER TABLE job_steps ADD COLUMN open_instructions integer NOT NULL DEFAULT 0;

UPDATE job_steps s SET open_instructions = (SELECT count(*) FROM instructions i
    WHERE i.step_id = s.id AND i.status IN ('pending', 'leased'))
WHERE s.status = 'running';

-- The sweep's question "which instructions' backoff has just ended" (work_due) answered from
-- an index rather than by reading every instruction. Only queueing and a lease put back to
-- pending write to it, not a claim or a reply.
CREATE INDEX instructions_due ON instructions (not_before) WHERE status = 'pending';

-- The lease sweeper's index, with a predicate only its own query implies (lease_expires_at <
-- now() implies IS NOT NULL). A reply or progress report names its instruction by tag and
-- status = 'leased': with the old predicate (status = 'leased' alone) the planner could, and
-- with statistics taken while little was leased did, read every leased instruction through
-- this index to find one tag, instead of one probe of the primary key.
DROP INDEX instructions_leased;
CREATE INDEX instructions_leased ON instructions (lease_expires_at)
    WHERE status = 'leased' AND lease_expires_at IS NOT NULL;

-- Payloads are written once (by a step's plan, as json) and read only whole, as text, by a
-- claim: json keeps the text as written, where jsonb was converted on every claim.
ALTER TABLE instructions ALTER COLUMN payload DROP DEFAULT;
ALTER TABLE instructions ALTER COLUMN payload TYPE json USING payload::json;
ALTER TABLE instructions ALTER COLUMN payload SET DEFAULT '{}';
