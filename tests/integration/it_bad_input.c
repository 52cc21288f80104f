/* Every kind of bad input a client can send, each answered with the JSON error
 * contract, and the server still serving afterwards: routing (404, 405),
 * sizes (413, with and without Content-Length), JSON and schema validation,
 * media types, bearer tokens, If-Match, list parameters; then the headers
 * every response carries, trace ids, CORS, HEAD, pagination, and 100
 * concurrent keep-alive clients. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

#define MIB (1024 * 1024)

static struct it_server *srv;
static struct it_user alice;
static struct it_key alice_pat;

/* Sends a body to PATCH /user (a session route with an optional name). */
static struct it_resp patch_user(const char *body, size_t len, const char *content_type)
{
	struct it_req req = { .method = "PATCH",
			      .path = "/user",
			      .token = alice.token,
			      .body = body,
			      .body_len = len,
			      .content_type = content_type };
	struct it_resp r;
	it_request(srv, &req, &r);
	return r;
}

TEST(routing)
{
	static const char *const unknown[] = { "/nope",
					       "/",
					       "/healthz/",
					       "//healthz",
					       "/a/b/c/d/e/f/g/h/i/j/k/l",
					       "/user/accounts/x/y",
					       "/%FF%FE",	       /* not UTF-8 once decoded */
					       "/caf%C3",	       /* a character cut short */
					       "/\xC3\xA9t\xC3\xA9" }; /* UTF-8 sent raw */
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		struct it_resp r = it_call(srv, "GET", NULL, NULL, "%s", unknown[i]);
		CHECK_ERROR(r, 404, "route.not_found");
		it_resp_free(&r);
	}
	char *long_path = malloc(3001);
	long_path[0] = '/';
	memset(long_path + 1, 'x', 2999);
	long_path[3000] = '\0';
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "%s", long_path);
	CHECK_ERROR(r, 404, "route.not_found");
	it_resp_free(&r);
	/* The message quotes the path, cut to its size: never inside a character. */
	for (int shift = 0; shift < 2; shift++) { /* the cut falls on each byte of é */
		long_path[1] = 'x';
		for (int i = 0; i < 999; i++)
			memcpy(long_path + 1 + shift + 2 * i, "\xC3\xA9", 2);
		long_path[1 + shift + 2 * 999] = '\0';
		r = it_call(srv, "GET", NULL, NULL, "%s", long_path);
		CHECK_ERROR(r, 404, "route.not_found");
		it_resp_free(&r);
	}
	free(long_path);

	struct {
		const char *method, *path, *allow;
	} wrong[] = {
		{ "DELETE", "/healthz", "GET, HEAD" },
		{ "PUT", "/user", "GET, HEAD, PATCH" },
		{ "POST", it_fmt("/%s/account/profile", alice.aid), "GET, HEAD, PATCH" },
		{ "GET", "/auth/login", "POST" },
	};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		r = it_call(srv, wrong[i].method, alice.token, NULL, "%s", wrong[i].path);
		CHECK_ERROR(r, 405, "route.method_not_allowed");
		CHECK_STR_EQ(it_header(&r, "Allow"), wrong[i].allow);
		CHECK_STR_EQ(it_json_str(r.json, "allow"), wrong[i].allow);
		it_resp_free(&r);
	}
}

TEST(body_size)
{
	/* Exactly 1 MiB is accepted: {"name":"x"} padded with spaces. */
	char *body = malloc(MIB + 2);
	memset(body, ' ', MIB + 1);
	memcpy(body, "{\"name\":\"x\"", 11);
	body[MIB - 1] = '}';
	struct it_resp r = patch_user(body, MIB, NULL);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);

	/* One byte more, announced by Content-Length: refused before it is read. */
	body[MIB - 1] = ' ';
	body[MIB] = '}';
	struct it_req req = { .method = "PATCH",
			      .path = "/user",
			      .token = alice.token,
			      .body = body,
			      .body_len = MIB + 1,
			      .expect_continue = true };
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 413, "request.too_large");
	it_resp_free(&r);

	/* The same on an unauthenticated route, and sent at once (no Expect). */
	req = (struct it_req){ .method = "POST",
			       .path = "/auth/signup",
			       .body = body,
			       .body_len = MIB + 1,
			       .expect_continue = true };
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 413, "request.too_large");
	it_resp_free(&r);
	req.expect_continue = false;
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 413, "request.too_large");
	it_resp_free(&r);

	/* Chunked (no Content-Length): small is fine, over 1 MiB is 413. */
	req = (struct it_req){ .method = "PATCH",
			       .path = "/user",
			       .token = alice.token,
			       .body = "{\"name\":\"chunked\"}",
			       .chunked = true };
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "chunked");
	it_resp_free(&r);
	free(body);
	size_t big = MIB + MIB / 2;
	body = malloc(big);
	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	req = (struct it_req){ .method = "PATCH",
			       .path = "/user",
			       .token = alice.token,
			       .body = body,
			       .body_len = big,
			       .chunked = true };
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 413, "request.too_large");
	it_resp_free(&r);
	free(body);
}

