/* hiredis connections (see include/redis/client.h). */
#include "redis/client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "util/log.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define RETRY_MS 1000

redisContext *redis_connect(const char *url, int timeout_ms)
{
	struct timeval timeout = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
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
	if (c && !c->err && (timeout_ms == 0 || redisSetTimeout(c, timeout) == REDIS_OK))
		return c;
	redisFree(c);
	return NULL;
}

struct thread_client {
	redisContext *c;
	char *url;
};
static pthread_key_t client_key;
static pthread_once_t client_key_once = PTHREAD_ONCE_INIT;

static void free_client(void *value)
{
	struct thread_client *t = value;
	redisFree(t->c);
	free(t->url);
	free(t);
}

static void make_client_key(void)
{
	if (pthread_key_create(&client_key, free_client) != 0)
		abort();
}

static struct thread_client *thread_client(void)
{
	pthread_once(&client_key_once, make_client_key);
	struct thread_client *t = pthread_getspecific(client_key);
	if (!t) {
		t = xcalloc(1, sizeof(*t));
		if (pthread_setspecific(client_key, t) != 0)
			abort();
	}
	return t;
}

redisContext *redis_thread_client(const char *url, int timeout_ms)
{
	struct thread_client *t = thread_client();
	if (t->c && strcmp(t->url, url) != 0)
		redis_thread_client_drop();
	if (!t->c) {
		t->c = redis_connect(url, timeout_ms);
		free(t->url);
		t->url = t->c ? xstrdup(url) : NULL;
	}
	return t->c;
}

void redis_thread_client_drop(void)
{
	struct thread_client *t = thread_client();
	redisFree(t->c);
	t->c = NULL;
	free(t->url);
	t->url = NULL;
}

bool redis_health_down(struct redis_health *h)
{
	return time_mono_ms() < atomic_load(&h->down_until_ms);
}

void redis_health_mark(struct redis_health *h, bool up)
{
	if (!up) {
		atomic_store(&h->down_until_ms, time_mono_ms() + RETRY_MS);
		if (!atomic_exchange(&h->warned, true))
			log_warn("Redis does not answer: %s", h->when_down);
	} else if (atomic_exchange(&h->warned, false)) {
		log_info("Redis answers again: %s", h->when_up);
	}
}
