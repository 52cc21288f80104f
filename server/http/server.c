/* A listener (libmicrohttpd, epoll thread pool): the public API, or the
 * agent listener with TLS, whose connections keep their client certificate
 * (struct http_conn) from the first request that checks it to their close.
 *
 * Request path, per request:
 *  1. first call of the access handler: allocate the exchange, assign the
 *     trace id, match the route. A body announced over 1 MiB is refused here
 *     (413, connection closed); everything else is answered only in a later
 *     call, because a response queued in the first call costs the client its
 *     keep-alive connection.
 *  2. upload calls: append the body up to HTTP_MAX_BODY (past it: 413).
 *  3. final call: http_dispatch (dispatch.c) authenticates, authorises,
 *     parses and validates the body and runs the handler on this worker
 *     thread; http_queue_reply (reply.c) queues the answer.
 *  4. completion: write the access-log line, free the exchange.
 * Worker threads share only the server object; an exchange belongs to the
 * thread of its connection. This file owns the daemon and that lifecycle. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/seal.h"
#include "http/metrics.h"
#include "http_internal.h"
#include "idalloc/ids.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

/* An incoming X-Request-Id is kept when it is short and plain, so a caller can
 * follow its own id through our logs; otherwise a random one is made. */
static void assign_trace_id(struct exchange *ex)
{
	const char *given = MHD_lookup_connection_value(ex->conn, MHD_HEADER_KIND, "X-Request-Id");
	if (given) {
		size_t n = strlen(given);
		bool plain = n >= 8 && n < REQUEST_TRACE_ID_MAX;
		for (size_t i = 0; plain && i < n; i++) {
			char c = given[i];
			plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
		}
		if (plain) {
			memcpy(ex->req.trace_id, given, n + 1);
			return;
		}
	}
	/* Trace ids need to be unique, not secret: a per-thread splitmix64
	 * stream seeded from the CSPRNG avoids a CSPRNG call per request. */
	static __thread uint64_t state;
	if (!state)
		crypto_random_bytes(&state, sizeof(state));
	uint8_t bytes[16];
	for (int half = 0; half < 2; half++) {
		uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		memcpy(bytes + 8 * half, &z, 8);
	}
	crypto_hex(bytes, sizeof(bytes), ex->req.trace_id);
}

static void client_ip(struct MHD_Connection *conn, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = '\0';
	if (!info || !info->client_addr)
		return;
	const struct sockaddr *sa = info->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			  (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)cap);
}

static struct exchange *exchange_create(struct http_server *h, struct MHD_Connection *conn,
					const char *url, const char *method)
{
	struct exchange *ex = xcalloc(1, sizeof(*ex));
	ex->owner = h;
	ex->conn = conn;
	ex->started_ms = time_mono_ms();
	ex->started_us = time_mono_us();
	snprintf(ex->method, sizeof(ex->method), "%s", method);
	snprintf(ex->path, sizeof(ex->path), "%s", url);
	ex->req.server = h->srv;
	ex->req.method = ex->method;
	ex->req.path = ex->path;
	const union MHD_ConnectionInfo *state =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	ex->conn_state = state ? state->socket_context : NULL;
	ex->tls = h->tls_pem[0] ? ex->conn_state : NULL;
	assign_trace_id(ex);
	client_ip(conn, ex->req.client_ip, sizeof(ex->req.client_ip));

	const char *match_method = strcmp(method, "OPTIONS") == 0 ? "GET" : method;
	ex->routed = http_router_match(h->router, match_method, url, &ex->match);
	if (strcmp(method, "OPTIONS") == 0 && ex->routed == ROUTER_METHOD_NOT_ALLOWED)
		ex->routed = ROUTER_FOUND;
	if (ex->routed == ROUTER_FOUND) {
		ex->req.route = ex->match.route;
		/* Both hold ROUTE_MAX_PARAMS: the router refuses deeper patterns. */
		for (int i = 0; i < ex->match.nparams; i++) {
			ex->req.params[i].name = ex->match.params[i].name;
			ex->req.params[i].value = ex->match.params[i].value;
		}
		ex->req.nparams = ex->match.nparams;
	}
	atomic_fetch_add(&h->in_flight, 1);
	return ex;
}

struct sizes {
	size_t bytes;
};

