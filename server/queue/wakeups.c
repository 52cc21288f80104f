/* Wake-ups of parked polls across instances (see
 * include/queue/wakeups.h). */
#include "queue/wakeups.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "db/listen.h"
#include "db/work_store.h"
#include "http/server.h"
#include "redis/client.h"
#include "runosd.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define CHANNEL "runos:work"
#define PUBLISH_TIMEOUT_MS 50
#define CONNECT_TIMEOUT_MS 500
#define RESUBSCRIBE_MS 1000

struct queue_wakeups {
	struct server *srv;
	char *redis_url; /* NULL: no Redis, NOTIFY only */
	struct redis_health publishing;
	struct db_listener *listener;
	pthread_t subscriber;
	bool subscribing;
	pthread_mutex_t lock;
	pthread_cond_t stop_cond;
	bool stopping;
	redisContext *subscription; /* shut down to stop the subscriber */
};

/* keys: "aid/nid" separated by spaces; each node's parked polls here woken. */
static void wake_keys(void *arg, const char *keys)
{
	struct queue_wakeups *w = arg;
	char key[64];
	while (*keys) {
		size_t n = strcspn(keys, " ");
		if (n > 0 && n < sizeof(key)) {
			memcpy(key, keys, n);
			key[n] = '\0';
			http_server_wake(w->srv->agent_http, key);
		}
		keys += n;
		keys += strspn(keys, " ");
	}
}

/* The pool's publisher, after a commit, on the thread that committed. */
static void publish(void *arg, const char *keys)
{
	struct queue_wakeups *w = arg;
	if (!redis_health_down(&w->publishing)) {
		redisContext *c = redis_thread_client(w->redis_url, PUBLISH_TIMEOUT_MS);
		redisReply *reply = c ? redisCommand(c, "PUBLISH %s %s", CHANNEL, keys) : NULL;
		bool ok = reply && reply->type == REDIS_REPLY_INTEGER;
		/* Every instance subscribes, this one too: no receiver at all means
		 * the subscriptions are down (lost, being made again), and the
		 * wake-up goes through PostgreSQL instead of nowhere. */
		bool received = ok && reply->integer > 0;
		freeReplyObject(reply);
		if (c && !ok)
			redis_thread_client_drop();
		redis_health_mark(&w->publishing, ok);
		if (received)
			return;
	}
	if (db_work_notify(w->srv->db, keys) != DB_OK)
		log_warn("a wake-up was not sent: those polls find their work at the end of their "
			 "wait");
}

/* One subscription until it fails or the server stops; true when it was
 * made. */
static bool subscribe_once(struct queue_wakeups *w, bool missed)
{
	redisContext *c = redis_connect(w->redis_url, CONNECT_TIMEOUT_MS);
	if (!c)
		return false;
	struct timeval forever = { 0, 0 };
	redisReply *reply = NULL;
	/* Keep-alive probes are TCP's: hiredis refuses them on a unix socket,
	 * which left an instance with RUNOS_REDIS_URL=unix:... never subscribed
	 * (its polls were woken only by the retry's wake-all, once a second). */
	bool ok = redisSetTimeout(c, forever) == REDIS_OK &&
		  (c->connection_type != REDIS_CONN_TCP || redisEnableKeepAlive(c) == REDIS_OK) &&
		  (reply = redisCommand(c, "SUBSCRIBE %s", CHANNEL)) &&
		  reply->type == REDIS_REPLY_ARRAY;
	freeReplyObject(reply);
	pthread_mutex_lock(&w->lock);
	ok = ok && !w->stopping;
	if (ok)
		w->subscription = c;
	pthread_mutex_unlock(&w->lock);
	if (ok) {
		if (missed) /* published while we were away: everyone looks again */
			http_server_wake_all(w->srv->agent_http);
		void *msg;
		while (redisGetReply(c, &msg) == REDIS_OK) {
			redisReply *m = msg;
			if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
			    m->element[2]->type == REDIS_REPLY_STRING)
				wake_keys(w, m->element[2]->str);
			freeReplyObject(m);
		}
		pthread_mutex_lock(&w->lock);
		w->subscription = NULL;
		pthread_mutex_unlock(&w->lock);
	}
	redisFree(c);
	return ok;
}

static void *subscribe_loop(void *arg)
{
	struct queue_wakeups *w = arg;
	bool missed = false;
	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		pthread_mutex_unlock(&w->lock);
		bool was_up = subscribe_once(w, missed);
		pthread_mutex_lock(&w->lock);
		if (w->stopping)
			break;
		if (was_up || !missed)
			log_warn("no Redis subscription to %s: trying again every second", CHANNEL);
		missed = true;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += RESUBSCRIBE_MS / 1000;
		pthread_cond_timedwait(&w->stop_cond, &w->lock, &until);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct queue_wakeups *queue_wakeups_create(struct server *srv)
{
	struct queue_wakeups *w = xcalloc(1, sizeof(*w));
	w->srv = srv;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->stop_cond, NULL);
	if (srv->cfg.redis_url) {
		w->redis_url = xstrdup(srv->cfg.redis_url);
		w->publishing.when_down = "wake-ups of parked polls go through PostgreSQL NOTIFY "
					  "until it does";
		w->publishing.when_up = "wake-ups of parked polls go through Redis";
		db_pool_set_wake_publisher(srv->db, publish, w);
	}
	return w;
}

void queue_wakeups_listen(struct queue_wakeups *w)
{
	w->listener = db_listen_start(w->srv->cfg.database_url, "runos_work", wake_keys, w);
	if (w->redis_url) {
		if (pthread_create(&w->subscriber, NULL, subscribe_loop, w) != 0)
			abort();
		w->subscribing = true;
	}
}

void queue_wakeups_stop_listening(struct queue_wakeups *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	if (w->subscription)
		shutdown(w->subscription->fd, SHUT_RDWR);
	pthread_cond_signal(&w->stop_cond);
	pthread_mutex_unlock(&w->lock);
	if (w->subscribing)
		pthread_join(w->subscriber, NULL);
	w->subscribing = false;
	db_listen_stop(w->listener);
	w->listener = NULL;
}

void queue_wakeups_destroy(struct queue_wakeups *w)
{
	if (!w)
		return;
	queue_wakeups_stop_listening(w);
	if (w->redis_url)
		db_pool_set_wake_publisher(w->srv->db, NULL, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->stop_cond);
	free(w->redis_url);
	free(w);
}