struct bad_body {
	const char *body;
	size_t len; /* 0: strlen */
	const char *code;
	const char *field; /* NULL: not checked */
};

TEST(json_and_schema)
{
	static char name101[128], name100_multibyte[256];
	memset(name101, 'n', 101);
	for (int i = 0; i < 100; i++)
		memcpy(name100_multibyte + 2 * i, "\xc3\xa9", 2); /* é */
	const struct bad_body bad[] = {
		{ "{\"name\":", 0, "validation.malformed_json", NULL },
		{ "{name: 1}", 0, "validation.malformed_json", NULL },
		{ "{\"name\":\"a\",\"name\":\"b\"}", 0, "validation.duplicate_key", NULL },
		{ "[]", 0, "validation.not_object", NULL },
		{ "[{\"name\":\"x\"}]", 0, "validation.not_object", NULL },
		{ "\"a string\"", 0, "validation.not_object", NULL },
		{ "42", 0, "validation.not_object", NULL },
		{ "{\"nmae\":\"typo\"}", 0, "validation.unknown_field", "nmae" },
		{ "{\"name\":\"ok\",\"isAdmin\":true}", 0, "validation.unknown_field", "isAdmin" },
		{ "{\"name\":5}", 0, "validation.type", "name" },
		{ "{\"name\":true}", 0, "validation.type", "name" },
		{ "{\"name\":[\"x\"]}", 0, "validation.type", "name" },
		{ "{\"name\":{}}", 0, "validation.type", "name" },
		{ it_fmt("{\"name\":\"%s\"}", name101), 0, "validation.length", "name" },
		{ "{\"name\":\"bell\\u0007\"}", 0, "validation.invalid", "name" },
		{ "{\"name\":\"\xff\xfe\"}", 0, "validation.malformed_json", NULL },
		{ "{\"name\":\"\xc3\"}", 0, "validation.malformed_json", NULL },
		{ "{\"name\":\"a\\u0000b\"}", 0, "validation.malformed_json", NULL },
		{ "{\"name\":\"a\0b\"}", 14, "validation.malformed_json", NULL },
		{ "{\"name\":\"x\"} trailing", 0, "validation.malformed_json", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct it_resp r = patch_user(bad[i].body, bad[i].len, NULL);
		CHECK_ERROR(r, 400, bad[i].code);
		if (bad[i].field)
			CHECK_STR_EQ(it_json_str(r.json, "field"), bad[i].field);
		if (r.status != 400 || !test_str_eq(it_json_str(r.json, "code"), bad[i].code))
			fprintf(stderr, "  (body #%zu: %.60s)\n", i, bad[i].body);
		it_resp_free(&r);
	}

	/* Deep nesting is refused, not a crash. */
	size_t depth = 100000;
	char *deep = malloc(depth + 1);
	memset(deep, '[', depth);
	deep[depth] = '\0';
	struct it_resp r = patch_user(deep, depth, NULL);
	CHECK_STATUS(r, 400);
	it_resp_free(&r);
	memset(deep, '{', depth);
	r = patch_user(deep, depth, NULL);
	CHECK_STATUS(r, 400);
	it_resp_free(&r);
	free(deep);

	/* Required fields: absent and null. */
	const char *missing[] = { "{}", "{\"name\":null}", "{\"companyName\":\"x\"}" };
	for (size_t i = 0; i < 3; i++) {
		r = it_call(srv, "POST", alice.token, missing[i], "/user/accounts");
		CHECK_ERROR(r, 400, "validation.required");
		CHECK_STR_EQ(it_json_str(r.json, "field"), "name");
		it_resp_free(&r);
	}
	r = it_call(srv, "POST", NULL, "{\"email\":\"x@example.test\"}", "/auth/login");
	CHECK_ERROR(r, 400, "validation.required");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "password");
	it_resp_free(&r);

	/* 100 characters of two bytes each is within the limit of 100. */
	r = patch_user(it_fmt("{\"name\":\"%s\"}", name100_multibyte), 0, NULL);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "name"), name100_multibyte);
	it_resp_free(&r);
}

/* A write without a body is an empty object: its required members are
 * missing (400), never a handler run on nothing. */
