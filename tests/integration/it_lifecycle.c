/* The process from the outside: commands and exit codes, configuration
 * errors, an unreachable database, migrations (fresh, repeated, concurrent,
 * tampered with), readiness, and an orderly stop that finishes the requests
 * in flight. Databases of their own are made through the admin URL and
 * dropped at the end. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define CMD_TIMEOUT_MS 10000

static char db_fresh[64], db_concurrent[64], db_empty[64];

static bool contains(const struct it_cmd *c, const char *s)
{
	return c->output && strstr(c->output, s) != NULL;
}

TEST(commands)
{
	struct it_cmd c;
	const char *version[] = { "version", NULL };
	it_run(version, NULL, CMD_TIMEOUT_MS, &c);
	CHECK_INT_EQ(c.code, 0);
	CHECK_MSG(contains(&c, "runosd "), "output: %s", c.output);
	it_cmd_free(&c);

	const char *help[] = { "--help", NULL };
	it_run(help, NULL, CMD_TIMEOUT_MS, &c);
	CHECK_INT_EQ(c.code, 0);
	CHECK(contains(&c, "RUNOS_DATABASE_URL"));
	CHECK(contains(&c, "RUNOS_HTTP_ADDR"));
	it_cmd_free(&c);

	const char *bogus[] = { "bogus", NULL };
	it_run(bogus, NULL, CMD_TIMEOUT_MS, &c);
	CHECK_INT_EQ(c.code, 1);
	CHECK_MSG(contains(&c, "bogus"), "output: %s", c.output);
	it_cmd_free(&c);

	const char *too_many[] = { "serve", "now", NULL };
	it_run(too_many, NULL, CMD_TIMEOUT_MS, &c);
	CHECK_INT_EQ(c.code, 1);
	it_cmd_free(&c);
}

TEST(bad_configuration)
{
	static const char bad_key[] = "S3cretKeyS3cretKeyS3cretKeyS3cretKeyS3cret!=";
	const struct {
		const char *settings[3]; /* "NAME=value", or "NAME" to unset */
		const char *variable;
	} cases[] = {
		{ { "RUNOS_DATABASE_URL" }, "RUNOS_DATABASE_URL" },
		{ { "RUNOS_DATABASE_URL=" }, "RUNOS_DATABASE_URL" },
		{ { "RUNOS_THREADS=0" }, "RUNOS_THREADS" },
		{ { "RUNOS_THREADS=abc" }, "RUNOS_THREADS" },
		{ { "RUNOS_THREADS=100000" }, "RUNOS_THREADS" },
		{ { "RUNOS_HTTP_ADDR=nonsense" }, "RUNOS_HTTP_ADDR" },
		{ { "RUNOS_HTTP_ADDR=127.0.0.1:99999" }, "RUNOS_HTTP_ADDR" },
		{ { "RUNOS_HTTP_ADDR=127.0.0.1:56999", "RUNOS_AGENT_ADDR=127.0.0.1:56999" },
		  "RUNOS_AGENT_ADDR" },
		{ { "RUNOS_LOG_LEVEL=loud" }, "RUNOS_LOG_LEVEL" },
		{ { "RUNOS_AUTO_MIGRATE=maybe" }, "RUNOS_AUTO_MIGRATE" },
		{ { "RUNOS_MASTER_KEY=short-S3cret-K3y" }, "RUNOS_MASTER_KEY" },
		{ { it_fmt("RUNOS_MASTER_KEY=%s", bad_key) }, "RUNOS_MASTER_KEY" },
		{ { "RUNOS_REDIS_URL=ftp://x" }, "RUNOS_REDIS_URL" },
		{ { "RUNOS_DB_POOL=0" }, "RUNOS_DB_POOL" },
	};
	const char *serve[] = { "serve", NULL };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *setting = cases[i].settings[0];
		struct it_cmd c;
		it_run(serve, cases[i].settings, 5000, &c);
		CHECK_MSG(c.code == 1 && !c.timed_out, "%s: exit %d%s", setting, c.code,
			  c.timed_out ? " (timed out)" : "");
		CHECK_MSG(contains(&c, cases[i].variable), "%s: output %s", setting, c.output);
		it_cmd_free(&c);
	}
	/* A master key is never echoed, not even a wrong one. */
	const char *keys[] = { "short-S3cret-K3y", bad_key };
	for (int i = 0; i < 2; i++) {
		const char *extra[] = { it_fmt("RUNOS_MASTER_KEY=%s", keys[i]), NULL };
		struct it_cmd c;
		it_run(serve, extra, 5000, &c);
		CHECK_MSG(!contains(&c, keys[i]) && !contains(&c, "S3cret"), "output: %s",
			  c.output);
		it_cmd_free(&c);
	}
}

