/* Slow and abusive clients against the real server: 1,000 slowloris
 * connections (request headers a byte a second) from 20 addresses, clients
 * that send requests and never read the answers, and request lines and
 * headers over their limits. Normal clients (from another loopback address)
 * are served promptly throughout; the per-address limit
 * (RUNOS_HTTP_MAX_CONNECTIONS_PER_IP) refuses the excess at once and the
 * header timeout (RUNOS_HTTP_HEADER_TIMEOUT) closes the rest, which the idle
 * timeout alone never would (each byte resets it). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define PER_IP 50
#define HEADER_TIMEOUT_S 2
#define IDLE_TIMEOUT_S 4
#define SLOW_CLIENTS 1000
#define SLOW_ADDRESSES (SLOW_CLIENTS / PER_IP) /* 127.0.0.10 and on */
#define EXCESS 100

static struct it_server *srv;

/* A TCP connection to s from the loopback address 127.0.0.<from> (127.0.0.1
 * is the harness's own, the normal client). Non-blocking; -1 when refused. */
static int connect_from(const struct it_server *s, int from)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in src = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK + (uint32_t)from - 1) };
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)it_server_port(s)),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* The server closed fd (end of stream or reset); what it sent before is read
 * and dropped. */
static bool closed_by_server(int fd)
{
	char buf[4096];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			return true;
		if (n < 0)
			return errno != EAGAIN && errno != EWOULDBLOCK;
	}
}

/* One more byte of a request that never ends: false once the server closed
 * the connection. */
static bool trickle(int fd, size_t *sent)
{
	static const char slow[] =
		"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: "
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	char c = slow[*sent % (sizeof(slow) - 1)];
	if (*sent >= sizeof(slow) - 1)
		c = 'a';
	if (closed_by_server(fd))
		return false;
	if (send(fd, &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
		return errno == EAGAIN;
	(*sent)++;
	return true;
}

/* GET /healthz from the normal client: 200 within max_ms. */
static bool prompt_healthz(double max_ms, double *took)
{
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/healthz");
	*took = r.seconds * 1000;
	bool ok = r.status == 200 && *took < max_ms;
	if (!ok)
		fprintf(stderr, "healthz: status %ld in %.0f ms\n", r.status, *took);
	it_resp_free(&r);
	return ok;
}

/* A request on a new connection from 127.0.0.<from> is answered 200. */
static bool served_from(int from)
{
	int fd = connect_from(srv, from);
	if (fd < 0)
		return false;
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: again\r\n\r\n";
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256] = "";
	bool ok = send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(req) - 1) &&
		  poll(&p, 1, 2000) == 1 && recv(fd, buf, sizeof(buf) - 1, 0) > 12 &&
		  strncmp(buf, "HTTP/1.1 200", 12) == 0;
	close(fd);
	return ok;
}

/* SLOW_CLIENTS slowloris connections, PER_IP from each of SLOW_ADDRESSES
 * addresses, and EXCESS more from the first of them: those are closed
 * unanswered at once; a normal client's requests get 200 promptly meanwhile,
 * and the kept ones are closed by the header timeout although each sends a
 * byte a second. */