TEST(missing_body)
{
	static const struct {
		const char *method, *path, *field;
	} writes[] = {
		{ "POST", "/%s/clusters", "name" },
		{ "POST", "/%s/api-keys", "name" },
		{ "POST", "/%s/invitations", "email" },
	};
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		struct it_resp r = it_call(srv, writes[i].method, alice.token, NULL, writes[i].path,
					   alice.aid);
		CHECK_ERROR(r, 400, "validation.required");
		CHECK_STR_EQ(it_json_str(r.json, "field"), writes[i].field);
		it_resp_free(&r);
	}
	struct it_resp r = it_call(srv, "POST", NULL, NULL, "/auth/login");
	CHECK_ERROR(r, 400, "validation.required");
	it_resp_free(&r);
}

TEST(profile_values)
{
	const struct bad_body bad[] = {
		{ "{\"website\":\"javascript:alert(1)\"}", 0, "validation.invalid", "website" },
		{ "{\"website\":\"ftp://files.example\"}", 0, "validation.invalid", "website" },
		{ "{\"name\":\"   \"}", 0, "validation.invalid", "name" },
		{ "{\"name\":\"\"}", 0, "validation.length", "name" },
	};
	const char *path = it_fmt("/%s/account/profile", alice.aid);
	char mine[64];
	snprintf(mine, sizeof(mine), "%s", path);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct it_resp r = it_call(srv, "PATCH", alice.token, bad[i].body, "%s", mine);
		CHECK_ERROR(r, 400, bad[i].code);
		CHECK_STR_EQ(it_json_str(r.json, "field"), bad[i].field);
		it_resp_free(&r);
	}
	struct it_resp r = it_call(srv, "PATCH", alice.token, "{\"website\":\"\"}", "%s", mine);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "website"), "");
	it_resp_free(&r);
}

TEST(media_type)
{
	static const char *const refused[] = { "text/plain", "application/x-www-form-urlencoded",
					       "application/jsonx", "" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct it_resp r = patch_user("{\"name\":\"typed\"}", 0, refused[i]);
		CHECK_ERROR(r, 415, "request.unsupported_media_type");
		it_resp_free(&r);
	}
	static const char *const accepted[] = { "application/json; charset=utf-8",
						"Application/JSON" };
	for (size_t i = 0; i < 2; i++) {
		struct it_resp r = patch_user("{\"name\":\"typed\"}", 0, accepted[i]);
		CHECK_STATUS(r, 200);
		it_resp_free(&r);
	}
}

static struct it_resp with_authorization(const char *value)
{
	const char *headers[] = { it_fmt("Authorization: %s", value), NULL };
	struct it_req req = { .path = "/user", .headers = value ? headers : NULL };
	struct it_resp r;
	it_request(srv, &req, &r);
	return r;
}

TEST(tokens)
{
	struct it_resp r = with_authorization(NULL);
	CHECK_401(r, "missing");
	CHECK_STR_EQ(it_header(&r, "WWW-Authenticate"), "Bearer");
	it_resp_free(&r);

	char bad_sum[64];
	snprintf(bad_sum, sizeof(bad_sum), "%s", alice.token);
	bad_sum[52] = bad_sum[52] == 'A' ? 'B' : 'A';
	char typo[64];
	snprintf(typo, sizeof(typo), "%s", alice.token);
	typo[10] = typo[10] == 'a' ? 'b' : 'a';
	char join[54], other_kind[64];
	it_make_token("rnj_", join);
	/* The checksum covers the prefix: a session token relabelled as a PAT. */
	snprintf(other_kind, sizeof(other_kind), "rnp_%s", alice.token + 4);
	const char *malformed[] = {
		"Basic YWxpY2U6c2VjcmV0",
		"Bearer",
		"Bearer ",
		"Token abc",
		it_fmt("Bearer %s", bad_sum),
		it_fmt("Bearer %s", typo),
		it_fmt("Bearer %s", join),
		it_fmt("Bearer %s", other_kind),
		it_fmt("Bearer %sX", alice.token),
		it_fmt("Bearer %.52s", alice.token),
		"Bearer rns_short",
	};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		r = with_authorization(malformed[i]);
		CHECK_401(r, "malformed");
		if (!test_str_eq(it_json_str(r.json, "reason"), "malformed"))
			fprintf(stderr, "  (Authorization: %s)\n", malformed[i]);
		it_resp_free(&r);
	}

	char unknown_session[54], unknown_pat[54];
	it_make_token("rns_", unknown_session);
	it_make_token("rnp_", unknown_pat);
	r = with_authorization(it_fmt("Bearer %s", unknown_session));
	CHECK_401(r, "unknown");
	it_resp_free(&r);
	r = it_call(srv, "GET", unknown_pat, NULL, "/%s/account/profile", alice.aid);
	CHECK_401(r, "unknown");
	it_resp_free(&r);

	/* The scheme is case-insensitive (RFC 7235). */
	r = with_authorization(it_fmt("bearer %s", alice.token));
	CHECK_STATUS(r, 200);
	it_resp_free(&r);

	char session[64];
	REQUIRE(it_login(srv, &alice, session));
	r = it_call(srv, "POST", session, NULL, "/auth/logout");
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	r = with_authorization(it_fmt("Bearer %s", session));
	CHECK_401(r, "revoked");
	it_resp_free(&r);
}

