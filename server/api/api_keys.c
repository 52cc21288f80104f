/* Handlers of /:aid/api-keys: personal access tokens of an account. A token
 * is in the create response only; lists show its prefix. A key's role never
 * exceeds its creator's, and acts as min(key role, creator's current role). */
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "auth/auth.h"
#include "db/api_keys_store.h"
#include "runosd.h"
#include "util/timeutil.h"

#define DAY_US (24LL * 3600 * 1000000)
#define DEFAULT_TTL_US (90 * DAY_US)
/* "At most a year", with a day's grace for clients that add a calendar year. */
#define MAX_TTL_US (366 * DAY_US)

static json_t *key_to_json(const struct api_key *k)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "id", k->id, "name", k->name,
			 "prefix", k->prefix, "accountRole", auth_role_name(k->role), "createdAt",
			 http_json_time(k->created_us), "expiresAt", http_json_time(k->expires_us),
			 "createdBy", k->created_by);
}

/* The :id of the path, which must look like a key id; else 404. */
static const char *key_id(struct request *req)
{
	const char *id = request_param(req, "id");
	if (!idalloc_is_uuid(id)) {
		request_error(req, 404, "api_key.not_found", NULL, "API key %s not found", id);
		return NULL;
	}
	return id;
}

void api_api_keys_create(struct request *req)
{
	const char *aid = request_param(req, "aid");
	struct api_key key = { 0 };
	const char *name = request_body_string(req, "name");
	const char *expires = request_body_string(req, "expiresAt");
	const char *role = request_body_string(req, "accountRole");
	int64_t now = time_now_us();

	key.role = req->principal.role_in_aid;
	if (role && (!auth_role_parse(role, &key.role) || key.role > req->principal.role_in_aid)) {
		request_error(req, 403, "api_key.role_exceeds_creator",
			      json_pack("{s:s}", "field", "accountRole"),
			      "A key cannot have more rights than you (%s)",
			      auth_role_name(req->principal.role_in_aid));
		return;
	}
	key.expires_us = now + DEFAULT_TTL_US;
	if (expires) {
		if (!time_parse_rfc3339(expires, &key.expires_us) || key.expires_us <= now ||
		    key.expires_us > now + MAX_TTL_US) {
			request_error(req, 400, "validation.invalid",
				      json_pack("{s:s}", "field", "expiresAt"),
				      "expiresAt must be in the future and within a year");
			return;
		}
	}

	char token[TOKEN_LEN + 1];
	uint8_t hash[CRYPTO_SHA256_LEN];
	auth_token_generate(TOKEN_PAT, token);
	auth_token_hash(token, hash);
	idalloc_uuid(key.id);
	snprintf(key.aid, sizeof(key.aid), "%s", aid);
	snprintf(key.name, sizeof(key.name), "%s", name);
	memcpy(key.prefix, token, TOKEN_DISPLAY_PREFIX_LEN);
	key.prefix[TOKEN_DISPLAY_PREFIX_LEN] = '\0';
	snprintf(key.created_by, sizeof(key.created_by), "%s", req->principal.uid);

	struct audit_actor actor = api_actor(req);
	enum db_result r = db_api_keys_create(req->server->db, &key, hash, &actor);
	if (r != DB_OK) {
		request_db_error(req, r, "api_key", NULL);
		return;
	}
	json_t *body = key_to_json(&key);
	json_object_set_new(body, "token", json_string(token));
	json_object_set_new(body, "warning",
			    json_string("Store this token now: it is shown only once."));
	api_set_etag(req, key.version);
	request_reply(req, 201, body);
}

void api_api_keys_list(struct request *req)
{
	const char *aid = request_param(req, "aid");
	int limit;
	struct api_cursor cursor;
	if (!api_list_params(req, idalloc_is_uuid, &limit, &cursor))
		return;
	struct api_key *keys;
	size_t n;
	enum db_result r = db_api_keys_list(req->server->db, aid, cursor.after_us, cursor.after_id,
					    limit + 1, &keys, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "api_key", NULL);
		return;
	}
	bool more = api_page_trim(&n, limit);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, key_to_json(&keys[i]));
	char next[API_CURSOR_MAX];
	if (more)
		api_next_cursor(keys[n - 1].created_us, keys[n - 1].id, next);
	free(keys);
	api_reply_page(req, json_pack("{s:o}", "apiKeys", list), "cursor", more ? next : NULL);
}

void api_api_keys_get(struct request *req)
{
	const char *aid = request_param(req, "aid");
	const char *id = key_id(req);
	if (!id)
		return;
	struct api_key key;
	enum db_result r = db_api_keys_get(req->server->db, aid, id, &key);
	if (r != DB_OK) {
		request_db_error(req, r, "api_key", id);
		return;
	}
	api_set_etag(req, key.version);
	request_reply(req, 200, key_to_json(&key));
}

void api_api_keys_update(struct request *req)
{
	const char *aid = request_param(req, "aid");
	const char *id = key_id(req);
	int if_version;
	if (!id || !api_if_match(req, &if_version))
		return;
	const char *name = request_body_string(req, "name");
	struct api_key key;
	enum db_result r;
	if (!name) {
		/* Nothing to change: answer with the key as it is. */
		r = db_api_keys_get(req->server->db, aid, id, &key);
		if (r == DB_OK && if_version != 0 && if_version != key.version)
			r = DB_CONFLICT;
	} else {
		struct audit_actor actor = api_actor(req);
		r = db_api_keys_rename(req->server->db, aid, id, name, if_version, &actor, &key);
	}
	if (r != DB_OK) {
		api_reply_write_error(req, r, "api_key", id);
		return;
	}
	api_set_etag(req, key.version);
	request_reply(req, 200, key_to_json(&key));
}

void api_api_keys_delete(struct request *req)
{
	const char *aid = request_param(req, "aid");
	const char *id = key_id(req);
	int if_version;
	if (!id || !api_if_match(req, &if_version))
		return;
	uint8_t hash[CRYPTO_SHA256_LEN];
	struct audit_actor actor = api_actor(req);
	enum db_result r = db_api_keys_revoke(req->server->db, aid, id, if_version, &actor, hash);
	if (r != DB_OK) {
		api_reply_write_error(req, r, "api_key", id);
		return;
	}
	auth_forget(req->server->auth, hash);
	request_reply(req, 204, NULL);
}