static enum MHD_Result add_size(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	(void)kind;
	struct sizes *s = cls;
	s->bytes += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": ", CRLF */
	return MHD_YES;
}

/* 414 when the target (path and query, as decoded) is over HTTP_MAX_TARGET,
 * 431 when the headers are over HTTP_MAX_HEADERS, else 0. */
static int oversized(struct MHD_Connection *conn, const char *url)
{
	struct sizes target = { strlen(url) }, headers = { 0 };
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_size, &target);
	if (target.bytes > HTTP_MAX_TARGET)
		return 414;
	MHD_get_connection_values(conn, MHD_HEADER_KIND, add_size, &headers);
	return headers.bytes > HTTP_MAX_HEADERS ? 431 : 0;
}

static bool announced_too_large(struct MHD_Connection *conn)
{
	const char *len =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	return len && strtoull(len, NULL, 10) > HTTP_MAX_BODY;
}

/* The peer shut its side down (POLLRDHUP: even with unread bytes, such as a
 * TLS close_notify, still queued). */
static bool client_gone(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!info)
		return false;
	struct pollfd p = { .fd = info->connect_fd, .events = POLLIN | POLLRDHUP };
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *h = cls;
	struct exchange *ex = *con_cls;
	(void)version;

	if (!ex) {
		ex = exchange_create(h, conn, url, method);
		*con_cls = ex;
		http_header_deadline_met(h->deadlines, ex->conn_state);
		ex->oversized = oversized(conn, url);
		if (ex->oversized || announced_too_large(conn)) {
			ex->body_too_large = !ex->oversized;
			http_dispatch(ex);
			return http_queue_reply(ex);
		}
		return MHD_YES;
	}
	if (ex->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (ex->routed != ROUTER_FOUND || ex->body_too_large || ex->oversized) {
			/* Read and drop: the answer is an error anyway. libmicrohttpd
			 * 0.9.75 cannot queue a reply before the upload ends, so a
			 * body over the limit (sent chunked, without Content-Length)
			 * is drained up to HTTP_MAX_DRAIN and answered 413; past that
			 * the connection is closed. */
			ex->drained += n;
			return ex->drained > HTTP_MAX_DRAIN ? MHD_NO : MHD_YES;
		}
		if (ex->body_len + n > HTTP_MAX_BODY) {
			ex->body_too_large = true;
			ex->drained = ex->body_len + n;
			return MHD_YES;
		}
		ex->body = xrealloc(ex->body, ex->body_len + n + 1);
		memcpy(ex->body + ex->body_len, upload_data, n);
		ex->body_len += n;
		ex->body[ex->body_len] = '\0';
		return MHD_YES;
	}
	/* A parked request whose client hung up meanwhile (a suspended
	 * connection is not watched) is not run again: its handler would hand
	 * work to a connection nobody reads. It is answered 499 (as nginx logs
	 * a client that closed its request), which only the access log sees. */
	if (ex->resumed && client_gone(conn)) {
		request_error(&ex->req, 499, "request.client_gone", NULL,
			      "The client closed the connection while the request waited");
		return http_queue_reply(ex);
	}
	http_dispatch(ex);
	if (ex->park_requested) {
		ex->park_requested = false;
		ex->resumed = true;
		http_request_clear_reply(&ex->req);
		MHD_suspend_connection(conn);
		queue_parking_park(h->parking, &ex->parked, ex->park_key, ex->park_wakes,
				   ex->park_deadline_ms);
		return MHD_YES;
	}
	return http_queue_reply(ex);
}

