/* Rate limits (API.md §1): GCRA (the generic cell rate algorithm: a limit of
 * n requests per period, as a burst of n that refills evenly). With Redis the
 * state is shared by every instance and one round trip decides (a Lua script
 * using Redis's clock); a key whose limit is high takes leases of up to 1 %
 * of it per round trip (ratelimit.c says how; never more than the limit).
 * Without Redis, or while it is down, each instance limits on its own, and
 * Redis is tried again a second later. Thread safe. */
#ifndef RUNOSD_RATELIMIT_RATELIMIT_H
#define RUNOSD_RATELIMIT_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimiter;

struct ratelimit_result {
	bool allowed;
	int limit;		/* n */
	int remaining;		/* requests left now */
	int64_t retry_after_ms; /* refused: when one is allowed again */
};

/* redis_url may be NULL: local limits only. */
struct ratelimiter *ratelimit_create(const char *redis_url);
void ratelimit_destroy(struct ratelimiter *rl);

/* Takes one request of key ("token:...", "address:...", "login:...") under a
 * limit of limit requests per period_ms. */
void ratelimit_take(struct ratelimiter *rl, const char *key, int limit, int64_t period_ms,
		    struct ratelimit_result *out);

#endif
