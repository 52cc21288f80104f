/* Users, sessions and personal access tokens against a real runosd: signup,
 * login, the caller's user, password change, logout, the whole life of a PAT
 * (create, use, list, rename, revoke, expire), what a PAT may not do, new
 * accounts, and that no password or token is stored or logged in plain text;
 * 401s that say what to send; If-Match on PATCH /user checked by its write. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct it_server *srv;
static struct it_user alice; /* owner of her personal account, used throughout */

static bool same_but_trace(const json_t *a, const json_t *b)
{
	json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
	json_object_del(x, "traceId");
	json_object_del(y, "traceId");
	bool same = json_is_object(x) && json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same;
}

static void upper_in_place(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

TEST(signup)
{
	struct it_user u = { 0 };
	snprintf(u.email, sizeof(u.email), "it-signup-%d-%ld@example.test", (int)getpid(),
		 (long)time(NULL));
	snprintf(u.password, sizeof(u.password), "Signup-pw-%d-long", (int)getpid());
	it_secret_add(u.password);
	const char *body = it_fmt("{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"Ada\","
				  "\"companyName\":\"Analytical\"}",
				  u.email, u.password);
	struct it_resp r = it_call(srv, "POST", NULL, body, "/auth/signup");
	REQUIRE(CHECK_STATUS(r, 201));
	time_t created, expires;
	CHECK(it_is_uuid(it_json_str(r.json, "user.uid")));
	CHECK_STR_EQ(it_json_str(r.json, "user.email"), u.email);
	CHECK_STR_EQ(it_json_str(r.json, "user.name"), "Ada");
	CHECK(json_is_false(it_json_get(r.json, "user.mfaEnabled")));
	CHECK(it_parse_time(it_json_str(r.json, "user.createdAt"), &created));
	CHECK(labs((long)(created - time(NULL))) < 60);
	const char *aid = it_json_str(r.json, "account.aid");
	CHECK_MSG(it_is_aid(aid), "aid \"%s\"", aid ? aid : "(none)");
	CHECK_STR_EQ(it_json_str(r.json, "account.name"), "Analytical");
	CHECK_STR_EQ(it_json_str(r.json, "account.companyName"), "Analytical");
	CHECK_STR_EQ(it_json_str(r.json, "account.accountRole"), "owner");
	CHECK(json_is_true(it_json_get(r.json, "account.isDefault")));
	const char *token = it_json_str(r.json, "token");
	CHECK(token && strncmp(token, "rns_", 4) == 0 && strlen(token) == 53);
	it_secret_add(token);
	CHECK(it_parse_time(it_json_str(r.json, "expiresAt"), &expires));
	CHECK(expires > time(NULL));
	CHECK(it_header(&r, "X-Request-Id") != NULL);
	CHECK_STR_EQ(it_header(&r, "Cache-Control"), "no-store");
	it_resp_free(&r);

	/* The same email again, as given and in capitals. */
	r = it_call(srv, "POST", NULL, body, "/auth/signup");
	CHECK_ERROR(r, 409, "user.exists");
	it_resp_free(&r);
	char upper[128];
	snprintf(upper, sizeof(upper), "%s", u.email);
	upper_in_place(upper);
	r = it_call(srv, "POST", NULL,
		    it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", upper, u.password),
		    "/auth/signup");
	CHECK_ERROR(r, 409, "user.exists");
	it_resp_free(&r);
	/* Login is case-insensitive too. */
	r = it_call(srv, "POST", NULL,
		    it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", upper, u.password),
		    "/auth/login");
	CHECK_STATUS(r, 200);
	it_secret_add(it_json_str(r.json, "token"));
	it_resp_free(&r);
}

TEST(signup_refusals)
{
	const char *email = it_fmt("it-weak-%d-%ld@example.test", (int)getpid(), (long)time(NULL));
	struct it_resp r = it_call(srv, "POST", NULL,
				   it_fmt("{\"email\":\"%s\",\"password\":\"123456789\"}", email),
				   "/auth/signup");
	CHECK_ERROR(r, 400, "validation.weak_password");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "password");
	it_resp_free(&r);

	/* Exactly ten characters is enough. */
	r = it_call(srv, "POST", NULL,
		    it_fmt("{\"email\":\"%s\",\"password\":\"0123456789\"}", email),
		    "/auth/signup");
	CHECK_STATUS(r, 201);
	it_secret_add(it_json_str(r.json, "token"));
	it_resp_free(&r);

	static const char *const bad_emails[] = { "not-an-email", "a@b", "@example.test",
						  "a b@example.test", "a@@example.test" };
	for (size_t i = 0; i < sizeof(bad_emails) / sizeof(bad_emails[0]); i++) {
		r = it_call(
			srv, "POST", NULL,
			it_fmt("{\"email\":\"%s\",\"password\":\"long-enough-pw\"}", bad_emails[i]),
			"/auth/signup");
		CHECK_ERROR(r, 400, "validation.invalid");
		CHECK_STR_EQ(it_json_str(r.json, "field"), "email");
		it_resp_free(&r);
	}
}

