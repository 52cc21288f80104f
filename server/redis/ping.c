/* Redis liveness with hiredis (see include/redis/ping.h). */
#include "redis/ping.h"

#include <stdlib.h>
#include <string.h>

#include "redis_internal.h"

bool redis_ping(const char *url, int timeout_ms)
{
	if (!url)
		return false;
	redisContext *c = redis_connect(url, timeout_ms);
	bool up = false;
	if (c) {
		redisReply *reply = redisCommand(c, "PING");
		up = reply && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
		freeReplyObject(reply);
	}
	redisFree(c);
	return up;
}
