/* hiredis connections to the Redis of RUNOS_REDIS_URL, shared by its users
 * (rate limits, work wake-ups, the /metrics ping): one way to connect, one
 * connection per thread (hiredis contexts are not thread safe), and one way
 * to stop asking a Redis that does not answer. */
#ifndef RUNOSD_REDIS_CLIENT_H
#define RUNOSD_REDIS_CLIENT_H

#include <hiredis.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Connects to url ("redis://host:port/db" or "unix:/path"; user and password
 * are not sent) within timeout_ms, which then also bounds every command (0:
 * commands wait as long as it takes). NULL when it fails. */
redisContext *redis_connect(const char *url, int timeout_ms);

/* This thread's connection to url, made when it has none (or one to another
 * url); freed when the thread ends. NULL when Redis cannot be reached. */
redisContext *redis_thread_client(const char *url, int timeout_ms);

/* Drops this thread's connection (after an error: the next call reconnects). */
void redis_thread_client_drop(void);

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
