/* The header timeout of a listener (RUNOS_HTTP_HEADER_TIMEOUT): a client has
 * that long from opening a connection to sending its first request's line and
 * headers in full, and on a kept-alive connection the idle timeout (or the
 * header timeout, if longer) from the previous answer to the next request's
 * headers. libmicrohttpd 0.9.75 only has an idle timeout, which a client
 * sending a byte a second (slowloris) never meets.
 *
 * Each connection's struct http_conn is in one list under a mutex from its
 * start to its close; its deadline is atomic, set without the lock on every
 * request. A thread of our own looks at the list twice a second
 * and shuts down the socket of a connection past its deadline; libmicrohttpd
 * then sees the end of the stream and closes the connection on its own thread.
 * The socket is reached through a dup of its descriptor, closed only when the
 * connection is: the number cannot be reused meanwhile by another connection. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_internal.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define SWEEP_MS 500

struct header_deadlines {
	int64_t header_ms, rearm_ms;
	pthread_mutex_t lock;
	pthread_cond_t stop_cond;
	bool stop;
	struct http_conn *head; /* doubly linked through prev/next */
	pthread_t thread;
};

static void sweep(struct header_deadlines *d)
{
	int64_t now = time_mono_ms();
	for (struct http_conn *c = d->head; c; c = c->next) {
		int64_t due = atomic_load(&c->header_deadline_ms);
		if (due == 0 || now < due ||
		    !atomic_compare_exchange_strong(&c->header_deadline_ms, &due, 0))
			continue;
		if (c->fd >= 0 && shutdown(c->fd, SHUT_RDWR) == 0)
			log_debug("closed a connection whose request headers were late "
				  "(RUNOS_HTTP_HEADER_TIMEOUT)");
	}
}

static void *sweeper(void *arg)
{
	struct header_deadlines *d = arg;
	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += SWEEP_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->stop_cond, &d->lock, &until);
		if (!d->stop)
			sweep(d);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

struct header_deadlines *http_header_deadlines_create(int header_seconds, int idle_seconds)
{
	if (header_seconds <= 0)
		return NULL;
	struct header_deadlines *d = xcalloc(1, sizeof(*d));
	d->header_ms = (int64_t)header_seconds * 1000;
	d->rearm_ms =
		(int64_t)(idle_seconds > header_seconds ? idle_seconds : header_seconds) * 1000;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&d->stop_cond, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&d->thread, NULL, sweeper, d) != 0) {
		log_error("cannot start the header timeout thread: %s", strerror(errno));
		abort();
	}
	return d;
}

void http_header_deadlines_destroy(struct header_deadlines *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->stop_cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_cond_destroy(&d->stop_cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void http_header_deadline_open(struct header_deadlines *d, struct http_conn *c, int fd)
{
	c->fd = -1;
	if (!d)
		return;
	c->fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	pthread_mutex_lock(&d->lock);
	atomic_store(&c->header_deadline_ms, time_mono_ms() + d->header_ms);
	c->prev = NULL;
	c->next = d->head;
	if (d->head)
		d->head->prev = c;
	d->head = c;
	pthread_mutex_unlock(&d->lock);
}

/* Per request, without the lock: the sweeper reads the deadline atomically. */
static void set_deadline(struct header_deadlines *d, struct http_conn *c, int64_t deadline_ms)
{
	if (d && c)
		atomic_store(&c->header_deadline_ms, deadline_ms);
}

void http_header_deadline_met(struct header_deadlines *d, struct http_conn *c)
{
	set_deadline(d, c, 0);
}

void http_header_deadline_rearm(struct header_deadlines *d, struct http_conn *c)
{
	if (d)
		set_deadline(d, c, time_mono_ms() + d->rearm_ms);
}

void http_header_deadline_close(struct header_deadlines *d, struct http_conn *c)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		d->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&d->lock);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
