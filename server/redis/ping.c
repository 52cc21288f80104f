/* Redis liveness with hiredis (see include/redis/ping.h). */
#include "redis/ping.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static redisContext *connect_url(const char *url, struct timeval timeout)
{
	if (strncmp(url, "unix:", 5) == 0)
		return redisConnectUnixWithTimeout(url + 5, timeout);
	const char *hostpart = strncmp(url, "redis://", 8) == 0 ? url + 8 : url;
	const char *at = strchr(hostpart, '@');
	if (at)
		hostpart = at + 1;
	char host[256];
	int port = 6379;
	size_t n = strcspn(hostpart, ":/");
	snprintf(host, sizeof(host), "%.*s", (int)n, hostpart);
	if (hostpart[n] == ':')
		port = atoi(hostpart + n + 1);
	return redisConnectWithTimeout(host, port, timeout);
}

bool redis_ping(const char *url, int timeout_ms)
{
	if (!url)
		return false;
	struct timeval timeout = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext *c = connect_url(url, timeout);
	bool up = false;
	if (c && !c->err && redisSetTimeout(c, timeout) == REDIS_OK) {
		redisReply *reply = redisCommand(c, "PING");
		up = reply && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
		freeReplyObject(reply);
	}
	redisFree(c);
	return up;
}