/* A port another program listens on: exit 1 naming RUNOS_HTTP_ADDR. */
TEST(port_in_use)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		listen(fd, 8) == 0 && getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	const char *serve[] = { "serve", NULL };
	const char *extra[] = { it_fmt("RUNOS_HTTP_ADDR=127.0.0.1:%d", ntohs(sa.sin_port)), NULL };
	struct it_cmd c;
	it_run(serve, extra, CMD_TIMEOUT_MS, &c);
	CHECK_MSG(c.code == 1 && !c.timed_out, "exit %d%s", c.code,
		  c.timed_out ? " (timed out)" : "");
	CHECK_MSG(contains(&c, "RUNOS_HTTP_ADDR"), "output %s", c.output);
	/* The address and port and the system's reason, not "port 0". */
	CHECK_MSG(contains(&c, it_fmt("127.0.0.1:%d: Address already in use", ntohs(sa.sin_port))),
		  "output %s", c.output);
	CHECK_MSG(!contains(&c, "port 0"), "output %s", c.output);
	it_cmd_free(&c);
	close(fd);
}

/* A fresh state directory without RUNOS_MASTER_KEY makes a new key file,
 * which cannot open the agent CA of a database set up with another key:
 * the message names that file, not the variable nobody set. */
TEST(fresh_key_file_names_itself)
{
	char name[64];
	snprintf(name, sizeof(name), "it_keyfile_%d", (int)getpid());
	char *url = it_db_create(name);
	REQUIRE(url != NULL);
	const char *with_key[] = { it_fmt("RUNOS_DATABASE_URL=%s", url), NULL };
	struct it_server *s = it_server_start("key-file", with_key);
	CHECK(s != NULL);
	if (s)
		CHECK_INT_EQ(it_server_stop(s), 0);
	const char *without_key[] = { it_fmt("RUNOS_DATABASE_URL=%s", url), "RUNOS_MASTER_KEY",
				      NULL };
	const char *serve[] = { "serve", NULL };
	struct it_cmd c;
	it_run(serve, without_key, CMD_TIMEOUT_MS, &c);
	CHECK_MSG(c.code == 1 && !c.timed_out, "exit %d", c.code);
	CHECK_MSG(contains(&c, "/master.key, created now") && contains(&c, "RUNOS_STATE_DIR") &&
			  !contains(&c, "RUNOS_MASTER_KEY does not open"),
		  "output %s", c.output);
	it_cmd_free(&c);
	it_db_drop(name);
	free(url);
}

/* A state directory runosd cannot write in (the tests run as root, for whom
 * modes do not count: a file where the directory should be, a directory
 * under a file, /proc) stops it at start: exit 1, before the database is
 * waited for, with a message naming RUNOS_STATE_DIR, the path and the reason.
 * With RUNOS_MASTER_KEY set it is not used, and not checked. */
