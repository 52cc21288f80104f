/* Wake-ups of parked polls across instances (see
 * include/queue/wakeups.h). */
#include "queue/wakeups.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
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
	struct redis_subscription *subscription; /* shut down to stop the subscriber */
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
		long long receivers =
			redis_publish(w->redis_url, PUBLISH_TIMEOUT_MS, CHANNEL, keys);
		/* Every instance subscribes, this one too: no receiver at all means
		 * the subscriptions are down (lost, being made again), and the
		 * wake-up goes through PostgreSQL instead of nowhere. */
		redis_health_mark(&w->publishing, receivers >= 0);
		if (receivers > 0)
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
	struct redis_subscription *sub = redis_subscribe(w->redis_url, CONNECT_TIMEOUT_MS, CHANNEL);
	pthread_mutex_lock(&w->lock);
	bool ok = sub && !w->stopping;
	if (ok)
		w->subscription = sub;
	pthread_mutex_unlock(&w->lock);
	if (ok) {
		if (missed) /* published while we were away: everyone looks again */
			http_server_wake_all(w->srv->agent_http);
		redis_subscription_read(sub, wake_keys, w);
		pthread_mutex_lock(&w->lock);
		w->subscription = NULL;
		pthread_mutex_unlock(&w->lock);
	}
	redis_subscription_destroy(sub);
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
		redis_subscription_shutdown(w->subscription);
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
