/* Members and invitations (API.md §3): each owner rule, invitation use, and
 * that role changes apply to the member's tokens at once.
 *  - an invitation works once, only for the invited email, not after it
 *    expires; a viewer cannot invite; an admin cannot invite an owner;
 *  - admins change and remove members but not owners, nor grant owner;
 *  - the last owner cannot leave, be removed or be demoted (409), also
 *    when two owners demote each other at the same time;
 *  - leaving moves the default account; a removed member's API key stops. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct it_server *srv;
static struct it_user owner;
static PGconn *pg;

static struct it_resp invite(const char *token, const char *email, const char *role)
{
	return it_call(srv, "POST", token,
		       it_fmt("{\"email\":\"%s\",\"accountRole\":\"%s\"}", email, role),
		       "/%s/invitations", owner.aid);
}

static struct it_resp accept(const struct it_user *u, const char *token)
{
	return it_call(srv, "POST", u->token, it_fmt("{\"token\":\"%s\"}", token),
		       "/invitations/accept");
}

/* A new user who joined the owner's account with role. */
static bool join(const char *role, struct it_user *u)
{
	if (!it_signup(srv, u))
		return false;
	struct it_resp r = invite(owner.token, u->email, role);
	char token[64];
	snprintf(token, sizeof(token), "%s", it_json_str(r.json, "token") ?: "");
	it_resp_free(&r);
	r = accept(u, token);
	bool ok = r.status == 200;
	it_resp_free(&r);
	return ok;
}

static const char *role_of(const char *uid)
{
	static char role[16];
	const char *p[] = { owner.aid, uid };
	PGresult *res = PQexecParams(pg, "SELECT role FROM memberships WHERE aid = $1 AND uid = $2",
				     2, NULL, p, NULL, NULL, 0);
	snprintf(role, sizeof(role), "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "(none)");
	PQclear(res);
	return role;
}

TEST(invitation_works_once_for_its_email)
{
	struct it_user alice, mallory;
	REQUIRE(it_signup(srv, &alice));
	REQUIRE(it_signup(srv, &mallory));
	struct it_resp r = invite(owner.token, alice.email, "member");
	CHECK_STATUS(r, 201);
	char token[64];
	snprintf(token, sizeof(token), "%s", it_json_str(r.json, "token") ?: "");
	CHECK(strncmp(token, "rni_", 4) == 0);
	it_secret_add(token);
	time_t expires;
	CHECK(it_parse_time(it_json_str(r.json, "expiresAt"), &expires));
	CHECK(expires > time(NULL) + 6 * 86400);
	it_resp_free(&r);

	/* Another user cannot use it. */
	r = accept(&mallory, token);
	CHECK_ERROR(r, 404, "invitation.not_found");
	it_resp_free(&r);
	r = accept(&alice, token);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "aid"), owner.aid);
	CHECK_STR_EQ(it_json_str(r.json, "accountRole"), "member");
	it_resp_free(&r);
	CHECK_STR_EQ(role_of(alice.uid), "member");
	/* At once: her session works in the account. */
	r = it_call(srv, "GET", alice.token, NULL, "/%s/clusters", owner.aid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	/* Once. */
	r = accept(&alice, token);
	CHECK_ERROR(r, 404, "invitation.not_found");
	it_resp_free(&r);
	/* Stored hashed only. */
	const char *p[] = { token };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM invitations WHERE token_hash ="
				 " sha256(convert_to($1, 'UTF8')) AND accepted_at IS NOT NULL",
				 1, p),
		     1);

	/* Expired: refused. */
	struct it_user late;
	REQUIRE(it_signup(srv, &late));
	r = invite(owner.token, late.email, "viewer");
	snprintf(token, sizeof(token), "%s", it_json_str(r.json, "token") ?: "");
	it_resp_free(&r);
	const char *q[] = { token };
	CHECK(it_db_exec(pg,
			 "UPDATE invitations SET expires_at = now() - interval '1 s'"
			 " WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
			 1, q));
	r = accept(&late, token);
	CHECK_ERROR(r, 404, "invitation.not_found");
	it_resp_free(&r);
	/* Garbage and an API key: refused. */
	r = accept(&late, "rni_nope");
	CHECK_ERROR(r, 404, "invitation.not_found");
	it_resp_free(&r);
	struct it_key key;
	REQUIRE(it_create_pat(srv, late.token, late.aid, NULL, &key));
	r = it_call(srv, "POST", key.token, "{\"token\":\"x\"}", "/invitations/accept");
	CHECK_ERROR(r, 403, "auth.session_required");
	it_resp_free(&r);
	/* Bad input. */
	r = invite(owner.token, "not-an-email", "viewer");
	CHECK_ERROR(r, 400, "validation.invalid");
	it_resp_free(&r);
	r = invite(owner.token, "x@example.com", "god");
	CHECK_ERROR(r, 400, "validation.invalid");
	it_resp_free(&r);
}