TEST(login)
{
	char token[64];
	REQUIRE(it_login(srv, &alice, token));
	CHECK(strncmp(token, "rns_", 4) == 0 && strcmp(token, alice.token) != 0);

	struct it_resp r = it_call(
		srv, "POST", NULL,
		it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", alice.email, alice.password),
		"/auth/login");
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "user.uid"), alice.uid);
	CHECK_STR_EQ(it_json_str(r.json, "user.email"), alice.email);
	time_t expires;
	CHECK(it_parse_time(it_json_str(r.json, "expiresAt"), &expires) && expires > time(NULL));
	it_secret_add(it_json_str(r.json, "token"));
	it_resp_free(&r);

	const char *wrong_pw = "Wrong-password-123";
	it_secret_add(wrong_pw);
	struct it_resp wrong =
		it_call(srv, "POST", NULL,
			it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", alice.email, wrong_pw),
			"/auth/login");
	struct it_resp unknown =
		it_call(srv, "POST", NULL,
			it_fmt("{\"email\":\"nobody-%d@example.test\",\"password\":\"%s\"}",
			       (int)getpid(), wrong_pw),
			"/auth/login");
	CHECK_ERROR(wrong, 401, "auth.invalid_credentials");
	CHECK_ERROR(unknown, 401, "auth.invalid_credentials");
	CHECK_MSG(same_but_trace(wrong.json, unknown.json), "%s vs %s", wrong.body, unknown.body);
	it_resp_free(&wrong);
	it_resp_free(&unknown);
}

TEST(user_get_and_rename)
{
	struct it_resp r = it_call(srv, "GET", alice.token, NULL, "/user");
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "uid"), alice.uid);
	CHECK_STR_EQ(it_json_str(r.json, "email"), alice.email);
	CHECK(json_is_boolean(json_object_get(r.json, "mfaEnabled")));
	CHECK(json_object_get(r.json, "password") == NULL &&
	      json_object_get(r.json, "passwordHash") == NULL);
	it_resp_free(&r);

	r = it_call(srv, "PATCH", alice.token, "{\"name\":\"Alice Liddell\"}", "/user");
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "Alice Liddell");
	it_resp_free(&r);
	r = it_call(srv, "GET", alice.token, NULL, "/user");
	CHECK_STR_EQ(it_json_str(r.json, "name"), "Alice Liddell");
	it_resp_free(&r);
}

TEST(password_change)
{
	struct it_user bob;
	REQUIRE(it_signup(srv, &bob));
	char other[64], used[64];
	REQUIRE(it_login(srv, &bob, other));
	REQUIRE(it_login(srv, &bob, used));
	/* Both sessions known to this instance (cached) before the change. */
	struct it_resp r = it_call(srv, "GET", other, NULL, "/user");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);

	const char *fresh = it_fmt("New-pw-%d-%ld", (int)getpid(), (long)time(NULL));
	char new_pw[64];
	snprintf(new_pw, sizeof(new_pw), "%s", fresh);
	it_secret_add(new_pw);

	r = it_call(srv, "PATCH", used, it_fmt("{\"password\":\"%s\"}", new_pw), "/user");
	CHECK_ERROR(r, 400, "validation.required");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "currentPassword");
	it_resp_free(&r);

	r = it_call(
		srv, "PATCH", used,
		it_fmt("{\"password\":\"%s\",\"currentPassword\":\"Not-the-password\"}", new_pw),
		"/user");
	CHECK_ERROR(r, 403, "auth.invalid_password");
	it_resp_free(&r);

	r = it_call(srv, "PATCH", used,
		    it_fmt("{\"password\":\"short\",\"currentPassword\":\"%s\"}", bob.password),
		    "/user");
	CHECK_ERROR(r, 400, "validation.weak_password");
	it_resp_free(&r);

	r = it_call(
		srv, "PATCH", used,
		it_fmt("{\"password\":\"%s\",\"currentPassword\":\"%s\"}", new_pw, bob.password),
		"/user");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);

	/* Other sessions are revoked at once; the one used keeps working. */
	r = it_call(srv, "GET", other, NULL, "/user");
	CHECK_401(r, "revoked");
	it_resp_free(&r);
	r = it_call(srv, "GET", bob.token, NULL, "/user");
	CHECK_401(r, "revoked");
	it_resp_free(&r);
	r = it_call(srv, "GET", used, NULL, "/user");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);

	r = it_call(srv, "POST", NULL,
		    it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", bob.email, bob.password),
		    "/auth/login");
	CHECK_ERROR(r, 401, "auth.invalid_credentials");
	it_resp_free(&r);
	snprintf(bob.password, sizeof(bob.password), "%s", new_pw);
	char again[64];
	CHECK(it_login(srv, &bob, again));
}

