/* Handlers of /auth: signup, login, logout. Passwords are hashed here with
 * argon2id and never stored, logged or returned; session tokens are returned
 * once and stored as SHA-256. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/mfa.h"
#include "auth/password.h"
#include "db/sessions_store.h"
#include "db/users_store.h"
#include "runosd.h"
#include "util/timeutil.h"

/* A plain shape check (one '@', something on both sides, a dot in the
 * domain, no spaces); deliverability is not ours to judge. */
static bool plausible_email(const char *s)
{
	const char *at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@') || !strchr(at + 1, '.'))
		return false;
	if (at[1] == '.' || s[strlen(s) - 1] == '.')
		return false;
	for (const char *c = s; *c; c++)
		if (isspace((unsigned char)*c))
			return false;
	return true;
}

static void lower_in_place(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

void api_auth_signup(struct request *req)
{
	char email[255];
	snprintf(email, sizeof(email), "%s", request_body_string(req, "email"));
	lower_in_place(email);
	const char *password = request_body_string(req, "password");
	const char *name = request_body_string(req, "name");
	const char *company = request_body_string(req, "companyName");

	if (!plausible_email(email)) {
		request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", "email"),
			      "email is not an email address");
		return;
	}
	if (!api_check_password(req, "password", password))
		return;

	struct signup_input in = {
		.email = email,
		.name = name ? name : "",
		.account = { .name = company && *company ? company : (name && *name ? name : email),
			     .company_name = company ? company : "",
			     .website = "",
			     .base_domain = req->server->cfg.base_domain },
		.session_expires_us = time_now_us() + (int64_t)SESSION_TTL_SECONDS * 1000000,
		.actor = { .type = "user", .trace_id = req->trace_id, .ip = req->client_ip },
	};
	char hash[PASSWORD_HASH_MAX];
	if (!auth_password_hash(password, hash)) {
		request_error(req, 500, "internal", NULL, "Internal error");
		return;
	}
	in.password_hash = hash;
	char token[TOKEN_LEN + 1];
	auth_token_generate(TOKEN_SESSION, token);
	auth_token_hash(token, in.session_hash);

	struct user user;
	struct account account;
	enum db_result r = db_users_signup(req->server->db, &in, &user, &account);
	if (r == DB_CONFLICT) {
		request_error(req, 409, "user.exists", NULL, "A user with this email exists");
		return;
	}
	if (r != DB_OK) {
		request_db_error(req, r, "user", NULL);
		return;
	}
	json_t *acct = api_account_to_json(&account);
	json_object_set_new(acct, "accountRole", json_string("owner"));
	json_object_set_new(acct, "isDefault", json_true());
	request_reply(req, 201,
		      json_pack("{s:o, s:o, s:s, s:o}", "user", api_user_to_json(&user), "account",
				acct, "token", token, "expiresAt",
				http_json_time(in.session_expires_us)));
}

void api_auth_login(struct request *req)
{
	const char *email = request_body_string(req, "email");
	const char *password = request_body_string(req, "password");
	/* Guessing passwords of one account is slowed wherever it comes from. */
	char key[300] = "login:";
	size_t n = strlen(key);
	for (const char *p = email; *p && n < sizeof(key) - 1; p++)
		key[n++] = (char)tolower((unsigned char)*p);
	key[n] = '\0';
	if (!request_rate_limit(req, key, req->server->cfg.rate_limit_login_per_minute))
		return;

	struct user user;
	char hash[PASSWORD_HASH_MAX];
	enum db_result r = db_users_find_by_email(req->server->db, email, &user, hash);
	if (r != DB_OK && r != DB_NOT_FOUND) {
		request_db_error(req, r, "user", NULL);
		return;
	}
	/* The same work and the same answer whether or not the email exists. */
	bool good;
	if (r == DB_OK) {
		good = auth_password_verify(password, hash);
	} else {
		auth_password_burn(password);
		good = false;
	}
	if (!good) {
		request_error(req, 401, "auth.invalid_credentials", NULL,
			      "Wrong email or password");
		return;
	}
	if (user.mfa_enabled && !request_body_string(req, "totp")) {
		request_error(req, 401, "auth.mfa_required", NULL,
			      "This account needs a TOTP code (totp)");
		return;
	}
	if (user.mfa_enabled &&
	    !api_mfa_check_login(req, user.uid, request_body_string(req, "totp")))
		return;

	char token[TOKEN_LEN + 1];
	uint8_t token_hash[CRYPTO_SHA256_LEN];
	auth_token_generate(TOKEN_SESSION, token);
	auth_token_hash(token, token_hash);
	int64_t expires_us = time_now_us() + (int64_t)SESSION_TTL_SECONDS * 1000000;
	r = db_sessions_create(req->server->db, user.uid, token_hash, expires_us);
	if (r != DB_OK) {
		request_db_error(req, r, "session", NULL);
		return;
	}
	request_reply(req, 200,
		      json_pack("{s:s, s:o, s:o}", "token", token, "expiresAt",
				http_json_time(expires_us), "user", api_user_to_json(&user)));
}

void api_auth_logout(struct request *req)
{
	enum db_result r = db_sessions_revoke(req->server->db, req->principal.token_hash);
	if (r != DB_OK && r != DB_NOT_FOUND) {
		request_db_error(req, r, "session", NULL);
		return;
	}
	auth_forget(req->server->auth, req->principal.token_hash);
	request_reply(req, 204, NULL);
}
