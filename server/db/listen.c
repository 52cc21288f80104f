/* LISTEN in a thread (see include/db/listen.h). */
#include "db/listen.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/xmalloc.h"

#define POLL_MS 250
#define RECONNECT_MS 500

struct db_listener {
	char *conninfo;
	char channel[64];
	void (*fn)(void *arg, const char *payload);
	void *arg;
	atomic_bool stopping;
	pthread_t thread;
};

static PGconn *connect_and_listen(struct db_listener *l)
{
	/* Bounded like the pool's connects (the URL's own values win). */
	static const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *values[] = { "2", "runosd-listen", l->conninfo, NULL };
	PGconn *conn = PQconnectdbParams(keys, values, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		PQfinish(conn);
		return NULL;
	}
	char *channel = PQescapeIdentifier(conn, l->channel, strlen(l->channel));
	char sql[128];
	snprintf(sql, sizeof(sql), "LISTEN %s", channel ? channel : "\"\"");
	PQfreemem(channel);
	PGresult *res = PQexec(conn, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok) {
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static void pause_ms(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

static void *run(void *arg)
{
	struct db_listener *l = arg;
	PGconn *conn = NULL;
	bool warned = false;
	while (!atomic_load(&l->stopping)) {
		if (!conn) {
			conn = connect_and_listen(l);
			if (!conn) {
				if (!warned)
					log_warn("LISTEN %s: cannot connect; retrying", l->channel);
				warned = true;
				pause_ms(RECONNECT_MS);
				continue;
			}
			warned = false;
		}
		struct pollfd pfd = { .fd = PQsocket(conn), .events = POLLIN };
		int ready = poll(&pfd, 1, POLL_MS);
		if (ready > 0 && PQconsumeInput(conn) == 0) {
			PQfinish(conn);
			conn = NULL;
			continue;
		}
		PGnotify *n;
		while ((n = PQnotifies(conn)) != NULL) {
			l->fn(l->arg, n->extra);
			PQfreemem(n);
		}
	}
	PQfinish(conn);
	return NULL;
}

struct db_listener *db_listen_start(const char *conninfo, const char *channel,
				    void (*fn)(void *arg, const char *payload), void *arg)
{
	struct db_listener *l = xcalloc(1, sizeof(*l));
	l->conninfo = xstrdup(conninfo);
	snprintf(l->channel, sizeof(l->channel), "%s", channel);
	l->fn = fn;
	l->arg = arg;
	if (pthread_create(&l->thread, NULL, run, l) != 0)
		abort();
	return l;
}

void db_listen_stop(struct db_listener *l)
{
	if (!l)
		return;
	atomic_store(&l->stopping, true);
	pthread_join(l->thread, NULL);
	free(l->conninfo);
	free(l);
}
