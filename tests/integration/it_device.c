/* CLI device login (API.md §3): initiate, poll while pending, approve for an
 * account, poll once for an API key of that account with the approver's
 * role; used, expired, foreign and malformed logins; only sessions approve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static struct it_server *srv;
static PGconn *pg;
static struct it_user owner, stranger;

struct device {
	char id[64], token[64];
};

static bool initiate(struct device *d)
{
	struct it_resp r = it_call(srv, "POST", NULL, NULL, "/auth/device/initiate");
	bool ok =
		r.status == 200 && it_json_str(r.json, "deviceId") && it_json_str(r.json, "token");
	if (ok) {
		snprintf(d->id, sizeof(d->id), "%s", it_json_str(r.json, "deviceId"));
		snprintf(d->token, sizeof(d->token), "%s", it_json_str(r.json, "token"));
		it_secret_add(d->token);
	}
	it_resp_free(&r);
	return ok;
}

/* The poll's error, or "ok" with the access token and account in out. */
static const char *poll_device(const struct device *d, char token_out[64], char aid_out[8])
{
	static char result[64];
	struct it_resp r =
		it_call(srv, "POST", NULL,
			it_fmt("{\"deviceId\":\"%s\",\"token\":\"%s\"}", d->id, d->token),
			"/auth/device/poll");
	CHECK_STATUS(r, 200);
	if (json_is_true(json_object_get(r.json, "success"))) {
		snprintf(result, sizeof(result), "ok");
		if (token_out)
			snprintf(token_out, 64, "%s", it_json_str(r.json, "accessToken") ?: "");
		if (aid_out)
			snprintf(aid_out, 8, "%s", it_json_str(r.json, "accountId") ?: "");
	} else {
		snprintf(result, sizeof(result), "%s", it_json_str(r.json, "error") ?: "?");
	}
	it_resp_free(&r);
	return result;
}

static struct it_resp approve(const char *session, const struct device *d, const char *aid)
{
	return it_call(srv, "POST", session,
		       it_fmt("{\"deviceId\":\"%s\",\"token\":\"%s\",\"aid\":\"%s\"}", d->id,
			      d->token, aid),
		       "/auth/device/approve");
}

TEST(login_once)
{
	struct it_resp r = it_call(srv, "POST", NULL, NULL, "/auth/device/initiate");
	CHECK_STATUS(r, 200);
	struct device d;
	snprintf(d.id, sizeof(d.id), "%s", it_json_str(r.json, "deviceId") ?: "");
	snprintf(d.token, sizeof(d.token), "%s", it_json_str(r.json, "token") ?: "");
	it_secret_add(d.token);
	CHECK(it_is_uuid(d.id));
	CHECK(strncmp(d.token, "rnd_", 4) == 0);
	time_t expires;
	CHECK(it_parse_time(it_json_str(r.json, "expiresAt"), &expires));
	CHECK(expires > time(NULL) + 9 * 60 && expires <= time(NULL) + 10 * 60 + 5);
	CHECK(strstr(it_json_str(r.json, "verificationUrl") ?: "", d.id) != NULL);
	it_resp_free(&r);

	CHECK_STR_EQ(poll_device(&d, NULL, NULL), "authorization_pending");
	r = approve(owner.token, &d, owner.aid);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	r = approve(owner.token, &d, owner.aid);
	CHECK_ERROR(r, 409, "device.used");
	it_resp_free(&r);

	char token[64], aid[8];
	CHECK_STR_EQ(poll_device(&d, token, aid), "ok");
	CHECK_STR_EQ(aid, owner.aid);
	CHECK(strncmp(token, "rnp_", 4) == 0);
	it_secret_add(token);
	/* The key acts in that account with the approver's role (owner). */
	r = it_call(srv, "POST", token, "{\"name\":\"from the CLI\"}", "/%s/clusters", owner.aid);
	CHECK_STATUS(r, 201);
	it_resp_free(&r);
	r = it_call(srv, "GET", token, NULL, "/%s/api-keys", owner.aid);
	CHECK(r.body && strstr(r.body, "CLI device login") != NULL);
	it_resp_free(&r);
	/* Once. */
	CHECK_STR_EQ(poll_device(&d, NULL, NULL), "used");
	/* Stored hashed only. */
	const char *p[] = { d.token };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM device_logins WHERE token_hash ="
				 " sha256(convert_to($1, 'UTF8')) AND used_at IS NOT NULL",
				 1, p),
		     1);
}

