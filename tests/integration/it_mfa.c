/* The TOTP second factor (API.md §3): setup with a pending secret, verify
 * with its current code, login asking for it (401 auth.mfa_required), a code
 * accepted once and within one step either side, secrets sealed at rest.
 * Codes are computed with the server's own TOTP (tested against RFC 6238's
 * vectors in tests/unit/test_totp.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/totp.h"
#include "harness.h"

static struct it_server *srv;
static PGconn *pg;

static const char *code_at(const uint8_t *secret, int64_t unix_seconds)
{
	static char code[8];
	snprintf(code, sizeof(code), "%06u",
		 totp_code(secret, TOTP_SECRET_LEN, (uint64_t)unix_seconds / TOTP_STEP_SECONDS,
			   TOTP_DIGITS));
	return code;
}

static long login(const struct it_user *u, const char *totp)
{
	char body[512];
	if (totp)
		snprintf(body, sizeof(body),
			 "{\"email\":\"%s\",\"password\":\"%s\",\"totp\":\"%s\"}", u->email,
			 u->password, totp);
	else
		snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", u->email,
			 u->password);
	struct it_resp r = it_call(srv, "POST", NULL, body, "/auth/login");
	long status = r.status;
	if (status == 401)
		fprintf(stderr, "login: %s\n", it_json_str(r.json, "code") ?: "");
	it_resp_free(&r);
	return status;
}

static const char *login_code(const struct it_user *u, const char *totp)
{
	static char code[64];
	char body[512];
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"%s%s%s}", u->email,
		 u->password, totp ? ",\"totp\":\"" : "", totp ? totp : "", totp ? "\"" : "");
	struct it_resp r = it_call(srv, "POST", NULL, body, "/auth/login");
	snprintf(code, sizeof(code), "%s", r.status == 200 ? "ok" : it_json_str(r.json, "code") ?: "?");
	it_resp_free(&r);
	return code;
}

TEST(setup_verify_login)
{
	struct it_user u;
	REQUIRE(it_signup(srv, &u));
	/* Nothing pending yet. */
	struct it_resp r =
		it_call(srv, "POST", u.token, "{\"code\":\"123456\"}", "/user/mfa/totp/verify");
	CHECK_ERROR(r, 409, "mfa.not_pending");
	it_resp_free(&r);

	r = it_call(srv, "POST", u.token, NULL, "/user/mfa/totp");
	CHECK_STATUS(r, 200);
	const char *text = it_json_str(r.json, "secret");
	REQUIRE(text != NULL);
	CHECK_INT_EQ(strlen(text), TOTP_SECRET_B32_LEN);
	char b32[64];
	snprintf(b32, sizeof(b32), "%s", text);
	it_secret_add(b32);
	const char *url = it_json_str(r.json, "otpauthUrl");
	CHECK(url && strncmp(url, "otpauth://totp/runos:", 21) == 0);
	CHECK(url && strstr(url, it_fmt("secret=%s", b32)) && strstr(url, "issuer=runos"));
	it_resp_free(&r);
	uint8_t secret[TOTP_SECRET_LEN];
	REQUIRE(totp_base32_decode(b32, secret, sizeof(secret)) == TOTP_SECRET_LEN);

	/* Sealed at rest; MFA still off until verified. */
	const char *p[] = { u.uid, b32 };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM users WHERE uid = $1 AND totp_pending LIKE"
				 " 'v1.%' AND NOT mfa_enabled AND strpos(totp_pending, $2) = 0",
				 2, p),
		     1);
	CHECK_STR_EQ(login_code(&u, NULL), "ok");

	int64_t now = (int64_t)time(NULL);
	r = it_call(srv, "POST", u.token, "{\"code\":\"000000\"}", "/user/mfa/totp/verify");
	if (strcmp(code_at(secret, now), "000000") != 0)
		CHECK_ERROR(r, 400, "mfa.invalid_code");
	it_resp_free(&r);
	r = it_call(srv, "POST", u.token, "{\"code\":\"12345\"}", "/user/mfa/totp/verify");
	CHECK_ERROR(r, 400, "validation.length");
	it_resp_free(&r);
	r = it_call(srv, "POST", u.token, it_fmt("{\"code\":\"%s\"}", code_at(secret, now)),
		    "/user/mfa/totp/verify");
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	r = it_call(srv, "GET", u.token, NULL, "/user");
	CHECK(json_is_true(json_object_get(r.json, "mfaEnabled")));
	it_resp_free(&r);
	r = it_call(srv, "POST", u.token, NULL, "/user/mfa/totp");
	CHECK_ERROR(r, 409, "mfa.enabled");
	it_resp_free(&r);

	/* Login now needs a code; the one used to verify does not work again. */
	CHECK_STR_EQ(login_code(&u, NULL), "auth.mfa_required");
	CHECK_STR_EQ(login_code(&u, code_at(secret, now)), "auth.invalid_totp");
	CHECK_STR_EQ(login_code(&u, "abcdef"), "auth.invalid_totp");
	/* The next step's code is accepted (one step either side), once. */
	char next[8];
	snprintf(next, sizeof(next), "%s", code_at(secret, now + TOTP_STEP_SECONDS));
	CHECK_INT_EQ(login(&u, next), 200);
	CHECK_STR_EQ(login_code(&u, next), "auth.invalid_totp");
	/* Two steps ahead is outside the window. */
	CHECK_STR_EQ(login_code(&u, code_at(secret, now + 3 * TOTP_STEP_SECONDS)),
		     "auth.invalid_totp");
	/* A wrong password with a good code is the usual 401. */
	struct it_user wrong = u;
	snprintf(wrong.password, sizeof(wrong.password), "not the password");
	CHECK_STR_EQ(login_code(&wrong, next), "auth.invalid_credentials");
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM users WHERE uid = $1 AND totp_secret LIKE"
				 " 'v1.%' AND totp_pending IS NULL AND strpos(totp_secret, $2) = 0",
				 2, p),
		     1);
}

TEST(sessions_only)
{
	struct it_user u;
	REQUIRE(it_signup(srv, &u));
	struct it_key key;
	REQUIRE(it_create_pat(srv, u.token, u.aid, NULL, &key));
	struct it_resp r = it_call(srv, "POST", key.token, NULL, "/user/mfa/totp");
	CHECK_ERROR(r, 403, "auth.session_required");
	it_resp_free(&r);
	r = it_call(srv, "POST", NULL, NULL, "/user/mfa/totp");
	CHECK_401(r, "missing");
	it_resp_free(&r);
}

int main(void)
{
	if (!it_init("it_mfa")) {
		test_failed++;
		return it_finish("it_mfa");
	}
	srv = it_server_start("mfa", NULL);
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	if (!srv || !pg) {
		test_failed++;
		fprintf(stderr, "FAIL it_mfa: no server or database\n");
		return it_finish("it_mfa");
	}
	RUN(setup_verify_login);
	RUN(sessions_only);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	PQfinish(pg);
	return it_finish("it_mfa");
}
