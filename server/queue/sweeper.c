/* The lease sweep (see include/queue/sweeper.h). */
#include "queue/sweeper.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "db/work_store.h"
#include "http/server.h"
#include "runosd.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define SWEEP_MS 500

struct queue_sweeper {
	struct server *srv;
	pthread_t sweeper;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
};

/* "aid/nid": wake that node's parked polls on this instance. */
static void wake(void *arg, const char *key)
{
	struct queue_sweeper *w = arg;
	http_server_wake(w->srv->agent_http, key);
}

static void *sweep_loop(void *arg)
{
	struct queue_sweeper *w = arg;
	int64_t since_us = time_now_us();
	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += SWEEP_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cond, &w->lock, &until);
		pthread_mutex_unlock(&w->lock);
		/* Due times are compared on the database's clock, a tick back. */
		int64_t now = time_now_us();
		enum db_result r = db_work_sweep(w->srv->db, since_us - SWEEP_MS * 1000, wake, w);
		if (r == DB_OK)
			since_us = now;
		else if (r != DB_UNAVAILABLE)
			log_warn("the instruction sweep failed; trying again");
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct queue_sweeper *queue_sweeper_start(struct server *srv)
{
	struct queue_sweeper *w = xcalloc(1, sizeof(*w));
	w->srv = srv;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->sweeper, NULL, sweep_loop, w) != 0)
		abort();
	return w;
}

void queue_sweeper_stop(struct queue_sweeper *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->sweeper, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
