/* SQL for the instruction queue (see include/db/work_store.h). */
#include "db/work_store.h"

#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* One statement: the node's due pending instructions in queue order, locked
 * (SKIP LOCKED: a concurrent claim of the same node takes the next ones),
 * leased with attempt + 1. */
static const struct db_stmt stmt_claim = {
	"work_claim",
	"WITH next AS (SELECT tag FROM instructions WHERE aid = $1 AND nid = $2"
	"  AND status = 'pending' AND not_before <= now() ORDER BY seq LIMIT $3"
	"  FOR UPDATE SKIP LOCKED)"
	" UPDATE instructions i SET status = 'leased', attempt = i.attempt + 1,"
	" lease_expires_at = now() + $4::int * interval '1 second' FROM next"
	" WHERE i.tag = next.tag RETURNING i.tag, i.type, i.payload::text, i.job_id, i.attempt,"
	" " DB_US("i.lease_expires_at") ", i.seq, i.sealed_payload"
};
/* One statement: the answer recorded (only for the lease of that attempt) and
 * the step's count of open instructions taken down; the second column says
 * whether the job must move on (the step's last answer, or a failure). */
static const struct db_stmt stmt_reply = {
	"work_reply",
	"WITH i AS (UPDATE instructions SET status = CASE WHEN $5 = 'ERROR' THEN 'failed'"
	"  ELSE 'completed' END, reply_type = $5, reply = $6::jsonb, error = $7,"
	"  completed_at = now()"
	"  WHERE tag = $3 AND aid = $1 AND nid = $2 AND status = 'leased' AND attempt = $4"
	"  RETURNING job_id, step_id),"
	" step AS (UPDATE job_steps s SET open_instructions = s.open_instructions - 1 FROM i"
	"  WHERE s.id = i.step_id RETURNING s.open_instructions)"
	" SELECT i.job_id, $5 = 'ERROR' OR coalesce((SELECT open_instructions FROM step), 0) <= 0"
	" FROM i"
};
static const struct db_stmt stmt_progress = {
	"work_progress",
	"WITH i AS (UPDATE instructions SET lease_expires_at = now() + $5::int * interval '1 "
	"second'"
	"  WHERE tag = $3 AND aid = $1 AND nid = $2 AND status = 'leased' AND attempt = $4"
	"  RETURNING step_id, job_id),"
	" log AS (INSERT INTO step_logs (step_id, aid, level, message)"
	"  SELECT step_id, $1, $6, $7 FROM i),"
	" job AS (UPDATE jobs SET progress = greatest(progress, $8::int) FROM i"
	"  WHERE jobs.id = i.job_id AND $8::int >= 0 AND $8::int < 100)"
	" SELECT count(*) FROM i"
};
static const struct db_stmt stmt_running = {
	"work_running",
	"UPDATE instructions i SET lease_expires_at = now() + $4::int * interval '1 second'"
	" FROM jobs j WHERE i.tag IN (SELECT value::uuid FROM json_array_elements_text($3::json))"
	" AND i.aid = $1 AND i.nid = $2 AND i.status = 'leased' AND j.id = i.job_id"
	" RETURNING i.tag, j.status = 'cancelled'"
};
/* Expired leases: retried with a backoff, or lost after the last attempt;
 * the lost ones' jobs to move on. */
static const struct db_stmt stmt_expire = {
	"work_expire",
	"WITH expired AS (SELECT tag FROM instructions WHERE status = 'leased'"
	"  AND lease_expires_at < now() ORDER BY lease_expires_at LIMIT 1000 FOR UPDATE SKIP "
	"LOCKED),"
	" retry AS (UPDATE instructions i SET status = 'pending', lease_expires_at = NULL,"
	"  not_before = now() + CASE i.attempt WHEN 1 THEN interval '1 second'"
	"  WHEN 2 THEN interval '20 seconds' ELSE interval '60 seconds' END"
	"  FROM expired e WHERE i.tag = e.tag AND i.attempt < $1 RETURNING i.tag),"
	" lost AS (UPDATE instructions i SET status = 'failed', error = 'agent_lost',"
	"  completed_at = now() FROM expired e WHERE i.tag = e.tag AND i.attempt >= $1"
	"  RETURNING i.job_id, i.step_id),"
	" counted AS (UPDATE job_steps s SET open_instructions = s.open_instructions - l.n"
	"  FROM (SELECT step_id, count(*) AS n FROM lost GROUP BY step_id) l WHERE s.id = "
	"l.step_id)"
	" SELECT DISTINCT job_id::text FROM lost"
};
/* Jobs with nothing open that are not terminal: moved on (a crash between a
 * job's creation and its first move, or a step whose instructions all
 * failed or ended). */
static const struct db_stmt stmt_stalled = {
	"work_stalled", "SELECT j.id::text FROM jobs j WHERE j.status IN ('pending', 'running')"
			" AND NOT EXISTS (SELECT 1 FROM job_steps s JOIN instructions i"
			"  ON i.step_id = s.id WHERE s.job_id = j.id"
			"  AND i.status IN ('pending', 'leased'))"
			" AND NOT EXISTS (SELECT 1 FROM job_steps w WHERE w.job_id = j.id"
			"  AND w.retry_at > now())"
			" ORDER BY j.created_at LIMIT 100"
};
/* Nodes with instructions that became due since $1. */
static const struct db_stmt stmt_due = {
	"work_due", "SELECT DISTINCT aid || '/' || nid FROM instructions WHERE status = 'pending'"
		    " AND not_before > " DB_TS("$1") " AND not_before <= now()"
};