TEST(state_dir_not_writable)
{
	char file[512];
	snprintf(file, sizeof(file), "%s/state-is-a-file-%d", it_env.tmpdir, (int)getpid());
	FILE *f = fopen(file, "w");
	REQUIRE(f != NULL);
	fclose(f);
	const struct {
		const char *dir, *reason;
	} cases[] = {
		{ file, "Not a directory" },
		{ it_fmt("%s/sub", file), "Not a directory" },
		{ "/proc/self", "cannot create a file in it" },
	};
	const char *serve[] = { "serve", NULL };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char setting[600];
		snprintf(setting, sizeof(setting), "RUNOS_STATE_DIR=%s", cases[i].dir);
		const char *extra[] = { setting, "RUNOS_MASTER_KEY",
					"RUNOS_DATABASE_URL=postgresql://127.0.0.1:1/none",
					"RUNOS_DB_WAIT=30", NULL };
		struct it_cmd c;
		it_run(serve, extra, CMD_TIMEOUT_MS, &c);
		CHECK_MSG(c.code == 1 && !c.timed_out && c.seconds < 5, "%s: exit %d after %.1f s",
			  cases[i].dir, c.code, c.seconds);
		CHECK_MSG(contains(&c, it_fmt("RUNOS_STATE_DIR: %s: ", cases[i].dir)) &&
				  contains(&c, cases[i].reason),
			  "%s: output %s", cases[i].dir, c.output);
		it_cmd_free(&c);
	}
	/* With a master key the directory is not looked at: the server starts. */
	const char *with_key[] = { it_fmt("RUNOS_STATE_DIR=%s", file), NULL };
	struct it_server *s = it_server_start("state-dir-unused", with_key);
	CHECK(s != NULL);
	if (s)
		CHECK_INT_EQ(it_server_stop(s), 0);
	unlink(file);
}

TEST(unreachable_database)
{
	const char *extra[] = {
		"RUNOS_DATABASE_URL=host=/nonexistent port=1 user=x password=DbS3cretPw dbname=x",
		"RUNOS_DB_WAIT=1", NULL
	};
	const char *serve[] = { "serve", NULL };
	struct it_cmd c;
	it_run(serve, extra, 10000, &c);
	CHECK_INT_EQ(c.code, 2);
	CHECK_MSG(c.seconds < 5.0, "took %.1f s", c.seconds);
	CHECK(contains(&c, "RUNOS_DATABASE_URL"));
	CHECK_MSG(!contains(&c, "DbS3cretPw"), "the password is in the output: %s", c.output);
	it_cmd_free(&c);

	const char *migrate[] = { "migrate", NULL };
	it_run(migrate, extra, 10000, &c);
	CHECK_INT_EQ(c.code, 2);
	it_cmd_free(&c);
}

/* Number of .sql files in migrations/ of the source tree. */
static long migration_files(void)
{
	DIR *d = opendir(it_fmt("%s/migrations", it_env.source_root));
	if (!d)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		n += len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0;
	}
	closedir(d);
	return n;
}

/* Runs `runosd migrate` on conninfo. */
static void migrate(const char *conninfo, struct it_cmd *out)
{
	const char *args[] = { "migrate", NULL };
	const char *extra[] = { it_fmt("RUNOS_DATABASE_URL=%s", conninfo), NULL };
	it_run(args, extra, CMD_TIMEOUT_MS, out);
}

static void check_one_row_per_migration(const char *conninfo)
{
	PGconn *db = it_db_connect(conninfo);
	CHECK(db != NULL);
	long files = migration_files();
	CHECK(files >= 1);
	CHECK_INT_EQ(it_db_count(db, "SELECT count(*) FROM schema_migrations", 0, NULL), files);
	CHECK_INT_EQ(it_db_count(db, "SELECT count(DISTINCT name) FROM schema_migrations", 0, NULL),
		     files);
	CHECK_INT_EQ(it_db_count(db,
				 "SELECT count(*) FROM pg_tables WHERE tablename IN "
				 "('users', 'accounts', 'memberships', 'sessions', 'api_keys')",
				 0, NULL),
		     5);
	if (db)
		PQfinish(db);
}

static char *fresh_url, *concurrent_url, *empty_url;

TEST(migrate_fresh_and_again)
{
	REQUIRE(fresh_url != NULL);
	struct it_cmd c;
	migrate(fresh_url, &c);
	CHECK_MSG(c.code == 0, "exit %d: %s", c.code, c.output);
	it_cmd_free(&c);
	check_one_row_per_migration(fresh_url);
	migrate(fresh_url, &c);
	CHECK_MSG(c.code == 0, "exit %d: %s", c.code, c.output);
	CHECK(contains(&c, "0 migrations applied"));
	it_cmd_free(&c);
	check_one_row_per_migration(fresh_url);
}

