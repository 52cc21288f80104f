/* The agent listener's TLS handshakes against the real server (BENCHMARKS.md,
 * "TLS handshakes under a burst of new agents"):
 *  - a client that sends its ClientHello and then stalls, and one that
 *    connects and sends nothing, leave every worker thread of runosd asleep
 *    (libmicrohttpd 0.9.75's epoll loop spun a thread on recv() returning
 *    EAGAIN for each connection whose handshake waited for the client; with
 *    MHD_USE_TURBO from the accept on, so for the silent client too);
 *  - a burst of new mutual-TLS connections, many at once, is answered in
 *    full, with the stalled clients still connected. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agents.h"
#include "harness.h"

#define STALLED 4	   /* connections of each kind that stall their handshake */
#define BURST_THREADS 16   /* clients connecting at once */
#define BURST_PER_THREAD 8 /* new connections each, one after the other */

static struct it_server *srv;
static struct it_user owner;
static PGconn *pg;
static char cid[8];
static char *ca_pem;
static struct it_node node;

/* ---- runosd's threads, from /proc ----------------------------------------- */

/* The state letter of one thread (R running or runnable, S sleeping, ...),
 * or 0 when it is not a libmicrohttpd worker. */
static char worker_state(pid_t pid, const char *tid)
{
	char path[320], comm[32] = "", stat[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	bool named = fgets(comm, sizeof(comm), f) && strncmp(comm, "MHD-worker", 10) == 0;
	fclose(f);
	if (!named)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	const char *end = strrchr(stat, ')'); /* "tid (comm) S ..." */
	return end && end[1] == ' ' ? end[2] : 0;
}

/* How many libmicrohttpd workers of pid are running or runnable now; -1 when
 * there is none (not the server's threads). */
static int workers_running(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int workers = 0, running = 0;
	for (struct dirent *e; (e = readdir(d));) {
		char state = e->d_name[0] == '.' ? 0 : worker_state(pid, e->d_name);
		if (state) {
			workers++;
			running += state == 'R';
		}
	}
	closedir(d);
	return workers ? running : -1;
}

/* Waits up to ms for a moment when no worker is running: an idle server's
 * workers sleep in poll(); a worker that spins never does. */
static bool workers_fall_asleep(pid_t pid, int ms)
{
	for (double end = it_now_ms() + ms; it_now_ms() < end; it_sleep_ms(20))
		if (workers_running(pid) == 0)
			return true;
	return false;
}

/* CPU time (utime + stime, clock ticks) of pid's libmicrohttpd workers, all
 * together; -1 when there is none. */
static long workers_ticks(pid_t pid)
{
	char path[320];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	long ticks = -1;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.' || !worker_state(pid, e->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, e->d_name);
		FILE *f = fopen(path, "r");
		char stat[512];
		size_t n = f ? fread(stat, 1, sizeof(stat) - 1, f) : 0;
		if (f)
			fclose(f);
		stat[n] = '\0';
		const char *p = strrchr(stat, ')');
		unsigned long utime = 0, stime = 0;
		/* After "(comm)": state and 10 more fields, then utime and stime. */
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&utime, &stime) == 2)
			ticks = (ticks < 0 ? 0 : ticks) + (long)(utime + stime);
	}
	closedir(d);
	return ticks;
}

/* The workers' CPU over one second, in percent of a core. */
static double workers_cpu_percent(pid_t pid)
{
	long before = workers_ticks(pid);
	it_sleep_ms(1000);
	long after = workers_ticks(pid);
	return before < 0 || after < 0 ? 100.0
				       : 100.0 * (double)(after - before) / sysconf(_SC_CLK_TCK);
}

