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
};

/* What a TLS connection keeps between its requests: the client certificate,
 * verified once. */
struct http_conn {
	bool peer_checked;
	bool peer_valid;
	struct pki_peer peer;
};

struct exchange {
	struct request req;    /* first member: request pointers convert back */
	struct http_conn *tls; /* NULL on plain HTTP */
	struct http_server *owner;
	struct MHD_Connection *conn;
	struct router_match match;
	enum router_result routed;
	int64_t started_ms;
	int64_t started_us; /* monotonic, for the latency metrics */
	char *body;
	size_t body_len;
	bool body_too_large;
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
