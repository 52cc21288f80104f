/* runosd: argv, configuration, start and orderly stop.
 *
 * Threads: main blocks SIGTERM and SIGINT before any other thread exists, so
 * every thread inherits the mask and main alone receives them with sigwait;
 * it then stops the listener (which drains in-flight requests) and frees the
 * server. Exit codes: 0 clean stop, 1 bad configuration or start-up failure,
 * 2 database unreachable for RUNOS_DB_WAIT seconds at start. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet/fleet.h"
#include "agent/listener.h"
#include "api/domain_verifier.h"
#include "queue/sweeper.h"
#include "queue/wakeups.h"
#include "auth/auth.h"
#include "config.h"
#include "crypto/seal.h"
#include "db/db.h"
#include "db/migrate.h"
#include "http/metrics.h"
#include "http/route.h"
#include "http/server.h"
#include "pki/ca_boot.h"
#include "ratelimit/ratelimit.h"
#include "runosd.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define EXIT_BAD_CONFIG 1
#define EXIT_NO_DATABASE 2
#define DRAIN_MS 10000

static void usage(FILE *out)
{
	fprintf(out, "usage: runosd [serve|migrate|version|--help]\n\n"
		     "  serve     run the API server (default)\n"
		     "  migrate   apply database migrations and exit\n"
		     "  version   print the version\n\n");
}

static const char *env(const char *name)
{
	return getenv(name);
}

/* Every agent keeps a connection open: allow as many as the system lets us. */
static void raise_open_files_limit(void)
{
	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
			log_warn("could not raise the open files limit");
	}
}

/* The state directory holds the dev master key file (RUNOS_MASTER_KEY unset):
 * made when missing, and a file written, synced and removed in it, so that a
 * read-only or full disk, or a file where the directory should be, is a clear
 * error at start rather than a failure when the key file is written. */
