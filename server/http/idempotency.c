/* Idempotency-Key on POST (API.md §1), around the handler: the first request
 * with a key claims it and its response is recorded; a repeat with the same
 * request gets that response again (Idempotent-Replayed: true), with another
 * request 422 idempotency.mismatch, while the first runs 409
 * idempotency.in_flight. Keys are scoped to the account of the path, else to
 * the caller (user, or client address on public routes). Server errors are
 * not recorded: the key is released for a retry. Recorded bodies are sealed
 * with the master key (responses carry tokens: signup, API keys, ...). */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "crypto/seal.h"
#include "db/idempotency_store.h"
#include "http_internal.h"
#include "runosd.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define KEY_MAX 255

static bool valid_key(const char *key)
{
	size_t n = strlen(key);
	if (n < 1 || n > KEY_MAX)
		return false;
	for (const char *p = key; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return false;
	return true;
}

static void scope_of(const struct request *req, char *out, size_t cap)
{
	const char *aid = request_param(req, "aid");
	if (req->route->access == ROUTE_ACCOUNT && aid)
		snprintf(out, cap, "account:%s", aid);
	else if (req->principal.uid[0])
		snprintf(out, cap, "user:%s", req->principal.uid);
	else
		snprintf(out, cap, "address:%s", req->client_ip);
}

/* The record a sealed body is bound to: another key's copy does not open. */
static void body_aad(const struct exchange *ex, char *out, size_t cap)
{
	snprintf(out, cap, "idempotency/%s/%s", ex->idem_scope, ex->idem_key);
}

static void request_hash(const struct exchange *ex, uint8_t out[CRYPTO_SHA256_LEN])
{
	size_t n = strlen(ex->method) + strlen(ex->path) + ex->body_len + 2;
	char *text = xmalloc(n + 1);
	int head = snprintf(text, n + 1, "%s\n%s\n", ex->method, ex->path);
	if (ex->body_len)
		memcpy(text + head, ex->body, ex->body_len);
	crypto_sha256(text, (size_t)head + ex->body_len, out);
	free(text);
}

bool http_idempotency_begin(struct exchange *ex)
{
	struct request *req = &ex->req;
	if (!ex->owner->idempotent_posts || strcmp(ex->method, "POST") != 0)
		return true;
	const char *key = request_header(req, "Idempotency-Key");
	if (!key)
		return true;
	if (!valid_key(key)) {
		request_error(req, 400, "validation.invalid",
			      json_pack("{s:s}", "field", "Idempotency-Key"),
			      "Idempotency-Key must be 1 to %d visible ASCII characters", KEY_MAX);
		return false;
	}
	scope_of(req, ex->idem_scope, sizeof(ex->idem_scope));
	snprintf(ex->idem_key, sizeof(ex->idem_key), "%s", key);
	request_hash(ex, ex->idem_hash);
	enum idempotency_state state;
	struct idempotent_response saved;
	enum db_result r = db_idempotency_begin(req->server->db, ex->idem_scope, key, ex->idem_hash,
						&state, &saved);
	if (r != DB_OK) {
		request_error(req, 503, "db.unavailable", NULL,
			      "The database is unavailable; retry shortly");
		return false;
	}
	switch (state) {
	case IDEMPOTENCY_NEW:
		ex->idem_claimed = true;
		return true;
	case IDEMPOTENCY_IN_FLIGHT:
		request_error(req, 409, "idempotency.in_flight", NULL,
			      "A request with this Idempotency-Key is still running");
		return false;
	case IDEMPOTENCY_MISMATCH:
		request_error(req, 422, "idempotency.mismatch", NULL,
			      "This Idempotency-Key was used with another request");
		return false;
	case IDEMPOTENCY_REPLAY:
		break;
	}
	char aad[400];
	body_aad(ex, aad, sizeof(aad));
	size_t len = 0;
	bool recorded_body = saved.body != NULL;
	uint8_t *body = saved.body ? crypto_unseal(req->server->keys, saved.body, aad, &len) : NULL;
	free(saved.body);
	if (recorded_body && !body) {
		request_error(req, 500, "internal", NULL, "The recorded response cannot be opened");
		return false;
	}
	if (body && strcmp(saved.content_type, "application/json") == 0)
		request_reply(req, saved.status, json_loads((char *)body, JSON_DECODE_ANY, NULL));
	else if (body)
		request_reply_text(req, saved.status, "text/plain; charset=utf-8", (char *)body);
	else
		request_reply(req, saved.status, NULL);
	if (body)
		crypto_free_secret(body, len);
	request_set_header(req, "Idempotent-Replayed", "true");
	return false;
}

void http_idempotency_finish(struct exchange *ex)
{
	struct request *req = &ex->req;
	if (!ex->idem_claimed)
		return;
	ex->idem_claimed = false;
	enum db_result r;
	if (req->status >= 500 || req->status == 0) {
		r = db_idempotency_release(req->server->db);
	} else {
		char *body = req->reply ? json_dumps(req->reply, JSON_COMPACT | JSON_ENCODE_ANY)
					: (req->reply_text ? xstrdup(req->reply_text) : NULL);
		char aad[400];
		body_aad(ex, aad, sizeof(aad));
		char *sealed =
			body ? crypto_seal(req->server->keys, body, strlen(body), aad) : NULL;
		if (body)
			crypto_free_secret(body, strlen(body));
		r = db_idempotency_finish(
			req->server->db, ex->idem_scope, ex->idem_key, ex->idem_hash, req->status,
			req->reply ? "application/json" : req->reply_type, sealed);
		free(sealed);
		/* What the handler dropped from the token cache (a logout, a new
		 * account's membership: always the caller's own on a POST) went
		 * before the commit, and another request may have cached the old
		 * rows again meanwhile: drop them once more now that it committed. */
		if (r == DB_OK && req->principal.uid[0]) {
			auth_forget(req->server->auth, req->principal.token_hash);
			auth_forget_user(req->server->auth, req->principal.uid);
		}
		/* A statement of the handler failed and its change was lost with the
		 * transaction: a refusal stands, unrecorded, and a repeat runs again;
		 * a success cannot stand, since nothing of it committed (503 below). */
		if (r == DB_CONFLICT && req->status >= 400)
			return;
	}
	if (r == DB_OK || req->status >= 500)
		return;
	log_warn("could not commit a request with an Idempotency-Key (trace %s)", req->trace_id);
	http_request_clear_reply(req);
	request_error(req, 503, "db.unavailable", NULL,
		      "The change could not be committed; retry with the same Idempotency-Key");
}