static const char *profile_etag(char *out, size_t cap)
{
	struct it_resp r = it_call(srv, "GET", alice.token, NULL, "/%s/account/profile", alice.aid);
	snprintf(out, cap, "%s", it_header(&r, "ETag") ?: "");
	it_resp_free(&r);
	return out;
}

static struct it_resp patch_profile(const char *if_match, const char *body)
{
	const char *headers[] = { it_fmt("If-Match: %s", if_match), NULL };
	struct it_req req = { .method = "PATCH",
			      .path = it_fmt("/%s/account/profile", alice.aid),
			      .token = alice.token,
			      .body = body,
			      .headers = headers };
	struct it_resp r;
	it_request(srv, &req, &r);
	return r;
}

TEST(if_match)
{
	char e1[64], e2[64], e3[64];
	profile_etag(e1, sizeof(e1));
	CHECK(e1[0] == '"');

	struct it_resp r = patch_profile("abc", "{\"website\":\"https://a.example\"}");
	CHECK_ERROR(r, 400, "validation.if_match");
	it_resp_free(&r);
	r = patch_profile("\"v999\"", "{\"website\":\"https://b.example\"}");
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	CHECK_STR_EQ(profile_etag(e2, sizeof(e2)), e1); /* refused writes change nothing */

	r = patch_profile("*", "{\"website\":\"https://c.example\"}");
	CHECK_STATUS(r, 200);
	snprintf(e2, sizeof(e2), "%s", it_header(&r, "ETag") ?: "");
	CHECK(e2[0] && strcmp(e2, e1) != 0);
	it_resp_free(&r);

	r = patch_profile(e2, "{\"website\":\"https://d.example\"}");
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "website"), "https://d.example");
	snprintf(e3, sizeof(e3), "%s", it_header(&r, "ETag") ?: "");
	CHECK(e3[0] && strcmp(e3, e2) != 0);
	it_resp_free(&r);
	CHECK_STR_EQ(profile_etag(e1, sizeof(e1)), e3);

	r = patch_profile(e2, "{\"website\":\"https://stale.example\"}"); /* stale now */
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	r = patch_profile(it_fmt("W/%s", e3), "{\"website\":\"https://weak.example\"}");
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	r = it_call(srv, "GET", alice.token, NULL, "/%s/account/profile", alice.aid);
	CHECK_STR_EQ(it_json_str(r.json, "website"), "https://d.example");
	it_resp_free(&r);

	/* If-Match on an API key: a stale DELETE is refused and the key lives. */
	struct it_key key;
	REQUIRE(it_create_pat(srv, alice.token, alice.aid, "viewer", &key));
	const char *stale[] = { "If-Match: \"v7\"", NULL };
	struct it_req req = { .method = "DELETE",
			      .path = it_fmt("/%s/api-keys/%s", alice.aid, key.id),
			      .token = alice.token,
			      .headers = stale };
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	r = it_call(srv, "GET", key.token, NULL, "/%s/account/profile", alice.aid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	const char *fresh[] = { "If-Match: \"v1\"", NULL };
	req.headers = fresh;
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
}

