/* GCRA in Redis or in memory (see include/ratelimit/ratelimit.h).
 *
 * State per key: the theoretical arrival time (tat) of the next request.
 * With T = period / limit and tolerance tau = period - T, a request at now is
 * allowed when tat - now <= tau, and moves tat to max(tat, now) + T. The
 * requests left are floor((tau - (tat - now)) / T) after it. Times are in
 * microseconds: with milliseconds, T of a limit above 60,000 a minute would
 * round to 0 (and was held at 1 ms, so the limit fell to 1,000 a second once
 * the burst was spent). */
#include "ratelimit/ratelimit.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "redis/client.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define SHARDS 32
#define REDIS_TIMEOUT_MS 50
#define PRUNE_ABOVE 10000 /* keys per shard before expired ones are dropped */

/* KEYS[1] key; ARGV[1] T µs, ARGV[2] tau µs. Returns {allowed, remaining,
 * retry_after µs}. Redis's own clock, so instances agree (µs since the epoch
 * are exact in Lua's doubles). */
static const char gcra_script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local T = tonumber(ARGV[1])\n"
	"local tau = tonumber(ARGV[2])\n"
	"local tat = tonumber(redis.call('GET', KEYS[1]) or now)\n"
	"if tat < now then tat = now end\n"
	"if tat - now > tau then return {0, 0, tat - now - tau} end\n"
	"local new_tat = tat + T\n"
	"redis.call('SET', KEYS[1], new_tat, 'PX', math.floor((new_tat - now) / 1000) + 1)\n"
	"return {1, math.floor((tau - (new_tat - now) + T) / T), 0}\n";

struct shard {
	pthread_mutex_t lock;
	struct strmap *tats; /* key → int64_t * (µs, monotonic) */
};

struct ratelimiter {
	char *redis_url;
	char script_sha1[2 * 20 + 1]; /* EVALSHA: the script is sent only when Redis lacks it */
	struct shard shards[SHARDS];
	struct redis_health redis; /* read on every request: atomics, no lock */
};

struct ratelimiter *ratelimit_create(const char *redis_url)
{
	struct ratelimiter *rl = xcalloc(1, sizeof(*rl));
	rl->redis_url = redis_url ? xstrdup(redis_url) : NULL;
	uint8_t sha1[20];
	EVP_Digest(gcra_script, strlen(gcra_script), sha1, NULL, EVP_sha1(), NULL);
	crypto_hex(sha1, sizeof(sha1), rl->script_sha1);
	rl->redis.when_down = "rate limits are per instance until it does";
	rl->redis.when_up = "rate limits are shared";
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&rl->shards[i].lock, NULL);
		rl->shards[i].tats = strmap_create();
	}
	return rl;
}

void ratelimit_destroy(struct ratelimiter *rl)
{
	if (!rl)
		return;
	for (int i = 0; i < SHARDS; i++) {
		strmap_destroy(rl->shards[i].tats, free);
		pthread_mutex_destroy(&rl->shards[i].lock);
	}
	free(rl->redis_url);
	free(rl);
}

/* Microseconds as whole milliseconds, rounded up (a wait of 0.3 ms is 1). */
static int64_t ms_ceil(int64_t us)
{
	return (us + 999) / 1000;
}

/* ---- in memory ----------------------------------------------------------- */

struct prune {
	int64_t now;
	char **expired;
	size_t n, cap;
};

static void collect_expired(void *arg, const char *key, void *value)
{
	struct prune *p = arg;
	if (*(int64_t *)value > p->now)
		return;
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->expired = xrealloc(p->expired, p->cap * sizeof(*p->expired));
	}
	p->expired[p->n++] = xstrdup(key);
}

static void prune(struct shard *s, int64_t now)
{
	struct prune p = { now, NULL, 0, 0 };
	strmap_foreach(s->tats, collect_expired, &p);
	for (size_t i = 0; i < p.n; i++) {
		free(strmap_remove(s->tats, p.expired[i]));
		free(p.expired[i]);
	}
	free(p.expired);
}

static void take_local(struct ratelimiter *rl, const char *key, int64_t T, int64_t tau,
		       struct ratelimit_result *out)
{
	struct shard *s = &rl->shards[strmap_hash(key) % SHARDS];
	int64_t now = time_mono_us();
	pthread_mutex_lock(&s->lock);
	int64_t *tat = strmap_get(s->tats, key);
	if (!tat) {
		if (strmap_size(s->tats) > PRUNE_ABOVE)
			prune(s, now);
		tat = xmalloc(sizeof(*tat));
		*tat = now;
		strmap_put(s->tats, key, tat);
	}
	int64_t t = *tat < now ? now : *tat;
	if (t - now > tau) {
		out->allowed = false;
		out->remaining = 0;
		out->retry_after_ms = ms_ceil(t - now - tau);
	} else {
		*tat = t + T;
		out->allowed = true;
		out->remaining = (int)((tau - (*tat - now) + T) / T);
		out->retry_after_ms = 0;
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- in Redis ------------------------------------------------------------ */

static bool take_redis(struct ratelimiter *rl, const char *key, int64_t T, int64_t tau,
		       struct ratelimit_result *out)
{
	redisContext *c = redis_thread_client(rl->redis_url, REDIS_TIMEOUT_MS);
	if (!c)
		return false;
	/* EVALSHA, not EVAL: Redis neither receives nor hashes the script's
	 * 500 bytes on every request (BENCHMARKS.md, the read path). A Redis
	 * that does not have it yet (restarted, flushed) says NOSCRIPT once. */
	redisReply *reply = redisCommand(c, "EVALSHA %s 1 %s %lld %lld", rl->script_sha1, key,
					 (long long)T, (long long)tau);
	if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(reply);
		reply = redisCommand(c, "EVAL %s 1 %s %lld %lld", gcra_script, key, (long long)T,
				     (long long)tau);
	}
	bool ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3;
	if (ok) {
		out->allowed = reply->element[0]->integer == 1;
		out->remaining = (int)reply->element[1]->integer;
		out->retry_after_ms = ms_ceil(reply->element[2]->integer);
	}
	freeReplyObject(reply);
	if (!ok)
		redis_thread_client_drop();
	return ok;
}

void ratelimit_take(struct ratelimiter *rl, const char *key, int limit, int64_t period_ms,
		    struct ratelimit_result *out)
{
	int64_t period_us = period_ms * 1000;
	int64_t T = period_us / (limit > 0 ? limit : 1);
	if (T < 1)
		T = 1;
	int64_t tau = period_us - T;
	out->limit = limit;
	if (rl->redis_url && !redis_health_down(&rl->redis)) {
		char shared_key[300];
		snprintf(shared_key, sizeof(shared_key), "runosd:rl:%s", key);
		bool ok = take_redis(rl, shared_key, T, tau, out);
		redis_health_mark(&rl->redis, ok);
		if (ok)
			return;
	}
	take_local(rl, key, T, tau, out);
}
