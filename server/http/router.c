/* Route matching (see include/http/router.h). Immutable after creation. */
#include "http/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

struct compiled_route {
	const struct route *route;
	int nsegments;
	const char *segments[ROUTER_MAX_SEGMENTS]; /* point into pattern_copy */
	bool is_param[ROUTER_MAX_SEGMENTS];
	unsigned specificity;
	char *pattern_copy;
};

struct http_router {
	struct compiled_route *routes;
	size_t n;
};

/* Splits "/a/:b/c" in place into segments; false when it has too many or an
 * empty one (so "//x" and "/x/" do not match anything). */
static int split_path(char *path, const char **segments)
{
	if (path[0] != '/')
		return -1;
	if (path[1] == '\0')
		return 0;
	int n = 0;
	char *p = path + 1;
	for (;;) {
		if (n == ROUTER_MAX_SEGMENTS)
			return -1;
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (*p == '\0')
			return -1;
		segments[n++] = p;
		if (!slash)
			return n;
		p = slash + 1;
	}
}

#define STR_(x) #x
#define STR(x) STR_(x)

static int count_params(const struct compiled_route *c)
{
	int n = 0;
	for (int s = 0; s < c->nsegments; s++)
		n += c->segments[s][0] == ':';
	return n;
}

static const char *const known_methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", NULL };

static bool known_method(const char *m)
{
	for (const char *const *k = known_methods; *k; k++)
		if (strcmp(*k, m) == 0)
			return true;
	return false;
}

struct http_router *http_router_create(const struct route *routes, size_t n, char *err,
				       size_t errcap)
{
	struct http_router *r = xcalloc(1, sizeof(*r));
	r->routes = xcalloc(n, sizeof(*r->routes));
	r->n = n;
	for (size_t i = 0; i < n; i++) {
		const struct route *route = &routes[i];
		struct compiled_route *c = &r->routes[i];
		c->route = route;
		c->pattern_copy = xstrdup(route->pattern ? route->pattern : "");
		const char *why = NULL;
		if (!route->method || !known_method(route->method))
			why = "no or unknown method";
		else if (!route->handler)
			why = "no handler";
		else if (route->access == ROUTE_ACCESS_UNSET)
			why = "no access level declared (deny by default)";
		else if (!route->output || !route->input)
			why = "no input schema or output declared";
		else if ((c->nsegments = split_path(c->pattern_copy, c->segments)) < 0)
			why = "bad pattern (an empty segment, or more than " STR(
				ROUTER_MAX_SEGMENTS) " segments)";
		else if (count_params(c) > ROUTE_MAX_PARAMS)
			why = "more :params than a request holds (ROUTE_MAX_PARAMS, " STR(
				ROUTE_MAX_PARAMS) ")";
		else if (route->access == ROUTE_ACCOUNT &&
			 (route->min_role == ROLE_NONE || c->nsegments == 0 ||
			  strcmp(c->segments[0], ":aid") != 0))
			why = "account route without a minimum role or an :aid first segment";
		else if (route->access == ROUTE_ACCOUNT_OF &&
			 (route->min_role == ROLE_NONE || !route->account_of))
			why = "account-of route without a minimum role or an account_of";
		for (size_t j = 0; !why && j < i; j++)
			if (strcmp(routes[j].method, route->method) == 0 &&
			    strcmp(routes[j].pattern, route->pattern) == 0)
				why = "declared twice";
		if (why) {
			snprintf(err, errcap, "route %s %s: %s",
				 route->method ? route->method : "?",
				 route->pattern ? route->pattern : "?", why);
			r->n = i + 1;
			http_router_destroy(r);
			return NULL;
		}
		for (int s = 0; s < c->nsegments; s++) {
			c->is_param[s] = c->segments[s][0] == ':';
			if (c->is_param[s])
				c->segments[s]++;
			else
				c->specificity |= 1u << (ROUTER_MAX_SEGMENTS - 1 - s);
		}
	}
	return r;
}

void http_router_destroy(struct http_router *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->routes[i].pattern_copy);
	free(r->routes);
	free(r);
}

static bool segments_match(const struct compiled_route *c, int n, const char *const *segments)
{
	if (c->nsegments != n)
		return false;
	for (int s = 0; s < n; s++)
		if (!c->is_param[s] && strcmp(c->segments[s], segments[s]) != 0)
			return false;
	return true;
}

enum router_result http_router_match(const struct http_router *r, const char *method,
				     const char *path, struct router_match *out)
{
	memset(out, 0, sizeof(*out));
	char buf[1024];
	if (strlen(path) >= sizeof(buf))
		return ROUTER_NOT_FOUND;
	strcpy(buf, path);
	const char *segments[ROUTER_MAX_SEGMENTS];
	int n = split_path(buf, segments);
	if (n < 0)
		return ROUTER_NOT_FOUND;
	if (strcmp(method, "HEAD") == 0)
		method = "GET";

	/* The most specific pattern that fits the path decides. */
	const struct compiled_route *best = NULL;
	for (size_t i = 0; i < r->n; i++) {
		const struct compiled_route *c = &r->routes[i];
		if (segments_match(c, n, segments) && (!best || c->specificity > best->specificity))
			best = c;
	}
	if (!best)
		return ROUTER_NOT_FOUND;

	const struct compiled_route *found = NULL;
	size_t allow_len = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct compiled_route *c = &r->routes[i];
		if (strcmp(c->route->pattern, best->route->pattern) != 0)
			continue;
		if (strcmp(c->route->method, method) == 0)
			found = c;
		allow_len +=
			(size_t)snprintf(out->allow + allow_len, sizeof(out->allow) - allow_len,
					 "%s%s", allow_len ? ", " : "", c->route->method);
		if (strcmp(c->route->method, "GET") == 0)
			allow_len += (size_t)snprintf(out->allow + allow_len,
						      sizeof(out->allow) - allow_len, ", HEAD");
	}
	if (!found)
		return ROUTER_METHOD_NOT_ALLOWED;

	out->route = found->route;
	for (int s = 0; s < n; s++) {
		if (!found->is_param[s])
			continue;
		if (strlen(segments[s]) >= sizeof(out->params[0].value))
			return ROUTER_NOT_FOUND;
		out->params[out->nparams].name = found->segments[s];
		strcpy(out->params[out->nparams].value, segments[s]);
		out->nparams++;
	}
	return ROUTER_FOUND;
}
