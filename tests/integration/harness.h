/* Integration test harness: runs the real runosd binary as a child process
 * against the PostgreSQL and Redis that scripts/dev.sh test provides (through
 * the RUNOS_TEST_* variables), and talks to it over HTTP with libcurl.
 *
 * The library part (harness.c) starts and stops servers, runs runosd
 * commands, sends requests, signs users up, and reaches the database with
 * libpq for checks a client cannot make. The checking part (the static inline
 * functions and macros at the end) counts into tests/testlib.h, whose counters
 * belong to the test program that includes this header.
 *
 * Threads: servers and commands are started from the main thread only (a
 * child is killed when the thread that forked it ends). Requests may be sent
 * from any thread; each thread keeps one libcurl handle, so its connections
 * are kept alive between requests. */
#ifndef RUNOSD_IT_HARNESS_H
#define RUNOSD_IT_HARNESS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* ---- environment ------------------------------------------------------- */

/* What scripts/dev.sh test gives every test program. */
struct it_env {
	const char *bin;		/* RUNOS_TEST_BIN: absolute path of runosd */
	const char *database_url;	/* RUNOS_TEST_DATABASE_URL */
	const char *admin_database_url; /* RUNOS_TEST_ADMIN_DATABASE_URL (db postgres) */
	const char *redis_url;		/* RUNOS_TEST_REDIS_URL */
	const char *pg_stop, *pg_start; /* RUNOS_TEST_PG_STOP / _START, for system() */
	const char *source_root;	/* RUNOS_TEST_SOURCE_ROOT */
	const char *tmpdir;		/* RUNOS_TEST_TMPDIR */
	const char *master_key;		/* RUNOS_TEST_MASTER_KEY: the test database's */
};
extern struct it_env it_env;

/* Reads the environment and initialises libcurl. False, with a message on
 * stderr, when a variable is missing: the program must then fail. */
bool it_init(const char *suite);

/* ---- servers ----------------------------------------------------------- */

struct it_server;

/* Starts `runosd serve` with a clean environment: RUNOS_DATABASE_URL,
 * RUNOS_HTTP_ADDR and RUNOS_AGENT_ADDR on free ports of 127.0.0.1,
 * RUNOS_REDIS_URL, RUNOS_LOG_LEVEL=info, RUNOS_STATE_DIR (a fresh directory),
 * RUNOS_DB_WAIT=5; extra (NULL-terminated, may be NULL) holds "NAME=value" to
 * add or override and "NAME" to remove. Output goes to a log file in
 * RUNOS_TEST_TMPDIR. Waits up to 15 s for GET /healthz to answer 200; NULL
 * (with a message naming the log, whose tail it_finish prints) when it does not. */
struct it_server *it_server_start(const char *name, const char *const *extra);

/* SIGTERM, then waits (SIGKILL after 15 s). Returns the exit code, or 128 +
 * signal when killed by one; for a process that had already ended, how it
 * ended. */
int it_server_stop(struct it_server *s);

/* Sends a signal without waiting. */
void it_server_signal(struct it_server *s, int sig);

/* Waits up to timeout_ms for the process to end; exit code as above, or -2
 * when it is still running. */
int it_server_wait(struct it_server *s, int timeout_ms);

/* The process has not exited. */
bool it_server_alive(struct it_server *s);

int it_server_port(const struct it_server *s);
int it_server_agent_port(const struct it_server *s);
/* Its process id (0 once it has been reaped). */
pid_t it_server_pid(const struct it_server *s);
const char *it_server_log_path(const struct it_server *s);

/* The whole log file as a string (free it), or NULL. */
char *it_server_log(const struct it_server *s);

/* Prints, for every server this program started, the log's path and its last
 * 30 lines (on stderr). */
void it_dump_server_logs(void);

/* Stops (SIGKILL) every server still running. Registered with atexit too. */
void it_kill_all_servers(void);

/* ---- commands ---------------------------------------------------------- */

struct it_cmd {
	int code; /* exit code; 128 + signal; -1 when it had to be killed */
	bool timed_out;
	double seconds; /* wall time until it ended */
	char *output;	/* stdout and stderr interleaved; free with it_cmd_free */
};

