/* Handlers of /user: the caller's own user record. */
#include "api/common.h"
#include "api/handlers.h"
#include "auth/password.h"
#include "runosd.h"

void api_user_get(struct request *req)
{
	struct user user;
	enum db_result r = db_users_get(req->server->db, req->principal.uid, &user, NULL);
	if (r != DB_OK) {
		request_db_error(req, r, "user", req->principal.uid);
		return;
	}
	api_set_etag(req, user.version);
	request_reply(req, 200, api_user_to_json(&user));
}

void api_user_update(struct request *req)
{
	const char *name = request_body_string(req, "name");
	const char *password = request_body_string(req, "password");
	const char *current = request_body_string(req, "currentPassword");
	int if_version;
	if (!api_if_match(req, &if_version))
		return;

	if (password && !current) {
		request_error(req, 400, "validation.required",
			      json_pack("{s:s}", "field", "currentPassword"),
			      "Changing the password needs currentPassword");
		return;
	}
	if (password && !api_check_password(req, "password", password))
		return;

	struct user user;
	char stored[PASSWORD_HASH_MAX];
	enum db_result r = db_users_get(req->server->db, req->principal.uid, &user, stored);
	if (r != DB_OK) {
		request_db_error(req, r, "user", req->principal.uid);
		return;
	}
	if (if_version != 0 && if_version != user.version) {
		api_reply_write_error(req, DB_CONFLICT, "user", req->principal.uid);
		return;
	}
	if (current && !auth_password_verify(current, stored)) {
		request_error(req, 403, "auth.invalid_password",
			      json_pack("{s:s}", "field", "currentPassword"),
			      "currentPassword is wrong");
		return;
	}
	char hash[PASSWORD_HASH_MAX];
	if (password && !auth_password_hash(password, hash)) {
		request_error(req, 500, "internal", NULL, "Internal error");
		return;
	}
	r = db_users_update(req->server->db, req->principal.uid, name, password ? hash : NULL,
			    req->principal.token_id, if_version, &user);
	if (r != DB_OK) {
		api_reply_write_error(req, r, "user", req->principal.uid);
		return;
	}
	/* Other sessions were revoked with a new password: drop them from this
	 * instance's cache now (other instances within AUTH_CACHE_TTL_MS). */
	if (password)
		auth_forget_user(req->server->auth, req->principal.uid);
	api_set_etag(req, user.version);
	request_reply(req, 200, api_user_to_json(&user));
}
