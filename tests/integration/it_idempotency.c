/* Idempotency-Key (API.md §1) against two server instances on one database:
 * a repeat replays the first response byte for byte and creates nothing; the
 * same key with another body is 422; concurrent repeats create one resource
 * (the others wait their turn: 409 in flight, or the replay); keys are per
 * account; a response with a secret (signup) is replayed but not stored in
 * plain text; a bad key is 400. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct it_server *srv, *srv2;
static struct it_user owner, other;
static PGconn *pg;

static struct it_resp post_with_key(const struct it_server *s, const char *token, const char *path,
				    const char *body, const char *key)
{
	char header[400];
	snprintf(header, sizeof(header), "Idempotency-Key: %s", key);
	const char *headers[] = { header, NULL };
	struct it_req req = {
		.method = "POST", .path = path, .token = token, .body = body, .headers = headers
	};
	struct it_resp r;
	it_request(s, &req, &r);
	return r;
}

static long long clusters_named(const char *aid, const char *name)
{
	const char *p[] = { aid, name };
	return it_db_count(pg, "SELECT count(*) FROM clusters WHERE aid = $1 AND name = $2", 2, p);
}

TEST(replay_and_mismatch)
{
	const char *path = it_fmt("/%s/clusters", owner.aid);
	char path_copy[64];
	snprintf(path_copy, sizeof(path_copy), "%s", path);
	struct it_resp first =
		post_with_key(srv, owner.token, path_copy, "{\"name\":\"idem-1\"}", "key-one");
	CHECK_STATUS(first, 201);
	CHECK(it_header(&first, "Idempotent-Replayed") == NULL);
	/* The same request again, on either instance: the same answer, no new row. */
	for (int i = 0; i < 2; i++) {
		struct it_resp again = post_with_key(i ? srv2 : srv, owner.token, path_copy,
						     "{\"name\":\"idem-1\"}", "key-one");
		CHECK_STATUS(again, 201);
		CHECK_STR_EQ(again.body, first.body);
		CHECK_STR_EQ(it_header(&again, "Idempotent-Replayed"), "true");
		it_resp_free(&again);
	}
	CHECK_INT_EQ(clusters_named(owner.aid, "idem-1"), 1);
	/* Another body with the key: 422, nothing made. */
	struct it_resp other_body =
		post_with_key(srv2, owner.token, path_copy, "{\"name\":\"idem-2\"}", "key-one");
	CHECK_ERROR(other_body, 422, "idempotency.mismatch");
	it_resp_free(&other_body);
	CHECK_INT_EQ(clusters_named(owner.aid, "idem-2"), 0);
	/* Another account may use the same key for its own request. */
	char other_path[64];
	snprintf(other_path, sizeof(other_path), "/%s/clusters", other.aid);
	struct it_resp theirs =
		post_with_key(srv, other.token, other_path, "{\"name\":\"idem-1\"}", "key-one");
	CHECK_STATUS(theirs, 201);
	CHECK(strcmp(theirs.body, first.body) != 0);
	it_resp_free(&theirs);
	it_resp_free(&first);
	/* Without a key, two requests make two clusters. */
	struct it_resp a =
		it_call(srv, "POST", owner.token, "{\"name\":\"nokey\"}", "%s", path_copy);
	struct it_resp b =
		it_call(srv, "POST", owner.token, "{\"name\":\"nokey\"}", "%s", path_copy);
	CHECK_STATUS(a, 201);
	CHECK_STATUS(b, 201);
	it_resp_free(&a);
	it_resp_free(&b);
	CHECK_INT_EQ(clusters_named(owner.aid, "nokey"), 2);
}