static const struct db_stmt stmt_notify = { "work_notify", "SELECT pg_notify('runos_work', $1)" };

enum db_result db_work_notify(struct db_pool *db, const char *keys)
{
	const char *params[] = { keys };
	return db_query(db, &stmt_notify, 1, params, NULL);
}

void db_instructions_free(struct instruction *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		if (list[i].sealed_payload && list[i].payload) /* opened: a secret */
			explicit_bzero(list[i].payload, strlen(list[i].payload));
		free(list[i].payload);
		free(list[i].sealed_payload);
	}
	free(list);
}

static int by_seq(const void *a, const void *b)
{
	const struct instruction *x = a, *y = b;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

enum db_result db_work_claim(struct db_pool *db, const char *aid, const char *nid, int max,
			     int lease_seconds, struct instruction **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char max_buf[24], lease_buf[24];
	const char *params[] = { aid, nid, db_int64_param(max, max_buf),
				 db_int64_param(lease_seconds, lease_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_claim, 4, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++) {
		struct instruction *in = &(*out)[i];
		db_get_text(res, i, 0, in->tag, sizeof(in->tag));
		db_get_text(res, i, 1, in->type, sizeof(in->type));
		in->payload = xstrdup(PQgetvalue(res, i, 2));
		db_get_text(res, i, 3, in->job_id, sizeof(in->job_id));
		in->attempt = (int)db_get_int64(res, i, 4);
		in->lease_expires_us = db_get_int64(res, i, 5);
		in->seq = db_get_int64(res, i, 6);
		in->sealed_payload = PQgetisnull(res, i, 7) ? NULL : xstrdup(PQgetvalue(res, i, 7));
	}
	*n = (size_t)rows;
	PQclear(res);
	qsort(*out, *n, sizeof(**out), by_seq);
	return DB_OK;
}

static enum db_result advance_tx(struct db_conn *c, void *arg)
{
	return db_job_advance(c, arg);
}

enum db_result db_work_reply(struct db_pool *db, const char *aid, const char *nid, const char *tag,
			     int attempt, const char *reply_type, const char *reply_json,
			     const char *error)
{
	char attempt_buf[24];
	const char *params[] = { aid,	     nid,	 tag,  db_int64_param(attempt, attempt_buf),
				 reply_type, reply_json, error };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_reply, 7, params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_CONFLICT;
	}
	char job_id[IDALLOC_UUID_LEN + 1];
	db_get_text(res, 0, 0, job_id, sizeof(job_id));
	bool move_job = db_get_bool(res, 0, 1);
	PQclear(res);
	/* The answer is recorded: should moving the job fail, the sweep moves it
	 * (work_stalled), so the agent is not told to send it again. */
	if (move_job && db_transaction(db, advance_tx, job_id) != DB_OK)
		log_warn("job %s: not moved on after a reply; the sweep will", job_id);
	return DB_OK;
}

enum db_result db_work_progress(struct db_pool *db, const char *aid, const char *nid,
				const char *tag, int attempt, int lease_seconds, const char *level,
				const char *message, int progress)
{
	char attempt_buf[24], lease_buf[24], progress_buf[24];
	const char *params[] = { aid,
				 nid,
				 tag,
				 db_int64_param(attempt, attempt_buf),
				 db_int64_param(lease_seconds, lease_buf),
				 level,
				 message,
				 db_int64_param(progress, progress_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_progress, 8, params, &res);
	if (r != DB_OK)
		return r;
	r = db_get_int64(res, 0, 0) == 1 ? DB_OK : DB_CONFLICT;
	PQclear(res);
	return r;
}

enum db_result db_work_running(struct db_pool *db, const char *aid, const char *nid,
			       const char *tags_json, int lease_seconds,
			       void (*fn)(void *arg, const char *tag), void *arg)
{
	char lease_buf[24];
	const char *params[] = { aid, nid, tags_json, db_int64_param(lease_seconds, lease_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_running, 4, params, &res);
	if (r != DB_OK)
		return r;
	for (int i = 0; i < PQntuples(res); i++)
		if (db_get_bool(res, i, 1))
			fn(arg, PQgetvalue(res, i, 0));
	PQclear(res);
	return DB_OK;
}

/* Moves on each job named in the first column of res, each in its own
 * transaction. */
static enum db_result advance_each(struct db_pool *db, PGresult *res)
{
	enum db_result r = DB_OK;
	for (int i = 0; i < PQntuples(res) && r == DB_OK; i++)
		r = db_transaction(db, advance_tx, PQgetvalue(res, i, 0));
	return r;
}

enum db_result db_work_sweep(struct db_pool *db, int64_t since_us,
			     void (*fn)(void *arg, const char *key), void *arg)
{
	char attempts_buf[24], since_buf[24];
	const char *attempts[] = { db_int64_param(WORK_MAX_ATTEMPTS, attempts_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_expire, 1, attempts, &res);
	if (r != DB_OK)
		return r;
	r = advance_each(db, res);
	PQclear(res);
	if (r != DB_OK)
		return r;
	if ((r = db_query(db, &stmt_stalled, 0, NULL, &res)) != DB_OK)
		return r;
	r = advance_each(db, res);
	PQclear(res);
	if (r != DB_OK)
		return r;
	const char *since[] = { db_int64_param(since_us, since_buf) };
	if ((r = db_query(db, &stmt_due, 1, since, &res)) != DB_OK)
		return r;
	for (int i = 0; i < PQntuples(res); i++)
		fn(arg, PQgetvalue(res, i, 0));
	PQclear(res);
	return DB_OK;
}
