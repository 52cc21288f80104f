/* Whether the Redis of RUNOS_REDIS_URL answers (for /metrics). */
#ifndef RUNOSD_REDIS_PING_H
#define RUNOSD_REDIS_PING_H

#include <stdbool.h>

/* Connects to url ("redis://host:port/db" or "unix:/path"), sends PING and
 * waits at most timeout_ms for PONG. */
bool redis_ping(const char *url, int timeout_ms);

#endif
