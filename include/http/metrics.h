/* Request metrics of the listeners for GET /metrics (API.md §8): per route
 * and listener, counts by status class and a latency histogram; and a few
 * counters of events inside requests that no status shows. Recording is a
 * few relaxed atomic increments; rendering reads them without locks.
 * One registry per server (srv->metrics), made in main before the listeners
 * start and destroyed after they stop. Thread safe. */
#ifndef RUNOSD_HTTP_METRICS_H
#define RUNOSD_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "http/route.h"

struct http_metrics;

struct http_metrics *http_metrics_create(void);
/* Accepts NULL. */
void http_metrics_destroy(struct http_metrics *m);

/* Makes the routes of a listener known (at start, before requests). */
void http_metrics_register(struct http_metrics *m, const char *listener, const struct route *routes,
			   size_t n);

/* One answered request; route NULL: it matched none. m NULL: not counted. */
void http_metrics_record(struct http_metrics *m, const char *listener, const struct route *route,
			 int status, int64_t duration_us);

/* The event counters: each one is a Prometheus counter of its own, named in
 * server/http/metrics.c. */
enum http_counter {
	/* Entries of accepted POST /agent/v1/service-status calls that named no
	 * service the reporting node may report on (another cluster's, another
	 * account's, unknown, or being deleted). */
	HTTP_COUNTER_SERVICE_REPORTS_IGNORED,
	HTTP_COUNTERS
};

/* Adds n to counter c. m NULL: not counted. */
void http_metrics_count(struct http_metrics *m, enum http_counter c, uint64_t n);

/* Appends the request metrics and the counters in the Prometheus text format
 * to *text (a malloc'd string, reallocated). */
void http_metrics_render(struct http_metrics *m, char **text);

#endif