TEST(list_parameters)
{
	static const char *const bad[] = { "limit=0",	       "limit=201",	    "limit=abc",
					   "limit=-1",	       "limit=1x",	    "limit=",
					   "cursor=garbage!!", "cursor=MTIzLmFiYw", "cursor=AAAA" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct it_resp r = it_call(srv, "GET", alice.token, NULL, "/%s/api-keys?%s",
					   alice.aid, bad[i]);
		/* limit is an integer of the route's query schema (out of range or
		 * not a number: validation.range, as for a body's integer); a cursor
		 * is checked by the list. */
		bool is_limit = strncmp(bad[i], "limit=", 6) == 0;
		CHECK_ERROR(r, 400, is_limit ? "validation.range" : "validation.invalid");
		CHECK_STR_EQ(it_json_str(r.json, "field"), is_limit ? "limit" : "cursor");
		if (r.status != 400)
			fprintf(stderr, "  (query %s)\n", bad[i]);
		it_resp_free(&r);
	}
	struct it_resp r = it_call(srv, "GET", alice.token, NULL, "/user/accounts?limit=0");
	CHECK_ERROR(r, 400, "validation.range");
	it_resp_free(&r);
	r = it_call(srv, "GET", alice.token, NULL, "/%s/api-keys?limit=200", alice.aid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "GET", alice.token, NULL, "/%s/api-keys?limit=1", alice.aid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
}

/* Query parameters are declared in the route table and checked like body
 * fields: an undeclared one is 400 validation.unknown_field (it used to be
 * ignored, so a typo such as ?stauts=active listed every cluster), a value
 * of the wrong type or out of bounds 400 too, on every route that takes
 * them and on those that take none. */
TEST(query_parameters)
{
	struct it_resp r = it_call(srv, "POST", alice.token, "{\"name\":\"queried\"}",
				   "/%s/clusters", alice.aid);
	REQUIRE(CHECK_STATUS(r, 201));
	char cid[16];
	snprintf(cid, sizeof(cid), "%s", it_json_str(r.json, "cid"));
	it_resp_free(&r);

	const char *aid = alice.aid;
	/* Copied: it_fmt's buffers are reused by the calls below. */
	char lists[9][128];
	snprintf(lists[0], sizeof(lists[0]), "/user/accounts");
	snprintf(lists[1], sizeof(lists[1]), "/%s/api-keys", aid);
	snprintf(lists[2], sizeof(lists[2]), "/%s/clusters", aid);
	snprintf(lists[3], sizeof(lists[3]), "/%s/cluster-domains", aid);
	snprintf(lists[4], sizeof(lists[4]), "/%s/%s/nodes", aid, cid);
	snprintf(lists[5], sizeof(lists[5]), "/%s/%s/join-tokens", aid, cid);
	snprintf(lists[6], sizeof(lists[6]), "/jobs?aid=%s", aid);
	snprintf(lists[7], sizeof(lists[7]), "/%s/members", aid);
	snprintf(lists[8], sizeof(lists[8]), "/%s/audit-events", aid);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		const char *sep = strchr(lists[i], '?') ? "&" : "?";
		/* Declared ones pass. */
		r = it_call(srv, "GET", alice.token, NULL, "%s%slimit=5", lists[i], sep);
		CHECK_MSG(r.status == 200, "%s?limit=5: %ld", lists[i], (long)r.status);
		it_resp_free(&r);
		/* A misspelt one is refused, naming it. */
		r = it_call(srv, "GET", alice.token, NULL, "%s%sstauts=active", lists[i], sep);
		CHECK_ERROR(r, 400, "validation.unknown_field");
		CHECK_STR_EQ(it_json_str(r.json, "field"), "stauts");
		if (r.status != 400)
			fprintf(stderr, "  (%s)\n", lists[i]);
		it_resp_free(&r);
		/* So is one without a value. */
		r = it_call(srv, "GET", alice.token, NULL, "%s%sverbose", lists[i], sep);
		CHECK_ERROR(r, 400, "validation.unknown_field");
		it_resp_free(&r);
		/* Wrong type and out of bounds, as for a body's integer. */
		r = it_call(srv, "GET", alice.token, NULL, "%s%slimit=ten", lists[i], sep);
		CHECK_ERROR(r, 400, "validation.range");
		CHECK_STR_EQ(it_json_str(r.json, "field"), "limit");
		it_resp_free(&r);
		r = it_call(srv, "GET", alice.token, NULL, "%s%slimit=999999999999999999999",
			    lists[i], sep);
		CHECK_ERROR(r, 400, "validation.range");
		it_resp_free(&r);
	}

	/* The case: a typo no longer lists every cluster. */
	r = it_call(srv, "GET", alice.token, NULL, "/%s/clusters?stauts=active", aid);
	CHECK_ERROR(r, 400, "validation.unknown_field");
	it_resp_free(&r);
	/* Enums and lengths. */
	r = it_call(srv, "GET", alice.token, NULL, "/%s/clusters?status=activ", aid);
	CHECK_ERROR(r, 400, "validation.invalid");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "status");
	it_resp_free(&r);
	r = it_call(srv, "GET", alice.token, NULL, "/jobs?aid=%s&status=done", aid);
	CHECK_ERROR(r, 400, "validation.invalid");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "status");
	it_resp_free(&r);
	r = it_call(srv, "GET", alice.token, NULL, "/%s/cluster-domains?cid=%s", aid,
		    "abcdefghijklmnopqrstuvwxyz");
	CHECK_ERROR(r, 400, "validation.length");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "cid");
	it_resp_free(&r);
	r = it_call(srv, "GET", alice.token, NULL, "/%s/clusters?status=active&status2=x", aid);
	CHECK_ERROR(r, 400, "validation.unknown_field");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "status2");
	it_resp_free(&r);

	/* Routes that take none refuse any, also on writes and public routes. */
	char none[4][128];
	snprintf(none[0], sizeof(none[0]), "/user");
	snprintf(none[1], sizeof(none[1]), "/%s/clusters/%s", aid, cid);
	snprintf(none[2], sizeof(none[2]), "/%s/account/profile", aid);
	snprintf(none[3], sizeof(none[3]), "/healthz");
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		r = it_call(srv, "GET", alice.token, NULL, "%s?limit=5", none[i]);
		CHECK_ERROR(r, 400, "validation.unknown_field");
		CHECK_STR_EQ(it_json_str(r.json, "field"), "limit");
		it_resp_free(&r);
	}
	r = it_call(srv, "PATCH", alice.token, "{\"name\":\"x\"}", "/user?name=y");
	CHECK_ERROR(r, 400, "validation.unknown_field");
	it_resp_free(&r);
	/* Authentication still comes first: no token is 401, not a 400. */
	r = it_call(srv, "GET", NULL, NULL, "/%s/clusters?stauts=active", aid);
	CHECK_STATUS(r, 401);
	it_resp_free(&r);
}

