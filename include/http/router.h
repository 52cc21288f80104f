/* Path routing over the route table. Patterns are split once at creation;
 * matching is a scan of the routes with as many segments as the path, the
 * most specific pattern winning (a static segment beats a parameter, earlier
 * segments weigh more), so "/user/accounts" wins over "/:aid/account". The
 * router is immutable after creation and safe to share between threads. */
#ifndef RUNOSD_HTTP_ROUTER_H
#define RUNOSD_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "http/route.h"

/* Segments of a path; patterns have at most ROUTE_MAX_PARAMS of them as
 * :params (http/route.h). */
#define ROUTER_MAX_SEGMENTS 8

struct http_router;

/* Checks every row (a method, a pattern of at most ROUTER_MAX_SEGMENTS
 * segments and ROUTE_MAX_PARAMS :params, a handler, a declared access level,
 * an input schema and an output;
 * ROUTE_ACCOUNT rows need a minimum role and an :aid first segment; no two
 * rows with the same method and pattern) and returns NULL with a message in
 * err when one is wrong: the server does not start then. */
struct http_router *http_router_create(const struct route *routes, size_t n, char *err,
				       size_t errcap);
void http_router_destroy(struct http_router *router);

enum router_result {
	ROUTER_FOUND,
	ROUTER_NOT_FOUND,
	ROUTER_METHOD_NOT_ALLOWED
};

struct router_match {
	const struct route *route;
	int nparams;
	struct {
		const char *name;
		char value[128];
	} params[ROUTE_MAX_PARAMS];
	char allow[96]; /* "GET, PATCH" for ROUTER_METHOD_NOT_ALLOWED and OPTIONS */
};

/* Matches method ("HEAD" counts as "GET") and path. For ROUTER_FOUND, out has
 * the route and the parameters; for ROUTER_METHOD_NOT_ALLOWED and for
 * ROUTER_FOUND, out->allow lists the methods of the matched pattern. */
enum router_result http_router_match(const struct http_router *router, const char *method,
				     const char *path, struct router_match *out);

#endif
