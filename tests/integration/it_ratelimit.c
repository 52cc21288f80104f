/* Rate limits (API.md §1) with a Redis of the test's own and two server
 * instances sharing it:
 *  - per token: the limit is shared by the instances; the request after it
 *    is 429 rate_limited with Retry-After, RateLimit-* headers on every
 *    answer, and waiting Retry-After is enough;
 *  - login attempts per email, and unauthenticated writes per address;
 *  - Redis killed mid-test: requests keep being served (per-instance limits),
 *    and the shared limits come back with Redis;
 *  - the GCRA script is sent once and then called by its SHA-1 (EVALSHA),
 *    and sent again when Redis has lost it (SCRIPT FLUSH);
 *  - a high limit is taken in leases: far fewer round trips than requests,
 *    and, with 8 concurrent clients on two instances, never more than the
 *    limit and at most a lease per instance short of it;
 *  - without Redis at all: per-instance limits. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TOKEN_LIMIT 60
#define PUBLIC_LIMIT 8
#define LOGIN_LIMIT 3

static struct it_server *srv, *srv2;
static struct it_user owner;
static struct it_redis redis;

/* Keys of our limits in Redis. */
static int redis_keys(void)
{
	char *out;
	int n = -1;
	if (it_shell_output(
		    it_fmt("redis-cli -p %d --scan --pattern 'runosd:rl:*' | wc -l", redis.port),
		    &out) != 0 ||
	    sscanf(out, "%d", &n) != 1)
		n = -1;
	free(out);
	return n;
}

TEST(per_token_shared_by_instances)
{
	struct it_key key;
	REQUIRE(it_create_pat(srv, owner.token, owner.aid, NULL, &key));
	int ok = 0;
	for (int i = 0; i < TOKEN_LIMIT; i++) {
		struct it_resp r = it_call(i % 2 ? srv2 : srv, "GET", key.token, NULL,
					   "/%s/clusters", owner.aid);
		ok += r.status == 200;
		if (i == 0) {
			CHECK_STR_EQ(it_header(&r, "RateLimit-Limit"), it_fmt("%d", TOKEN_LIMIT));
			CHECK_STR_EQ(it_header(&r, "RateLimit-Remaining"),
				     it_fmt("%d", TOKEN_LIMIT - 1));
		}
		it_resp_free(&r);
	}
	CHECK_INT_EQ(ok, TOKEN_LIMIT);
	struct it_resp r = it_call(srv, "GET", key.token, NULL, "/%s/clusters", owner.aid);
	CHECK_ERROR(r, 429, "rate_limited");
	CHECK_STR_EQ(it_header(&r, "Retry-After"), "1");
	CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "retryAfter")), 1);
	CHECK_STR_EQ(it_header(&r, "RateLimit-Remaining"), "0");
	it_resp_free(&r);
	r = it_call(srv2, "GET", key.token, NULL, "/%s/clusters", owner.aid);
	CHECK_ERROR(r, 429, "rate_limited");
	it_resp_free(&r);
	/* Another token is not affected. */
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters", owner.aid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	/* Retry-After honoured: one more is allowed. */
	it_sleep_ms(1100);
	r = it_call(srv2, "GET", key.token, NULL, "/%s/clusters", owner.aid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	CHECK(redis_keys() > 0);
}

static long login(const struct it_server *s, const char *email, const char *password)
{
	struct it_resp r = it_call(
		s, "POST", NULL, it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", email, password),
		"/auth/login");
	long status = r.status;
	if (status == 429)
		CHECK_STR_EQ(it_json_str(r.json, "code"), "rate_limited");
	it_resp_free(&r);
	return status;
}

TEST(logins_per_email_and_writes_per_address)
{
	/* The signup in setup used one of the address's writes. */
	for (int i = 0; i < LOGIN_LIMIT; i++)
		CHECK_INT_EQ(login(i % 2 ? srv2 : srv, owner.email, "wrong password!"), 401);
	/* The right password does not help now: the email's attempts are used. */
	CHECK_INT_EQ(login(srv, owner.email, owner.password), 429);
	/* Other emails, from the same address, until the address's limit. */
	int used = 1 + LOGIN_LIMIT + 1;
	for (int i = used; i < PUBLIC_LIMIT; i++)
		CHECK_INT_EQ(login(srv2, it_fmt("nobody%d@example.com", i), "wrong password!"),
			     401);
	CHECK_INT_EQ(login(srv, "someone-else@example.com", "wrong password!"), 429);
	/* Reads stay free. */
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/healthz");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
}