TEST(logout)
{
	char token[64];
	REQUIRE(it_login(srv, &alice, token));
	struct it_resp r = it_call(srv, "GET", token, NULL, "/user");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "POST", token, NULL, "/auth/logout");
	CHECK_STATUS(r, 204);
	CHECK_INT_EQ(r.body_len, 0);
	it_resp_free(&r);
	r = it_call(srv, "GET", token, NULL, "/user");
	CHECK_401(r, "revoked");
	time_t when;
	CHECK(it_parse_time(it_json_str(r.json, "revokedAt"), &when));
	CHECK(labs((long)(when - time(NULL))) < 60);
	CHECK_STR_EQ(it_header(&r, "WWW-Authenticate"), "Bearer");
	it_resp_free(&r);
	/* A second logout with the revoked token. */
	r = it_call(srv, "POST", token, NULL, "/auth/logout");
	CHECK_401(r, "revoked");
	it_resp_free(&r);
	/* Alice's other session is untouched. */
	r = it_call(srv, "GET", alice.token, NULL, "/user");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
}

/* The key in a list body, or NULL. */
static json_t *find_key(json_t *list, const char *id)
{
	size_t i;
	json_t *k;
	json_array_foreach (json_object_get(list, "apiKeys"), i, k)
		if (test_str_eq(json_string_value(json_object_get(k, "id")), id))
			return k;
	return NULL;
}

