/* Redis (RUNOS_REDIS_URL) for its users (rate limits, work wake-ups, the
 * /metrics ping), without hiredis types: the few things they do with it —
 * publish, subscribe, call a script — and one way to stop asking a Redis that
 * does not answer. Commands from the request path go over one connection per
 * thread (hiredis contexts are not thread safe), made when the thread first
 * needs it and again after an error; urls are "redis://host:port/db" or
 * "unix:/path" (user and password are not sent). */
#ifndef RUNOSD_REDIS_CLIENT_H
#define RUNOSD_REDIS_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Publishes message on channel within timeout_ms, over this thread's
 * connection. The number of subscribers that received it, or -1 when Redis
 * did not answer. */
long long redis_publish(const char *url, int timeout_ms, const char *channel, const char *message)
	__attribute__((warn_unused_result));

/* A subscription to one channel on a connection of its own; one thread reads
 * it, another may shut it down. */
struct redis_subscription;

/* Connects within timeout_ms and subscribes; reads then wait as long as it
 * takes (TCP keep-alive probes find a dead peer). NULL when that fails. */
struct redis_subscription *redis_subscribe(const char *url, int timeout_ms, const char *channel);

/* Waits for messages and passes each to fn(arg, message) until the connection
 * ends (an error, Redis gone, or redis_subscription_shutdown). */
void redis_subscription_read(struct redis_subscription *s,
			     void (*fn)(void *arg, const char *message), void *arg);

/* Ends a redis_subscription_read waiting on another thread. */
void redis_subscription_shutdown(struct redis_subscription *s);

/* Accepts NULL. */
void redis_subscription_destroy(struct redis_subscription *s);

/* A Lua script, called by its SHA-1 (EVALSHA: Redis neither receives nor
 * hashes its text on every call) and sent whole only when Redis lacks it. */
struct redis_script {
	const char *source; /* static text */
	char sha1[2 * 20 + 1];
};
void redis_script_init(struct redis_script *s, const char *source);

/* Runs the script with one key and nargs integer arguments within
 * timeout_ms, over this thread's connection; true when it answered an array
 * of nout integers, which go to out. */
bool redis_script_call(const char *url, int timeout_ms, const struct redis_script *s,
		       const char *key, const long long *args, int nargs, long long *out, int nout)
	__attribute__((warn_unused_result));

/* Whether a user of Redis should leave it alone for now: after a failure it
 * is tried again a second later. The change of state is logged once, with
 * the user's own words for what happens meanwhile and after. */
struct redis_health {
	atomic_int_fast64_t down_until_ms;
	atomic_bool warned;
	const char *when_down; /* "rate limits are per instance until it does" */
	const char *when_up;   /* "rate limits are shared" */
};

bool redis_health_down(struct redis_health *h);
void redis_health_mark(struct redis_health *h, bool up);

#endif