TEST(who_may_invite_and_change)
{
	struct it_user viewer, admin, member;
	REQUIRE(join("viewer", &viewer));
	REQUIRE(join("admin", &admin));
	REQUIRE(join("member", &member));
	struct it_resp r = invite(viewer.token, "someone@example.com", "viewer");
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	r = invite(admin.token, "someone@example.com", "owner");
	CHECK_ERROR(r, 403, "member.owner_only");
	it_resp_free(&r);
	r = invite(admin.token, "someone@example.com", "admin");
	CHECK_STATUS(r, 201);
	it_resp_free(&r);

	/* An admin changes members, not owners, and grants no owner. */
	r = it_call(srv, "PATCH", admin.token, "{\"accountRole\":\"admin\"}", "/%s/members/%s",
		    owner.aid, member.uid);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "accountRole"), "admin");
	CHECK_STR_EQ(it_json_str(r.json, "email"), member.email);
	it_resp_free(&r);
	r = it_call(srv, "PATCH", admin.token, "{\"accountRole\":\"owner\"}", "/%s/members/%s",
		    owner.aid, member.uid);
	CHECK_ERROR(r, 403, "member.owner_only");
	it_resp_free(&r);
	r = it_call(srv, "PATCH", admin.token, "{\"accountRole\":\"viewer\"}", "/%s/members/%s",
		    owner.aid, owner.uid);
	CHECK_ERROR(r, 403, "member.owner_only");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", admin.token, NULL, "/%s/members/%s", owner.aid, owner.uid);
	CHECK_ERROR(r, 403, "member.owner_only");
	it_resp_free(&r);
	CHECK_STR_EQ(role_of(owner.uid), "owner");
	/* A viewer changes nobody. */
	r = it_call(srv, "PATCH", viewer.token, "{\"accountRole\":\"admin\"}", "/%s/members/%s",
		    owner.aid, viewer.uid);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	/* Unknown and malformed members. */
	r = it_call(srv, "PATCH", owner.token, "{\"accountRole\":\"viewer\"}",
		    "/%s/members/00000000-0000-4000-8000-000000000000", owner.aid);
	CHECK_ERROR(r, 404, "member.not_found");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/members/nope", owner.aid);
	CHECK_ERROR(r, 404, "member.not_found");
	it_resp_free(&r);

	/* A demotion applies to the member's API key at once. */
	struct it_key key;
	REQUIRE(it_create_pat(srv, member.token, owner.aid, NULL, &key));
	r = it_call(srv, "POST", key.token, "{\"name\":\"by key\"}", "/%s/clusters", owner.aid);
	CHECK_STATUS(r, 201);
	it_resp_free(&r);
	r = it_call(srv, "PATCH", owner.token, "{\"accountRole\":\"viewer\"}", "/%s/members/%s",
		    owner.aid, member.uid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "POST", key.token, "{\"name\":\"by key 2\"}", "/%s/clusters", owner.aid);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	/* Removed: the key and the session see no account any more. */
	r = it_call(srv, "DELETE", admin.token, NULL, "/%s/members/%s", owner.aid, member.uid);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	r = it_call(srv, "GET", key.token, NULL, "/%s/clusters", owner.aid);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", member.token, NULL, "/%s/clusters", owner.aid);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	/* The list. */
	r = it_call(srv, "GET", viewer.token, NULL, "/%s/members?limit=200", owner.aid);
	CHECK_STATUS(r, 200);
	CHECK(r.body && strstr(r.body, member.uid) == NULL && strstr(r.body, admin.uid) != NULL);
	CHECK_STR_EQ(it_json_str(r.json, "members.0.uid"), owner.uid);
	CHECK_STR_EQ(it_json_str(r.json, "members.0.accountRole"), "owner");
	it_resp_free(&r);
}