TEST(redis_dies_and_returns)
{
	struct it_key key;
	REQUIRE(it_create_pat(srv, owner.token, owner.aid, NULL, &key));
	it_redis_stop(&redis);
	for (int i = 0; i < 10; i++) {
		struct it_resp r = it_call(i % 2 ? srv2 : srv, "GET", key.token, NULL,
					   "/%s/clusters", owner.aid);
		CHECK_STATUS(r, 200);
		it_resp_free(&r);
	}
	REQUIRE(it_redis_start(&redis));
	CHECK_INT_EQ(redis_keys(), 0);
	/* Within a second or so both instances use it again. */
	it_sleep_ms(1200);
	struct it_key fresh;
	REQUIRE(it_create_pat(srv, owner.token, owner.aid, NULL, &fresh));
	for (int i = 0; i < 4; i++) {
		struct it_resp r = it_call(i % 2 ? srv2 : srv, "GET", fresh.token, NULL,
					   "/%s/clusters", owner.aid);
		CHECK_STATUS(r, 200);
		if (i == 3)
			CHECK_STR_EQ(it_header(&r, "RateLimit-Remaining"),
				     it_fmt("%d", TOKEN_LIMIT - 4));
		it_resp_free(&r);
	}
	CHECK(redis_keys() > 0);
}

/* Calls of one Redis command since the last CONFIG RESETSTAT. */
static long redis_calls(const char *command)
{
	char *out;
	long n = -1;
	if (it_shell_output(it_fmt("redis-cli -p %d INFO commandstats | tr -d '\\r' | "
				   "sed -n 's/^cmdstat_%s:calls=\\([0-9]*\\).*/\\1/p'",
				   redis.port, command),
			    &out) == 0)
		n = *out ? strtol(out, NULL, 10) : 0;
	free(out);
	return n;
}

static void take_both(const char *token, int requests, int expect_remaining)
{
	for (int i = 0; i < requests; i++) {
		struct it_resp r =
			it_call(i % 2 ? srv2 : srv, "GET", token, NULL, "/%s/clusters", owner.aid);
		CHECK_STATUS(r, 200);
		if (i == requests - 1)
			CHECK_STR_EQ(it_header(&r, "RateLimit-Remaining"),
				     it_fmt("%d", expect_remaining));
		it_resp_free(&r);
	}
}

TEST(script_sent_once)
{
	struct it_key key;
	REQUIRE(it_create_pat(srv, owner.token, owner.aid, NULL, &key));
	take_both(key.token, 2, TOKEN_LIMIT - 2); /* both instances have sent it */
	REQUIRE(system(it_fmt("redis-cli -p %d CONFIG RESETSTAT >/dev/null", redis.port)) == 0);
	take_both(key.token, 6, TOKEN_LIMIT - 8);
	CHECK_INT_EQ(redis_calls("evalsha"), 6);
	CHECK_INT_EQ(redis_calls("eval"), 0);
	/* Redis forgets it: the next call sends it again, once (the instances
	 * share Redis's script cache), and the count goes on. */
	REQUIRE(system(it_fmt("redis-cli -p %d SCRIPT FLUSH >/dev/null", redis.port)) == 0);
	take_both(key.token, 4, TOKEN_LIMIT - 12);
	CHECK_INT_EQ(redis_calls("eval"), 1);
	CHECK(redis_calls("evalsha") >= 9);
}

#define HIGH_LIMIT 1000 /* leases of up to 10 */
#define LEASE_CLIENTS 8 /* concurrent clients, half on each instance */

struct lease_load {
	const struct it_server *server;
	const char *token;
	atomic_int *ok, *other;
};

/* Sends until 10 refusals in a row: the limit is spent. */
static void *lease_client(void *arg)
{
	struct lease_load *l = arg;
	int refused_in_a_row = 0;
	for (int sent = 0; sent < HIGH_LIMIT && refused_in_a_row < 10; sent++) {
		struct it_resp r =
			it_call(l->server, "GET", l->token, NULL, "/%s/account/profile", owner.aid);
		if (r.status == 200)
			atomic_fetch_add(l->ok, 1);
		else if (r.status != 429)
			atomic_fetch_add(l->other, 1);
		refused_in_a_row = r.status == 429 ? refused_in_a_row + 1 : 0;
		it_resp_free(&r);
	}
	return NULL;
}