struct it_proc;

/* Starts runosd with args (NULL-terminated, without argv[0]) and the same
 * environment as it_server_start builds, changed by extra. */
struct it_proc *it_cmd_start(const char *const *args, const char *const *extra);

/* Waits up to timeout_ms (then SIGKILL) and fills out; frees proc. */
void it_cmd_finish(struct it_proc *proc, int timeout_ms, struct it_cmd *out);

/* it_cmd_start and it_cmd_finish. */
void it_run(const char *const *args, const char *const *extra, int timeout_ms, struct it_cmd *out);
void it_cmd_free(struct it_cmd *c);

/* ---- a Redis of the test's own ------------------------------------------ */

/* For tests that stop Redis under load (the shared RUNOS_TEST_REDIS_URL is
 * never stopped): a redis-server on a free port of 127.0.0.1, without
 * persistence, killed with the test program. */
struct it_redis {
	int port; /* chosen by the first start, kept by restarts */
	pid_t pid;
	char url[64];	      /* redis://127.0.0.1:<port>/0 */
	char socket_url[160]; /* unix:<RUNOS_TEST_TMPDIR>/redis-<port>.sock, the same server */
};

/* Starts it (again); false when it does not answer PING within 5 s. */
bool it_redis_start(struct it_redis *r);
/* SIGKILL. */
void it_redis_stop(struct it_redis *r);
bool it_redis_answers(const struct it_redis *r);

/* ---- HTTP -------------------------------------------------------------- */

struct it_header {
	char *name, *value;
};

struct it_resp {
	long status;	      /* 0: no response */
	int curl_code;	      /* CURLE_OK when a response was read */
	char curl_error[256]; /* libcurl's message when curl_code != 0 */
	char *body;	      /* NUL-terminated; body_len excludes the NUL */
	size_t body_len;
	json_t *json; /* the body parsed, or NULL */
	struct it_header *headers;
	int nheaders;
	double seconds; /* total time of the request */
	long connects;	/* new connections this request opened */
	char what[200]; /* "GET /path", for messages */
};

struct it_req {
	const char *method; /* default GET */
	const char *path;
	const char *token;	    /* Authorization: Bearer <token> when not NULL or "" */
	const char *body;	    /* NULL: none */
	size_t body_len;	    /* 0: strlen(body) */
	const char *content_type;   /* default application/json when there is a body; "" for none */
	const char *const *headers; /* NULL-terminated "Name: value" lines, may be NULL */
	bool chunked;		    /* send the body without Content-Length */
	bool expect_continue;	    /* send Expect: 100-continue (default: no Expect) */
	long timeout_ms;	    /* default 15000 */
	/* The agent listener instead (https://127.0.0.1:<agent port>): trusting
	 * ca_pem alone, presenting cert_pem/key_pem when given (PEM texts). A new
	 * connection each time, closed after, unless reuse_connection. */
	bool agent;
	const char *ca_pem, *cert_pem, *key_pem;
	bool reuse_connection;
	/* Called (on the sending thread) once the request, body included, has
	 * been handed to the connection; may be NULL. */
	void (*on_sent)(void *arg);
	void *on_sent_arg;
};

/* Sends one request on this thread's handle. Always fills out (status 0 and
 * curl_code on a transport failure); release it with it_resp_free. */
void it_request(const struct it_server *s, const struct it_req *req, struct it_resp *out);

/* A request with a JSON body (or none) and an optional bearer token; the path
 * is a printf format. */
struct it_resp it_call(const struct it_server *s, const char *method, const char *token,
		       const char *body, const char *path_fmt, ...)
	__attribute__((format(printf, 5, 6)));

void it_resp_free(struct it_resp *r);

/* A response header by name (case-insensitive), or NULL. */
const char *it_header(const struct it_resp *r, const char *name);

/* The next page of a list answer: its Link header must be exactly
 * `<URL>; rel="next"` with URL on s (http://127.0.0.1:<port>/...); the rest
 * of URL (path and query, as sent) goes to out, for it_call(s, ..., "%s",
 * out), which fetches URL as it is. False when there is no such header, or
 * it is of another form (out then says why). */