static bool check_state_dir(const char *dir, char *err, size_t errcap)
{
	char probe[4200];
	snprintf(probe, sizeof(probe), "%s/.runosd-probe-%d", dir, (int)getpid());
	const char *failed = NULL;
	int e = 0;
	int fd = -1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		failed = "cannot create it";
	else if ((fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		failed = "cannot create a file in it";
	else if (write(fd, "probe\n", 6) != 6)
		failed = "cannot write a file in it";
	else if (fsync(fd) != 0)
		failed = "cannot sync a file in it";
	if (failed)
		e = errno;
	if (fd >= 0) {
		if (close(fd) != 0 && !failed) {
			failed = "cannot write a file in it";
			e = errno;
		}
		unlink(probe);
	}
	if (failed)
		snprintf(err, errcap,
			 "RUNOS_STATE_DIR: %s: %s: %s (it must be a writable directory while "
			 "RUNOS_MASTER_KEY is not set)",
			 dir, failed, e ? strerror(e) : "short write");
	return !failed;
}

static void *jansson_alloc(size_t size)
{
	return xmalloc(size);
}

static int run_migrations(struct server *srv)
{
	int applied;
	enum db_result r = db_migrate(srv->db, &applied);
	if (r != DB_OK) {
		log_error("migrations failed; see the message above");
		return r == DB_UNAVAILABLE ? EXIT_NO_DATABASE : EXIT_BAD_CONFIG;
	}
	log_info("database schema is current (%d migration%s applied now)", applied,
		 applied == 1 ? "" : "s");
	return 0;
}

static int serve(struct server *srv, sigset_t *stop_signals)
{
	if (srv->cfg.auto_migrate) {
		int rc = run_migrations(srv);
		if (rc)
			return rc;
	}
	char err[1024], key_origin[4200];
	uint8_t master_key[SEAL_KEY_LEN];
	if (!crypto_master_key_load(srv->cfg.master_key, srv->cfg.state_dir, master_key, key_origin,
				    sizeof(key_origin), err, sizeof(err))) {
		log_error("%s", err);
		return EXIT_BAD_CONFIG;
	}
	srv->keys = crypto_keyring_create((const uint8_t(*)[SEAL_KEY_LEN])master_key, 1);
	explicit_bzero(master_key, sizeof(master_key));
	switch (pki_ca_boot(srv->db, srv->keys, key_origin, &srv->ca, err, sizeof(err))) {
	case CA_BOOT_OK:
		break;
	case CA_BOOT_DB: /* no schema yet (RUNOS_AUTO_MIGRATE=0): loaded on first use */
		log_warn("%s; trying again when it is needed", err);
		break;
	case CA_BOOT_KEY:
		log_error("%s", err);
		return EXIT_BAD_CONFIG;
	}
	srv->auth = auth_create(srv->db);
	srv->wakeups = queue_wakeups_create(srv);
	srv->limits = ratelimit_create(srv->cfg.redis_url);
	srv->fleet = fleet_start(srv);
	srv->metrics = http_metrics_create();
	struct http_listener api = {
		.name = "api",
		.addr_var = "RUNOS_HTTP_ADDR",
		.addr = &srv->cfg.http_addr,
		.routes = api_routes,
		.nroutes = api_routes_count,
		.max_connections = srv->cfg.http_max_connections,
		.timeout_seconds = srv->cfg.http_timeout_seconds,
		.max_connections_per_ip = srv->cfg.http_max_connections_per_ip,
		.header_timeout_seconds = srv->cfg.http_header_timeout_seconds,
		.connection_memory = 32 * 1024, /* over HTTP_MAX_TARGET + HTTP_MAX_HEADERS */
		.idempotent_posts = true,
	};
	/* The agent listener first: once the API answers /readyz, agents can
	 * connect too (its certificate is made at start, which takes a while). */
	srv->agent_http = agent_listener_start(srv, err, sizeof(err));
	if (!srv->agent_http && srv->ca) {
		log_error("%s", err);
		return EXIT_BAD_CONFIG;
	}
	if (!srv->agent_http) /* no schema yet: the API answers 503 until migrated */
		log_warn("%s; restart once the database is migrated to serve agents", err);
	srv->http = http_server_start(srv, &api, err, sizeof(err));
	if (!srv->http) {
		log_error("%s", err);
		return EXIT_BAD_CONFIG;
	}
	queue_wakeups_listen(srv->wakeups);
	srv->work = queue_sweeper_start(srv);
	srv->domains = domain_verifier_start(srv);
	log_info("runosd %s ready in %lld ms", RUNOSD_VERSION,
		 (long long)((time_now_us() - srv->started_us) / 1000));

	int sig = 0;
	sigwait(stop_signals, &sig);
	log_info("received %s: draining requests", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	domain_verifier_stop(srv->domains);
	srv->domains = NULL;
	queue_sweeper_stop(srv->work);
	srv->work = NULL;
	queue_wakeups_stop_listening(srv->wakeups);
	http_server_stop(srv->agent_http, DRAIN_MS);
	srv->agent_http = NULL;
	http_server_stop(srv->http, DRAIN_MS);
	srv->http = NULL;
	log_info("stopped");
	return 0;
}

int main(int argc, char **argv)
{
	const char *command = argc > 1 ? argv[1] : "serve";
	if (argc > 2 || strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
	    strcmp(command, "help") == 0) {
		usage(stdout);
		config_print_help();
		return argc > 2 ? EXIT_BAD_CONFIG : 0;
	}
	if (strcmp(command, "version") == 0 || strcmp(command, "--version") == 0) {
		printf("runosd %s\n", RUNOSD_VERSION);
		return 0;
	}
	if (strcmp(command, "serve") != 0 && strcmp(command, "migrate") != 0) {
		fprintf(stderr, "runosd: unknown command \"%s\"\n", command);
		usage(stderr);
		return EXIT_BAD_CONFIG;
	}

	struct server srv = { .started_us = time_now_us() };
	json_set_alloc_funcs(jansson_alloc, free);
	json_object_seed(0);

	char err[512];
	if (!config_load(&srv.cfg, env, err, sizeof(err))) {
		fprintf(stderr, "runosd: configuration error: %s\n", err);
		return EXIT_BAD_CONFIG;
	}
	log_configure(srv.cfg.log_level, srv.cfg.log_json);

	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_open_files_limit();

	if (strcmp(command, "serve") == 0 && !srv.cfg.master_key &&
	    !check_state_dir(srv.cfg.state_dir, err, sizeof(err))) {
		log_error("%s", err);
		config_finish(&srv.cfg);
		return EXIT_BAD_CONFIG;
	}
	srv.db = db_pool_create(srv.cfg.database_url, srv.cfg.db_pool);
	db_pool_set_timeouts(srv.db, srv.cfg.db_connect_timeout_seconds,
			     srv.cfg.db_statement_timeout_ms);
	int rc;
	if (!db_pool_wait_ready(srv.db, srv.cfg.db_wait_seconds)) {
		log_error("cannot reach the database (RUNOS_DATABASE_URL) after %d s",
			  srv.cfg.db_wait_seconds);
		rc = EXIT_NO_DATABASE;
	} else if (strcmp(command, "migrate") == 0) {
		rc = run_migrations(&srv);
	} else {
		rc = serve(&srv, &stop_signals);
	}

	domain_verifier_stop(srv.domains);
	queue_sweeper_stop(srv.work);
	queue_wakeups_stop_listening(srv.wakeups);
	http_server_stop(srv.agent_http, 0);
	http_server_stop(srv.http, 0);
	fleet_stop(srv.fleet);
	http_metrics_destroy(srv.metrics);
	ratelimit_destroy(srv.limits);
	auth_destroy(srv.auth);
	/* Last of the pool's users: every commit may publish through it. */
	queue_wakeups_destroy(srv.wakeups);
	pki_ca_destroy(srv.ca);
	crypto_keyring_destroy(srv.keys);
	db_pool_destroy(srv.db);
	config_finish(&srv.cfg);
	return rc;
}
