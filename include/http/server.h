/* The public API listener: a libmicrohttpd daemon with an epoll thread pool.
 * Started once in main, stopped once; the request path is described in
 * server/http/server.c. */
#ifndef RUNOSD_HTTP_SERVER_H
#define RUNOSD_HTTP_SERVER_H

#include <stddef.h>

#include "runosd.h"

#define HTTP_MAX_BODY (1024 * 1024)

struct http_server;

/* Builds the router from the route table and starts listening on
 * srv->cfg.http_addr. NULL with a message in err when that fails. */
struct http_server *http_server_start(struct server *srv, char *err, size_t errcap);

/* Stops accepting connections, lets in-flight requests finish for at most
 * drain_ms, then closes everything. Accepts NULL. */
void http_server_stop(struct http_server *h, int drain_ms);

#endif
