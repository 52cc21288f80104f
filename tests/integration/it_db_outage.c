/* PostgreSQL stopped and started under load, with runosd kept running.
 *
 * Four client threads keep calling GET /:aid/account/profile (with a PAT) and
 * POST /auth/login while the test stops PostgreSQL (RUNOS_TEST_PG_STOP),
 * waits 3 s and starts it again (RUNOS_TEST_PG_START). Every answer must be
 * 200 or a fast 503 (db.unavailable, Retry-After, the error contract) and
 * never a transport error; the process stays up, /readyz follows the
 * database, a token never seen before is answered 503 (not 401) while the
 * database is down, and service comes back within 10 s without a restart.
 * PostgreSQL is started again whatever happens (also at exit), so the test
 * programs after this one find it running.
 *
 * Then PostgreSQL frozen: its postmaster and every process under it stopped
 * with SIGSTOP for 6 s (so connections open and statements are sent, but
 * nothing ever answers) under six clients of a server of 4 workers with
 * RUNOS_DB_STATEMENT_TIMEOUT_MS=1500 and RUNOS_DB_CONNECT_TIMEOUT_S=2. Every
 * request ends with 503 db.unavailable within the bound those give (no
 * transport error, no hang), most of them at once (the pool suspects the
 * server and does not send every request to wait on it), the server's
 * threads do not grow, /healthz answers 200 throughout, and service comes
 * back by itself after SIGCONT (sent whatever happens, also at exit). */
#include <ctype.h>
#include <dirent.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define OUTAGE_MS 3000
#define RECOVERY_MS 10000
#define MAX_503_SECONDS 1.0

static struct it_server *srv;
static struct it_user alice;
static struct it_key pat;
static atomic_bool pg_down;

static void start_pg_again(void)
{
	if (atomic_exchange(&pg_down, false)) {
		int rc = it_shell(it_env.pg_start);
		if (rc != 0)
			fprintf(stderr, "it_db_outage: RUNOS_TEST_PG_START exited %d\n", rc);
	}
}

/* ---- load ------------------------------------------------------------- */

struct sample {
	double at_ms; /* when the request was sent */
	long status;
	double seconds;
	bool contract_ok; /* for a 503: the error contract, code and Retry-After */
};

struct client {
	pthread_t thread;
	struct it_server *srv;
	bool login; /* POST /auth/login, else GET profile */
	struct sample *samples;
	size_t n, cap;
};

static atomic_bool stop_load;
static pthread_mutex_t example_lock = PTHREAD_MUTEX_INITIALIZER;
static char bad_example[512]; /* the first answer that broke the rules */

static void remember(const struct it_resp *r)
{
	pthread_mutex_lock(&example_lock);
	if (!bad_example[0])
		snprintf(bad_example, sizeof(bad_example), "%s → %ld (%s) %.300s", r->what,
			 r->status, r->curl_error, r->body ? r->body : "");
	pthread_mutex_unlock(&example_lock);
}

static bool unavailable_contract(const struct it_resp *r)
{
	const char *trace = it_json_str(r->json, "traceId");
	const char *id = it_header(r, "X-Request-Id");
	const char *type = it_header(r, "Content-Type");
	const char *error = it_json_str(r->json, "error");
	return test_str_eq(it_json_str(r->json, "code"), "db.unavailable") && error && *error &&
	       trace && id && strcmp(trace, id) == 0 && it_header(r, "Retry-After") && type &&
	       strncmp(type, "application/json", 16) == 0;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	const char *login =
		it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", alice.email, alice.password);
	char body[512], path[64];
	snprintf(body, sizeof(body), "%s", login);
	snprintf(path, sizeof(path), "/%s/account/profile", alice.aid);
	while (!atomic_load(&stop_load)) {
		struct it_req req = c->login ? (struct it_req){ .method = "POST",
								.path = "/auth/login",
								.body = body,
								.timeout_ms = 10000 }
					     : (struct it_req){ .path = path,
								.token = pat.token,
								.timeout_ms = 10000 };
		double at = it_now_ms();
		struct it_resp r;
		it_request(c->srv, &req, &r);
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 4096;
			c->samples = realloc(c->samples, c->cap * sizeof(*c->samples));
			if (!c->samples)
				abort();
		}
		struct sample *s = &c->samples[c->n++];
		*s = (struct sample){ at, r.status, r.seconds, true };
		if (r.status == 503)
			s->contract_ok = unavailable_contract(&r);
		if ((r.status != 200 && r.status != 503) || !s->contract_ok)
			remember(&r);
		it_resp_free(&r);
	}
	return NULL;
}