TEST(pat_lifecycle)
{
	struct it_resp r = it_call(srv, "POST", alice.token, "{\"name\":\"ci deploy\"}",
				   "/%s/api-keys", alice.aid);
	REQUIRE(CHECK_STATUS(r, 201));
	char token[64], id[40];
	snprintf(token, sizeof(token), "%s", it_json_str(r.json, "token") ?: "");
	snprintf(id, sizeof(id), "%s", it_json_str(r.json, "id") ?: "");
	it_secret_add(token);
	CHECK(strncmp(token, "rnp_", 4) == 0 && strlen(token) == 53);
	CHECK(it_is_uuid(id));
	char prefix[16];
	snprintf(prefix, sizeof(prefix), "%s", it_json_str(r.json, "prefix") ?: "");
	CHECK_MSG(strlen(prefix) == 12 && strncmp(prefix, token, 12) == 0, "prefix \"%s\"", prefix);
	const char *warning = it_json_str(r.json, "warning");
	CHECK(warning && *warning);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "ci deploy");
	CHECK_STR_EQ(it_json_str(r.json, "accountRole"), "owner");
	CHECK_STR_EQ(it_json_str(r.json, "createdBy"), alice.uid);
	time_t expires;
	CHECK(it_parse_time(it_json_str(r.json, "expiresAt"), &expires));
	long days = (long)(expires - time(NULL)) / 86400;
	CHECK_MSG(days >= 89 && days <= 90, "default expiry in %ld days", days);
	it_resp_free(&r);

	r = it_call(srv, "GET", token, NULL, "/%s/account/profile", alice.aid);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "aid"), alice.aid);
	const char *etag = it_header(&r, "ETag");
	CHECK(etag && etag[0] == '"');
	it_resp_free(&r);

	/* Lists and shows never carry the token. */
	const char *readers[] = { token, alice.token };
	for (int i = 0; i < 2; i++) {
		r = it_call(srv, "GET", readers[i], NULL, "/%s/api-keys", alice.aid);
		CHECK_STATUS(r, 200);
		CHECK(strstr(r.body, token) == NULL);
		CHECK(strstr(r.body, "\"token\"") == NULL);
		json_t *k = find_key(r.json, id);
		CHECK(k != NULL);
		CHECK(test_str_eq(json_string_value(json_object_get(k, "prefix")), prefix));
		it_resp_free(&r);
	}
	r = it_call(srv, "GET", token, NULL, "/%s/api-keys/%s", alice.aid, id);
	CHECK_STATUS(r, 200);
	CHECK(strstr(r.body, token) == NULL);
	CHECK(json_object_get(r.json, "token") == NULL);
	CHECK(it_json_str(r.json, "prefix") != NULL);
	CHECK_STR_EQ(it_json_str(r.json, "id"), id);
	CHECK(it_header(&r, "ETag") != NULL);
	it_resp_free(&r);

	r = it_call(srv, "PATCH", alice.token, "{\"name\":\"renamed key\"}", "/%s/api-keys/%s",
		    alice.aid, id);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "renamed key");
	CHECK(strstr(r.body, token) == NULL);
	it_resp_free(&r);
	r = it_call(srv, "GET", alice.token, NULL, "/%s/api-keys/%s", alice.aid, id);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "renamed key");
	it_resp_free(&r);

	/* Revoked: this instance forgets the key at once. */
	r = it_call(srv, "DELETE", alice.token, NULL, "/%s/api-keys/%s", alice.aid, id);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	r = it_call(srv, "GET", token, NULL, "/%s/account/profile", alice.aid);
	CHECK_401(r, "revoked");
	CHECK(it_json_str(r.json, "revokedAt") != NULL);
	it_resp_free(&r);
	r = it_call(srv, "GET", alice.token, NULL, "/%s/api-keys/%s", alice.aid, id);
	CHECK_ERROR(r, 404, "api_key.not_found");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", alice.token, NULL, "/%s/api-keys/%s", alice.aid, id);
	CHECK_ERROR(r, 404, "api_key.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", alice.token, NULL, "/%s/api-keys", alice.aid);
	CHECK(find_key(r.json, id) == NULL);
	it_resp_free(&r);
}

