/* SQL for jobs as users see them (see include/db/jobs_store.h). */
#include "db/jobs_store.h"

#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

/* clang-format off */
#define JOB_COLUMNS \
	"id, aid, coalesce(cid, ''), type, status, progress, current_step, attempt," \
	" coalesce(error, ''), result::text, target_type, target_id, " DB_US("created_at") "," \
	" coalesce(" DB_US("started_at") ", 0), coalesce(" DB_US("completed_at") ", 0)"
/* clang-format on */

static const struct db_stmt stmt_get = { "jobs_get",
					 "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1" };
static const struct db_stmt stmt_list = {
	"jobs_list",
	"SELECT " JOB_COLUMNS " FROM jobs WHERE aid = $1 AND ($2::text IS NULL OR cid = $2)"
	" AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR type = $4)"
	" AND ($5::int8 = 0 OR (created_at, id) < (" DB_TS(
		"$5") ", $6::uuid))"
		      " ORDER BY created_at DESC, id DESC LIMIT $7"
};
static const struct db_stmt stmt_steps = {
	"jobs_steps",
	"SELECT id, name, status, step_number, result::text, " DB_US(
		"created_at") ","
			      " coalesce(" DB_US("started_at") ", 0), coalesce(" DB_US(
				      "completed_at") ", 0)"
						      " FROM job_steps WHERE job_id = $1 ORDER BY "
						      "step_number"
};
static const struct db_stmt stmt_logs = {
	"jobs_logs", "SELECT l.id, l.level, l.message, " DB_US(
			     "l.created_at") " FROM step_logs l"
					     " JOIN job_steps s ON s.id = l.step_id WHERE s.job_id "
					     "= $1 AND l.step_id = $2"
					     " AND l.id > $3 ORDER BY l.id LIMIT $4"
};
static const struct db_stmt stmt_cancel = {
	"jobs_cancel",
	"WITH job AS (UPDATE jobs SET status = 'cancelled', completed_at = now()"
	"  WHERE id = $2 AND aid = $1 AND status IN ('pending', 'running')"
	"  RETURNING id, type, coalesce(cid, '') AS cid),"
	" pending AS (UPDATE instructions SET status = 'cancelled', completed_at = now()"
	"  WHERE job_id IN (SELECT id FROM job) AND status = 'pending'),"
	" leased AS (UPDATE instructions SET cancel_requested = true"
	"  WHERE job_id IN (SELECT id FROM job) AND status = 'leased'),"
	" steps AS (UPDATE job_steps SET status = 'cancelled', completed_at = now()"
	"  WHERE job_id IN (SELECT id FROM job) AND status IN ('pending', 'running'))"
	" SELECT type, cid FROM job"
};
static const struct db_stmt stmt_exists = { "jobs_exists",
					    "SELECT 1 FROM jobs WHERE id = $2 AND aid = $1" };
void db_job_finish(struct job *j)
{
	free(j->result);
	j->result = NULL;
}

static char *text_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

static void read_job(const PGresult *res, int row, struct job *j)
{
	memset(j, 0, sizeof(*j));
	db_get_text(res, row, 0, j->id, sizeof(j->id));
	db_get_text(res, row, 1, j->aid, sizeof(j->aid));
	db_get_text(res, row, 2, j->cid, sizeof(j->cid));
	db_get_text(res, row, 3, j->type, sizeof(j->type));
	db_get_text(res, row, 4, j->status, sizeof(j->status));
	j->progress = (int)db_get_int64(res, row, 5);
	j->current_step = (int)db_get_int64(res, row, 6);
	j->attempt = (int)db_get_int64(res, row, 7);
	db_get_text(res, row, 8, j->error, sizeof(j->error));
	j->result = text_or_null(res, row, 9);
	db_get_text(res, row, 10, j->target_type, sizeof(j->target_type));
	db_get_text(res, row, 11, j->target_id, sizeof(j->target_id));
	j->created_us = db_get_int64(res, row, 12);
	j->started_us = db_get_int64(res, row, 13);
	j->completed_us = db_get_int64(res, row, 14);
}