/* ---- the outage --------------------------------------------------------- */

static struct client clients[4];
static double stopped_at, started_at, recovered_at;

static void while_down(void)
{
	/* Readiness follows the database; liveness does not. */
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/readyz");
	CHECK_ERROR(r, 503, "db.unavailable");
	CHECK(it_header(&r, "Retry-After") != NULL);
	it_resp_free(&r);
	r = it_call(srv, "GET", NULL, NULL, "/healthz");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
}

TEST(outage_under_load)
{
	struct it_key fresh_pat;
	char fresh_session[64];
	/* Tokens this server has never been asked about, so never cached. */
	REQUIRE(it_create_pat(srv, alice.token, alice.aid, "viewer", &fresh_pat));
	REQUIRE(it_login(srv, &alice, fresh_session));

	int running = 0;
	for (int i = 0; i < 4; i++) {
		clients[i].login = i >= 2;
		clients[i].srv = srv;
		running += pthread_create(&clients[i].thread, NULL, client_main, &clients[i]) == 0;
	}
	if (running < 4) {
		atomic_store(&stop_load, true);
		for (int i = 0; i < running; i++)
			pthread_join(clients[i].thread, NULL);
		REQUIRE(running == 4);
	}
	it_sleep_ms(500);

	stopped_at = it_now_ms();
	atomic_store(&pg_down, true);
	CHECK_INT_EQ(it_shell(it_env.pg_stop), 0);
	double stop_took = it_now_ms() - stopped_at;

	it_sleep_ms(300);
	while_down();
	struct it_resp r =
		it_call(srv, "GET", fresh_pat.token, NULL, "/%s/account/profile", alice.aid);
	CHECK_ERROR(r, 503, "db.unavailable");
	it_resp_free(&r);
	r = it_call(srv, "GET", fresh_session, NULL, "/user");
	CHECK_ERROR(r, 503, "db.unavailable");
	it_resp_free(&r);
	while (it_now_ms() < stopped_at + OUTAGE_MS)
		it_sleep_ms(50);
	CHECK(it_server_alive(srv));

	started_at = it_now_ms();
	start_pg_again();
	double start_took = it_now_ms() - started_at;

	/* Back without restarting runosd. */
	recovered_at = 0;
	while (it_now_ms() < started_at + RECOVERY_MS) {
		r = it_call(srv, "GET", pat.token, NULL, "/%s/account/profile", alice.aid);
		long status = r.status;
		it_resp_free(&r);
		if (status == 200) {
			recovered_at = it_now_ms();
			break;
		}
		it_sleep_ms(100);
	}
	CHECK_MSG(recovered_at > 0, "no 200 within %d ms of the restart", RECOVERY_MS);
	bool ready = false;
	while (!ready && it_now_ms() < started_at + RECOVERY_MS) {
		r = it_call(srv, "GET", NULL, NULL, "/readyz");
		ready = r.status == 200;
		it_resp_free(&r);
		if (!ready)
			it_sleep_ms(100);
	}
	CHECK_MSG(ready, "/readyz not 200 within %d ms of the restart", RECOVERY_MS);
	it_sleep_ms(1500);
	atomic_store(&stop_load, true);
	for (int i = 0; i < 4; i++)
		pthread_join(clients[i].thread, NULL);
	fprintf(stderr,
		"outage: pg stop took %.0f ms, start %.0f ms; first 200 %.0f ms after the start\n",
		stop_took, start_took, recovered_at ? recovered_at - started_at : -1.0);

	/* The tokens never cached before now work. */
	r = it_call(srv, "GET", fresh_pat.token, NULL, "/%s/account/profile", alice.aid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "GET", fresh_session, NULL, "/user");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	char again[64];
	CHECK(it_login(srv, &alice, again));
	CHECK(it_server_alive(srv));
	/* Connections the outage killed are reopened quietly, not reported as
	 * a caller's open transaction (a bug an error line each). */
	char *log = it_server_log(srv);
	CHECK_MSG(log && !strstr(log, "released inside a transaction"),
		  "the log reports dead connections as open transactions");
	free(log);
}