TEST(last_owner)
{
	struct it_user solo;
	REQUIRE(it_signup(srv, &solo));
	/* Leave, demote self, remove self: all refused for the only owner. */
	struct it_resp r =
		it_call(srv, "DELETE", solo.token, NULL, "/%s/account/membership", solo.aid);
	CHECK_ERROR(r, 409, "member.last_owner");
	it_resp_free(&r);
	r = it_call(srv, "PATCH", solo.token, "{\"accountRole\":\"admin\"}", "/%s/members/%s",
		    solo.aid, solo.uid);
	CHECK_ERROR(r, 409, "member.last_owner");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", solo.token, NULL, "/%s/members/%s", solo.aid, solo.uid);
	CHECK_ERROR(r, 409, "member.last_owner");
	it_resp_free(&r);
	/* Promoting to owner, by an owner, is fine; owner to owner too. */
	r = it_call(srv, "PATCH", solo.token, "{\"accountRole\":\"owner\"}", "/%s/members/%s",
		    solo.aid, solo.uid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
}

struct demotion {
	const struct it_user *by;
	const char *aid, *target_uid;
	long status;
};

static void *demote(void *arg)
{
	struct demotion *d = arg;
	struct it_resp r = it_call(srv, "PATCH", d->by->token, "{\"accountRole\":\"admin\"}",
				   "/%s/members/%s", d->aid, d->target_uid);
	d->status = r.status;
	it_resp_free(&r);
	return NULL;
}

TEST(two_owners_demoting_each_other)
{
	for (int round = 0; round < 5; round++) {
		struct it_user a, b;
		REQUIRE(it_signup(srv, &a));
		REQUIRE(it_signup(srv, &b));
		struct it_resp r =
			it_call(srv, "POST", a.token,
				it_fmt("{\"email\":\"%s\",\"accountRole\":\"owner\"}", b.email),
				"/%s/invitations", a.aid);
		char token[64];
		snprintf(token, sizeof(token), "%s", it_json_str(r.json, "token") ?: "");
		it_resp_free(&r);
		r = accept(&b, token);
		REQUIRE(r.status == 200);
		it_resp_free(&r);
		struct demotion da = { &a, a.aid, b.uid, 0 }, db = { &b, a.aid, a.uid, 0 };
		pthread_t ta, tb;
		pthread_create(&ta, NULL, demote, &da);
		pthread_create(&tb, NULL, demote, &db);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		/* One wins; the account keeps exactly one owner. */
		CHECK_MSG((da.status == 200) + (db.status == 200) <= 1,
			  "both demotions succeeded (%ld, %ld)", da.status, db.status);
		const char *p[] = { a.aid };
		CHECK_INT_EQ(it_db_count(pg,
					 "SELECT count(*) FROM memberships WHERE aid = $1"
					 " AND role = 'owner'",
					 1, p),
			     da.status == 200 || db.status == 200 ? 1 : 2);
		CHECK(it_db_count(
			      pg,
			      "SELECT count(*) FROM memberships WHERE aid = $1 AND role = 'owner'",
			      1, p) >= 1);
	}
}

TEST(leaving_moves_the_default_account)
{
	struct it_user u;
	REQUIRE(join("member", &u));
	/* u's default is their own account; leaving the owner's account keeps it. */
	struct it_resp r =
		it_call(srv, "DELETE", u.token, NULL, "/%s/account/membership", owner.aid);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "left"), owner.aid);
	CHECK_STR_EQ(it_json_str(r.json, "defaultAccount"), u.aid);
	CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "remainingAccounts")), 1);
	it_resp_free(&r);
	CHECK_STR_EQ(role_of(u.uid), "(none)");

	/* Leaving one's default account (after making someone else owner):
	 * the other account becomes the default. */
	struct it_user v;
	REQUIRE(join("viewer", &v));
	r = it_call(srv, "POST", v.token,
		    it_fmt("{\"email\":\"%s\",\"accountRole\":\"owner\"}", owner.email),
		    "/%s/invitations", v.aid);
	char token[64];
	snprintf(token, sizeof(token), "%s", it_json_str(r.json, "token") ?: "");
	it_resp_free(&r);
	r = accept(&owner, token);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "DELETE", v.token, NULL, "/%s/account/membership", v.aid);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "defaultAccount"), owner.aid);
	it_resp_free(&r);
	const char *p[] = { v.uid };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM memberships WHERE uid = $1 AND is_default",
				 1, p),
		     1);
	/* The audit trail has the joins, role changes and removals. */
	const char *q[] = { owner.aid };
	CHECK(it_db_count(
		      pg,
		      "SELECT count(DISTINCT action) FROM audit_events WHERE aid = $1 AND action"
		      " IN ('invitation.create', 'member.join', 'member.role', 'member.remove')",
		      1, q) == 4);
}