bool it_link_next(const struct it_server *s, const struct it_resp *r, char *out, size_t cap);

/* Member by dotted path ("user.uid", "nodes.0.nid": numbers index arrays), or NULL. */
json_t *it_json_get(const json_t *j, const char *path);
/* The string at a dotted path, or NULL when absent or not a string. */
const char *it_json_str(const json_t *j, const char *path);

/* A printf result in one of a few thread-local buffers of 4 KiB, reused in
 * turn: for short strings used at once (paths, small bodies). */
const char *it_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- users and tokens -------------------------------------------------- */

struct it_user {
	char email[128];
	char password[64];
	char uid[40];
	char aid[8];	/* the personal account */
	char token[64]; /* the session from signup */
};

/* Signs up a new user with a unique email (pid, counter and time) and a
 * unique password. False (with a message) when the server does not say 201. */
bool it_signup(const struct it_server *s, struct it_user *u);

/* Logs u in; the new session token goes to token_out. */
bool it_login(const struct it_server *s, const struct it_user *u, char token_out[64]);

struct it_key {
	char id[40];
	char token[64];
};

/* Creates a personal access token of aid with a session token; role NULL
 * means the creator's. */
bool it_create_pat(const struct it_server *s, const char *session, const char *aid,
		   const char *role, struct it_key *out);

/* A well-formed token (valid checksum) that no server issued:
 * prefix ("rns_", "rnp_") + 43 random base62 + base62 CRC-32 of the rest. */
void it_make_token(const char *prefix, char out[54]);

/* Every password and token the harness made or was given (signup, login,
 * PATs), and those added by tests: for the "no secret at rest" checks. */
void it_secret_add(const char *secret);
size_t it_secret_count(void);
const char *it_secret(size_t i);

/* ---- database ---------------------------------------------------------- */

/* Connects with a libpq conninfo or URI; NULL (with a message) on failure. */
PGconn *it_db_connect(const char *conninfo);

/* Runs a statement with text parameters; false (with a message) on error. */
bool it_db_exec(PGconn *db, const char *sql, int nparams, const char *const *params);

/* The first column of the first row as an integer, or -1 (with a message). */
long long it_db_count(PGconn *db, const char *sql, int nparams, const char *const *params);

/* conninfo with its database replaced (conninfo and URI forms both work);
 * free the result. NULL when conninfo does not parse. */
char *it_conninfo_with_dbname(const char *conninfo, const char *dbname);

/* Drops (if present) and creates a database on the test cluster through the
 * admin URL; returns its conninfo (free it) or NULL. */
char *it_db_create(const char *name);
void it_db_drop(const char *name);

/* Runs a shell command (RUNOS_TEST_PG_STOP...) with system(); its exit code.
 * Its output is shown only when it fails. */
int it_shell(const char *command);
/* The same, keeping what it printed on stdout in *out (to free; "" for
 * nothing). */
int it_shell_output(const char *command, char **out);

/* Checks every Kubernetes object in dir (its *.json files: one object, an
 * array or a v1 List each, as agent-sim writes APPLY_CR's to $SIM_CR_DIR)
 * with tests/k8s/validate.mjs, on the Node of RUNOS_TEST_K8S_NODE (else the
 * one tests/k8s/install.sh installs under RUNOS_TEST_SOURCE_ROOT), printing
 * its lines. Returns how many objects or files failed (0: every one valid,
 * and there was at least one), or -1 when the validator could not run: the
 * caller counts that as a failure too. */
int it_k8s_validate_dir(const char *dir);

/* Shapes of identifiers: an account id ([a-z][a-z0-9]{3}[a-z]), a lower-case UUID. */
bool it_is_aid(const char *s);
bool it_is_uuid(const char *s);

/* A WireGuard public key (base64 of 32 bytes, canonical) made from seed:
 * the same seed, the same key; distinct seeds, distinct keys. */
void it_wg_key(const char *seed, char out[45]);

