/* Handlers of /:aid/:cid/join-tokens and the installer GET /install.sh. A
 * join token is shown once, in the create response (with the command that
 * installs a node with it); lists show its prefix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/installer.h"
#include "auth/token.h"
#include "db/clusters_store.h"
#include "db/join_tokens_store.h"
#include "pki/ca_boot.h"
#include "runosd.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define DEFAULT_TTL_SECONDS 1800
#define DEFAULT_MAX_USES 1

static json_t *token_to_json(const struct join_token *t)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:o, s:o, s:s}", "id", t->id, "prefix",
			 t->prefix, "role", t->role, "maxUses", t->max_uses, "uses", t->uses,
			 "expiresAt", http_json_time(t->expires_us), "createdAt",
			 http_json_time(t->created_us), "createdBy", t->created_by);
}

/* The line a user pastes on the machine to install: it fetches the installer
 * for the token and passes the CA pin the console showed, which the installer
 * checks against the CA it carries. Not curl -f: every answer of
 * /install.sh is a script, a refusal one that says why and exits 1, which
 * -f would swallow (sh then ran nothing and exited 0); when curl itself
 * fails (it says why), sh is given "exit 1". */
static char *install_command(const struct server *srv, const struct pki_ca *ca, const char *token)
{
	return xasprintf(
		"(curl -sSL '%s/install.sh?token=%s' || echo exit 1) | sh -s -- --ca-pin %s",
		srv->cfg.public_url, token, pki_ca_pin(ca));
}

/* A refusal of /install.sh: a script that says why and exits 1, for the
 * sh it is piped into. message must not hold a single quote. */
static void reply_script_error(struct request *req, int status, const char *message)
{
	char *script = xasprintf("echo 'runos: %s' >&2; exit 1\n", message);
	request_reply_text(req, status, "text/plain; charset=utf-8", script);
	free(script);
}

/* The agent CA, or a 503 when it cannot be loaded (see pki_ca_of). */
static const struct pki_ca *agent_ca(struct request *req)
{
	const struct pki_ca *ca = pki_ca_of(req->server);
	if (!ca)
		request_db_error(req, DB_UNAVAILABLE, "agent_ca", NULL);
	return ca;
}

static int body_int(const struct request *req, const char *name, int fallback)
{
	json_t *v = json_object_get(req->body, name);
	return json_is_integer(v) ? (int)json_integer_value(v) : fallback;
}

void api_join_tokens_create(struct request *req)
{
	struct cluster c;
	const struct pki_ca *ca = agent_ca(req);
	if (!ca || !api_load_cluster(req, &c))
		return;
	struct join_token tok = { 0 };
	char token[TOKEN_LEN + 1];
	uint8_t hash[CRYPTO_SHA256_LEN];
	auth_token_generate(TOKEN_JOIN, token);
	auth_token_hash(token, hash);
	idalloc_uuid(tok.id);
	snprintf(tok.aid, sizeof(tok.aid), "%s", request_param(req, "aid"));
	snprintf(tok.cid, sizeof(tok.cid), "%s", c.cid);
	memcpy(tok.prefix, token, TOKEN_DISPLAY_PREFIX_LEN);
	snprintf(tok.role, sizeof(tok.role), "%s", request_body_string(req, "role"));
	tok.max_uses = body_int(req, "maxUses", DEFAULT_MAX_USES);
	tok.expires_us =
		time_now_us() + body_int(req, "ttlSeconds", DEFAULT_TTL_SECONDS) * 1000000LL;
	snprintf(tok.created_by, sizeof(tok.created_by), "%s", req->principal.uid);

	struct audit_actor actor = api_actor(req);
	enum db_result r = db_join_tokens_create(req->server->db, &tok, hash, &actor);
	if (r != DB_OK) {
		request_db_error(req, r, "cluster", c.cid);
		return;
	}
	char *command = install_command(req->server, ca, token);
	request_reply(req, 201,
		      json_pack("{s:s, s:s, s:o, s:s, s:i, s:s, s:s}", "id", tok.id, "token", token,
				"expiresAt", http_json_time(tok.expires_us), "role", tok.role,
				"maxUses", tok.max_uses, "caPin", pki_ca_pin(req->server->ca),
				"installCommand", command));
	free(command);
}

void api_join_tokens_list(struct request *req)
{
	struct cluster c;
	int limit;
	struct api_cursor cursor;
	if (!api_load_cluster(req, &c) || !api_list_params(req, idalloc_is_uuid, &limit, &cursor))
		return;
	struct join_token *toks;
	size_t n;
	enum db_result r =
		db_join_tokens_list(req->server->db, request_param(req, "aid"), c.cid,
				    cursor.after_us, cursor.after_id, limit + 1, &toks, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "cluster", c.cid);
		return;
	}
	bool more = api_page_trim(&n, limit);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, token_to_json(&toks[i]));
	char next[API_CURSOR_MAX];
	if (more)
		api_next_cursor(toks[n - 1].created_us, toks[n - 1].id, next);
	free(toks);
	api_reply_page(req, json_pack("{s:o}", "joinTokens", list), "cursor", more ? next : NULL);
}

void api_join_tokens_delete(struct request *req)
{
	struct cluster c;
	if (!api_load_cluster(req, &c))
		return;
	const char *id = request_param(req, "id");
	enum db_result r = DB_NOT_FOUND;
	struct audit_actor actor = api_actor(req);
	if (idalloc_is_uuid(id))
		r = db_join_tokens_revoke(req->server->db, request_param(req, "aid"), c.cid, id,
					  &actor);
	if (r != DB_OK) {
		request_db_error(req, r, "join_token", id);
		return;
	}
	request_reply(req, 204, NULL);
}

/* GET /install.sh?token=: the installer of one usable token. Anything else is
 * 404 with a script that says so, for whoever pipes it into sh anyway. */
void api_install_script(struct request *req)
{
	const char *token = request_query(req, "token");
	const struct pki_ca *ca = pki_ca_of(req->server);
	if (!ca) {
		reply_script_error(req, 503,
				   "the control plane cannot serve installers now (its database is "
				   "unavailable); try again shortly");
		return;
	}
	uint8_t hash[CRYPTO_SHA256_LEN];
	struct join_token tok;
	enum db_result r = DB_NOT_FOUND;
	if (token && auth_token_parse(token) == TOKEN_JOIN) {
		auth_token_hash(token, hash);
		r = db_join_tokens_peek(req->server->db, hash, &tok);
	}
	if (r == DB_NOT_FOUND) {
		reply_script_error(
			req, 404,
			"this join token is unknown, used up, revoked or expired; create a "
			"new one");
		return;
	}
	if (r != DB_OK) {
		reply_script_error(req, 503,
				   "the control plane cannot look the join token up now (its "
				   "database is unavailable); try again shortly");
		return;
	}
	char *script = api_render_installer(req->server, ca, &tok, token);
	request_reply_text(req, 200, "text/x-shellscript; charset=utf-8", script);
	free(script);
}