enum db_result db_jobs_get(struct db_pool *db, const char *id, struct job *out)
{
	const char *params[] = { id };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_get, 1, params, &res);
	if (r != DB_OK)
		return r;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK)
		read_job(res, 0, out);
	PQclear(res);
	return r;
}

enum db_result db_jobs_list(struct db_pool *db, const char *aid, const char *cid,
			    const char *status, const char *type, int64_t before_us,
			    const char *before_id, int limit, struct job **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char before_buf[24], limit_buf[24];
	const char *params[] = { aid,
				 cid,
				 status,
				 type,
				 db_int64_param(before_us, before_buf),
				 before_id && *before_id ? before_id
							 : "00000000-0000-0000-0000-000000000000",
				 db_int64_param(limit, limit_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_list, 7, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++)
		read_job(res, i, &(*out)[i]);
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

enum db_result db_jobs_steps(struct db_pool *db, const char *job_id, struct job_step **out,
			     size_t *n)
{
	*out = NULL;
	*n = 0;
	const char *params[] = { job_id };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_steps, 1, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++) {
		struct job_step *s = &(*out)[i];
		db_get_text(res, i, 0, s->id, sizeof(s->id));
		db_get_text(res, i, 1, s->name, sizeof(s->name));
		db_get_text(res, i, 2, s->status, sizeof(s->status));
		s->step_number = (int)db_get_int64(res, i, 3);
		s->result = text_or_null(res, i, 4);
		s->created_us = db_get_int64(res, i, 5);
		s->started_us = db_get_int64(res, i, 6);
		s->completed_us = db_get_int64(res, i, 7);
	}
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

enum db_result db_jobs_logs(struct db_pool *db, const char *job_id, const char *step_id,
			    int64_t after_id, int limit, struct step_log **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char after_buf[24], limit_buf[24];
	const char *params[] = { job_id, step_id, db_int64_param(after_id, after_buf),
				 db_int64_param(limit, limit_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_logs, 4, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++) {
		struct step_log *l = &(*out)[i];
		l->id = db_get_int64(res, i, 0);
		db_get_text(res, i, 1, l->level, sizeof(l->level));
		l->message = xstrdup(PQgetvalue(res, i, 2));
		l->created_us = db_get_int64(res, i, 3);
	}
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

void db_step_logs_free(struct step_log *logs, size_t n)
{
	for (size_t i = 0; logs && i < n; i++)
		free(logs[i].message);
	free(logs);
}

struct cancel_args {
	const char *aid, *id;
	const struct audit_actor *actor;
};

enum db_result db_job_cancel_in(struct db_conn *c, const char *aid, const char *job_id,
				bool *cancelled)
{
	const char *params[] = { aid, job_id };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_cancel, 2, params, &res);
	if (r != DB_OK)
		return r;
	*cancelled = PQntuples(res) == 1;
	char type[32] = "", cid[8] = "";
	if (*cancelled) {
		db_get_text(res, 0, 0, type, sizeof(type));
		db_get_text(res, 0, 1, cid, sizeof(cid));
	}
	PQclear(res);
	return *cancelled ? db_job_stopped(c, job_id, type, aid, cid, true, NULL) : DB_OK;
}

static enum db_result cancel_tx(struct db_conn *c, void *arg)
{
	struct cancel_args *a = arg;
	bool cancelled;
	enum db_result r = db_job_cancel_in(c, a->aid, a->id, &cancelled);
	if (r != DB_OK)
		return r;
	if (!cancelled) {
		const char *params[] = { a->aid, a->id };
		PGresult *res;
		if ((r = db_exec(c, &stmt_exists, 2, params, &res)) != DB_OK)
			return r;
		bool exists = PQntuples(res) == 1;
		PQclear(res);
		return exists ? DB_CONFLICT : DB_NOT_FOUND;
	}
	return db_audit_insert(c, a->aid, a->actor, "job.cancel", "job", a->id);
}

enum db_result db_jobs_cancel(struct db_pool *db, const char *aid, const char *id,
			      const struct audit_actor *actor)
{
	struct cancel_args args = { aid, id, actor };
	return db_transaction(db, cancel_tx, &args);
}
