/* The listeners: the public API (plain HTTP) and the agent listener (HTTPS
 * asking for client certificates), each a libmicrohttpd daemon with an epoll
 * thread pool. Started once in main, stopped once; the request path is
 * described in server/http/server.c. */
#ifndef RUNOSD_HTTP_SERVER_H
#define RUNOSD_HTTP_SERVER_H

#include <stddef.h>

#include "http/peer.h"
#include "runosd.h"

#define HTTP_MAX_BODY (1024 * 1024)

struct http_server;

/* One listener: where, which routes, its limits, and TLS. */
struct http_listener {
	const char *name;     /* "api", "agent": the listener label of its metrics */
	const char *addr_var; /* the variable of addr, for messages: "RUNOS_HTTP_ADDR" */
	const struct listen_addr *addr;
	const struct route *routes;
	size_t nroutes;
	int max_connections, timeout_seconds;
	int max_connections_per_ip; /* from one client address at once; 0: no limit */
	int header_timeout_seconds; /* a request's line and headers; 0: none (header_deadline.c) */
	size_t connection_memory;   /* libmicrohttpd's pool per connection: headers, read buffer */
	/* TLS, or all NULL for plain HTTP. With client_ca_pem, clients are asked
	 * for a certificate (not required: routes of access ROUTE_AGENT verify
	 * it themselves). */
	const char *cert_pem, *key_pem, *client_ca_pem;
	/* ROUTE_AGENT requests: what the verified certificate's node is now
	 * (NULL: every such request is refused). */
	http_peer_check_fn check_peer;
	void *check_peer_arg;
	bool idempotent_posts; /* honour Idempotency-Key on POST (API.md §1) */
};

/* Builds the router from the listener's routes and starts listening. NULL
 * with a message in err when that fails. */
struct http_server *http_server_start(struct server *srv, const struct http_listener *l, char *err,
				      size_t errcap);

/* Resumes the long polls parked under key (see request_park). */
void http_server_wake(struct http_server *h, const char *key);
/* Resumes every parked long poll: each looks for its work again. */
void http_server_wake_all(struct http_server *h);

/* Long polls parked now. */
int http_server_parked(struct http_server *h);

/* Stops accepting connections, lets in-flight requests finish for at most
 * drain_ms, then closes everything. Accepts NULL. */
void http_server_stop(struct http_server *h, int drain_ms);

#endif