TEST(slowloris)
{
	enum {
		ALL = SLOW_CLIENTS + EXCESS
	};
	static int fds[ALL];
	static size_t sent[ALL];
	int connected = 0;
	for (int i = 0; i < ALL; i++) {
		fds[i] = connect_from(srv, i < SLOW_CLIENTS ? 10 + i % SLOW_ADDRESSES : 10);
		sent[i] = 0;
		connected += fds[i] >= 0;
	}
	double opened = it_now_ms();
	it_sleep_ms(500);
	int open = 0;
	for (int i = 0; i < ALL; i++)
		if (fds[i] >= 0 && trickle(fds[i], &sent[i]))
			open++;
	fprintf(stderr, "slowloris: %d connected, %d kept\n", connected, open);
	CHECK_INT_EQ(connected, ALL);
	/* Which of the first address's the server kept depends on the order
	 * it accepted them in: only the count is known. */
	CHECK_MSG(open == SLOW_CLIENTS, "%d slow connections kept, want %d (%d of each address)",
		  open, SLOW_CLIENTS, PER_IP);

	int slow_answers = 0, requests = 0;
	double worst = 0;
	while (open > 0 && it_now_ms() - opened < (HEADER_TIMEOUT_S + 3) * 1000) {
		for (int k = 0; k < 10; k++) { /* a second of normal requests */
			double took;
			slow_answers += !prompt_healthz(500, &took);
			worst = took > worst ? took : worst;
			requests++;
			it_sleep_ms(100);
		}
		open = 0;
		for (int i = 0; i < ALL; i++)
			if (fds[i] >= 0 && trickle(fds[i], &sent[i]))
				open++;
	}
	double closed_after = it_now_ms() - opened;
	fprintf(stderr,
		"slowloris: %d normal requests (worst %.0f ms), slow ones closed after %.0f ms\n",
		requests, worst, closed_after);
	CHECK_INT_EQ(slow_answers, 0);
	CHECK_MSG(open == 0, "%d slowloris connections still open after %.0f ms", open,
		  closed_after);
	/* The header timeout closed them, before the idle timeout could have
	 * (which each byte put off anyway). */
	CHECK_MSG(closed_after < (HEADER_TIMEOUT_S + 2) * 1000, "closed after %.0f ms",
		  closed_after);
	for (int i = 0; i < ALL; i++)
		if (fds[i] >= 0)
			close(fds[i]);

	/* The addresses may connect again. */
	CHECK(served_from(10));
}

/* A kept-alive connection that had an answer and then sends its next
 * request a byte a second is closed too: by the idle timeout (here longer
 * than the header timeout) counted from that answer. */
TEST(slowloris_after_keep_alive)
{
	int fd = connect_from(srv, 3);
	REQUIRE(fd >= 0);
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: first\r\n\r\n";
	CHECK(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(req) - 1));
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[512] = "";
	CHECK(poll(&p, 1, 2000) == 1 && recv(fd, buf, sizeof(buf) - 1, 0) > 12);
	CHECK_MSG(strncmp(buf, "HTTP/1.1 200", 12) == 0, "answer %.40s", buf);
	double answered = it_now_ms();
	size_t sent = 0;
	while (trickle(fd, &sent) && it_now_ms() - answered < (IDLE_TIMEOUT_S + 4) * 1000)
		it_sleep_ms(1000);
	double after = it_now_ms() - answered;
	fprintf(stderr, "keep-alive slowloris closed after %.0f ms (%zu bytes)\n", after, sent);
	CHECK_MSG(after >= (IDLE_TIMEOUT_S - 1) * 1000 && after < (IDLE_TIMEOUT_S + 2) * 1000,
		  "closed after %.0f ms", after);
	close(fd);
}

/* PER_IP connections that each send 20 requests for the OpenAPI document
 * (180 KB) and never read: the normal client is still served promptly, the
 * address can open no more, and once they stop making progress the idle
 * timeout frees their places (what the server could not send is dropped). */
