/* Handlers of /jobs (API.md §5). Jobs are not under /:aid: their routes are
 * ROUTE_ACCOUNT_OF, and the functions below tell the request path which
 * account a request acts in (the job's, or the list's ?aid); the route table
 * says the role it needs there, and a job of an account the caller is not a
 * member of does not exist for them (404). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "crypto/hash.h"
#include "db/jobs_store.h"
#include "runosd.h"

#define LOGS_PAGE 100

static json_t *json_text_or_null(const char *text)
{
	json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	return j ? j : json_null();
}

static json_t *job_to_json(const struct job *j)
{
	return json_pack("{s:s, s:s, s:o, s:s, s:s, s:i, s:i, s:o, s:o, s:{s:s, s:s}, s:i, s:o, "
			 "s:o, s:o}",
			 "id", j->id, "aid", j->aid, "cid",
			 j->cid[0] ? json_string(j->cid) : json_null(), "type", j->type, "status",
			 j->status, "progress", j->progress, "currentStep", j->current_step,
			 "error", j->error[0] ? json_string(j->error) : json_null(), "result",
			 json_text_or_null(j->result), "target", "type", j->target_type, "id",
			 j->target_id, "attempt", j->attempt, "createdAt",
			 http_json_time(j->created_us), "startedAt", http_json_time(j->started_us),
			 "completedAt", http_json_time(j->completed_us));
}

/* The list's account: ?aid, or an API key's own. */
static const char *list_aid(const struct request *req)
{
	const char *aid = request_query(req, "aid");
	if (!aid && req->principal.kind == TOKEN_PAT)
		aid = req->principal.key_aid;
	return aid;
}

bool api_jobs_account_of_list(struct request *req, struct route_account *out)
{
	const char *aid = list_aid(req);
	if (!aid) {
		request_error(req, 400, "validation.required", json_pack("{s:s}", "field", "aid"),
			      "Name the account: ?aid=");
		return false;
	}
	snprintf(out->aid, sizeof(out->aid), "%s", aid);
	out->what = "account";
	out->id = aid;
	return true;
}

bool api_jobs_account_of_job(struct request *req, struct route_account *out)
{
	struct job j;
	const char *id = request_param(req, "id");
	enum db_result r =
		idalloc_is_uuid(id) ? db_jobs_get(req->server->db, id, &j) : DB_NOT_FOUND;
	if (r != DB_OK) {
		request_db_error(req, r, "job", id);
		return false;
	}
	snprintf(out->aid, sizeof(out->aid), "%s", j.aid);
	out->what = "job";
	out->id = id;
	db_job_finish(&j);
	return true;
}

/* Loads the job of the path (the request path checked the caller's role in
 * its account); else replies. */
static bool load_job(struct request *req, struct job *out)
{
	const char *id = request_param(req, "id");
	enum db_result r = db_jobs_get(req->server->db, id, out);
	if (r != DB_OK) {
		request_db_error(req, r, "job", id);
		return false;
	}
	return true;
}

/* Jobs change without versions (agents move them): their ETag is a digest of
 * what they look like now. */
static void set_digest_etag(struct request *req, const json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	uint8_t digest[CRYPTO_SHA256_LEN];
	crypto_sha256(text, strlen(text), digest);
	free(text);
	char hex[17], etag[24];
	crypto_hex(digest, 8, hex);
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	request_set_header(req, "ETag", etag);
}

void api_jobs_get(struct request *req)
{
	struct job j;
	if (!load_job(req, &j))
		return;
	json_t *body = job_to_json(&j);
	set_digest_etag(req, body);
	request_reply(req, 200, body);
	db_job_finish(&j);
}

