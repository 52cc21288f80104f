/* Small helpers of agent-sim: allocation that aborts on exhaustion, the clock,
 * rate-limited failure messages, counters and the summary line. The failure
 * message budget is the one piece of mutable state besides the stop flag. */
#include "sim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define FAILURE_MESSAGES 30

static int failure_messages_left = FAILURE_MESSAGES;

double sim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void sim_log_failure(const char *fmt, ...)
{
	va_list ap;

	if (failure_messages_left <= 0)
		return;
	fputs("agent-sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (--failure_messages_left == 0)
		fputs("agent-sim: further failures are counted, not shown\n", stderr);
}

void sim_count(json_t *codes, const char *key)
{
	json_int_t n = json_integer_value(json_object_get(codes, key));

	json_object_set_new(codes, key, json_integer(n + 1));
}

void sim_print_summary(json_t *obj)
{
	char *line = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(12));

	if (line) {
		puts(line);
		free(line);
	}
	fflush(stdout);
	json_decref(obj);
}

json_t *sim_json_ms(double x)
{
	long long thousandths = (long long)(x * 1000.0 + (x < 0 ? -0.5 : 0.5));

	return json_real((double)thousandths / 1000.0);
}

void sim_raise_fd_limit(size_t wanted)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		fprintf(stderr, "agent-sim: getrlimit: %s\n", strerror(errno));
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			fprintf(stderr, "agent-sim: setrlimit: %s\n", strerror(errno));
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < wanted)
		fprintf(stderr,
			"agent-sim: warning: %zu file descriptors wanted, the limit is %llu; "
			"some agents will fail to connect\n",
			wanted, (unsigned long long)rl.rlim_cur);
}

/* ---- the schedule heap ------------------------------------------------------ */

static double heap_due(const struct sim_heap *h, size_t i)
{
	return *(const double *)((const char *)h->items[i] + h->due_offset);
}

static void heap_swap(struct sim_heap *h, size_t i, size_t j)
{
	void *t = h->items[i];
	h->items[i] = h->items[j];
	h->items[j] = t;
}

void sim_heap_init(struct sim_heap *h, size_t cap, size_t due_offset)
{
	h->items = xcalloc(cap, sizeof(*h->items));
	h->len = 0;
	h->due_offset = due_offset;
}

void sim_heap_free(struct sim_heap *h)
{
	free(h->items);
	h->items = NULL;
	h->len = 0;
}

void sim_heap_push(struct sim_heap *h, void *item)
{
	size_t i = h->len++;
	h->items[i] = item;
	while (i > 0 && heap_due(h, i) < heap_due(h, (i - 1) / 2)) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

void *sim_heap_pop(struct sim_heap *h)
{
	void *top = h->items[0];
	size_t i = 0;
	h->items[0] = h->items[--h->len];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;
		if (l < h->len && heap_due(h, l) < heap_due(h, min))
			min = l;
		if (r < h->len && heap_due(h, r) < heap_due(h, min))
			min = r;
		if (min == i)
			return top;
		heap_swap(h, i, min);
		i = min;
	}
}

bool sim_heap_next_due(const struct sim_heap *h, double *due_ms)
{
	if (h->len == 0)
		return false;
	*due_ms = heap_due(h, 0);
	return true;
}

static int compare_doubles(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return (a > b) - (a < b);
}

/* Nearest-rank percentile of sorted values: the smallest value that at least
 * p percent of them do not exceed. */
static double percentile(const double *sorted, size_t n, unsigned p)
{
	if (n == 0)
		return 0;
	size_t rank = (p * n + 99) / 100;
	return sorted[rank > 0 ? rank - 1 : 0];
}

void sim_set_latencies(json_t *obj, double *v, size_t n)
{
	if (n > 0)
		qsort(v, n, sizeof(*v), compare_doubles);
	json_object_set_new(obj, "p50_ms", sim_json_ms(percentile(v, n, 50)));
	json_object_set_new(obj, "p99_ms", sim_json_ms(percentile(v, n, 99)));
	json_object_set_new(obj, "max_ms", sim_json_ms(n > 0 ? v[n - 1] : 0));
}
