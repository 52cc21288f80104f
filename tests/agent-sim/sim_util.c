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

static void out_of_memory(void)
{
	static const char msg[] = "agent-sim: out of memory\n";
	ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)ignored;
	abort();
}

void *sim_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *sim_xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *sim_xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *sim_xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		out_of_memory();
	return p;
}

char *sim_xprintf(const char *fmt, ...)
{
	va_list ap;
	char *out = NULL;

	va_start(ap, fmt);
	int n = vasprintf(&out, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory();
	return out;
}

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
