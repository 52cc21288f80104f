/* Idempotency-Key (API.md §1) against two server instances on one database:
 * a repeat replays the first response byte for byte and creates nothing; the
 * same key with another body is 422; concurrent repeats create one resource
 * (the others wait their turn: 409 in flight, or the replay); keys are per
 * account; a response with a secret (signup) is replayed but not stored in
 * plain text; a bad key is 400; a server killed (kill -9) while creates
 * with keys are in flight leaves each key's change and record together:
 * after a restart every retry answers at once (the recorded answer, or one
 * fresh run) and each key made exactly one cluster. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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

/* ---- a crash with creates in flight --------------------------------------- */

#define CRASH_KEYS 6

struct crash_create {
	const struct it_server *s;
	char path[64], key[48], body[128];
	long status;
	char answer[2048];
	atomic_bool done;
};

static void *crash_create_run(void *arg)
{
	struct crash_create *cc = arg;
	struct it_resp r = post_with_key(cc->s, owner.token, cc->path, cc->body, cc->key);
	cc->status = r.status;
	snprintf(cc->answer, sizeof(cc->answer), "%s", r.body ? r.body : "");
	it_resp_free(&r);
	atomic_store(&cc->done, true);
	return NULL;
}

/* Backends of the test database waiting for a lock (the test's locks hold
 * them), or, with in_transaction, every open transaction but the test's own. */
static long long backends(bool in_transaction)
{
	return it_db_count(
		pg,
		in_transaction ? "SELECT count(*) FROM pg_stat_activity WHERE datname ="
				 " current_database() AND pid <> pg_backend_pid() AND xact_start"
				 " IS NOT NULL AND application_name = 'runosd'"
			       : "SELECT count(*) FROM pg_stat_activity WHERE datname ="
				 " current_database() AND wait_event_type = 'Lock'"
				 " AND application_name = 'runosd'",
		0, NULL);
}

/* Waits (up to 20 s) until cond(arg) holds; whether it did. */
static bool wait_until(bool (*cond)(void *), void *arg)
{
	for (double end = it_now_ms() + 20000; it_now_ms() < end; it_sleep_ms(20))
		if (cond(arg))
			return true;
	return cond(arg);
}

static struct crash_create creates[CRASH_KEYS];

/* Every create has an answer or a backend blocked on a lock. */
static bool answered_or_blocked(void *arg)
{
	(void)arg;
	int answered = 0;
	for (int i = 0; i < CRASH_KEYS; i++)
		answered += atomic_load(&creates[i].done);
	return answered + backends(false) >= CRASH_KEYS;
}

static bool all_answered(void *arg)
{
	(void)arg;
	for (int i = 0; i < CRASH_KEYS; i++)
		if (!atomic_load(&creates[i].done))
			return false;
	return true;
}

static bool no_transaction_left(void *arg)
{
	(void)arg;
	return backends(true) == 0;
}

/* Creates with keys "<phase>-<i>" on a server of their own, which is killed
 * (SIGKILL) while they are in flight: phase "a" while every create waits for
 * the account's row (locked by the test), phase "b" after they could commit
 * but while their keys' rows are locked (by the test: a server that records
 * the answer after the change's commit waits there). Then a new server: each
 * key, retried, answers 201 at once (not 409 in flight), with the recorded
 * answer when the first had one, and made exactly one cluster. */