TEST(pagination)
{
	struct it_user pager;
	REQUIRE(it_signup(srv, &pager));
	struct it_key keys[5];
	for (int i = 0; i < 5; i++)
		REQUIRE(it_create_pat(srv, pager.token, pager.aid, NULL, &keys[i]));
	struct it_resp all =
		it_call(srv, "GET", pager.token, NULL, "/%s/api-keys?limit=200", pager.aid);
	size_t total = json_array_size(json_object_get(all.json, "apiKeys"));
	CHECK(total >= 5);
	CHECK(json_object_get(all.json, "nextCursor") == NULL && it_header(&all, "Link") == NULL);
	it_resp_free(&all);

	char cursor[256] = "";
	int seen[5] = { 0 }, pages = 0;
	size_t listed = 0;
	char ids[64][40];
	for (;;) {
		struct it_resp r =
			it_call(srv, "GET", pager.token, NULL, "/%s/api-keys?limit=2%s%s",
				pager.aid, cursor[0] ? "&cursor=" : "", cursor);
		if (!CHECK_STATUS(r, 200) || ++pages > 20) {
			it_resp_free(&r);
			break;
		}
		json_t *list = json_object_get(r.json, "apiKeys");
		CHECK(json_array_size(list) <= 2);
		size_t i;
		json_t *k;
		json_array_foreach (list, i, k) {
			const char *id = json_string_value(json_object_get(k, "id"));
			for (size_t j = 0; id && j < listed; j++)
				CHECK_MSG(strcmp(ids[j], id) != 0, "key %s listed twice", id);
			if (id && listed < 64)
				snprintf(ids[listed++], sizeof(ids[0]), "%s", id);
			for (int m = 0; id && m < 5; m++)
				seen[m] += strcmp(keys[m].id, id) == 0;
		}
		const char *next = it_json_str(r.json, "nextCursor");
		if (!next) {
			/* The last page: neither nextCursor nor Link. */
			CHECK(json_object_get(r.json, "nextCursor") == NULL &&
			      it_header(&r, "Link") == NULL);
			it_resp_free(&r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", next);
		it_resp_free(&r);
	}
	for (int m = 0; m < 5; m++)
		CHECK_MSG(seen[m] == 1, "key %d seen %d times", m, seen[m]);
	CHECK_INT_EQ(listed, total);
	CHECK_INT_EQ(pages, (int)(total + 1) / 2);
}

TEST(common_headers)
{
	struct it_resp r = it_call(srv, "GET", alice.token, NULL, "/%s/account/profile", alice.aid);
	CHECK_STATUS(r, 200);
	const char *id = it_header(&r, "X-Request-Id");
	CHECK(id && strlen(id) >= 8);
	CHECK(test_str_eq(it_header(&r, "Content-Type"), "application/json"));
	CHECK_STR_EQ(it_header(&r, "Cache-Control"), "no-store");
	CHECK_STR_EQ(it_header(&r, "X-Content-Type-Options"), "nosniff");
	it_resp_free(&r);

	/* Trace ids: a caller's plain one is kept, on success and on errors. */
	const char *mine[] = { "X-Request-Id: my-trace-12345", NULL };
	struct it_req req = { .path = "/nope", .headers = mine };
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 404, "route.not_found");
	CHECK_STR_EQ(it_json_str(r.json, "traceId"), "my-trace-12345");
	CHECK_STR_EQ(it_header(&r, "X-Request-Id"), "my-trace-12345");
	it_resp_free(&r);
	req.path = "/healthz";
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_header(&r, "X-Request-Id"), "my-trace-12345");
	it_resp_free(&r);
	/* ...an odd one (too short, or with other characters) is replaced. */
	const char *odd[] = { "X-Request-Id: abc", "X-Request-Id: has space in it",
			      "X-Request-Id: <script>alert(1)</script>" };
	for (int i = 0; i < 3; i++) {
		const char *h[] = { odd[i], NULL };
		req = (struct it_req){ .path = "/nope", .headers = h };
		it_request(srv, &req, &r);
		CHECK_ERROR(r, 404, "route.not_found");
		const char *got = it_header(&r, "X-Request-Id");
		CHECK(got && strstr(odd[i], got) == NULL);
		it_resp_free(&r);
	}

	/* HEAD: the status and headers of GET, no body. */
	req = (struct it_req){ .method = "HEAD", .path = "/healthz" };
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(r.body_len, 0);
	CHECK(it_header(&r, "X-Request-Id") != NULL);
	it_resp_free(&r);
	r = it_call(srv, "GET", NULL, NULL, "/healthz");
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "status"), "ok");
	it_resp_free(&r);
}

