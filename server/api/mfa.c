/* Handlers of /user/mfa/totp (API.md §3) and the TOTP check of login. A new
 * secret is pending until a code from it is verified, which turns MFA on.
 * Secrets are sealed (bound to "user/<uid>/totp"); a code is accepted for
 * the previous, current or next 30 s step, and each step once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/mfa.h"
#include "auth/totp.h"
#include "crypto/seal.h"
#include "db/users_store.h"
#include "runosd.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

static void secret_aad(const char *uid, char out[96])
{
	snprintf(out, 96, "user/%s/totp", uid);
}

/* The secret of a sealed value; false when it does not open. */
static bool open_secret(const struct server *srv, const char *uid, const char *sealed,
			uint8_t out[TOTP_SECRET_LEN])
{
	char aad[96];
	secret_aad(uid, aad);
	size_t len = 0;
	uint8_t *plain = sealed ? crypto_unseal(srv->keys, sealed, aad, &len) : NULL;
	bool ok = plain && len == TOTP_SECRET_LEN;
	if (ok)
		memcpy(out, plain, TOTP_SECRET_LEN);
	if (plain)
		crypto_free_secret(plain, len);
	return ok;
}

void api_mfa_totp_setup(struct request *req)
{
	struct user user;
	enum db_result r = db_users_get(req->server->db, req->principal.uid, &user, NULL);
	if (r != DB_OK) {
		request_db_error(req, r, "user", req->principal.uid);
		return;
	}
	if (user.mfa_enabled) {
		request_error(req, 409, "mfa.enabled", NULL, "TOTP is already on for this user");
		return;
	}
	uint8_t secret[TOTP_SECRET_LEN];
	totp_new_secret(secret);
	char aad[96], text[TOTP_SECRET_B32_LEN + 8];
	secret_aad(user.uid, aad);
	char *sealed = crypto_seal(req->server->keys, secret, sizeof(secret), aad);
	totp_base32(secret, sizeof(secret), text, sizeof(text));
	explicit_bzero(secret, sizeof(secret));
	r = db_users_totp_set_pending(req->server->db, user.uid, sealed);
	free(sealed);
	if (r != DB_OK) {
		request_db_error(req, r, "user", user.uid);
		return;
	}
	/* The otpauth label: the email, percent-encoded. */
	char *label = api_percent_encode(user.email, "");
	char *url = xasprintf("otpauth://totp/runos:%s?secret=%s&issuer=runos&algorithm=SHA1"
			      "&digits=%d&period=%d",
			      label, text, TOTP_DIGITS, TOTP_STEP_SECONDS);
	free(label);
	request_reply(req, 200, json_pack("{s:s, s:s}", "secret", text, "otpauthUrl", url));
	free(url);
}

void api_mfa_totp_verify(struct request *req)
{
	const char *uid = req->principal.uid;
	char *pending, *enabled;
	enum db_result r = db_users_totp_get(req->server->db, uid, &pending, &enabled);
	free(enabled);
	if (r != DB_OK) {
		request_db_error(req, r, "user", uid);
		return;
	}
	uint8_t secret[TOTP_SECRET_LEN];
	bool have = pending && open_secret(req->server, uid, pending, secret);
	free(pending);
	if (!have) {
		request_error(req, 409, "mfa.not_pending", NULL,
			      "Start with POST /user/mfa/totp: there is no secret to verify");
		return;
	}
	uint64_t step = totp_check(secret, sizeof(secret), request_body_string(req, "code"),
				   time_now_us() / 1000000);
	explicit_bzero(secret, sizeof(secret));
	if (!step) {
		request_error(req, 400, "mfa.invalid_code", json_pack("{s:s}", "field", "code"),
			      "This code is not the current one of the secret");
		return;
	}
	r = db_users_totp_enable(req->server->db, uid, (int64_t)step);
	if (r != DB_OK) {
		request_db_error(req, r, "user", uid);
		return;
	}
	request_reply(req, 204, NULL);
}

bool api_mfa_check_login(struct request *req, const char *uid, const char *code)
{
	char *pending, *enabled;
	enum db_result r = db_users_totp_get(req->server->db, uid, &pending, &enabled);
	free(pending);
	uint8_t secret[TOTP_SECRET_LEN];
	bool have = r == DB_OK && enabled && open_secret(req->server, uid, enabled, secret);
	free(enabled);
	if (r != DB_OK && r != DB_NOT_FOUND) {
		request_db_error(req, r, "user", NULL);
		return false;
	}
	uint64_t step =
		have ? totp_check(secret, sizeof(secret), code, time_now_us() / 1000000) : 0;
	if (have)
		explicit_bzero(secret, sizeof(secret));
	if (step && (r = db_users_totp_use(req->server->db, uid, (int64_t)step)) == DB_OK)
		return true;
	if (step && r != DB_CONFLICT) {
		request_db_error(req, r, "user", NULL);
		return false;
	}
	request_error(req, 401, "auth.invalid_totp", NULL,
		      "The TOTP code is wrong, expired or already used");
	return false;
}
