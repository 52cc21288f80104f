/* GET /:aid/:cid/apps/:id/logs?tail=&since=&pod= (docs/apps.md): the app's
 * pod logs, fetched through a control-plane node of its cluster while the
 * request waits. The request queues a one-step job (app.logs: kubectl logs
 * with --prefix --timestamps, RUN_KUBECTL_COMMAND) and parks: no thread and
 * no database connection wait with it. It looks at its job every
 * LOGS_RECHECK_MS (the job can end on any instance) until the job ends or
 * LOGS_WAIT_MS have passed; then it answers 504 agent.timeout and cancels the
 * job, so an agent that comes back later does no work for nobody. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/apps.h"
#include "api/common.h"
#include "api/handlers.h"
#include "db/jobs_store.h"
#include "idalloc/ids.h"
#include "runosd.h"
#include "util/log.h"
#include "util/timeutil.h"

#define LOGS_WAIT_MS 10000
#define LOGS_RECHECK_MS 200
#define LOGS_DEFAULT_TAIL 100
#define LOGS_MAX_ENTRIES 5000

/* since: a duration kubectl takes ("30s", "15m", "2h") or an RFC 3339
 * time; false when it is neither. */
static bool since_arg(const char *since, char *out, size_t cap)
{
	size_t n = strlen(since);
	bool duration = n >= 2 && n <= 8 && strchr("smh", since[n - 1]);
	for (size_t i = 0; duration && i + 1 < n; i++)
		duration = isdigit((unsigned char)since[i]);
	if (duration) {
		snprintf(out, cap, "--since=%s", since);
		return true;
	}
	int64_t us;
	if (!time_parse_rfc3339(since, &us))
		return false;
	snprintf(out, cap, "--since-time=%s", since);
	return true;
}

/* A pod's name: a DNS-1123 subdomain, one of the app's (its Deployment's
 * pods are named <osid>-...). */
static bool pod_valid(const char *pod, const char *osid)
{
	size_t n = strlen(pod), prefix = strlen(osid);
	if (n > 253 || n <= prefix + 1 || strncmp(pod, osid, prefix) != 0 || pod[prefix] != '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)pod[i]) || isdigit((unsigned char)pod[i]) ||
		      pod[i] == '-' || pod[i] == '.'))
			return false;
	return isalnum((unsigned char)pod[n - 1]);
}

static bool refuse(struct request *req, const char *field, const char *message)
{
	request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", field), "%s",
		      message);
	return false;
}

/* kubectl logs for the app of a, as RUN_KUBECTL_COMMAND's argv. */
static json_t *logs_argv(struct request *req, const struct app *a)
{
	const char *since = request_query(req, "since"), *pod = request_query(req, "pod");
	char tail[32], since_buf[96], selector[96];
	snprintf(tail, sizeof(tail), "--tail=%d",
		 request_query_int(req, "tail", LOGS_DEFAULT_TAIL));
	if (since && !since_arg(since, since_buf, sizeof(since_buf))) {
		refuse(req, "since",
		       "Query parameter since must be a duration (30s, 15m, 2h) or an RFC 3339 "
		       "time");
		return NULL;
	}
	if (pod && !pod_valid(pod, a->osid)) {
		char message[160];
		snprintf(message, sizeof(message),
			 "Query parameter pod must name a pod of the app (%s-...)", a->osid);
		refuse(req, "pod", message);
		return NULL;
	}
	json_t *argv = json_pack("[s, s, s]", "logs", "-n", a->osid);
	if (pod) {
		json_array_append_new(argv, json_string(pod));
	} else {
		snprintf(selector, sizeof(selector), "runos.io/osid=%s", a->osid);
		json_array_append_new(argv, json_string("-l"));
		json_array_append_new(argv, json_string(selector));
		json_array_append_new(argv, json_string("--max-log-requests=20"));
	}
	json_t *flags =
		json_pack("[s, s, s, s]", "--all-containers", "--prefix", "--timestamps", tail);
	json_array_extend(argv, flags);
	json_decref(flags);
	if (since)
		json_array_append_new(argv, json_string(since_buf));
	return argv;
}

/* Queues the job; its id into req->park_ref. false when it replied. */
static bool start_logs_job(struct request *req, const struct cluster *c, const struct app *a)
{
	json_t *argv = logs_argv(req, a);
	if (!argv)
		return false;
	char job_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	struct rendered_job rendered = { 0 };
	rendered_add(&rendered, 1, "RUN_KUBECTL_COMMAND", argv);
	struct audit_actor actor = api_actor(req);
	struct app_job job = { .action = "app.logs",
			       .actor = &actor,
			       .job_id = job_id,
			       .type = "app.logs",
			       .list = rendered.items,
			       .n = rendered.n };
	struct app_write_result result;
	enum db_result r = db_apps_start_job(req->server->db, request_param(req, "aid"), c->cid,
					     a->id, &job, &result);
	rendered_job_free(&rendered);
	if (r != DB_OK || result.outcome != APP_WRITTEN) {
		api_app_write_error(req, r, &result, c->cid, a->id);
		return false;
	}
	snprintf(req->park_ref, sizeof(req->park_ref), "%s", job_id);
	req->poll_deadline_ms = time_mono_ms() + LOGS_WAIT_MS;
	return true;
}

