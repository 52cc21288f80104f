/* Private to server/redis/: hiredis connections. */
#ifndef RUNOSD_REDIS_INTERNAL_H
#define RUNOSD_REDIS_INTERNAL_H

#include <hiredis.h>

/* Connects to url within timeout_ms, which then also bounds every command (0:
 * commands wait as long as it takes). NULL when it fails. */
redisContext *redis_connect(const char *url, int timeout_ms);

/* This thread's connection to url, made when it has none (or one to another
 * url); freed when the thread ends. NULL when Redis cannot be reached. */
redisContext *redis_thread_client(const char *url, int timeout_ms);

/* Drops this thread's connection (after an error: the next call reconnects). */
void redis_thread_client_drop(void);

#endif