TEST(pat_expiry)
{
	time_t at = time(NULL) + 2;
	struct it_resp r = it_call(
		srv, "POST", alice.token,
		it_fmt("{\"name\":\"short-lived\",\"expiresAt\":\"%s\"}", it_format_time(at)),
		"/%s/api-keys", alice.aid);
	REQUIRE(CHECK_STATUS(r, 201));
	char token[64];
	snprintf(token, sizeof(token), "%s", it_json_str(r.json, "token") ?: "");
	it_secret_add(token);
	CHECK_STR_EQ(it_json_str(r.json, "expiresAt"), it_format_time(at));
	it_resp_free(&r);

	r = it_call(srv, "GET", token, NULL, "/%s/account/profile", alice.aid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	while (time(NULL) <= at)
		it_sleep_ms(100);
	it_sleep_ms(200);
	r = it_call(srv, "GET", token, NULL, "/%s/account/profile", alice.aid);
	CHECK_401(r, "expired");
	CHECK_STR_EQ(it_json_str(r.json, "expiredAt"), it_format_time(at));
	it_resp_free(&r);
}

TEST(pat_limits)
{
	const char *bodies[] = {
		it_fmt("{\"name\":\"past\",\"expiresAt\":\"%s\"}", it_format_time(time(NULL) - 60)),
		it_fmt("{\"name\":\"too far\",\"expiresAt\":\"%s\"}",
		       it_format_time(time(NULL) + 400L * 86400)),
		"{\"name\":\"not a time\",\"expiresAt\":\"tomorrow\"}",
		"{\"name\":\"bad role\",\"accountRole\":\"superuser\"}",
		"{\"name\":\"   \"}",
	};
	const char *fields[] = { "expiresAt", "expiresAt", "expiresAt", "accountRole", "name" };
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct it_resp r =
			it_call(srv, "POST", alice.token, bodies[i], "/%s/api-keys", alice.aid);
		CHECK_ERROR(r, 400, "validation.invalid");
		CHECK_STR_EQ(it_json_str(r.json, "field"), fields[i]);
		it_resp_free(&r);
	}
	/* A year from now is allowed. */
	struct it_resp r = it_call(srv, "POST", alice.token,
				   it_fmt("{\"name\":\"a year\",\"expiresAt\":\"%s\"}",
					  it_format_time(time(NULL) + 365L * 86400)),
				   "/%s/api-keys", alice.aid);
	CHECK_STATUS(r, 201);
	it_secret_add(it_json_str(r.json, "token"));
	it_resp_free(&r);

	/* Carol is admin of Alice's account (set in the database: there is no
	 * invitation API yet): her keys there can be admin at most. */
	struct it_user carol;
	REQUIRE(it_signup(srv, &carol));
	PGconn *db = it_db_connect(it_env.database_url);
	REQUIRE(db != NULL);
	const char *params[] = { alice.aid, carol.uid };
	CHECK(it_db_exec(db, "INSERT INTO memberships (aid, uid, role) VALUES ($1, $2, 'admin')", 2,
			 params));
	PQfinish(db);
	char session[64];
	REQUIRE(it_login(srv, &carol, session));
	r = it_call(srv, "POST", session, "{\"name\":\"too strong\",\"accountRole\":\"owner\"}",
		    "/%s/api-keys", alice.aid);
	CHECK_ERROR(r, 403, "api_key.role_exceeds_creator");
	it_resp_free(&r);
	r = it_call(srv, "POST", session, "{\"name\":\"default role\"}", "/%s/api-keys", alice.aid);
	CHECK_STATUS(r, 201);
	CHECK_STR_EQ(it_json_str(r.json, "accountRole"), "admin");
	it_secret_add(it_json_str(r.json, "token"));
	it_resp_free(&r);
	r = it_call(srv, "POST", session, "{\"name\":\"viewer\",\"accountRole\":\"viewer\"}",
		    "/%s/api-keys", alice.aid);
	CHECK_STATUS(r, 201);
	CHECK_STR_EQ(it_json_str(r.json, "accountRole"), "viewer");
	it_secret_add(it_json_str(r.json, "token"));
	it_resp_free(&r);
}

TEST(pat_is_not_a_session)
{
	struct it_key key;
	REQUIRE(it_create_pat(srv, alice.token, alice.aid, NULL, &key));
	struct {
		const char *method, *path, *body;
	} calls[] = {
		{ "POST", it_fmt("/%s/api-keys", alice.aid), "{\"name\":\"from a PAT\"}" },
		{ "PATCH", "/user", "{\"name\":\"renamed by a PAT\"}" },
		{ "POST", "/user/accounts", "{\"name\":\"made by a PAT\"}" },
		{ "POST", "/auth/logout", NULL },
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		struct it_resp r = it_call(srv, calls[i].method, key.token, calls[i].body, "%s",
					   calls[i].path);
		CHECK_ERROR(r, 403, "auth.session_required");
		it_resp_free(&r);
	}
	/* What a PAT may do: read the user. */
	struct it_resp r = it_call(srv, "GET", key.token, NULL, "/user");
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "uid"), alice.uid);
	CHECK(strcmp(it_json_str(r.json, "name") ?: "", "renamed by a PAT") != 0);
	it_resp_free(&r);
}

static size_t count_accounts(const struct it_resp *r, const char *aid)
{
	size_t i, n = 0;
	json_t *a;
	json_array_foreach (json_object_get(r->json, "accounts"), i, a)
		n += !aid || test_str_eq(json_string_value(json_object_get(a, "aid")), aid);
	return n;
}