TEST(answers_during_the_run)
{
	size_t total = 0, ok = 0, unavailable = 0, other = 0, transport = 0, bad_contract = 0;
	size_t during_outage = 0, unavailable_in_outage = 0, late_failures = 0;
	double max_503 = 0;
	for (int i = 0; i < 4; i++) {
		for (size_t k = 0; k < clients[i].n; k++) {
			const struct sample *s = &clients[i].samples[k];
			total++;
			if (s->status == 200) {
				ok++;
			} else if (s->status == 503) {
				unavailable++;
				bad_contract += !s->contract_ok;
				if (s->seconds > max_503)
					max_503 = s->seconds;
			} else if (s->status == 0) {
				transport++;
			} else {
				other++;
			}
			bool in_outage =
				s->at_ms >= stopped_at && s->at_ms < stopped_at + OUTAGE_MS;
			during_outage += in_outage;
			unavailable_in_outage += in_outage && s->status == 503;
			late_failures +=
				recovered_at && s->at_ms > recovered_at + 1000 && s->status != 200;
		}
	}
	fprintf(stderr,
		"outage: %zu requests: %zu ok, %zu 503 (max %.3f s), %zu other, %zu transport "
		"errors; %zu sent during the %d ms outage\n",
		total, ok, unavailable, max_503, other, transport, during_outage, OUTAGE_MS);
	if (bad_example[0])
		fprintf(stderr, "outage: first bad answer: %s\n", bad_example);
	CHECK(total > 100);
	CHECK_INT_EQ(transport, 0);
	CHECK_INT_EQ(other, 0);
	CHECK_INT_EQ(bad_contract, 0);
	CHECK_MSG(max_503 < MAX_503_SECONDS, "slowest 503 took %.3f s", max_503);
	CHECK(during_outage > 0 && unavailable_in_outage > 0);
	CHECK_MSG(late_failures == 0, "%zu failures more than 1 s after recovery", late_failures);
}

TEST(clean_stop)
{
	CHECK_INT_EQ(it_server_stop(srv), 0);
}

/* ---- PostgreSQL frozen ---------------------------------------------------- */

#define FREEZE_MS 6000
#define FREEZE_CLIENTS 6
#define FREEZE_STATEMENT_MS 1500
#define FREEZE_CONNECT_S 2
/* The longest a request may wait while nothing answers: one statement's
 * bound (statement_timeout + 1 s), one connect, and a second of margin. */
#define FREEZE_MAX_SECONDS ((FREEZE_STATEMENT_MS + 1000 + FREEZE_CONNECT_S * 1000 + 1000) / 1000.0)

static pid_t frozen[1024];
static int nfrozen;

static void thaw(void)
{
	for (int i = 0; i < nfrozen; i++)
		kill(frozen[i], SIGCONT);
	nfrozen = 0;
}