TEST(migrate_concurrently)
{
	REQUIRE(concurrent_url != NULL);
	const char *args[] = { "migrate", NULL };
	const char *extra[] = { it_fmt("RUNOS_DATABASE_URL=%s", concurrent_url), NULL };
	struct it_proc *a = it_cmd_start(args, extra);
	struct it_proc *b = it_cmd_start(args, extra);
	struct it_cmd ca, cb;
	it_cmd_finish(a, CMD_TIMEOUT_MS, &ca);
	it_cmd_finish(b, CMD_TIMEOUT_MS, &cb);
	CHECK_MSG(ca.code == 0, "first: exit %d: %s", ca.code, ca.output);
	CHECK_MSG(cb.code == 0, "second: exit %d: %s", cb.code, cb.output);
	it_cmd_free(&ca);
	it_cmd_free(&cb);
	check_one_row_per_migration(concurrent_url);
}

TEST(migrate_refuses_a_changed_migration)
{
	REQUIRE(fresh_url != NULL);
	PGconn *db = it_db_connect(fresh_url);
	REQUIRE(db != NULL);
	REQUIRE(it_db_exec(db,
			   "UPDATE schema_migrations SET checksum = 'x' WHERE name = "
			   "(SELECT min(name) FROM schema_migrations)",
			   0, NULL));
	PGresult *res = PQexec(db, "SELECT min(name) FROM schema_migrations");
	char name[256];
	snprintf(name, sizeof(name), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(db);

	struct it_cmd c;
	migrate(fresh_url, &c);
	CHECK_MSG(c.code != 0, "exit %d", c.code);
	CHECK_MSG(contains(&c, name), "output does not name %s: %s", name, c.output);
	it_cmd_free(&c);

	/* A server with automatic migration does not start on it either. */
	const char *serve[] = { "serve", NULL };
	const char *extra[] = { it_fmt("RUNOS_DATABASE_URL=%s", fresh_url), NULL };
	it_run(serve, extra, CMD_TIMEOUT_MS, &c);
	CHECK_MSG(c.code != 0 && !c.timed_out, "exit %d", c.code);
	CHECK(contains(&c, name));
	it_cmd_free(&c);
}

static struct it_resp readyz(const struct it_server *s)
{
	return it_call(s, "GET", NULL, NULL, "/readyz");
}

TEST(readiness)
{
	REQUIRE(concurrent_url != NULL && empty_url != NULL);
	const char *migrated[] = { it_fmt("RUNOS_DATABASE_URL=%s", concurrent_url),
				   "RUNOS_AUTO_MIGRATE=0", NULL };
	struct it_server *s = it_server_start("ready", migrated);
	REQUIRE(s != NULL);
	struct it_resp r = readyz(s);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "status"), "ready");
	it_resp_free(&r);
	CHECK_INT_EQ(it_server_stop(s), 0);

	const char *empty[] = { it_fmt("RUNOS_DATABASE_URL=%s", empty_url), "RUNOS_AUTO_MIGRATE=0",
				NULL };
	s = it_server_start("unready", empty);
	REQUIRE(s != NULL);
	r = readyz(s);
	CHECK_ERROR(r, 503, "db.migrations_pending");
	CHECK(it_header(&r, "Retry-After") != NULL);
	it_resp_free(&r);
	r = it_call(s, "GET", NULL, NULL, "/healthz");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);

	struct it_cmd c;
	migrate(empty_url, &c);
	CHECK_MSG(c.code == 0, "exit %d: %s", c.code, c.output);
	it_cmd_free(&c);
	r = readyz(s);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	CHECK_INT_EQ(it_server_stop(s), 0);
}

struct drain {
	struct it_server *srv;
	atomic_int sent, created, other;
	atomic_bool go;
};

static void count_sent(void *arg)
{
	atomic_fetch_add(&((struct drain *)arg)->sent, 1);
}

