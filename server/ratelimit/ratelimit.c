/* GCRA in Redis or in memory (see include/ratelimit/ratelimit.h).
 *
 * State per key: the theoretical arrival time (tat) of the next request.
 * With T = period / limit and tolerance tau = period - T, a request at now is
 * allowed when tat - now <= tau, and moves tat to max(tat, now) + T. The
 * requests left are floor((tau - (tat - now)) / T) after it. Times are in
 * microseconds: with milliseconds, T of a limit above 60,000 a minute would
 * round to 0 (and was held at 1 ms, so the limit fell to 1,000 a second once
 * the burst was spent).
 *
 * Leases (Redis only): a key whose limit is at least 2 * LEASE_SHARE takes
 * up to limit / LEASE_SHARE requests per round trip, counted in Redis at once,
 * and serves them from memory for LEASE_US; what is left then is dropped.
 * The lease starts at 1 request, doubles each time one runs out before it
 * expires and halves when one expires unused, so a key used slowly still
 * makes one round trip per request. One thread at a time takes a lease; the
 * others take one request each meanwhile, so no more than one lease is ever
 * dropped. The shared limit is never exceeded
 * (every request served was counted in Redis before); an instance can only
 * reach it early, by at most 1 / LEASE_SHARE of it. Lower limits (the
 * defaults among them) are exact, a round trip per request, as before. Redis
 * costs more CPU per request than PostgreSQL's read of the request itself
 * (BENCHMARKS.md, the read path), and a key with a high limit is the one
 * that sends many. */
#include "ratelimit/ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/client.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define SHARDS 32
#define REDIS_TIMEOUT_MS 50
#define PRUNE_ABOVE 10000 /* keys per shard before expired ones are dropped */
#define LEASE_SHARE 100	  /* a lease is at most limit / LEASE_SHARE requests */
#define LEASE_US 100000	  /* unused leased requests are dropped after this */

/* KEYS[1] key; ARGV[1] T µs, ARGV[2] tau µs, ARGV[3] n: takes up to n
 * requests (as many as the limit allows now, at least 1 or none). Returns
 * {granted, remaining, retry_after µs}. Redis's own clock, so instances agree
 * (µs since the epoch are exact in Lua's doubles). */
static const char gcra_script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local T = tonumber(ARGV[1])\n"
	"local tau = tonumber(ARGV[2])\n"
	"local tat = tonumber(redis.call('GET', KEYS[1]) or now)\n"
	"if tat < now then tat = now end\n"
	"if tat - now > tau then return {0, 0, tat - now - tau} end\n"
	"local k = math.min(tonumber(ARGV[3]), math.floor((tau - (tat - now)) / T) + 1)\n"
	"local new_tat = tat + k * T\n"
	"redis.call('SET', KEYS[1], new_tat, 'PX', math.floor((new_tat - now) / 1000) + 1)\n"
	"return {k, math.floor((tau - (new_tat - now) + T) / T), 0}\n";

/* This instance's share of a key's shared limit (see the top). */
struct lease {
	int64_t expires_us; /* monotonic; first member: prune() reads it */
	int64_t left;	    /* requests leased and not served yet */
	int64_t size;	    /* of the last lease taken; 0: none yet */
	int remaining;	    /* Redis's count of requests left, when it was taken */
	bool refilling;	    /* a thread is taking the next lease */
};

struct shard {
	pthread_mutex_t lock;
	struct strmap *tats;   /* key → int64_t * (µs, monotonic) */
	struct strmap *leases; /* shared key → struct lease * */
};

struct ratelimiter {
	char *redis_url;
	struct redis_script gcra; /* called by its SHA-1: sent only when Redis lacks it */
	struct shard shards[SHARDS];
	struct redis_health redis; /* read on every request: atomics, no lock */
};

struct ratelimiter *ratelimit_create(const char *redis_url)
{
	struct ratelimiter *rl = xcalloc(1, sizeof(*rl));
	rl->redis_url = redis_url ? xstrdup(redis_url) : NULL;
	redis_script_init(&rl->gcra, gcra_script);
	rl->redis.when_down = "rate limits are per instance until it does";
	rl->redis.when_up = "rate limits are shared";
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&rl->shards[i].lock, NULL);
		rl->shards[i].tats = strmap_create();
		rl->shards[i].leases = strmap_create();
	}
	return rl;
}

