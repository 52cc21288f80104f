/* What a handler sees of an HTTP request, and how it answers. The http module
 * fills a struct request, authenticates and validates it against its route,
 * then calls the route's handler on a worker thread; the handler sets exactly
 * one reply with request_reply* or request_error. Handlers never see
 * libmicrohttpd. A request and everything it points to live until the
 * response has been sent; nothing is shared between requests. */
#ifndef RUNOSD_HTTP_REQUEST_H
#define RUNOSD_HTTP_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "db/db.h"
#include "http/peer.h"
#include "http/route.h"

#define REQUEST_MAX_HEADERS 8
#define REQUEST_TRACE_ID_MAX 65

struct server;

struct request {
	struct server *server;
	const struct route *route;
	const char *method;
	const char *path;
	char trace_id[REQUEST_TRACE_ID_MAX];
	char client_ip[48];

	struct {
		const char *name; /* from the pattern, without ':' */
		const char *value;
	} params[ROUTE_MAX_PARAMS];
	int nparams;

	json_t *body;		    /* validated JSON object; {} when the route takes none */
	struct principal principal; /* who called; kind TOKEN_INVALID on public routes */
	struct agent_identity node; /* ROUTE_AGENT: the calling node */
	int64_t poll_deadline_ms;   /* long polls: kept across runs of the handler */
	char park_ref[64];	    /* a parked handler's own note, kept likewise */

	/* The reply, set by the handler. */
	int status;
	json_t *reply;	  /* JSON body, or NULL */
	char *reply_text; /* other body (reply_type says what), or NULL */
	const char *reply_type;
	struct {
		const char *name;
		char *value;
	} headers[REQUEST_MAX_HEADERS];
	int nheaders;
};

/* A path parameter (":aid" → "aid"); NULL when the route has none of that name. */
const char *request_param(const struct request *req, const char *name);

/* A query parameter or request header, or NULL. */
const char *request_query(const struct request *req, const char *name);
/* An integer query parameter, already checked against the route's query
 * table (type and bounds) before the handler runs; fallback when absent. */
int request_query_int(const struct request *req, const char *name, int fallback);
const char *request_header(const struct request *req, const char *name);

/* Replies with a JSON body (stolen; NULL for an empty 204). */
void request_reply(struct request *req, int status, json_t *body);

/* Replies with a non-JSON body (copied), e.g. text/yaml. */
void request_reply_text(struct request *req, int status, const char *content_type,
			const char *body);

/* The one way to answer an error: {error, code, traceId} plus the members of
 * extra (stolen, may be NULL), e.g. field or reason. */
void request_error(struct request *req, int status, const char *code, json_t *extra,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Replies for a store result other than DB_OK: 404 "<what>.not_found",
 * 409, 503, or 500. what is "api_key", "account", "node", ... */
void request_db_error(struct request *req, enum db_result r, const char *what, const char *id);

/* The body's bytes as received (ROUTE_SIGNED routes check a signature over
 * them); *len its length. Lives as long as the request. */
const char *request_raw_body(const struct request *req, size_t *len);

/* Adds a path parameter (value copied) that the path itself does not carry:
 * a route that names its resource by id alone (a webhook) gives the account
 * and cluster it found as :aid and :cid, so the helpers that read them work.
 * name must outlive the request (a literal). False when the request holds
 * ROUTE_MAX_PARAMS already or value is too long. */
bool request_add_param(struct request *req, const char *name, const char *value)
	__attribute__((warn_unused_result));

/* A string member of the validated body, or NULL when absent or null. */
const char *request_body_string(const struct request *req, const char *name);

/* An RFC 3339 string, or JSON null for 0: how replies show a time. */
json_t *http_json_time(int64_t unix_us);

/* Long polls. request_park_wakes(key) before looking for work; when there is
 * none, request_park instead of a reply: the handler runs again (with the
 * same request) when key is woken (http_server_wake), at deadline_ms
 * (time_mono_ms clock), or when the listener stops (request_stopping). */
uint64_t request_park_wakes(struct request *req, const char *key);
void request_park(struct request *req, const char *key, uint64_t wakes, int64_t deadline_ms);
bool request_stopping(const struct request *req);

/* Takes one request of key under a limit of limit per minute; on refusal
 * replies 429 rate_limited (Retry-After, retryAfter) and returns false. Sets
 * RateLimit-Limit and RateLimit-Remaining either way. */
bool request_rate_limit(struct request *req, const char *key, int limit)
	__attribute__((warn_unused_result));

/* Adds a response header (value copied). */
void request_set_header(struct request *req, const char *name, const char *value);

#endif
