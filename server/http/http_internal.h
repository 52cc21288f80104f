/* Private to server/http/: one exchange per HTTP request, holding the
 * handler-facing struct request and what libmicrohttpd needs. */
#ifndef RUNOSD_HTTP_INTERNAL_H
#define RUNOSD_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>

#include "http/request.h"
#include "http/router.h"
#include "pki/certs.h"
#include "queue/parking.h"

/* Bytes of an unwanted body read and dropped before the connection is closed. */
#define HTTP_MAX_DRAIN (16 * 1024 * 1024)
/* A request's target (path and query) and its headers at most; past them:
 * 414 and 431 as JSON errors. libmicrohttpd refuses what does not fit its
 * per-connection pool (struct http_listener's connection_memory) itself, with
 * the same statuses and a short HTML body: the pool is kept larger than these. */
#define HTTP_MAX_TARGET (8 * 1024)
#define HTTP_MAX_HEADERS (16 * 1024)

struct http_server {
	struct server *srv;
	const char *name;
	const char *addr_var;
	struct http_router *router;
	struct MHD_Daemon *daemon;
	atomic_int in_flight;
	atomic_bool stopping;  /* answers close their connection: drain ends */
	char *tls_pem[3];      /* certificate chain, key, client CA: NULL without TLS */
	bool idempotent_posts; /* Idempotency-Key honoured (the API listener) */
	struct parking_lot *parking;
	http_peer_check_fn check_peer; /* ROUTE_AGENT: see struct http_listener */
	void *check_peer_arg;
	struct header_deadlines *deadlines; /* NULL: no header timeout */
};

/* What a connection keeps from its start to its close: on TLS, the client
 * certificate, verified once; with a header timeout, its deadline
 * (header_deadline.c). */
struct http_conn {
	bool peer_checked;
	bool peer_valid;
	struct pki_peer peer;
	int fd;				    /* a dup of the socket, or -1 */
	_Atomic int64_t header_deadline_ms; /* monotonic; 0: none (headers in, a request running) */
	struct http_conn *prev, *next;
};

/* Header timeouts (header_deadline.c). create returns NULL when
 * header_seconds is 0 (no timeout); every other function accepts that NULL.
 * open (from libmicrohttpd's connection start, with the socket) arms the
 * deadline header_seconds ahead; met disarms it when a request's headers are
 * in; rearm (when a request ends) arms it max(idle_seconds, header_seconds)
 * ahead; close (connection closed) forgets c. Thread-safe. */
struct header_deadlines;
struct header_deadlines *http_header_deadlines_create(int header_seconds, int idle_seconds);
void http_header_deadlines_destroy(struct header_deadlines *d);
void http_header_deadline_open(struct header_deadlines *d, struct http_conn *c, int fd);
void http_header_deadline_met(struct header_deadlines *d, struct http_conn *c);
void http_header_deadline_rearm(struct header_deadlines *d, struct http_conn *c);
void http_header_deadline_close(struct header_deadlines *d, struct http_conn *c);

struct exchange {
	struct request req;	      /* first member: request pointers convert back */
	struct http_conn *tls;	      /* NULL on plain HTTP */
	struct http_conn *conn_state; /* every connection's (tls is this one on TLS) */
	struct http_server *owner;
	struct MHD_Connection *conn;
	struct router_match match;
	enum router_result routed;
	int64_t started_ms;
	int64_t started_us; /* monotonic, for the latency metrics */
	char *body;
	size_t body_len;
	bool body_too_large;
	int oversized;	/* 414 or 431: the request line or headers over their limits */
	size_t drained; /* bytes read and dropped */
	bool answered;	/* a response is queued */
	/* Long polls: what the handler asked for (request_park), and whether the
	 * handler already ran once (then it runs again alone when resumed). */
	bool park_requested, resumed;
	char park_key[32];
	uint64_t park_wakes;
	int64_t park_deadline_ms;
	struct parked parked;
	/* Idempotency-Key (idempotency.c): the key this request claimed. */
	bool idem_claimed;
	uint8_t idem_hash[32];
	char idem_scope[80];
	char idem_key[256];
	size_t reply_bytes;
	char method[16];
	char path[1024];
};

static inline struct exchange *exchange_of(const struct request *req)
{
	return (struct exchange *)req;
}

/* Answers the request: routing refusals, authentication, authorisation, body
 * validation, then the route's handler (dispatch.c). */
void http_dispatch(struct exchange *ex);

/* The request's Origin when RUNOS_CORS_ORIGINS allows it, else NULL (reply.c). */
const char *http_allowed_origin(struct exchange *ex);
extern const char http_cors_allow_headers[];

/* Authenticates a ROUTE_AGENT request by its connection's client certificate
 * (peer.c); on failure the error reply is set. */
bool http_authorize_agent(struct exchange *ex);

/* A new connection's TLS handshake reads through a pacing pull function that
 * sleeps its worker briefly instead of spinning while the client has sent
 * nothing yet (tls_pacing.c); a plain connection is left alone. Called from
 * the connection's start notification, before its first handshake step. */
void http_tls_pace_handshake(struct MHD_Connection *conn);

/* Idempotency-Key around the handler (idempotency.c): begin returns false
 * when it set the reply (a replay or a refusal); finish records the reply. */
bool http_idempotency_begin(struct exchange *ex);
void http_idempotency_finish(struct exchange *ex);

/* Queues req's reply (or a 500 when the handler set none) on the connection. */
enum MHD_Result http_queue_reply(struct exchange *ex);

/* Frees what the handler's reply holds. */
void http_request_clear_reply(struct request *req);

#endif