static int open_files(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- clients that stall -------------------------------------------------- */

static int connect_agent_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)it_server_agent_port(srv)) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A TLS client that sends its ClientHello and waits until the server's first
 * flight has arrived (so the server is waiting for the client's), then sends
 * nothing more: the TLS engine writes into memory, and only the ClientHello
 * goes to the socket. Returns the socket; *ssl stays for the caller. */
static int stall_after_client_hello(SSL_CTX *ctx, SSL **ssl)
{
	int fd = connect_agent_port();
	if (fd < 0)
		return -1;
	*ssl = SSL_new(ctx);
	BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
	SSL_set_bio(*ssl, in, out);
	int rc = SSL_connect(*ssl); /* the ClientHello into out; wants to read */
	char *hello;
	long n = BIO_get_mem_data(out, &hello);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	bool ok = rc != 1 && SSL_get_error(*ssl, rc) == SSL_ERROR_WANT_READ && n > 0 &&
		  send(fd, hello, (size_t)n, MSG_NOSIGNAL) == n &&
		  poll(&p, 1, 10000) == 1; /* the server's flight, left unread */
	if (!ok) {
		SSL_free(*ssl);
		*ssl = NULL;
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- the burst ----------------------------------------------------------- */

struct burst {
	pthread_t thread;
	int ok, failed;
	long last_status;
	int last_curl;
};

static void *burst_client(void *arg)
{
	struct burst *b = arg;
	for (int i = 0; i < BURST_PER_THREAD; i++) {
		/* A fresh connection (and handshake) each time. */
		struct it_resp r = it_agent_call(srv, ca_pem, &node, "GET",
						 "/agent/v1/control-plane-nodes", NULL);
		if (r.status == 200) {
			b->ok++;
		} else {
			b->failed++;
			b->last_status = r.status;
			b->last_curl = r.curl_code;
		}
		it_resp_free(&r);
	}
	return NULL;
}

/* ---- the test ------------------------------------------------------------ */

TEST(stalled_handshakes_and_a_burst)
{
	pid_t pid = it_server_pid(srv);
	CHECK(workers_running(pid) >= 0);
	CHECK_MSG(workers_fall_asleep(pid, 10000), "an idle server's workers never all slept");

	/* Connected, nothing sent: the server has accepted them once it holds
	 * their descriptors. */
	int before = open_files(pid);
	int idle[STALLED];
	for (int i = 0; i < STALLED; i++)
		idle[i] = connect_agent_port();
	for (int i = 0; i < STALLED; i++)
		CHECK(idle[i] >= 0);
	bool accepted = false;
	for (double end = it_now_ms() + 10000; !accepted && it_now_ms() < end; it_sleep_ms(20))
		accepted = open_files(pid) >= before + STALLED;
	CHECK_MSG(accepted, "runosd holds %d descriptors, %d before the connections",
		  open_files(pid), before);

	/* ClientHello sent, the server's answer received, nothing more. */
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL *ssl[STALLED];
	int hello[STALLED];
	for (int i = 0; i < STALLED; i++) {
		hello[i] = stall_after_client_hello(ctx, &ssl[i]);
		CHECK_MSG(hello[i] >= 0, "no server flight after the ClientHello");
	}

	/* Before the fix, each worker holding a stalled handshake spun at 100 %
	 * of a core until the connection timed out: never all asleep. */
	CHECK_MSG(workers_fall_asleep(pid, 5000),
		  "a worker stays running while handshakes wait for their clients (%d running)",
		  workers_running(pid));
	/* And not just at one sampled moment: over a second, the workers together
	 * use a small share of a core (a spinning one uses all of it). */
	double cpu = workers_cpu_percent(pid);
	CHECK_MSG(cpu < 20.0, "the workers used %.0f %% of a core while handshakes waited", cpu);

	/* Many new mutual-TLS connections at once, the stalled ones still
	 * there: each is answered. */
	struct burst b[BURST_THREADS];
	memset(b, 0, sizeof(b));
	for (int i = 0; i < BURST_THREADS; i++)
		CHECK(pthread_create(&b[i].thread, NULL, burst_client, &b[i]) == 0);
	int ok = 0, failed = 0;
	for (int i = 0; i < BURST_THREADS; i++) {
		pthread_join(b[i].thread, NULL);
		ok += b[i].ok;
		failed += b[i].failed;
		if (b[i].failed)
			fprintf(stderr, "burst: a client failed (HTTP %ld, curl %d)\n",
				b[i].last_status, b[i].last_curl);
	}
	CHECK_INT_EQ(ok, BURST_THREADS * BURST_PER_THREAD);
	CHECK_INT_EQ(failed, 0);
	CHECK_MSG(workers_fall_asleep(pid, 10000), "workers still running after the burst");

	for (int i = 0; i < STALLED; i++) {
		if (hello[i] >= 0) {
			SSL_free(ssl[i]);
			close(hello[i]);
		}
		if (idle[i] >= 0)
			close(idle[i]);
	}
	SSL_CTX_free(ctx);
	CHECK(it_server_alive(srv));
}

int main(void)
{
	if (!it_init("it_agent_tls")) {
		test_failed++;
		return it_finish("it_agent_tls");
	}
	srv = it_server_start("agent-tls", (const char *[]){ "RUNOS_HTTP_TIMEOUT=120", NULL });
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	ca_pem = pg ? it_agent_ca(pg) : NULL;
	char token[64];
	bool ready = srv && pg && ca_pem && it_signup(srv, &owner) &&
		     it_new_cluster(srv, &owner, "tls", cid) &&
		     it_join_token(srv, &owner, cid, "worker", 1, token) &&
		     it_agent_register(srv, ca_pem, token, &node);
	if (!ready) {
		test_failed++;
		fprintf(stderr, "FAIL it_agent_tls: no server, database, CA, user or node\n");
		return it_finish("it_agent_tls");
	}
	RUN(stalled_handshakes_and_a_burst);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	it_node_free(&node);
	PQfinish(pg);
	free(ca_pem);
	return it_finish("it_agent_tls");
}