static pid_t parent_of(pid_t pid)
{
	char path[64], stat[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	const char *end = strrchr(stat, ')'); /* "pid (comm) S ppid ..." */
	int ppid = 0;
	return end && sscanf(end + 1, " %*c %d", &ppid) == 1 ? (pid_t)ppid : 0;
}

static bool stop_one(pid_t pid)
{
	if (nfrozen == (int)(sizeof(frozen) / sizeof(frozen[0])) || kill(pid, SIGSTOP) != 0)
		return false;
	frozen[nfrozen++] = pid;
	return true;
}

/* SIGSTOP to the postmaster (from its postmaster.pid) and then to every
 * process it started but the backend of the connection that asked. */
static bool freeze_pg(void)
{
	PGconn *pg = PQconnectdb(it_env.admin_database_url);
	PGresult *res = PQexec(pg, "SELECT setting FROM pg_settings WHERE name = 'data_directory'");
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	pid_t postmaster = 0;
	if (ok) {
		FILE *f = fopen(it_fmt("%s/postmaster.pid", PQgetvalue(res, 0, 0)), "r");
		int pid = 0;
		ok = f && fscanf(f, "%d", &pid) == 1 && pid > 1;
		if (f)
			fclose(f);
		postmaster = (pid_t)pid;
	}
	PQclear(res);
	pid_t self = (pid_t)PQbackendPID(pg);
	ok = ok && stop_one(postmaster);
	DIR *d = ok ? opendir("/proc") : NULL;
	int children = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid != self && parent_of(pid) == postmaster)
			children += stop_one(pid);
	}
	if (d)
		closedir(d);
	PQfinish(pg);
	fprintf(stderr, "freeze: postmaster %d and %d processes under it stopped\n",
		(int)postmaster, children);
	return ok && children > 0;
}

static int thread_count(pid_t pid)
{
	char line[256];
	FILE *f = fopen(it_fmt("/proc/%d/status", (int)pid), "r");
	int threads = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &threads) == 1)
			break;
	if (f)
		fclose(f);
	return threads;
}

static struct it_server *fsrv;
static struct client fclients[FREEZE_CLIENTS];
static double frozen_at, thawed_at, fresumed_at;