void api_jobs_list(struct request *req)
{
	const char *aid = list_aid(req);
	const char *status = request_query(req, "status");
	int limit;
	struct api_cursor cursor;
	if (!api_list_params(req, idalloc_is_uuid, &limit, &cursor))
		return;
	struct job *jobs;
	size_t n;
	enum db_result r = db_jobs_list(req->server->db, aid, request_query(req, "cid"), status,
					request_query(req, "type"), cursor.after_us,
					cursor.after_id, limit + 1, &jobs, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "job", NULL);
		return;
	}
	bool more = api_page_trim(&n, limit);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, job_to_json(&jobs[i]));
	char next[API_CURSOR_MAX];
	if (more)
		api_next_cursor(jobs[n - 1].created_us, jobs[n - 1].id, next);
	for (size_t i = 0; i < n + (more ? 1 : 0); i++)
		db_job_finish(&jobs[i]);
	free(jobs);
	api_reply_page(req, json_pack("{s:o}", "jobs", list), "cursor", more ? next : NULL);
}

void api_jobs_workitems(struct request *req)
{
	struct job j;
	if (!load_job(req, &j))
		return;
	struct job_step *steps;
	size_t n;
	enum db_result r = db_jobs_steps(req->server->db, j.id, &steps, &n);
	if (r != DB_OK) {
		db_job_finish(&j);
		request_db_error(req, r, "job", j.id);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		struct job_step *s = &steps[i];
		json_array_append_new(
			items, json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:o}", "id", s->id,
					 "name", s->name, "status", s->status, "stepNumber",
					 s->step_number, "result", json_text_or_null(s->result),
					 "createdAt", http_json_time(s->created_us), "startedAt",
					 http_json_time(s->started_us), "completedAt",
					 http_json_time(s->completed_us)));
		free(s->result);
	}
	free(steps);
	request_reply(
		req, 200,
		json_pack("{s:s, s:o, s:b}", "jobId", j.id, "workItems", items, "hasMore", false));
	db_job_finish(&j);
}

void api_jobs_logs(struct request *req)
{
	struct job j;
	if (!load_job(req, &j))
		return;
	const char *wid = request_param(req, "wid");
	const char *after = request_query(req, "after");
	char *end = NULL;
	long long after_id = after ? strtoll(after, &end, 10) : 0;
	if (after && (!*after || *end || after_id < 0)) {
		db_job_finish(&j);
		request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", "after"),
			      "after must be a cursor this server gave out");
		return;
	}
	struct step_log *logs = NULL;
	size_t n = 0;
	enum db_result r = idalloc_is_uuid(wid) ? db_jobs_logs(req->server->db, j.id, wid, after_id,
							       LOGS_PAGE + 1, &logs, &n)
						: DB_OK;
	db_job_finish(&j);
	if (r != DB_OK) {
		request_db_error(req, r, "job", NULL);
		return;
	}
	/* One line more than a page says whether there is a next one. */
	size_t shown = n;
	bool more = api_page_trim(&shown, LOGS_PAGE);
	json_t *list = json_array();
	for (size_t i = 0; i < shown; i++)
		json_array_append_new(
			list, json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)logs[i].id,
					"level", logs[i].level, "message", logs[i].message,
					"createdAt", http_json_time(logs[i].created_us)));
	char next[24];
	if (more)
		snprintf(next, sizeof(next), "%lld", (long long)logs[shown - 1].id);
	db_step_logs_free(logs, n);
	api_reply_page(req, json_pack("{s:s, s:o}", "workItemId", wid, "logs", list), "after",
		       more ? next : NULL);
}

void api_jobs_cancel(struct request *req)
{
	struct job j;
	if (!load_job(req, &j))
		return;
	struct audit_actor actor = api_actor(req);
	enum db_result r = db_jobs_cancel(req->server->db, j.aid, j.id, &actor);
	if (r == DB_CONFLICT) {
		request_error(req, 409, "job.terminal", json_pack("{s:s}", "status", j.status),
			      "Job %s has already ended (%s)", j.id, j.status);
		goto out;
	}
	if (r != DB_OK) {
		request_db_error(req, r, "job", j.id);
		goto out;
	}
	request_reply(req, 202, json_pack("{s:s, s:s}", "id", j.id, "status", "cancelled"));
out:
	db_job_finish(&j);
}