TEST(high_limit_leased)
{
	char url[96], limit[48];
	snprintf(url, sizeof(url), "RUNOS_REDIS_URL=%s", redis.url);
	snprintf(limit, sizeof(limit), "RUNOS_RATE_LIMIT=%d", HIGH_LIMIT);
	const char *env[] = { url, limit, NULL };
	struct it_server *a = it_server_start("ratelimit-lease-a", env);
	struct it_server *b = it_server_start("ratelimit-lease-b", env);
	REQUIRE(a && b);
	struct it_key key;
	REQUIRE(it_create_pat(a, owner.token, owner.aid, NULL, &key));
	REQUIRE(system(it_fmt("redis-cli -p %d CONFIG RESETSTAT >/dev/null", redis.port)) == 0);
	atomic_int ok = 0, other = 0;
	struct lease_load loads[LEASE_CLIENTS];
	pthread_t threads[LEASE_CLIENTS];
	double started = it_now_ms();
	for (int i = 0; i < LEASE_CLIENTS; i++) {
		loads[i] = (struct lease_load){ i % 2 ? b : a, key.token, &ok, &other };
		REQUIRE(pthread_create(&threads[i], NULL, lease_client, &loads[i]) == 0);
	}
	for (int i = 0; i < LEASE_CLIENTS; i++)
		pthread_join(threads[i], NULL);
	double seconds = (it_now_ms() - started) / 1000;
	long calls = redis_calls("evalsha") + redis_calls("eval");
	int allowed = atomic_load(&ok);
	fprintf(stderr, "lease: %d allowed in %.2f s by %d clients, %ld Redis calls\n", allowed,
		seconds, LEASE_CLIENTS, calls);
	CHECK_INT_EQ(atomic_load(&other), 0);
	/* Never more than the limit (plus what it refilled meanwhile), and
	 * short of it by at most one lease per instance (one thread at a time
	 * takes a lease, so they never pile up). */
	CHECK_MSG(allowed <= HIGH_LIMIT + (int)(seconds * HIGH_LIMIT / 60) + 1, "%d allowed",
		  allowed);
	CHECK_MSG(allowed >= HIGH_LIMIT - 2 * HIGH_LIMIT / 100, "%d allowed", allowed);
	CHECK_MSG(calls > 0 && calls <= allowed / 3, "%ld Redis calls for %d requests", calls,
		  allowed);
	CHECK_INT_EQ(it_server_stop(a), 0);
	CHECK_INT_EQ(it_server_stop(b), 0);
}

TEST(without_redis)
{
	const char *env[] = { "RUNOS_REDIS_URL", "RUNOS_RATE_LIMIT=10", NULL };
	struct it_server *alone = it_server_start("ratelimit-alone", env);
	REQUIRE(alone != NULL);
	int ok = 0;
	for (int i = 0; i < 11; i++) {
		struct it_resp r =
			it_call(alone, "GET", owner.token, NULL, "/%s/clusters", owner.aid);
		ok += r.status == 200;
		if (i == 10)
			CHECK_ERROR(r, 429, "rate_limited");
		it_resp_free(&r);
	}
	CHECK_INT_EQ(ok, 10);
	CHECK_INT_EQ(it_server_stop(alone), 0);
}

int main(void)
{
	if (!it_init("it_ratelimit")) {
		test_failed++;
		return it_finish("it_ratelimit");
	}
	bool redis_up = it_redis_start(&redis);
	char url[96], token_limit[48], public_limit[48], login_limit[48];
	snprintf(url, sizeof(url), "RUNOS_REDIS_URL=%s", redis.url);
	snprintf(token_limit, sizeof(token_limit), "RUNOS_RATE_LIMIT=%d", TOKEN_LIMIT);
	snprintf(public_limit, sizeof(public_limit), "RUNOS_RATE_LIMIT_PUBLIC=%d", PUBLIC_LIMIT);
	snprintf(login_limit, sizeof(login_limit), "RUNOS_RATE_LIMIT_LOGIN=%d", LOGIN_LIMIT);
	const char *env[] = { url, token_limit, public_limit, login_limit, NULL };
	srv = it_server_start("ratelimit", env);
	srv2 = it_server_start("ratelimit-second", env);
	if (!srv || !srv2 || !redis_up || !it_signup(srv, &owner)) {
		test_failed++;
		fprintf(stderr, "FAIL it_ratelimit: no servers, Redis or user\n");
		it_redis_stop(&redis);
		return it_finish("it_ratelimit");
	}
	RUN(per_token_shared_by_instances);
	RUN(logins_per_email_and_writes_per_address);
	RUN(redis_dies_and_returns);
	RUN(script_sent_once);
	RUN(high_limit_leased);
	RUN(without_redis);
	CHECK_INT_EQ(it_server_stop(srv2), 0);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	it_redis_stop(&redis);
	return it_finish("it_ratelimit");
}