TEST(frozen_database)
{
	static const char *const extra[] = { "RUNOS_THREADS=4",
					     "RUNOS_DB_STATEMENT_TIMEOUT_MS=1500",
					     "RUNOS_DB_CONNECT_TIMEOUT_S=2", NULL };
	fsrv = it_server_start("db_freeze", extra);
	REQUIRE(fsrv != NULL);
	atomic_store(&stop_load, false);
	int running = 0;
	for (int i = 0; i < FREEZE_CLIENTS; i++) {
		fclients[i].srv = fsrv;
		running +=
			pthread_create(&fclients[i].thread, NULL, client_main, &fclients[i]) == 0;
	}
	if (running < FREEZE_CLIENTS) {
		atomic_store(&stop_load, true);
		for (int i = 0; i < running; i++)
			pthread_join(fclients[i].thread, NULL);
		REQUIRE(running == FREEZE_CLIENTS);
	}
	it_sleep_ms(500);
	int threads_before = thread_count(it_server_pid(fsrv));

	frozen_at = it_now_ms();
	bool froze = freeze_pg();
	CHECK_MSG(froze, "could not stop PostgreSQL's processes");
	int threads_max = threads_before, health_checks = 0, health_bad = 0;
	double health_slowest = 0;
	while (froze && it_now_ms() < frozen_at + FREEZE_MS) {
		struct it_req req = { .path = "/healthz", .timeout_ms = 5000 };
		struct it_resp r;
		it_request(fsrv, &req, &r);
		health_checks++;
		health_bad += r.status != 200;
		if (r.seconds > health_slowest)
			health_slowest = r.seconds;
		it_resp_free(&r);
		int threads = thread_count(it_server_pid(fsrv));
		if (threads > threads_max)
			threads_max = threads;
		it_sleep_ms(200);
	}
	thawed_at = it_now_ms();
	thaw();

	fresumed_at = 0;
	while (it_now_ms() < thawed_at + RECOVERY_MS) {
		struct it_resp r =
			it_call(fsrv, "GET", pat.token, NULL, "/%s/account/profile", alice.aid);
		long status = r.status;
		it_resp_free(&r);
		if (status == 200) {
			fresumed_at = it_now_ms();
			break;
		}
		it_sleep_ms(100);
	}
	it_sleep_ms(1000);
	atomic_store(&stop_load, true);
	for (int i = 0; i < FREEZE_CLIENTS; i++)
		pthread_join(fclients[i].thread, NULL);

	size_t total = 0, in_freeze = 0, unavailable = 0, fast = 0, wrong = 0, bad_contract = 0;
	double slowest = 0;
	for (int i = 0; i < FREEZE_CLIENTS; i++) {
		for (size_t k = 0; k < fclients[i].n; k++) {
			const struct sample *s = &fclients[i].samples[k];
			total++;
			if (s->seconds > slowest)
				slowest = s->seconds;
			wrong += s->status != 200 && s->status != 503;
			bad_contract += !s->contract_ok;
			/* Sent and answered while nothing could answer. */
			if (s->at_ms < frozen_at + 50 || s->at_ms + 1000 * s->seconds > thawed_at)
				continue;
			in_freeze++;
			unavailable += s->status == 503;
			fast += s->status == 503 && s->seconds < 0.5;
		}
	}
	fprintf(stderr,
		"freeze: %zu requests (slowest %.3f s), %zu sent and answered in the %d ms "
		"freeze: %zu 503 (%zu under 0.5 s); /healthz %d times, slowest %.3f s; "
		"threads %d before, at most %d during; first 200 %.0f ms after SIGCONT\n",
		total, slowest, in_freeze, FREEZE_MS, unavailable, fast, health_checks,
		health_slowest, threads_before, threads_max,
		fresumed_at ? fresumed_at - thawed_at : -1.0);
	if (bad_example[0])
		fprintf(stderr, "freeze: first bad answer: %s\n", bad_example);
	CHECK_INT_EQ(wrong, 0); /* a transport error (a hang past 10 s) is status 0 */
	CHECK_INT_EQ(bad_contract, 0);
	CHECK_MSG(slowest <= FREEZE_MAX_SECONDS, "a request took %.3f s (bound %.1f s)", slowest,
		  FREEZE_MAX_SECONDS);
	CHECK(in_freeze > 0);
	CHECK_INT_EQ(unavailable, in_freeze);
	/* Without the pool's suspicion every request would wait out a timeout:
	 * six clients could not get more than about 6 x 6 / 2.5 answers. */
	CHECK_MSG(fast >= 60, "only %zu fast 503s during the freeze", fast);
	CHECK(health_checks > 5);
	CHECK_INT_EQ(health_bad, 0);
	/* A /healthz may land on a worker that waits out the first silent
	 * statement (1.5 + 1 s), never longer. */
	CHECK_MSG(health_slowest < (FREEZE_STATEMENT_MS + 2000) / 1000.0,
		  "/healthz took %.3f s during the freeze", health_slowest);
	CHECK_MSG(threads_max <= threads_before + 2, "threads grew from %d to %d", threads_before,
		  threads_max);
	CHECK_MSG(fresumed_at > 0, "no 200 within %d ms of SIGCONT", RECOVERY_MS);
	CHECK(it_server_alive(fsrv));
	char *log = it_server_log(fsrv);
	CHECK_MSG(log && strstr(log, "gave no answer"), "no dropped silent connection in the log");
	free(log);
	CHECK_INT_EQ(it_server_stop(fsrv), 0);
}

int main(void)
{
	if (!it_init("it_db_outage")) {
		test_failed++;
		return it_finish("it_db_outage");
	}
	atexit(start_pg_again);
	atexit(thaw);
	srv = it_server_start("db_outage", NULL);
	if (!srv || !it_signup(srv, &alice) ||
	    !it_create_pat(srv, alice.token, alice.aid, "viewer", &pat)) {
		test_failed++;
		fprintf(stderr, "FAIL it_db_outage: no server or no user\n");
		return it_finish("it_db_outage");
	}
	RUN(outage_under_load);
	start_pg_again();
	RUN(answers_during_the_run);
	RUN(clean_stop);
	RUN(frozen_database);
	thaw();
	for (int i = 0; i < FREEZE_CLIENTS; i++)
		free(fclients[i].samples);
	for (int i = 0; i < 4; i++)
		free(clients[i].samples);
	return it_finish("it_db_outage");
}