static struct it_resp with_origin(const struct it_server *s, const char *method, const char *path,
				  const char *origin)
{
	const char *headers[] = { it_fmt("Origin: %s", origin),
				  "Access-Control-Request-Method: PATCH",
				  "Access-Control-Request-Headers: authorization, content-type",
				  NULL };
	struct it_req req = { .method = method, .path = path, .headers = headers };
	struct it_resp r;
	it_request(s, &req, &r);
	return r;
}

TEST(cors)
{
	const char *const extra[] = { "RUNOS_CORS_ORIGINS=https://console.example", NULL };
	struct it_server *cors = it_server_start("cors", extra);
	REQUIRE(cors != NULL);
	const char *console = "https://console.example";
	const char *profile = it_fmt("/%s/account/profile", alice.aid);

	struct it_resp r = with_origin(cors, "GET", "/healthz", console);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_header(&r, "Access-Control-Allow-Origin"), console);
	CHECK(it_header(&r, "Vary") && strstr(it_header(&r, "Vary"), "Origin"));
	CHECK(it_header(&r, "Access-Control-Expose-Headers") &&
	      strstr(it_header(&r, "Access-Control-Expose-Headers"), "X-Request-Id"));
	/* A console reads the next page's URL of a list too. */
	CHECK(it_header(&r, "Access-Control-Expose-Headers") &&
	      strstr(it_header(&r, "Access-Control-Expose-Headers"), "Link"));
	it_resp_free(&r);

	/* Errors carry the headers too, or a browser could not read them. */
	r = with_origin(cors, "GET", "/user", console);
	CHECK_401(r, "missing");
	CHECK_STR_EQ(it_header(&r, "Access-Control-Allow-Origin"), console);
	it_resp_free(&r);

	r = with_origin(cors, "OPTIONS", profile, console);
	CHECK_STATUS(r, 204);
	CHECK_STR_EQ(it_header(&r, "Access-Control-Allow-Origin"), console);
	const char *methods = it_header(&r, "Access-Control-Allow-Methods");
	CHECK_MSG(methods && strstr(methods, "PATCH") && strstr(methods, "GET"), "methods %s",
		  methods ? methods : "(none)");
	const char *allow_headers = it_header(&r, "Access-Control-Allow-Headers");
	CHECK(allow_headers && strstr(allow_headers, "Authorization") &&
	      strstr(allow_headers, "Content-Type"));
	it_resp_free(&r);
	r = with_origin(cors, "OPTIONS", "/auth/signup", console);
	CHECK_STATUS(r, 204);
	methods = it_header(&r, "Access-Control-Allow-Methods");
	CHECK(methods && strstr(methods, "POST"));
	it_resp_free(&r);
	r = with_origin(cors, "OPTIONS", "/nope", console);
	CHECK_ERROR(r, 404, "route.not_found");
	it_resp_free(&r);

	/* Another origin gets no CORS headers at all. */
	const char *evil = "https://evil.example";
	r = with_origin(cors, "GET", "/healthz", evil);
	CHECK_STATUS(r, 200);
	CHECK(it_header(&r, "Access-Control-Allow-Origin") == NULL);
	it_resp_free(&r);
	r = with_origin(cors, "OPTIONS", profile, evil);
	CHECK(it_header(&r, "Access-Control-Allow-Origin") == NULL);
	CHECK(it_header(&r, "Access-Control-Allow-Methods") == NULL);
	it_resp_free(&r);
	/* Nor does any origin on a server without RUNOS_CORS_ORIGINS. */
	r = with_origin(srv, "GET", "/healthz", console);
	CHECK_STATUS(r, 200);
	CHECK(it_header(&r, "Access-Control-Allow-Origin") == NULL);
	it_resp_free(&r);
	CHECK_INT_EQ(it_server_stop(cors), 0);
}

struct load {
	atomic_bool go, stop;
	atomic_long ok, failed, connects;
	atomic_int clients_done;
};