TEST(refusals)
{
	struct device d, other;
	REQUIRE(initiate(&d));
	REQUIRE(initiate(&other));
	/* Another device's token, garbage: invalid. */
	struct device mixed = d;
	snprintf(mixed.token, sizeof(mixed.token), "%s", other.token);
	CHECK_STR_EQ(poll_device(&mixed, NULL, NULL), "invalid");
	struct device junk = { "not-a-uuid", "rnd_junk" };
	CHECK_STR_EQ(poll_device(&junk, NULL, NULL), "invalid");
	struct it_resp r = approve(owner.token, &mixed, owner.aid);
	CHECK_ERROR(r, 404, "device.not_found");
	it_resp_free(&r);
	/* An account the approver is not in. */
	r = approve(owner.token, &d, stranger.aid);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	CHECK_STR_EQ(poll_device(&d, NULL, NULL), "authorization_pending");
	/* Only a session approves. */
	struct it_key key;
	REQUIRE(it_create_pat(srv, owner.token, owner.aid, NULL, &key));
	r = approve(key.token, &d, owner.aid);
	CHECK_ERROR(r, 403, "auth.session_required");
	it_resp_free(&r);
	r = approve(NULL, &d, owner.aid);
	CHECK_401(r, "missing");
	it_resp_free(&r);
	/* Expired. */
	const char *p[] = { d.id };
	CHECK(it_db_exec(pg,
			 "UPDATE device_logins SET expires_at = now() - interval '1 s'"
			 " WHERE id = $1::uuid",
			 1, p));
	CHECK_STR_EQ(poll_device(&d, NULL, NULL), "expired");
	r = approve(owner.token, &d, owner.aid);
	CHECK_ERROR(r, 409, "device.expired");
	it_resp_free(&r);
}

TEST(approver_role)
{
	/* A viewer of the owner's account approves: the key is a viewer's. */
	struct it_user viewer;
	REQUIRE(it_signup(srv, &viewer));
	struct it_resp r =
		it_call(srv, "POST", owner.token,
			it_fmt("{\"email\":\"%s\",\"accountRole\":\"viewer\"}", viewer.email),
			"/%s/invitations", owner.aid);
	char invite[64];
	snprintf(invite, sizeof(invite), "%s", it_json_str(r.json, "token") ?: "");
	it_resp_free(&r);
	r = it_call(srv, "POST", viewer.token, it_fmt("{\"token\":\"%s\"}", invite),
		    "/invitations/accept");
	REQUIRE(r.status == 200);
	it_resp_free(&r);
	struct device d;
	REQUIRE(initiate(&d));
	r = approve(viewer.token, &d, owner.aid);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	char token[64], aid[8];
	REQUIRE(strcmp(poll_device(&d, token, aid), "ok") == 0);
	r = it_call(srv, "GET", token, NULL, "/%s/clusters", owner.aid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "POST", token, "{\"name\":\"nope\"}", "/%s/clusters", owner.aid);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
}

int main(void)
{
	if (!it_init("it_device")) {
		test_failed++;
		return it_finish("it_device");
	}
	srv = it_server_start("device", NULL);
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	if (!srv || !pg || !it_signup(srv, &owner) || !it_signup(srv, &stranger)) {
		test_failed++;
		fprintf(stderr, "FAIL it_device: no server, database or users\n");
		return it_finish("it_device");
	}
	RUN(login_once);
	RUN(refusals);
	RUN(approver_role);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	PQfinish(pg);
	return it_finish("it_device");
}