static void *signup_client(void *arg)
{
	struct drain *d = arg;
	static atomic_int n;
	int me = atomic_fetch_add(&n, 1);
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"email\":\"drain-%d-%d-%ld@example.test\",\"password\":\"Drain-pw-%d-long\"}",
		 (int)getpid(), me, (long)time(NULL), me);
	while (!atomic_load(&d->go))
		it_sleep_ms(1);
	struct it_req req = { .method = "POST",
			      .path = "/auth/signup",
			      .body = body,
			      .on_sent = count_sent,
			      .on_sent_arg = d };
	struct it_resp r;
	it_request(d->srv, &req, &r);
	if (r.status == 201) {
		atomic_fetch_add(&d->created, 1);
	} else {
		atomic_fetch_add(&d->other, 1);
		fprintf(stderr, "drain: signup → %ld %s %s\n", r.status, r.curl_error, r.body);
	}
	it_resp_free(&r);
	return NULL;
}

TEST(sigterm_drains)
{
	enum {
		CLIENTS = 20
	};
	static struct drain d;
	d.srv = it_server_start("drain", NULL);
	REQUIRE(d.srv != NULL);
	int port = it_server_port(d.srv);
	pthread_t threads[CLIENTS];
	int started = 0;
	for (int i = 0; i < CLIENTS; i++)
		started += pthread_create(&threads[i], NULL, signup_client, &d) == 0;
	atomic_store(&d.go, true);
	double deadline = it_now_ms() + 5000;
	while (atomic_load(&d.sent) < started && it_now_ms() < deadline)
		it_sleep_ms(1);
	int sent = atomic_load(&d.sent);
	CHECK_INT_EQ(sent, CLIENTS);
	it_server_signal(d.srv, SIGTERM);
	double signalled = it_now_ms();
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	int created = atomic_load(&d.created), failed = atomic_load(&d.other);
	CHECK_INT_EQ(created, CLIENTS);
	CHECK_INT_EQ(failed, 0);
	int code = it_server_wait(d.srv, 15000);
	CHECK_INT_EQ(code, 0);
	fprintf(stderr, "drain: %d signups 201, %d failed; exit %d, %.0f ms after SIGTERM\n",
		created, failed, code, it_now_ms() - signalled);

	/* Nothing listens on the port any more. */
	struct it_resp r = it_call(d.srv, "GET", NULL, NULL, "/healthz");
	CHECK_MSG(r.status == 0 && r.curl_code == CURLE_COULDNT_CONNECT,
		  "port %d: status %ld, curl %d", port, r.status, r.curl_code);
	it_resp_free(&r);
	char *log = it_server_log(d.srv);
	CHECK(log && strstr(log, "draining") && strstr(log, "\"stopped\""));
	free(log);
}

TEST(sigint_stops)
{
	struct it_server *s = it_server_start("sigint", NULL);
	REQUIRE(s != NULL);
	it_server_signal(s, SIGINT);
	CHECK_INT_EQ(it_server_wait(s, 15000), 0);
}

int main(void)
{
	if (!it_init("it_lifecycle")) {
		test_failed++;
		return it_finish("it_lifecycle");
	}
	snprintf(db_fresh, sizeof(db_fresh), "it_migrate_%d", (int)getpid());
	snprintf(db_concurrent, sizeof(db_concurrent), "it_migrate2_%d", (int)getpid());
	snprintf(db_empty, sizeof(db_empty), "it_empty_%d", (int)getpid());
	fresh_url = it_db_create(db_fresh);
	concurrent_url = it_db_create(db_concurrent);
	empty_url = it_db_create(db_empty);
	CHECK_MSG(fresh_url && concurrent_url && empty_url, "cannot create test databases");

	RUN(commands);
	RUN(bad_configuration);
	RUN(port_in_use);
	RUN(state_dir_not_writable);
	RUN(unreachable_database);
	RUN(migrate_fresh_and_again);
	RUN(migrate_concurrently);
	RUN(migrate_refuses_a_changed_migration);
	RUN(readiness);
	RUN(sigterm_drains);
	RUN(sigint_stops);
	RUN(fresh_key_file_names_itself);

	it_kill_all_servers();
	it_db_drop(db_fresh);
	it_db_drop(db_concurrent);
	it_db_drop(db_empty);
	free(fresh_url);
	free(concurrent_url);
	free(empty_url);
	return it_finish("it_lifecycle");
}