static void crash_with_creates_in_flight(const char *phase)
{
	struct it_server *s = it_server_start(it_fmt("idempotency-crash-%s", phase), NULL);
	REQUIRE(s != NULL);
	PGconn *account_lock = it_db_connect(it_env.database_url);
	PGconn *key_lock = it_db_connect(it_env.database_url);
	REQUIRE(account_lock && key_lock);
	const char *ap[] = { owner.aid };
	REQUIRE(it_db_exec(account_lock, "BEGIN", 0, NULL));
	REQUIRE(it_db_exec(account_lock, "SELECT 1 FROM accounts WHERE aid = $1 FOR UPDATE", 1,
			   ap));
	pthread_t threads[CRASH_KEYS];
	for (int i = 0; i < CRASH_KEYS; i++) {
		struct crash_create *cc = &creates[i];
		memset(cc, 0, sizeof(*cc));
		cc->s = s;
		snprintf(cc->path, sizeof(cc->path), "/%s/clusters", owner.aid);
		snprintf(cc->key, sizeof(cc->key), "crash-%s-%d", phase, i);
		snprintf(cc->body, sizeof(cc->body), "{\"name\":\"crash-%s-%d\"}", phase, i);
		pthread_create(&threads[i], NULL, crash_create_run, cc);
	}
	/* Every create is in flight, waiting for the account. */
	CHECK(wait_until(answered_or_blocked, NULL));
	if (strcmp(phase, "b") == 0) {
		const char *kp[] = { it_fmt("crash-%s-%%", phase) };
		REQUIRE(it_db_exec(key_lock, "BEGIN", 0, NULL));
		REQUIRE(it_db_exec(key_lock,
				   "SELECT 1 FROM idempotency_keys WHERE key LIKE $1 FOR UPDATE", 1,
				   kp));
		REQUIRE(it_db_exec(account_lock, "COMMIT", 0, NULL));
		/* Each has committed and answered, or waits to record its answer. */
		CHECK(wait_until(answered_or_blocked, NULL));
		/* A server that records the answer with the change has no row of
		 * the key before its commit for the lock above to hold: every create
		 * committed and answered, so the kill below comes after the commits
		 * and each retry must replay its recorded answer. (A server that
		 * recorded it after the commit waited on the lock instead.) */
		CHECK(wait_until(all_answered, NULL));
	}
	it_server_signal(s, SIGKILL);
	CHECK_INT_EQ(it_server_wait(s, 10000), 128 + SIGKILL);
	if (PQtransactionStatus(account_lock) != PQTRANS_IDLE)
		CHECK(it_db_exec(account_lock, "COMMIT", 0, NULL));
	if (PQtransactionStatus(key_lock) != PQTRANS_IDLE)
		CHECK(it_db_exec(key_lock, "COMMIT", 0, NULL));
	for (int i = 0; i < CRASH_KEYS; i++)
		pthread_join(threads[i], NULL);
	/* PostgreSQL ends the dead server's transactions as their connections
	 * drop. */
	CHECK(wait_until(no_transaction_left, NULL));
	PQfinish(account_lock);
	PQfinish(key_lock);

	struct it_server *again =
		it_server_start(it_fmt("idempotency-crash-%s-again", phase), NULL);
	REQUIRE(again != NULL);
	for (int i = 0; i < CRASH_KEYS; i++) {
		struct crash_create *cc = &creates[i];
		struct it_resp r = post_with_key(again, owner.token, cc->path, cc->body, cc->key);
		CHECK_STATUS(r, 201);
		if (cc->status == 201) {
			CHECK_STR_EQ(r.body, cc->answer);
			CHECK_STR_EQ(it_header(&r, "Idempotent-Replayed"), "true");
		}
		const char *cid = it_json_str(r.json, "cid");
		char cid_copy[8];
		snprintf(cid_copy, sizeof(cid_copy), "%s", cid ? cid : "");
		it_resp_free(&r);
		/* And once more: the answer now recorded. */
		r = post_with_key(again, owner.token, cc->path, cc->body, cc->key);
		CHECK_STATUS(r, 201);
		CHECK_STR_EQ(it_json_str(r.json, "cid"), cid_copy);
		CHECK_STR_EQ(it_header(&r, "Idempotent-Replayed"), "true");
		it_resp_free(&r);
		char name[32];
		snprintf(name, sizeof(name), "crash-%s-%d", phase, i);
		CHECK_INT_EQ(clusters_named(owner.aid, name), 1);
	}
	CHECK_INT_EQ(it_server_stop(again), 0);
}

TEST(kill_9_with_creates_in_flight)
{
	crash_with_creates_in_flight("a");
	crash_with_creates_in_flight("b");
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
	RUN(kill_9_with_creates_in_flight);
	CHECK_INT_EQ(it_server_stop(srv2), 0);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	PQfinish(pg);
	return it_finish("it_idempotency");
}
