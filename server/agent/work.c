/* Work for agents (AGENT.md §5): the long poll for instructions, replies and
 * progress. A poll that finds nothing parks (no thread, no database
 * connection) until an instruction is queued for its node on any instance
 * (queue/wakeups.c), its wait ends, or the server stops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/handlers.h"
#include "crypto/seal.h"
#include "db/jobs_store.h"
#include "db/work_store.h"
#include "runosd.h"
#include "util/log.h"
#include "util/mask.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define DEFAULT_WAIT_SECONDS 30
#define DEFAULT_MAX 10

/* The answer to a poll, as text: each payload goes in as PostgreSQL gave it
 * (valid JSON), not parsed and written again; the other members are written
 * by jansson. */
static char *instructions_text(const struct instruction *list, size_t n)
{
	char *body;
	size_t len;
	FILE *out = open_memstream(&body, &len);
	fputs("{\"instructions\":[", out);
	for (size_t i = 0; i < n; i++) {
		const struct instruction *in = &list[i];
		json_t *meta = json_pack("{s:s, s:s, s:s, s:i, s:o}", "tag", in->tag, "type",
					 in->type, "jobId", in->job_id, "attempt", in->attempt,
					 "leaseExpiresAt", http_json_time(in->lease_expires_us));
		char *members = json_dumps(meta, JSON_COMPACT);
		/* members is {"tag":…}: the payload goes in after its brace. */
		fprintf(out, "%s{\"payload\":%s,%s", i ? "," : "", in->payload, members + 1);
		free(members);
		json_decref(meta);
	}
	fputs("]}", out);
	fclose(out);
	return body;
}

/* Opens the sealed payloads (a service's credentials Secret): only here,
 * handing them to their node over mTLS, is the secret in the clear. One that
 * does not open (the master key changed since it was queued) is delivered
 * with an empty payload, which the agent refuses, and says so in the log. */
static void open_sealed(struct request *req, struct instruction *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!list[i].sealed_payload)
			continue;
		char aad[80];
		snprintf(aad, sizeof(aad), JOB_SEALED_AAD_FMT, req->node.aid, list[i].job_id);
		size_t len = 0;
		uint8_t *plain =
			crypto_unseal(req->server->keys, list[i].sealed_payload, aad, &len);
		if (!plain) {
			log_error("instruction %s of job %s: its sealed payload does not open",
				  list[i].tag, list[i].job_id);
			continue;
		}
		free(list[i].payload);
		list[i].payload = xstrdup((const char *)plain);
		crypto_free_secret(plain, len);
	}
}

void agent_instructions(struct request *req)
{
	/* Their bounds are the route's (agent/routes.c). */
	int wait = request_query_int(req, "wait", DEFAULT_WAIT_SECONDS);
	int max = request_query_int(req, "max", DEFAULT_MAX);
	/* The deadline is set by the first run of the handler; the request (and
	 * this field) is the same when it runs again after parking. */
	if (!req->poll_deadline_ms)
		req->poll_deadline_ms = time_mono_ms() + wait * 1000LL;
	char key[16];
	snprintf(key, sizeof(key), "%s/%s", req->node.aid, req->node.nid);
	uint64_t wakes = request_park_wakes(req, key);

	struct instruction *list;
	size_t n;
	enum db_result r = db_work_claim(req->server->db, req->node.aid, req->node.nid, max,
					 req->server->cfg.instruction_lease_seconds, &list, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "node", req->node.nid);
		return;
	}
	if (n == 0 && time_mono_ms() < req->poll_deadline_ms && !request_stopping(req)) {
		db_instructions_free(list, n);
		request_park(req, key, wakes, req->poll_deadline_ms);
		return;
	}
	open_sealed(req, list, n);
	char *body = instructions_text(list, n);
	db_instructions_free(list, n);
	request_reply_text(req, 200, "application/json", body);
	crypto_free_secret(body, strlen(body));
}

/* The :tag of the path, which must be a UUID; else 404. */
static const char *path_tag(struct request *req)
{
	const char *tag = request_param(req, "tag");
	if (!idalloc_is_uuid(tag)) {
		request_error(req, 404, "instruction.not_found", NULL, "Instruction %s not found",
			      tag);
		return NULL;
	}
	return tag;
}

/* The answer to a reply or a progress report: 204, 409 when the attempt is
 * not the instruction's lease to this node, else the database's error. */
static void reply_written(struct request *req, enum db_result r, const char *tag)
{
	if (r == DB_CONFLICT)
		request_error(req, 409, "instruction.stale", NULL,
			      "Instruction %s is not leased to this node at that attempt", tag);
	else if (r != DB_OK)
		request_db_error(req, r, "instruction", tag);
	else
		request_reply(req, 204, NULL);
}

void agent_instruction_reply(struct request *req)
{
	const char *tag = path_tag(req);
	if (!tag)
		return;
	const char *type = request_body_string(req, "type");
	int attempt = (int)json_integer_value(json_object_get(req->body, "attempt"));
	json_t *payload = json_object_get(req->body, "payload");
	const char *error = request_body_string(req, "error");
	bool failed = strcmp(type, "ERROR") == 0;
	if (failed && !error) {
		request_error(req, 400, "validation.required", json_pack("{s:s}", "field", "error"),
			      "An ERROR reply needs error");
		return;
	}
	char *payload_text = payload ? json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	char *masked_error = error ? mask_secrets(error) : NULL;
	enum db_result r = db_work_reply(req->server->db, req->node.aid, req->node.nid, tag,
					 attempt, type, payload_text, masked_error);
	free(payload_text);
	free(masked_error);
	reply_written(req, r, tag);
}

void agent_instruction_progress(struct request *req)
{
	const char *tag = path_tag(req);
	if (!tag)
		return;
	int attempt = (int)json_integer_value(json_object_get(req->body, "attempt"));
	json_t *progress = json_object_get(req->body, "progress");
	const char *level = request_body_string(req, "level");
	char *message = mask_secrets(request_body_string(req, "message"));
	enum db_result r = db_work_progress(
		req->server->db, req->node.aid, req->node.nid, tag, attempt,
		req->server->cfg.instruction_lease_seconds, level ? level : "info", message,
		json_is_integer(progress) ? (int)json_integer_value(progress) : -1);
	free(message);
	reply_written(req, r, tag);
}