static void access_log(struct exchange *ex, enum MHD_RequestTerminationCode toe)
{
	struct request *req = &ex->req;
	long long ms = (long long)(time_mono_ms() - ex->started_ms);
	bool aborted = toe != MHD_REQUEST_TERMINATED_COMPLETED_OK;
	if (!log_is_json()) {
		log_info("%s %s %d %lldms %zuB trace=%s ip=%s%s", ex->method, ex->path, req->status,
			 ms, ex->reply_bytes, req->trace_id, req->client_ip,
			 aborted ? " aborted" : "");
		return;
	}
	/* Formatted by hand: this runs for every request, and jansson's
	 * pack-and-dump showed in profiles. Only the path needs escaping; the
	 * other values are ours. */
	char ts[40], path[512], uid[64] = "";
	time_format_rfc3339_ms(time_now_us(), ts, sizeof(ts));
	log_json_escape(path, sizeof(path), ex->path);
	if (req->principal.uid[0])
		snprintf(uid, sizeof(uid), ",\"uid\":\"%s\"", req->principal.uid);
	char line[1024];
	snprintf(line, sizeof(line),
		 "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"request\",\"method\":\"%s\","
		 "\"path\":\"%s\",\"route\":\"%s\",\"status\":%d,\"durationMs\":%lld,"
		 "\"bytes\":%zu,\"traceId\":\"%s\",\"ip\":\"%s\"%s%s}",
		 ts, ex->method, path, req->route ? req->route->pattern : "", req->status, ms,
		 ex->reply_bytes, req->trace_id, req->client_ip, uid,
		 aborted ? ",\"aborted\":true" : "");
	log_json_line(line);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *h = cls;
	struct exchange *ex = *con_cls;
	(void)conn;
	if (!ex)
		return;
	queue_parking_forget(h->parking, &ex->parked);
	http_header_deadline_rearm(h->deadlines, ex->conn_state);
	http_metrics_record(h->srv->metrics, h->name, ex->req.route, ex->req.status,
			    time_mono_us() - ex->started_us);
	if (log_enabled(LOG_INFO))
		access_log(ex, toe);
	http_request_clear_reply(&ex->req);
	for (int i = 0; i < ex->req.nheaders; i++)
		free(ex->req.headers[i].value);
	json_decref(ex->req.body);
	free(ex->body);
	free(ex);
	*con_cls = NULL;
	atomic_fetch_sub(&h->in_flight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn("libmicrohttpd: %s", msg);
}

static bool resolve(const struct listen_addr *addr, struct sockaddr_storage *out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char port[8];
	snprintf(port, sizeof(port), "%d", addr->port);
	if (getaddrinfo(addr->host, port, &hints, &res) != 0 || !res)
		return false;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return true;
}

/* Why the address cannot be listened on, after libmicrohttpd failed to:
 * errno of a bind of our own (0 when that works). */
static int bind_errno(const struct sockaddr_storage *sa)
{
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int on = 1;
	int e = 0;
	socklen_t len = sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    bind(fd, (const struct sockaddr *)sa, len) != 0)
		e = errno;
	close(fd);
	return e;
}

/* The parking lot's resume: ex's wait is over, its handler runs again. */
static void resume_parked(void *arg, struct parked *p)
{
	(void)arg;
	struct exchange *ex = (struct exchange *)((char *)p - offsetof(struct exchange, parked));
	MHD_resume_connection(ex->conn);
}