TEST(audit_events)
{
	/* A few writes of different kinds, each with a trace id of ours. */
	const char *ids[] = { "trace-audit-0001", "trace-audit-0002", "trace-audit-0003" };
	const char *h0[] = { "X-Request-Id: trace-audit-0001", NULL };
	const char *h1[] = { "X-Request-Id: trace-audit-0002", NULL };
	const char *h2[] = { "X-Request-Id: trace-audit-0003", NULL };
	struct it_req req = { .method = "PATCH",
			      .path = it_fmt("/%s/account/profile", owner.aid),
			      .token = owner.token,
			      .body = "{\"companyName\":\"Audited Ltd\"}",
			      .headers = h0 };
	struct it_resp r;
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	char key_path[64];
	snprintf(key_path, sizeof(key_path), "/%s/api-keys", owner.aid);
	req = (struct it_req){ .method = "POST",
			       .path = key_path,
			       .token = owner.token,
			       .body = "{\"name\":\"audited key\"}",
			       .headers = h1 };
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 201);
	char key_id[64], key_token[64];
	snprintf(key_id, sizeof(key_id), "%s", it_json_str(r.json, "id") ?: "");
	snprintf(key_token, sizeof(key_token), "%s", it_json_str(r.json, "token") ?: "");
	it_resp_free(&r);
	char revoke_path[128];
	snprintf(revoke_path, sizeof(revoke_path), "/%s/api-keys/%s", owner.aid, key_id);
	req = (struct it_req){
		.method = "DELETE", .path = revoke_path, .token = owner.token, .headers = h2
	};
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);

	/* Newest first, with who, what, target, trace id and address. */
	r = it_call(srv, "GET", owner.token, NULL, "/%s/audit-events?limit=3", owner.aid);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "entries.0.action"), "api_key.revoke");
	CHECK_STR_EQ(it_json_str(r.json, "entries.0.target.type"), "api_key");
	CHECK_STR_EQ(it_json_str(r.json, "entries.0.target.id"), key_id);
	CHECK_STR_EQ(it_json_str(r.json, "entries.0.traceId"), ids[2]);
	CHECK_STR_EQ(it_json_str(r.json, "entries.0.actor.type"), "user");
	CHECK_STR_EQ(it_json_str(r.json, "entries.0.actor.id"), owner.uid);
	CHECK_STR_EQ(it_json_str(r.json, "entries.0.ip"), "127.0.0.1");
	CHECK_STR_EQ(it_json_str(r.json, "entries.1.action"), "api_key.create");
	CHECK_STR_EQ(it_json_str(r.json, "entries.1.traceId"), ids[1]);
	CHECK_STR_EQ(it_json_str(r.json, "entries.2.action"), "account.update");
	CHECK_STR_EQ(it_json_str(r.json, "entries.2.traceId"), ids[0]);
	/* Never a secret. */
	CHECK(r.body && strstr(r.body, key_token + 4) == NULL);
	const char *next = it_json_str(r.json, "nextCursor");
	CHECK(next != NULL);
	if (next) {
		struct it_resp r2 = it_call(srv, "GET", owner.token, NULL,
					    "/%s/audit-events?limit=3&cursor=%s", owner.aid, next);
		CHECK_STATUS(r2, 200);
		CHECK(json_array_size(json_object_get(r2.json, "entries")) > 0);
		CHECK(strcmp(it_json_str(r2.json, "entries.0.id") ?: "",
			     it_json_str(r.json, "entries.2.id") ?: "") != 0);
		it_resp_free(&r2);
	}
	it_resp_free(&r);
	/* The account's creation at signup is there, and refused reads. */
	const char *p[] = { owner.aid };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM audit_events WHERE aid = $1"
				 " AND action = 'account.create' AND trace_id <> ''",
				 1, p),
		     1);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/audit-events?cursor=junk", owner.aid);
	CHECK_ERROR(r, 400, "validation.invalid");
	it_resp_free(&r);
	struct it_user viewer;
	REQUIRE(join("viewer", &viewer));
	r = it_call(srv, "GET", viewer.token, NULL, "/%s/audit-events", owner.aid);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
}