TEST(bad_keys)
{
	char path[64];
	snprintf(path, sizeof(path), "/%s/clusters", owner.aid);
	char long_key[300];
	memset(long_key, 'k', 256);
	long_key[256] = '\0';
	const char *bad[] = { long_key, "has space", "tab\there" };
	for (int i = 0; i < 3; i++) {
		struct it_resp r =
			post_with_key(srv, owner.token, path, "{\"name\":\"badkey\"}", bad[i]);
		CHECK_ERROR(r, 400, "validation.invalid");
		CHECK_STR_EQ(it_json_str(r.json, "field"), "Idempotency-Key");
		it_resp_free(&r);
	}
	CHECK_INT_EQ(clusters_named(owner.aid, "badkey"), 0);
	/* 255 characters is fine. */
	long_key[255] = '\0';
	struct it_resp r =
		post_with_key(srv, owner.token, path, "{\"name\":\"longkey\"}", long_key);
	CHECK_STATUS(r, 201);
	it_resp_free(&r);
}

#define RACERS 10

struct racer {
	const struct it_server *s;
	char path[64];
	long status;
	char body[2048];
};

static void *race(void *arg)
{
	struct racer *rc = arg;
	struct it_resp r =
		post_with_key(rc->s, owner.token, rc->path, "{\"name\":\"idem-race\"}", "race-key");
	rc->status = r.status;
	snprintf(rc->body, sizeof(rc->body), "%s", r.body ? r.body : "");
	it_resp_free(&r);
	return NULL;
}

TEST(concurrent_repeats_make_one)
{
	struct racer racers[RACERS];
	pthread_t threads[RACERS];
	for (int i = 0; i < RACERS; i++) {
		racers[i].s = i % 2 ? srv2 : srv;
		snprintf(racers[i].path, sizeof(racers[i].path), "/%s/clusters", owner.aid);
		pthread_create(&threads[i], NULL, race, &racers[i]);
	}
	const char *created = NULL;
	for (int i = 0; i < RACERS; i++) {
		pthread_join(threads[i], NULL);
		CHECK_MSG(racers[i].status == 201 || racers[i].status == 409, "status %ld",
			  racers[i].status);
		if (racers[i].status == 201) {
			if (created)
				CHECK_STR_EQ(racers[i].body, created);
			created = racers[i].body;
		}
	}
	CHECK(created != NULL);
	CHECK_INT_EQ(clusters_named(owner.aid, "idem-race"), 1);
}

TEST(secrets_replayed_not_stored)
{
	struct it_resp first = post_with_key(srv, NULL, "/auth/signup",
					     "{\"email\":\"idem-signup@example.com\","
					     "\"password\":\"correct horse battery\"}",
					     "signup-key");
	CHECK_STATUS(first, 201);
	const char *token = it_json_str(first.json, "token");
	REQUIRE(token != NULL);
	it_secret_add(token);
	struct it_resp again = post_with_key(srv2, NULL, "/auth/signup",
					     "{\"email\":\"idem-signup@example.com\","
					     "\"password\":\"correct horse battery\"}",
					     "signup-key");
	CHECK_STATUS(again, 201);
	CHECK_STR_EQ(again.body, first.body);
	it_resp_free(&again);
	const char *p[] = { token + 4 };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM idempotency_keys"
				 " WHERE strpos(coalesce(body, ''), $1) > 0",
				 1, p),
		     0);
	CHECK_INT_EQ(it_db_count(pg, "SELECT count(*) FROM idempotency_keys WHERE body LIKE 'v1.%'",
				 0, NULL) > 0,
		     1);
	it_resp_free(&first);
}

int main(void)
{
	if (!it_init("it_idempotency")) {
		test_failed++;
		return it_finish("it_idempotency");
	}
	srv = it_server_start("idempotency", NULL);
	srv2 = it_server_start("idempotency-second", NULL);
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	if (!srv || !srv2 || !pg || !it_signup(srv, &owner) || !it_signup(srv, &other)) {
		test_failed++;
		fprintf(stderr, "FAIL it_idempotency: no servers, database or users\n");
		return it_finish("it_idempotency");
	}
	RUN(replay_and_mismatch);
	RUN(bad_keys);
	RUN(concurrent_repeats_make_one);
	RUN(secrets_replayed_not_stored);
	CHECK_INT_EQ(it_server_stop(srv2), 0);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	PQfinish(pg);
	return it_finish("it_idempotency");
}
