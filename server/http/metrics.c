/* Request metrics (see include/http/metrics.h). A fixed table of series, one
 * per route of each listener plus one "unmatched" per listener, filled at
 * start; each request adds to its series with relaxed atomics. The registry
 * belongs to struct server (srv->metrics). */
#include "http/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

#define MAX_SERIES 160
#define STATUS_CLASSES 5 /* 1xx .. 5xx */

/* Upper bounds of the latency buckets, in microseconds. */
static const int64_t bucket_us[] = { 500,    1000,   2500,   5000,    10000,   25000,	50000,
				     100000, 250000, 500000, 1000000, 2500000, 10000000 };
#define BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

struct series {
	const char *listener;
	const struct route *route; /* NULL: unmatched */
	atomic_uint_fast64_t by_class[STATUS_CLASSES];
	atomic_uint_fast64_t buckets[BUCKETS]; /* not cumulative; rendered cumulative */
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t sum_us;
};

/* A listener's series: one per route, in the order of its table, then the
 * unmatched one; a request finds its series by the route's place in the
 * table, not by a search. */
struct listener_series {
	const char *name; /* compared by address: the listener's own string */
	const struct route *routes;
	size_t nroutes, first;
};

#define MAX_LISTENERS 4

/* The names and help texts of enum http_counter, in its order. */
static const struct {
	const char *name, *help;
} counter_info[HTTP_COUNTERS] = {
	[HTTP_COUNTER_SERVICE_REPORTS_IGNORED] = {
		"runosd_agent_service_reports_ignored_total",
		"Service states reported by agents for services they may not report on.",
	},
};

struct http_metrics {
	struct series table[MAX_SERIES];
	atomic_uint_fast64_t counters[HTTP_COUNTERS];
	size_t nseries;		 /* written at registration only */
	atomic_size_t published; /* nseries once registered: what render reads */
	struct listener_series listeners[MAX_LISTENERS];
	atomic_int nlisteners;
};

struct http_metrics *http_metrics_create(void)
{
	return xcalloc(1, sizeof(struct http_metrics));
}

void http_metrics_destroy(struct http_metrics *m)
{
	free(m);
}

static void add_series(struct http_metrics *m, const char *listener, const struct route *route)
{
	m->table[m->nseries].listener = listener;
	m->table[m->nseries].route = route;
	m->nseries++;
}

void http_metrics_register(struct http_metrics *m, const char *listener, const struct route *routes,
			   size_t n)
{
	int i = atomic_load(&m->nlisteners);
	if (i >= MAX_LISTENERS || m->nseries + n + 1 > MAX_SERIES)
		return;
	m->listeners[i] = (struct listener_series){ listener, routes, n, m->nseries };
	for (size_t k = 0; k < n; k++)
		add_series(m, listener, &routes[k]);
	add_series(m, listener, NULL);
	atomic_store(&m->published, m->nseries);
	atomic_store(&m->nlisteners, i + 1);
}

static struct series *find(struct http_metrics *m, const char *listener, const struct route *route)
{
	int n = atomic_load(&m->nlisteners);
	for (int i = 0; i < n; i++) {
		const struct listener_series *l = &m->listeners[i];
		if (l->name != listener)
			continue;
		if (route && route >= l->routes && route < l->routes + l->nroutes)
			return &m->table[l->first + (size_t)(route - l->routes)];
		return &m->table[l->first + l->nroutes];
	}
	return NULL;
}

void http_metrics_record(struct http_metrics *m, const char *listener, const struct route *route,
			 int status, int64_t duration_us)
{
	struct series *s = m ? find(m, listener, route) : NULL;
	if (!s)
		return;
	int cls = status / 100 - 1;
	if (cls >= 0 && cls < STATUS_CLASSES)
		atomic_fetch_add_explicit(&s->by_class[cls], 1, memory_order_relaxed);
	size_t b = 0;
	while (b < BUCKETS && duration_us > bucket_us[b])
		b++;
	if (b < BUCKETS)
		atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_us, (uint_fast64_t)(duration_us > 0 ? duration_us : 0),
				  memory_order_relaxed);
}

void http_metrics_count(struct http_metrics *m, enum http_counter c, uint64_t n)
{
	if (m && c < HTTP_COUNTERS)
		atomic_fetch_add_explicit(&m->counters[c], n, memory_order_relaxed);
}

static void append(char **text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(char **text, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = *text ? strlen(*text) : 0;
	*text = xrealloc(*text, len + (size_t)n + 1);
	memcpy(*text + len, line, (size_t)n + 1);
}

/* The labels of a series: listener, route pattern and method. */
static void labels(const struct series *s, char *out, size_t cap)
{
	snprintf(out, cap, "listener=\"%s\",route=\"%s\",method=\"%s\"", s->listener,
		 s->route ? s->route->pattern : "unmatched", s->route ? s->route->method : "");
}

void http_metrics_render(struct http_metrics *m, char **text)
{
	if (!m) {
		*text = xstrdup("");
		return;
	}
	struct series *table = m->table;
	int n = (int)atomic_load(&m->published);
	char l[256];
	append(text, "# HELP runosd_http_requests_total Requests answered, by route and status "
		     "class.\n# TYPE runosd_http_requests_total counter\n");
	for (int i = 0; i < n; i++) {
		labels(&table[i], l, sizeof(l));
		for (int c = 0; c < STATUS_CLASSES; c++)
			append(text, "runosd_http_requests_total{%s,status=\"%dxx\"} %llu\n", l,
			       c + 1,
			       (unsigned long long)atomic_load_explicit(&table[i].by_class[c],
									memory_order_relaxed));
	}
	append(text, "# HELP runosd_http_request_duration_seconds Time from the first byte of a "
		     "request to its answer.\n"
		     "# TYPE runosd_http_request_duration_seconds histogram\n");
	for (int i = 0; i < n; i++) {
		labels(&table[i], l, sizeof(l));
		uint64_t cumulative = 0;
		for (size_t b = 0; b < BUCKETS; b++) {
			cumulative +=
				atomic_load_explicit(&table[i].buckets[b], memory_order_relaxed);
			append(text,
			       "runosd_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n",
			       l, (double)bucket_us[b] / 1e6, (unsigned long long)cumulative);
		}
		uint64_t count = atomic_load_explicit(&table[i].count, memory_order_relaxed);
		append(text, "runosd_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n",
		       l, (unsigned long long)count);
		append(text, "runosd_http_request_duration_seconds_sum{%s} %.6f\n", l,
		       (double)atomic_load_explicit(&table[i].sum_us, memory_order_relaxed) / 1e6);
		append(text, "runosd_http_request_duration_seconds_count{%s} %llu\n", l,
		       (unsigned long long)count);
	}
	for (int c = 0; c < HTTP_COUNTERS; c++)
		append(text, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counter_info[c].name,
		       counter_info[c].help, counter_info[c].name, counter_info[c].name,
		       (unsigned long long)atomic_load_explicit(&m->counters[c],
								memory_order_relaxed));
}