TEST(accounts)
{
	struct it_key key;
	REQUIRE(it_create_pat(srv, alice.token, alice.aid, NULL, &key));
	struct it_resp r =
		it_call(srv, "POST", alice.token,
			"{\"name\":\"Second account\",\"companyName\":\"Acme\"}", "/user/accounts");
	REQUIRE(CHECK_STATUS(r, 201));
	char aid[8];
	snprintf(aid, sizeof(aid), "%s", it_json_str(r.json, "aid") ?: "");
	CHECK(it_is_aid(aid) && strcmp(aid, alice.aid) != 0);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "Second account");
	CHECK_STR_EQ(it_json_str(r.json, "companyName"), "Acme");
	CHECK_STR_EQ(it_json_str(r.json, "accountRole"), "owner");
	CHECK(json_is_false(json_object_get(r.json, "isDefault")));
	it_resp_free(&r);

	/* Usable at once by the session that made it. */
	r = it_call(srv, "GET", alice.token, NULL, "/%s/account/profile", aid);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "Second account");
	it_resp_free(&r);

	r = it_call(srv, "GET", alice.token, NULL, "/user/accounts");
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(count_accounts(&r, NULL), 2);
	CHECK_INT_EQ(count_accounts(&r, aid), 1);
	CHECK_INT_EQ(count_accounts(&r, alice.aid), 1);
	/* The last page: no nextCursor member, no Link. */
	CHECK(json_object_get(r.json, "nextCursor") == NULL && it_header(&r, "Link") == NULL);
	it_resp_free(&r);

	/* A PAT sees only its own account. */
	r = it_call(srv, "GET", key.token, NULL, "/user/accounts");
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(count_accounts(&r, NULL), 1);
	CHECK_INT_EQ(count_accounts(&r, alice.aid), 1);
	it_resp_free(&r);

	r = it_call(srv, "POST", alice.token, "{\"name\":\"  \"}", "/user/accounts");
	CHECK_ERROR(r, 400, "validation.invalid");
	it_resp_free(&r);
}

static char *table_text(PGconn *db, const char *table)
{
	PGresult *res = PQexec(db, it_fmt("SELECT t::text FROM %s t", table));
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "dump %s: %s", table, PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	size_t len = 1;
	for (int i = 0; i < PQntuples(res); i++)
		len += strlen(PQgetvalue(res, i, 0)) + 1;
	char *text = calloc(1, len);
	for (int i = 0; i < PQntuples(res); i++) {
		strcat(text, PQgetvalue(res, i, 0));
		strcat(text, "\n");
	}
	PQclear(res);
	return text;
}

TEST(no_secret_at_rest)
{
	PGconn *db = it_db_connect(it_env.database_url);
	REQUIRE(db != NULL);
	/* The scan looks at the right place: Alice's session is there, hashed. */
	const char *params[] = { alice.token };
	CHECK_INT_EQ(it_db_count(db,
				 "SELECT count(*) FROM sessions WHERE token_hash = "
				 "sha256(convert_to($1, 'UTF8'))",
				 1, params),
		     1);
	CHECK_INT_EQ(it_db_count(db,
				 "SELECT count(*) FROM users"
				 " WHERE password_hash NOT LIKE '$argon2id$%'",
				 0, NULL),
		     0);
	CHECK(it_secret_count() >= 20);
	static const char *const tables[] = { "users", "sessions", "api_keys" };
	for (size_t t = 0; t < 3; t++) {
		char *text = table_text(db, tables[t]);
		CHECK(text != NULL && strlen(text) > 0);
		for (size_t i = 0; text && i < it_secret_count(); i++)
			CHECK_MSG(strstr(text, it_secret(i)) == NULL, "%s holds secret %s",
				  tables[t], it_secret(i));
		free(text);
	}
	for (size_t i = 0; i < it_secret_count(); i++) {
		const char *p[] = { it_secret(i) };
		CHECK_INT_EQ(it_db_count(db,
					 "SELECT count(*) FROM users WHERE password_hash LIKE "
					 "'%' || $1 || '%'",
					 1, p),
			     0);
	}
	PQfinish(db);
}

TEST(no_secret_in_log)
{
	char *log = it_server_log(srv);
	REQUIRE(log != NULL);
	CHECK(strstr(log, alice.uid) != NULL); /* the access log names the caller */
	for (size_t i = 0; i < it_secret_count(); i++)
		CHECK_MSG(strstr(log, it_secret(i)) == NULL, "the log holds secret %s",
			  it_secret(i));
	free(log);
}

