/* Handlers of accounts: the caller's accounts (/user/accounts) and an
 * account's profile (/:aid/account/profile). */
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "auth/auth.h"
#include "runosd.h"

static bool valid_website(const char *s)
{
	return *s == '\0' || strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

void api_accounts_list(struct request *req)
{
	int limit;
	struct api_cursor cursor;
	if (!api_list_params(req, idalloc_is_short_id, &limit, &cursor))
		return;
	/* A personal access token sees only the account it belongs to. */
	const char *only = req->principal.kind == TOKEN_PAT ? req->principal.key_aid : NULL;
	struct account_membership *rows;
	size_t n;
	enum db_result r =
		db_accounts_list_for_user(req->server->db, req->principal.uid, only,
					  cursor.after_us, cursor.after_id, limit + 1, &rows, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "account", NULL);
		return;
	}
	bool more = api_page_trim(&n, limit);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct account_membership *m = &rows[i];
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:b}", "aid",
						      m->account.aid, "name", m->account.name,
						      "companyName", m->account.company_name,
						      "accountRole", auth_role_name(m->role),
						      "isDefault", m->is_default));
	}
	char next[API_CURSOR_MAX];
	if (more)
		api_next_cursor(rows[n - 1].joined_us, rows[n - 1].account.aid, next);
	free(rows);
	api_reply_page(req, json_pack("{s:o}", "accounts", list), "cursor", more ? next : NULL);
}

void api_accounts_create(struct request *req)
{
	struct account_input in = {
		.name = request_body_string(req, "name"),
		.company_name = request_body_string(req, "companyName"),
		.base_domain = req->server->cfg.base_domain,
	};
	struct account account;
	struct audit_actor actor = api_actor(req);
	enum db_result r =
		db_accounts_create(req->server->db, req->principal.uid, &in, &actor, &account);
	if (r != DB_OK) {
		request_db_error(req, r, "account", NULL);
		return;
	}
	/* The caller's cached memberships lack the new account: drop them so the
	 * next request sees it. */
	auth_forget_user(req->server->auth, req->principal.uid);
	json_t *body = api_account_to_json(&account);
	json_object_set_new(body, "accountRole", json_string("owner"));
	json_object_set_new(body, "isDefault", json_false());
	api_set_etag(req, account.version);
	request_reply(req, 201, body);
}

void api_account_profile_get(struct request *req)
{
	const char *aid = request_param(req, "aid");
	struct account account;
	enum db_result r = db_accounts_get(req->server->db, aid, &account);
	if (r != DB_OK) {
		request_db_error(req, r, "account", aid);
		return;
	}
	api_set_etag(req, account.version);
	request_reply(req, 200, api_account_to_json(&account));
}

void api_account_profile_update(struct request *req)
{
	const char *aid = request_param(req, "aid");
	int if_version;
	if (!api_if_match(req, &if_version))
		return;
	struct account_input in = {
		.name = request_body_string(req, "name"),
		.company_name = request_body_string(req, "companyName"),
		.website = request_body_string(req, "website"),
	};
	if (in.website && !valid_website(in.website)) {
		request_error(req, 400, "validation.invalid",
			      json_pack("{s:s}", "field", "website"),
			      "website must be an http:// or https:// URL");
		return;
	}
	struct account account;
	struct audit_actor actor = api_actor(req);
	enum db_result r =
		db_accounts_update(req->server->db, aid, &in, if_version, &actor, &account);
	if (r != DB_OK) {
		api_reply_write_error(req, r, "account", aid);
		return;
	}
	api_set_etag(req, account.version);
	request_reply(req, 200, api_account_to_json(&account));
}