/* A struct http_conn per connection, from start to close. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *h = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		struct http_conn *c = xcalloc(1, sizeof(*c));
		*socket_context = c;
		const union MHD_ConnectionInfo *fd =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		http_header_deadline_open(h->deadlines, c, fd ? fd->connect_fd : -1);
		if (h->tls_pem[0])
			http_tls_pace_handshake(conn);
	} else if (*socket_context) {
		http_header_deadline_close(h->deadlines, *socket_context);
		free(*socket_context);
		*socket_context = NULL;
	}
}

struct http_server *http_server_start(struct server *srv, const struct http_listener *l, char *err,
				      size_t errcap)
{
	struct http_server *h = xcalloc(1, sizeof(*h));
	h->srv = srv;
	h->name = l->name;
	h->addr_var = l->addr_var;
	if (srv->metrics)
		http_metrics_register(srv->metrics, l->name, l->routes, l->nroutes);
	h->idempotent_posts = l->idempotent_posts;
	h->check_peer = l->check_peer;
	h->check_peer_arg = l->check_peer_arg;
	h->parking = queue_parking_create(resume_parked, NULL);
	h->router = http_router_create(l->routes, l->nroutes, err, errcap);
	if (!h->router) {
		free(h);
		return NULL;
	}
	struct sockaddr_storage sa;
	if (!resolve(l->addr, &sa)) {
		snprintf(err, errcap, "%s: cannot resolve %s", l->addr_var, l->addr->host);
		http_server_stop(h, 0);
		return NULL;
	}
	unsigned flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	/* epoll on both listeners; with TLS, no TURBO (which marks a new
	 * connection readable from its accept on) and handshakes paced
	 * (tls_pacing.c: libmicrohttpd 0.9.75's epoll loop spins a worker while
	 * a handshake waits for its client). */
	flags |= MHD_USE_EPOLL;
	if (!l->cert_pem)
		flags |= MHD_USE_TURBO;
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* libmicrohttpd keeps pointers to the PEM texts: they live as long as h. */
	for (int i = 0; i < 3; i++) {
		const char *pem = (const char *[]){ l->cert_pem, l->key_pem, l->client_ca_pem }[i];
		h->tls_pem[i] = pem ? xstrdup(pem) : NULL;
	}
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_pem[0] },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_pem[1] },
		{ h->tls_pem[2] ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, h->tls_pem[2] },
		{ MHD_OPTION_END, 0, NULL },
	};
	if (l->cert_pem)
		flags |= MHD_USE_TLS;
	h->deadlines = http_header_deadlines_create(l->header_timeout_seconds, l->timeout_seconds);
	/* The port is also given on its own, only so that libmicrohttpd's own
	 * messages name it (it listens on the address of MHD_OPTION_SOCK_ADDR). */
	h->daemon = MHD_start_daemon(
		flags, (uint16_t)l->addr->port, NULL, NULL, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)srv->cfg.threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)l->max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)l->timeout_seconds,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, l->connection_memory,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)l->max_connections_per_ip, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
		MHD_OPTION_ARRAY, l->cert_pem ? tls : tls + 3, MHD_OPTION_END);
	if (!h->daemon) {
		int e = bind_errno(&sa);
		bool v6 = sa.ss_family == AF_INET6;
		snprintf(err, errcap, "%s: cannot listen on %s%s%s:%d: %s", l->addr_var,
			 v6 ? "[" : "", l->addr->host, v6 ? "]" : "", l->addr->port,
			 e ? strerror(e) : "libmicrohttpd could not start (see its message above)");
		http_server_stop(h, 0);
		return NULL;
	}
	log_info("listening on %s://%s:%d with %d threads", l->cert_pem ? "https" : "http",
		 l->addr->host, l->addr->port, srv->cfg.threads);
	return h;
}

void http_server_wake(struct http_server *h, const char *key)
{
	if (h)
		queue_parking_wake(h->parking, key);
}

void http_server_wake_all(struct http_server *h)
{
	if (h)
		queue_parking_wake_all(h->parking);
}

int http_server_parked(struct http_server *h)
{
	return h ? queue_parking_count(h->parking) : 0;
}

/* Connections the kernel accepted before the listener was quiesced wait in
 * its backlog; closing it would reset them. They were sent before the stop,
 * so they are served: accepted here and handed to the daemon. */
static void adopt_backlog(struct http_server *h, MHD_socket fd)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return;
	for (;;) {
		struct sockaddr_storage addr;
		socklen_t len = sizeof(addr);
		int client = accept4(fd, (struct sockaddr *)&addr, &len, SOCK_CLOEXEC);
		if (client < 0)
			return;
		if (MHD_add_connection(h->daemon, client, (struct sockaddr *)&addr, len) != MHD_YES)
			log_warn("could not hand a pending connection over while stopping");
	}
}

void http_server_stop(struct http_server *h, int drain_ms)
{
	if (!h)
		return;
	if (h->daemon) {
		atomic_store(&h->stopping, true);
		queue_parking_release_all(h->parking);
		MHD_socket fd = MHD_quiesce_daemon(h->daemon);
		if (fd != MHD_INVALID_SOCKET) {
			adopt_backlog(h, fd);
			close(fd);
		}
		int64_t deadline = time_mono_ms() + drain_ms;
		while (atomic_load(&h->in_flight) > 0 && time_mono_ms() < deadline) {
			struct timespec pause = { 0, 10 * 1000 * 1000 };
			nanosleep(&pause, NULL);
		}
		int left = atomic_load(&h->in_flight);
		if (left > 0)
			log_warn("stopping with %d requests still in flight", left);
		MHD_stop_daemon(h->daemon);
	}
	http_header_deadlines_destroy(h->deadlines);
	queue_parking_destroy(h->parking);
	http_router_destroy(h->router);
	for (int i = 0; i < 3; i++)
		if (h->tls_pem[i])
			crypto_free_secret(h->tls_pem[i], strlen(h->tls_pem[i]));
	free(h);
}