/* Every 401 says what is expected, beside its reason. */
TEST(token_errors_say_what_to_send)
{
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/user");
	CHECK_401(r, "missing");
	const char *error = it_json_str(r.json, "error") ?: "";
	CHECK_MSG(strncmp(error, "Invalid token", 13) == 0 &&
			  strstr(error, "Authorization: Bearer <token>") != NULL,
		  "error: %s", error);
	it_resp_free(&r);

	/* The token without the scheme. */
	const char *headers[] = { it_fmt("Authorization: %s", alice.token), NULL };
	struct it_req req = { .path = "/user", .headers = headers };
	it_request(srv, &req, &r);
	CHECK_401(r, "malformed");
	error = it_json_str(r.json, "error") ?: "";
	CHECK_MSG(strstr(error, "\"Bearer <token>\"") != NULL, "error: %s", error);
	it_resp_free(&r);

	/* The scheme with something that is not a runos token. */
	r = it_call(srv, "GET", "not-a-token", NULL, "/user");
	CHECK_401(r, "malformed");
	error = it_json_str(r.json, "error") ?: "";
	CHECK_MSG(strstr(error, "rns_") != NULL, "error: %s", error);
	it_resp_free(&r);

	char unknown[54];
	it_make_token("rns_", unknown);
	r = it_call(srv, "GET", unknown, NULL, "/user");
	CHECK_401(r, "unknown");
	error = it_json_str(r.json, "error") ?: "";
	CHECK_MSG(strstr(error, "POST /auth/login") != NULL, "error: %s", error);
	it_resp_free(&r);
}

/* A PATCH /user with If-Match whose user changes between the server's read
 * and its write is 412, not a lost update: the version is checked by the
 * write. The test holds the user's row, so the write waits, and changes the
 * version meanwhile. */
static struct it_resp race_response;
static void *patch_user_v_current(void *arg)
{
	const char **headers = arg;
	struct it_req req = { .method = "PATCH",
			      .path = "/user",
			      .token = alice.token,
			      .body = "{\"name\":\"raced\"}",
			      .headers = headers };
	it_request(srv, &req, &race_response);
	return NULL;
}

TEST(user_if_match_checked_by_the_write)
{
	PGconn *pg = it_db_connect(it_env.database_url);
	REQUIRE(pg != NULL);
	struct it_resp r = it_call(srv, "GET", alice.token, NULL, "/user");
	char if_match[64];
	snprintf(if_match, sizeof(if_match), "If-Match: %s", it_header(&r, "ETag") ?: "");
	it_resp_free(&r);
	const char *p[] = { alice.uid };
	REQUIRE(it_db_exec(pg, "BEGIN", 0, NULL));
	REQUIRE(it_db_exec(pg, "SELECT 1 FROM users WHERE uid = $1 FOR UPDATE", 1, p));
	const char *headers[] = { if_match, NULL };
	pthread_t t;
	pthread_create(&t, NULL, patch_user_v_current, headers);
	bool waiting = false;
	for (double end = it_now_ms() + 20000; !waiting && it_now_ms() < end; it_sleep_ms(20))
		waiting = it_db_count(pg,
				      "SELECT count(*) FROM pg_stat_activity WHERE datname ="
				      " current_database() AND wait_event_type = 'Lock'"
				      " AND application_name = 'runosd'",
				      0, NULL) > 0;
	CHECK(waiting);
	CHECK(it_db_exec(pg, "UPDATE users SET version = version + 1 WHERE uid = $1", 1, p));
	CHECK(it_db_exec(pg, "COMMIT", 0, NULL));
	pthread_join(t, NULL);
	CHECK_ERROR(race_response, 412, "precondition.failed");
	it_resp_free(&race_response);
	r = it_call(srv, "GET", alice.token, NULL, "/user");
	CHECK(strcmp(it_json_str(r.json, "name") ?: "", "raced") != 0);
	it_resp_free(&r);
	PQfinish(pg);
}

TEST(clean_stop)
{
	CHECK_INT_EQ(it_server_stop(srv), 0);
}

int main(void)
{
	if (!it_init("it_auth")) {
		test_failed++;
		return it_finish("it_auth");
	}
	srv = it_server_start("auth", NULL);
	if (!srv || !it_signup(srv, &alice)) {
		test_failed++;
		fprintf(stderr, "FAIL it_auth: no server or no first user\n");
		return it_finish("it_auth");
	}
	RUN(signup);
	RUN(signup_refusals);
	RUN(login);
	RUN(user_get_and_rename);
	RUN(password_change);
	RUN(logout);
	RUN(pat_lifecycle);
	RUN(pat_expiry);
	RUN(pat_limits);
	RUN(pat_is_not_a_session);
	RUN(accounts);
	RUN(token_errors_say_what_to_send);
	RUN(user_if_match_checked_by_the_write);
	RUN(clean_stop);
	RUN(no_secret_at_rest);
	RUN(no_secret_in_log);
	return it_finish("it_auth");
}