/* "[pod/<pod>/<container>] <timestamp> <message>" (kubectl logs --prefix
 * --timestamps); a line without the prefix keeps its text as message. */
static json_t *entry_of(const char *line, size_t len)
{
	char pod[256] = "", container[128] = "", stamp[64] = "";
	const char *rest = line;
	if (len > 5 && strncmp(line, "[pod/", 5) == 0) {
		const char *close = memchr(line, ']', len);
		const char *slash =
			close ? memchr(line + 5, '/', (size_t)(close - line - 5)) : NULL;
		if (slash) {
			snprintf(pod, sizeof(pod), "%.*s", (int)(slash - line - 5), line + 5);
			snprintf(container, sizeof(container), "%.*s", (int)(close - slash - 1),
				 slash + 1);
			rest = close + 1 + (close + 1 < line + len && close[1] == ' ');
		}
	}
	const char *space = memchr(rest, ' ', (size_t)(line + len - rest));
	int64_t us;
	if (space && (size_t)(space - rest) < sizeof(stamp)) {
		snprintf(stamp, sizeof(stamp), "%.*s", (int)(space - rest), rest);
		if (time_parse_rfc3339(stamp, &us))
			rest = space + 1;
		else
			stamp[0] = '\0';
	}
	return json_pack("{s:s, s:s, s:o, s:s%}", "podName", pod, "containerName", container,
			 "timestamp", stamp[0] ? json_string(stamp) : json_null(), "message", rest,
			 (size_t)(line + len - rest));
}

static json_t *entries_of(const char *text)
{
	json_t *entries = json_array();
	for (const char *p = text; p && *p && json_array_size(entries) < LOGS_MAX_ENTRIES;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > 0)
			json_array_append_new(entries, entry_of(p, len));
		p = nl ? nl + 1 : NULL;
	}
	return entries;
}

/* The job ended: its step's reply, as entries. */
static void reply_logs(struct request *req, const struct job *j)
{
	if (strcmp(j->status, "completed") != 0) {
		request_error(req, 502, "agent.error", json_pack("{s:s}", "jobId", j->id),
			      "The cluster's node could not read the logs: %s",
			      j->error[0] ? j->error : j->status);
		return;
	}
	json_t *result = j->result ? json_loads(j->result, 0, NULL) : NULL;
	/* {"logs": [{nid, type, reply: {response}}]} */
	const char *text = json_string_value(json_object_get(
		json_object_get(json_array_get(json_object_get(result, "logs"), 0), "reply"),
		"response"));
	request_reply(req, 200, json_pack("{s:o}", "entries", entries_of(text ? text : "")));
	json_decref(result);
}

void api_apps_logs(struct request *req)
{
	struct cluster c;
	struct app a;
	if (!api_load_app(req, &c, &a))
		return;
	if (!req->park_ref[0] && !start_logs_job(req, &c, &a))
		return;
	char key[80];
	snprintf(key, sizeof(key), "logs/%s", req->park_ref);
	uint64_t wakes = request_park_wakes(req, key);
	struct job j;
	enum db_result r = db_jobs_get(req->server->db, req->park_ref, &j);
	if (r != DB_OK) {
		request_db_error(req, r, "job", req->park_ref);
		return;
	}
	bool open = strcmp(j.status, "pending") == 0 || strcmp(j.status, "running") == 0;
	int64_t now = time_mono_ms();
	if (!open) {
		reply_logs(req, &j);
	} else if (now < req->poll_deadline_ms && !request_stopping(req)) {
		int64_t next = now + LOGS_RECHECK_MS;
		request_park(req, key, wakes,
			     next < req->poll_deadline_ms ? next : req->poll_deadline_ms);
	} else {
		struct audit_actor actor = api_actor(req);
		if (db_jobs_cancel(req->server->db, request_param(req, "aid"), j.id, &actor) !=
		    DB_OK)
			log_warn("logs job %s: not cancelled after its wait", j.id);
		request_error(req, 504, "agent.timeout", json_pack("{s:s}", "jobId", j.id),
			      "No node of cluster %s answered within %d s: is a control-plane node "
			      "online? GET /%s/%s/nodes",
			      c.cid, LOGS_WAIT_MS / 1000, request_param(req, "aid"), c.cid);
	}
	db_job_finish(&j);
}