void ratelimit_destroy(struct ratelimiter *rl)
{
	if (!rl)
		return;
	for (int i = 0; i < SHARDS; i++) {
		strmap_destroy(rl->shards[i].tats, free);
		strmap_destroy(rl->shards[i].leases, free);
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

/* The values of both maps start with an int64_t: when they expire. */
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

static void prune(struct strmap *m, int64_t now)
{
	struct prune p = { now, NULL, 0, 0 };
	strmap_foreach(m, collect_expired, &p);
	for (size_t i = 0; i < p.n; i++) {
		free(strmap_remove(m, p.expired[i]));
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
			prune(s->tats, now);
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

/* Takes up to n requests of key in Redis: out->allowed when at least one
 * was, *granted how many. False when Redis did not answer. */
static bool take_redis(struct ratelimiter *rl, const char *key, int64_t T, int64_t tau, int64_t n,
		       int64_t *granted, struct ratelimit_result *out)
{
	/* By its SHA-1, not its text: Redis neither receives nor hashes the
	 * script's 500 bytes on every request (BENCHMARKS.md, the read path). */
	long long args[] = { T, tau, n }, reply[3];
	if (!redis_script_call(rl->redis_url, REDIS_TIMEOUT_MS, &rl->gcra, key, args, 3, reply, 3))
		return false;
	*granted = reply[0];
	out->allowed = *granted > 0;
	out->remaining = (int)reply[1];
	out->retry_after_ms = ms_ceil(reply[2]);
	return true;
}

/* Serves one request from this instance's lease of key, if it holds one.
 * Else *lead says whether this thread takes the next lease, of *next
 * requests: one thread at a time, so that leases never pile up (what is left
 * of one is dropped when it expires); the others take one request each
 * meanwhile. */
static bool take_leased(struct shard *s, const char *key, int64_t max_lease, int64_t *next,
			bool *lead, struct ratelimit_result *out)
{
	int64_t now = time_mono_us();
	pthread_mutex_lock(&s->lock);
	struct lease *l = strmap_get(s->leases, key);
	bool served = l && l->left > 0 && now < l->expires_us;
	if (served) {
		l->left--;
		out->allowed = true;
		out->remaining = l->remaining + (int)l->left;
		out->retry_after_ms = 0;
	} else if (l && l->refilling) {
		*next = 1;
		*lead = false;
	} else {
		if (!l) {
			if (strmap_size(s->leases) > PRUNE_ABOVE)
				prune(s->leases, now);
			l = xcalloc(1, sizeof(*l));
			strmap_put(s->leases, key, l);
		}
		if (l->size == 0)
			*next = 1; /* the first */
		else if (now < l->expires_us)
			*next = l->size * 2 < max_lease ? l->size * 2
							: max_lease; /* ran out early */
		else
			*next = l->left > 0 && l->size > 1 ? l->size / 2
							   : l->size; /* expired unused */
		l->refilling = true;
		*lead = true;
	}
	pthread_mutex_unlock(&s->lock);
	return served;
}

/* The leading thread's lease arrived (granted of size requests, one of them
 * its own), or did not (granted 0: refused, or Redis did not answer). */
static void keep_lease(struct shard *s, const char *key, int64_t size, int64_t granted,
		       int remaining)
{
	int64_t now = time_mono_us();
	pthread_mutex_lock(&s->lock);
	struct lease *l = strmap_get(s->leases, key);
	if (l) {
		l->refilling = false;
		if (granted > 0) {
			l->left = granted - 1;
			l->size = size;
			l->remaining = remaining;
			l->expires_us = now + LEASE_US;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

/* The shared limit in Redis, through a lease when the limit is high enough. */
static bool take_shared(struct ratelimiter *rl, const char *key, int limit, int64_t T, int64_t tau,
			struct ratelimit_result *out)
{
	int64_t max_lease = limit / LEASE_SHARE, n = 1, granted = 0;
	bool lead = false;
	struct shard *s = &rl->shards[strmap_hash(key) % SHARDS];
	if (max_lease >= 2 && take_leased(s, key, max_lease, &n, &lead, out))
		return true;
	bool ok = take_redis(rl, key, T, tau, n, &granted, out);
	if (lead)
		keep_lease(s, key, n, ok ? granted : 0, out->remaining);
	if (ok && out->allowed)
		out->remaining += (int)(granted - 1);
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
		bool ok = take_shared(rl, shared_key, limit, T, tau, out);
		redis_health_mark(&rl->redis, ok);
		if (ok)
			return;
	}
	take_local(rl, key, T, tau, out);
}