/* RFC 3339 UTC times as the server writes them ("2026-11-25T19:00:00Z"):
 * parse (false when s is not one) and format. */
bool it_parse_time(const char *s, time_t *out);
const char *it_format_time(time_t t); /* in an it_fmt buffer */

/* A UDP port of 127.0.0.1 that nothing listens on (bound and let go): a
 * DNS server to start there, or a resolver that refuses at once. */
int it_closed_udp_port(void);

/* Milliseconds from a monotonic clock. */
double it_now_ms(void);
void it_sleep_ms(int ms);

/* ---- checks (count into tests/testlib.h of the including program) ------- */
#ifndef IT_HARNESS_IMPL
#include <stdlib.h>

#include "testlib.h"

static inline const char *it_body_shown(const struct it_resp *r)
{
	static __thread char shown[320];
	if (r->status == 0) {
		snprintf(shown, sizeof(shown), "no response: curl error %d: %s", r->curl_code,
			 r->curl_error);
		return shown;
	}
	snprintf(shown, sizeof(shown), "%.300s", r->body ? r->body : "");
	return shown;
}

/* The response has this status (the body is shown when not). */
static inline bool it_check_status(const struct it_resp *r, long status, const char *file, int line)
{
	bool ok = r->status == status;
	test_record(ok, file, line, "%s: status %ld, want %ld; body %s", r->what, r->status, status,
		    it_body_shown(r));
	return ok;
}

/* The error contract: the status; a JSON object with a non-empty string
 * "error", "code" equal to code, a non-empty "traceId" equal to the
 * X-Request-Id header; Content-Type application/json. */
static inline void it_check_error(const struct it_resp *r, long status, const char *code,
				  const char *file, int line)
{
	if (!it_check_status(r, status, file, line))
		return;
	const char *error = it_json_str(r->json, "error");
	const char *got_code = it_json_str(r->json, "code");
	const char *trace = it_json_str(r->json, "traceId");
	const char *header = it_header(r, "X-Request-Id");
	const char *type = it_header(r, "Content-Type");
	test_record(json_is_object(r->json), file, line, "%s: body is not a JSON object: %s",
		    r->what, it_body_shown(r));
	test_record(error && *error, file, line, "%s: no \"error\" message: %s", r->what,
		    it_body_shown(r));
	test_record(got_code && strcmp(got_code, code) == 0, file, line,
		    "%s: code \"%s\", want \"%s\"", r->what, got_code ? got_code : "(none)", code);
	test_record(trace && *trace && header && strcmp(trace, header) == 0, file, line,
		    "%s: traceId \"%s\" vs X-Request-Id \"%s\"", r->what, trace ? trace : "(none)",
		    header ? header : "(none)");
	test_record(type && strncmp(type, "application/json", 16) == 0, file, line,
		    "%s: Content-Type \"%s\"", r->what, type ? type : "(none)");
}

/* 401 auth.invalid_token with this "reason". */
static inline void it_check_401(const struct it_resp *r, const char *reason, const char *file,
				int line)
{
	it_check_error(r, 401, "auth.invalid_token", file, line);
	const char *got = it_json_str(r->json, "reason");
	test_record(got && strcmp(got, reason) == 0, file, line, "%s: reason \"%s\", want \"%s\"",
		    r->what, got ? got : "(none)", reason);
}

#define CHECK_STATUS(r, status) it_check_status(&(r), (status), __FILE__, __LINE__)
#define CHECK_ERROR(r, status, code) it_check_error(&(r), (status), (code), __FILE__, __LINE__)
#define CHECK_401(r, reason) it_check_401(&(r), (reason), __FILE__, __LINE__)

/* Ends the current TEST function (counting a failure) when cond is false. */
#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			test_record(false, __FILE__, __LINE__, "required: %s; test stopped",       \
				    #cond);                                                        \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* The last lines of a test program: the servers' logs when something failed,
 * every server stopped, then "<suite>: N passed, N failed". */
static inline int it_finish(const char *suite)
{
	fflush(stdout);
	if (test_failed)
		it_dump_server_logs();
	it_kill_all_servers();
	return test_summary(suite);
}
#endif

#endif