static void *load_client(void *arg)
{
	struct load *l = arg;
	while (!atomic_load(&l->go))
		it_sleep_ms(1);
	const char *path = it_fmt("/%s/account/profile", alice.aid);
	char mine[256];
	snprintf(mine, sizeof(mine), "%s", path);
	while (!atomic_load(&l->stop)) {
		struct it_req req = { .path = mine, .token = alice_pat.token };
		struct it_resp r;
		it_request(srv, &req, &r);
		if (r.status == 200) {
			atomic_fetch_add(&l->ok, 1);
		} else {
			if (atomic_fetch_add(&l->failed, 1) < 5)
				fprintf(stderr, "concurrent request: %ld %s %s\n", r.status,
					r.curl_error, r.body);
		}
		atomic_fetch_add(&l->connects, r.connects);
		it_resp_free(&r);
	}
	atomic_fetch_add(&l->clients_done, 1);
	return NULL;
}

TEST(concurrent_keep_alive_clients)
{
	enum {
		CLIENTS = 100
	};
	static struct load l;
	pthread_t threads[CLIENTS];
	int started = 0;
	for (int i = 0; i < CLIENTS; i++)
		started += pthread_create(&threads[i], NULL, load_client, &l) == 0;
	CHECK_INT_EQ(started, CLIENTS);
	atomic_store(&l.go, true);
	it_sleep_ms(2000);
	atomic_store(&l.stop, true);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	long ok = atomic_load(&l.ok), failed = atomic_load(&l.failed);
	long connects = atomic_load(&l.connects);
	fprintf(stderr, "concurrent: %d clients, %ld ok, %ld failed, %ld connections\n", started,
		ok, failed, connects);
	CHECK_INT_EQ(failed, 0);
	CHECK(ok >= 2 * CLIENTS);
	CHECK_INT_EQ(atomic_load(&l.clients_done), started);
	/* Keep-alive: each client opened one connection and kept it. */
	CHECK_MSG(connects <= started + started / 10, "%ld connections for %d clients", connects,
		  started);
}

/* A TCP connection to s that has had one request (GET /healthz) answered,
 * kept open; -1 when it was not answered (refused, or closed at once). */
static int served_connection(const struct it_server *s)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)it_server_port(s)),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval two_s = { 2, 0 };
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: limit\r\n\r\n";
	char buf[1024];
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &two_s, sizeof(two_s)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1) ||
	    recv(fd, buf, sizeof(buf), 0) < (ssize_t)strlen("HTTP/1.1 200")) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* RUNOS_HTTP_MAX_CONNECTIONS holds for the listener as a whole, spread over
 * its worker threads (16 connections over 16 threads): all are served, one
 * more is closed unanswered, and one closed makes room again. */
TEST(connection_limit)
{
	static const char *extra[] = { "RUNOS_HTTP_MAX_CONNECTIONS=16", "RUNOS_THREADS=16", NULL };
	struct it_server *s = it_server_start("limit", extra);
	REQUIRE(s);
	int fds[16];
	int served = 0;
	for (int i = 0; i < 16; i++)
		served += (fds[i] = served_connection(s)) >= 0;
	/* The harness's own keep-alive connection (from the start) may hold one. */
	CHECK_MSG(served >= 15, "%d of 16 connections served", served);
	int extra_fd = served_connection(s);
	CHECK_MSG(extra_fd < 0, "a connection beyond the limit was served");
	if (extra_fd >= 0)
		close(extra_fd);
	if (fds[0] >= 0)
		close(fds[0]);
	it_sleep_ms(300);
	fds[0] = served_connection(s);
	CHECK_MSG(fds[0] >= 0, "no room after a connection closed");
	for (int i = 0; i < 16; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	CHECK_INT_EQ(it_server_stop(s), 0);
}

TEST(still_serving)
{
	CHECK(it_server_alive(srv));
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/healthz");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "GET", alice_pat.token, NULL, "/%s/account/profile", alice.aid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "GET", alice.token, NULL, "/user");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	CHECK_INT_EQ(it_server_stop(srv), 0);
}

int main(void)
{
	if (!it_init("it_bad_input")) {
		test_failed++;
		return it_finish("it_bad_input");
	}
	srv = it_server_start("bad_input", NULL);
	if (!srv || !it_signup(srv, &alice) ||
	    !it_create_pat(srv, alice.token, alice.aid, "viewer", &alice_pat)) {
		test_failed++;
		fprintf(stderr, "FAIL it_bad_input: no server or no user\n");
		return it_finish("it_bad_input");
	}
	RUN(routing);
	RUN(body_size);
	RUN(json_and_schema);
	RUN(missing_body);
	RUN(profile_values);
	RUN(media_type);
	RUN(tokens);
	RUN(if_match);
	RUN(list_parameters);
	RUN(query_parameters);
	RUN(pagination);
	RUN(common_headers);
	RUN(cors);
	RUN(concurrent_keep_alive_clients);
	RUN(connection_limit);
	RUN(still_serving);
	return it_finish("it_bad_input");
}