TEST(clients_that_never_read)
{
	enum {
		READERS = PER_IP,
		PIPELINED = 20
	};
	int fds[READERS];
	static const char req[] = "GET /openapi.json HTTP/1.1\r\nHost: deaf\r\n\r\n";
	for (int i = 0; i < READERS; i++) {
		fds[i] = connect_from(srv, 4);
		for (int k = 0; fds[i] >= 0 && k < PIPELINED; k++)
			if (send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				break;
	}
	int slow = 0;
	double worst = 0;
	for (int k = 0; k < 20; k++) {
		double took;
		slow += !prompt_healthz(500, &took);
		worst = took > worst ? took : worst;
		it_sleep_ms(100);
	}
	fprintf(stderr, "never-reading clients: worst normal request %.0f ms\n", worst);
	CHECK_INT_EQ(slow, 0);
	CHECK_MSG(!served_from(4), "a connection over the address's limit was served");
	it_sleep_ms((IDLE_TIMEOUT_S + 2) * 1000);
	CHECK_MSG(served_from(4),
		  "the idle timeout did not free the places of clients that never read");
	for (int i = 0; i < READERS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Sends a raw request and returns the status of its answer (0 for none);
 * the answer's text goes to answer. */
static int raw_status(const char *request, size_t len, char *answer, size_t cap)
{
	int fd = connect_from(srv, 5);
	if (fd < 0)
		return 0;
	size_t off = 0;
	double start = it_now_ms();
	while (off < len && it_now_ms() - start < 5000) {
		ssize_t n = send(fd, request + off, len - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (errno == EAGAIN)
			it_sleep_ms(5);
		else
			break; /* the server may answer and close before reading it all */
	}
	size_t got = 0;
	answer[0] = '\0';
	while (got < cap - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 3000) != 1)
			break;
		ssize_t n = recv(fd, answer + got, cap - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	answer[got] = '\0';
	close(fd);
	int status = 0;
	if (sscanf(answer, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	return status;
}

static char *big_request(const char *head, size_t fill, const char *tail)
{
	size_t h = strlen(head), t = strlen(tail);
	char *s = malloc(h + fill + t + 1);
	memcpy(s, head, h);
	memset(s + h, 'x', fill);
	memcpy(s + h + fill, tail, t + 1);
	return s;
}

/* A header over the limit is 431, a request line over it 414: at 20 KB
 * a JSON error of ours, at 1 MB (past the connection's memory) libmicrohttpd's
 * own answer with the same status; the server keeps serving. */
TEST(oversized_request_line_and_headers)
{
	static const size_t sizes[] = { 20 * 1024, 1024 * 1024 };
	static char answer[8192];
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *req = big_request("GET /healthz HTTP/1.1\r\nHost: big\r\nX-Big: ", sizes[i],
					"\r\n\r\n");
		int status = raw_status(req, strlen(req), answer, sizeof(answer));
		CHECK_MSG(status == 431, "%zu B header: status %d, answer %.300s", sizes[i], status,
			  answer);
		CHECK_MSG(i > 0 || strstr(answer, "\"code\":\"request.headers_too_large\"") != NULL,
			  "%zu B header: answer %.300s", sizes[i], answer);
		free(req);
		req = big_request("GET /", sizes[i], " HTTP/1.1\r\nHost: big\r\n\r\n");
		status = raw_status(req, strlen(req), answer, sizeof(answer));
		CHECK_MSG(status == 414, "%zu B URL: status %d, answer %.300s", sizes[i], status,
			  answer);
		CHECK_MSG(i > 0 || strstr(answer, "\"code\":\"request.uri_too_long\"") != NULL,
			  "%zu B URL: answer %.300s", sizes[i], answer);
		free(req);
		/* Many headers, each short. */
		char *many = malloc(sizes[i] + 200);
		size_t n = (size_t)sprintf(many, "GET /healthz HTTP/1.1\r\nHost: many\r\n");
		for (int k = 0; n + 40 < sizes[i]; k++)
			n += (size_t)sprintf(many + n, "X-H%d: v\r\n", k);
		n += (size_t)sprintf(many + n, "\r\n");
		status = raw_status(many, n, answer, sizeof(answer));
		CHECK_MSG(status == 431, "%zu B of headers: status %d, answer %.300s", sizes[i],
			  status, answer);
		free(many);
	}
	double took;
	CHECK(prompt_healthz(1000, &took));
	CHECK(it_server_alive(srv));
}

int main(void)
{
	if (!it_init("it_slow_clients")) {
		test_failed++;
		return it_finish("it_slow_clients");
	}
#define STR2(x) #x
#define STR(x) STR2(x)
	static const char *const extra[] = { "RUNOS_HTTP_MAX_CONNECTIONS_PER_IP=" STR(PER_IP),
					     "RUNOS_HTTP_HEADER_TIMEOUT=" STR(HEADER_TIMEOUT_S),
					     "RUNOS_HTTP_TIMEOUT=" STR(IDLE_TIMEOUT_S),
					     "RUNOS_THREADS=4", NULL };
	struct rlimit files; /* this program holds SLOW_CLIENTS + EXCESS sockets at once */
	if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
		files.rlim_cur = files.rlim_max;
		setrlimit(RLIMIT_NOFILE, &files);
	}
	srv = it_server_start("slow_clients", extra);
	if (!srv) {
		test_failed++;
		return it_finish("it_slow_clients");
	}
	RUN(slowloris);
	RUN(slowloris_after_keep_alive);
	RUN(clients_that_never_read);
	RUN(oversized_request_line_and_headers);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	return it_finish("it_slow_clients");
}
