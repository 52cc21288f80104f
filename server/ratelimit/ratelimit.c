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

#include <hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "util/log.h"
#include "util/strmap.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define SHARDS 32
#define REDIS_TIMEOUT_MS 50
#define REDIS_RETRY_MS 1000
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
	struct shard shards[SHARDS];
	/* Read on every request: atomics, no lock. */
	atomic_int_fast64_t redis_down_until_ms;
	atomic_bool warned;
};

/* Each thread keeps its own connection (hiredis contexts are not thread
 * safe), freed when the thread ends. */
struct thread_redis {
	redisContext *c;
	const struct ratelimiter *owner;
};
static pthread_key_t thread_redis_key;
static pthread_once_t redis_key_once = PTHREAD_ONCE_INIT;

static void free_thread_redis(void *value)
{
	struct thread_redis *t = value;
	redisFree(t->c);
	free(t);
}

static void make_redis_key(void)
{
	if (pthread_key_create(&thread_redis_key, free_thread_redis) != 0)
		abort();
}

static struct thread_redis *thread_redis(void)
{
	pthread_once(&redis_key_once, make_redis_key);
	struct thread_redis *t = pthread_getspecific(thread_redis_key);
	if (!t) {
		t = xcalloc(1, sizeof(*t));
		if (pthread_setspecific(thread_redis_key, t) != 0)
			abort();
	}
	return t;
}

struct ratelimiter *ratelimit_create(const char *redis_url)
{
	struct ratelimiter *rl = xcalloc(1, sizeof(*rl));
	rl->redis_url = redis_url ? xstrdup(redis_url) : NULL;
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

static redisContext *connect_redis(const char *url)
{
	struct timeval timeout = { 0, REDIS_TIMEOUT_MS * 1000 };
	redisContext *c;
	if (strncmp(url, "unix:", 5) == 0) {
		c = redisConnectUnixWithTimeout(url + 5, timeout);
	} else {
		const char *host = strncmp(url, "redis://", 8) == 0 ? url + 8 : url;
		const char *at = strchr(host, '@');
		if (at)
			host = at + 1;
		char name[256];
		size_t n = strcspn(host, ":/");
		snprintf(name, sizeof(name), "%.*s", (int)n, host);
		int port = host[n] == ':' ? atoi(host + n + 1) : 6379;
		c = redisConnectWithTimeout(name, port, timeout);
	}
	if (c && !c->err && redisSetTimeout(c, timeout) == REDIS_OK)
		return c;
	redisFree(c);
	return NULL;
}

static bool redis_down(struct ratelimiter *rl)
{
	return time_mono_ms() < atomic_load(&rl->redis_down_until_ms);
}

/* Notes whether Redis answered; the change of state is logged once. */
static void mark_redis(struct ratelimiter *rl, bool up)
{
	if (!up) {
		atomic_store(&rl->redis_down_until_ms, time_mono_ms() + REDIS_RETRY_MS);
		if (!atomic_exchange(&rl->warned, true))
			log_warn("Redis does not answer: rate limits are per instance until it "
				 "does");
	} else if (atomic_exchange(&rl->warned, false)) {
		log_info("Redis answers again: rate limits are shared");
	}
}

static bool take_redis(struct ratelimiter *rl, const char *key, int64_t T, int64_t tau,
		       struct ratelimit_result *out)
{
	struct thread_redis *t = thread_redis();
	if (t->c && t->owner != rl) {
		redisFree(t->c);
		t->c = NULL;
	}
	if (!t->c) {
		t->c = connect_redis(rl->redis_url);
		t->owner = rl;
	}
	if (!t->c)
		return false;
	redisReply *reply = redisCommand(t->c, "EVAL %s 1 %s %lld %lld", gcra_script, key,
					 (long long)T, (long long)tau);
	bool ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3;
	if (ok) {
		out->allowed = reply->element[0]->integer == 1;
		out->remaining = (int)reply->element[1]->integer;
		out->retry_after_ms = ms_ceil(reply->element[2]->integer);
	}
	freeReplyObject(reply);
	if (!ok) {
		redisFree(t->c);
		t->c = NULL;
	}
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
	if (rl->redis_url && !redis_down(rl)) {
		char shared_key[300];
		snprintf(shared_key, sizeof(shared_key), "runosd:rl:%s", key);
		bool ok = take_redis(rl, shared_key, T, tau, out);
		mark_redis(rl, ok);
		if (ok)
			return;
	}
	take_local(rl, key, T, tau, out);
}
