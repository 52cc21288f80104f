/* hiredis connections, and what users do over them (see
 * include/redis/client.h). A connection per thread for commands; a
 * subscription owns its own. */
#include "redis/client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "crypto/hash.h"
#include "redis_internal.h"
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

long long redis_publish(const char *url, int timeout_ms, const char *channel, const char *message)
{
	redisContext *c = redis_thread_client(url, timeout_ms);
	redisReply *reply = c ? redisCommand(c, "PUBLISH %s %s", channel, message) : NULL;
	long long received = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
	freeReplyObject(reply);
	if (c && received < 0)
		redis_thread_client_drop();
	return received;
}

struct redis_subscription {
	redisContext *c;
};

struct redis_subscription *redis_subscribe(const char *url, int timeout_ms, const char *channel)
{
	redisContext *c = redis_connect(url, timeout_ms);
	if (!c)
		return NULL;
	struct timeval forever = { 0, 0 };
	redisReply *reply = NULL;
	/* Keep-alive probes are TCP's: hiredis refuses them on a unix socket,
	 * which left an instance with RUNOS_REDIS_URL=unix:... never subscribed
	 * (its polls were woken only by the retry's wake-all, once a second). */
	bool ok = redisSetTimeout(c, forever) == REDIS_OK &&
		  (c->connection_type != REDIS_CONN_TCP || redisEnableKeepAlive(c) == REDIS_OK) &&
		  (reply = redisCommand(c, "SUBSCRIBE %s", channel)) &&
		  reply->type == REDIS_REPLY_ARRAY;
	freeReplyObject(reply);
	if (!ok) {
		redisFree(c);
		return NULL;
	}
	struct redis_subscription *s = xcalloc(1, sizeof(*s));
	s->c = c;
	return s;
}

void redis_subscription_read(struct redis_subscription *s,
			     void (*fn)(void *arg, const char *message), void *arg)
{
	void *msg;
	while (redisGetReply(s->c, &msg) == REDIS_OK) {
		redisReply *m = msg;
		if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
		    m->element[2]->type == REDIS_REPLY_STRING)
			fn(arg, m->element[2]->str);
		freeReplyObject(m);
	}
}

void redis_subscription_shutdown(struct redis_subscription *s)
{
	shutdown(s->c->fd, SHUT_RDWR);
}

void redis_subscription_destroy(struct redis_subscription *s)
{
	if (!s)
		return;
	redisFree(s->c);
	free(s);
}

void redis_script_init(struct redis_script *s, const char *source)
{
	s->source = source;
	uint8_t sha1[CRYPTO_SHA1_LEN];
	crypto_sha1(source, strlen(source), sha1);
	crypto_hex(sha1, sizeof(sha1), s->sha1);
}

/* EVALSHA or EVAL (command) of what (the id or the text). */
static redisReply *eval(redisContext *c, const char *command, const char *what, const char *key,
			const long long *args, int nargs)
{
	enum {
		MAX_ARGS = 8
	};
	if (nargs > MAX_ARGS)
		abort();
	const char *argv[4 + MAX_ARGS];
	size_t lens[4 + MAX_ARGS];
	char numbers[MAX_ARGS][24];
	argv[0] = command;
	argv[1] = what;
	argv[2] = "1";
	argv[3] = key;
	for (int i = 0; i < nargs; i++) {
		snprintf(numbers[i], sizeof(numbers[i]), "%lld", args[i]);
		argv[4 + i] = numbers[i];
	}
	for (int i = 0; i < 4 + nargs; i++)
		lens[i] = strlen(argv[i]);
	return redisCommandArgv(c, 4 + nargs, argv, lens);
}

bool redis_script_call(const char *url, int timeout_ms, const struct redis_script *s,
		       const char *key, const long long *args, int nargs, long long *out, int nout)
{
	redisContext *c = redis_thread_client(url, timeout_ms);
	if (!c)
		return false;
	/* A Redis that does not have the script yet (restarted, flushed) says
	 * NOSCRIPT once. */
	redisReply *reply = eval(c, "EVALSHA", s->sha1, key, args, nargs);
	if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(reply);
		reply = eval(c, "EVAL", s->source, key, args, nargs);
	}
	bool ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == (size_t)nout;
	for (int i = 0; ok && i < nout; i++) {
		ok = reply->element[i]->type == REDIS_REPLY_INTEGER;
		if (ok)
			out[i] = reply->element[i]->integer;
	}
	freeReplyObject(reply);
	if (!ok)
		redis_thread_client_drop();
	return ok;
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