TEST(etags_and_if_match)
{
	struct it_user m;
	REQUIRE(join("member", &m));
	struct it_resp r = it_call(srv, "PATCH", owner.token, "{\"accountRole\":\"viewer\"}",
				   "/%s/members/%s", owner.aid, m.uid);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v2\"");
	it_resp_free(&r);
	const char *stale[] = { "If-Match: \"v1\"", NULL };
	struct it_req req = { .method = "PATCH",
			      .path = it_fmt("/%s/members/%s", owner.aid, m.uid),
			      .token = owner.token,
			      .body = "{\"accountRole\":\"admin\"}",
			      .headers = stale };
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	CHECK_STR_EQ(role_of(m.uid), "viewer");
	char path[128];
	snprintf(path, sizeof(path), "/%s/members/%s", owner.aid, m.uid);
	req = (struct it_req){
		.method = "DELETE", .path = path, .token = owner.token, .headers = stale
	};
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	const char *current[] = { "If-Match: \"v2\"", NULL };
	req.headers = current;
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);

	/* The user: ETag on GET and PATCH, If-Match honoured. */
	r = it_call(srv, "GET", m.token, NULL, "/user");
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v1\"");
	it_resp_free(&r);
	const char *wrong[] = { "If-Match: \"v7\"", NULL };
	req = (struct it_req){ .method = "PATCH",
			       .path = "/user",
			       .token = m.token,
			       .body = "{\"name\":\"changed\"}",
			       .headers = wrong };
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	const char *right[] = { "If-Match: \"v1\"", NULL };
	req.headers = right;
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v2\"");
	CHECK_STR_EQ(it_json_str(r.json, "name"), "changed");
	it_resp_free(&r);
}

int main(void)
{
	if (!it_init("it_members")) {
		test_failed++;
		return it_finish("it_members");
	}
	srv = it_server_start("members", NULL);
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	if (!srv || !pg || !it_signup(srv, &owner)) {
		test_failed++;
		fprintf(stderr, "FAIL it_members: no server, database or user\n");
		return it_finish("it_members");
	}
	RUN(audit_events);
	RUN(invitation_works_once_for_its_email);
	RUN(who_may_invite_and_change);
	RUN(last_owner);
	RUN(two_owners_demoting_each_other);
	RUN(leaving_moves_the_default_account);
	RUN(etags_and_if_match);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	PQfinish(pg);
	return it_finish("it_members");
}
