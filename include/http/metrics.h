/* Request metrics of the listeners for GET /metrics (API.md §8): per route
 * and listener, counts by status class and a latency histogram. Recording is
 * a few relaxed atomic increments; rendering reads them without locks.
 * Thread safe. */
#ifndef RUNOSD_HTTP_METRICS_H
#define RUNOSD_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "http/route.h"

/* Makes the routes of a listener known (at start, before requests). */
void http_metrics_register(const char *listener, const struct route *routes, size_t n);

/* One answered request; route NULL: it matched none. */
void http_metrics_record(const char *listener, const struct route *route, int status,
			 int64_t duration_us);

/* Appends the request metrics in the Prometheus text format to *text (a
 * malloc'd string, reallocated). */
void http_metrics_render(char **text);

#endif
