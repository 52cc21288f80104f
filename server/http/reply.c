/* Turning a handler's reply into a libmicrohttpd response: the body, the
 * headers every answer carries (X-Request-Id, Cache-Control, CORS) and
 * "Connection: close" while the server drains. Runs on the exchange's worker
 * thread. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"
#include "runosd.h"
#include "util/log.h"

const char http_cors_allow_headers[] =
	"Authorization, Content-Type, Idempotency-Key, If-Match, X-Request-Id";
static const char cors_expose_headers[] =
	"X-Request-Id, ETag, Link, Retry-After, RateLimit-Limit, RateLimit-Remaining";

const char *http_allowed_origin(struct exchange *ex)
{
	char **origins = ex->req.server->cfg.cors_origins;
	if (!origins || !origins[0])
		return NULL;
	const char *origin = MHD_lookup_connection_value(ex->conn, MHD_HEADER_KIND, "Origin");
	if (!origin)
		return NULL;
	for (char **o = origins; *o; o++)
		if (strcmp(*o, origin) == 0 || strcmp(*o, "*") == 0)
			return origin;
	return NULL;
}

enum MHD_Result http_queue_reply(struct exchange *ex)
{
	struct request *req = &ex->req;
	if (req->status == 0) {
		log_error("handler for %s %s set no reply", ex->method,
			  req->route ? req->route->pattern : ex->path);
		request_error(req, 500, "internal", NULL, "Internal error");
	}

	char *body;
	size_t len;
	const char *type;
	if (req->reply) {
		body = json_dumps(req->reply, JSON_COMPACT);
		len = strlen(body);
		type = "application/json";
	} else if (req->reply_text) {
		body = req->reply_text;
		req->reply_text = NULL;
		len = strlen(body);
		type = req->reply_type;
	} else {
		body = NULL;
		len = 0;
		type = NULL;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Request-Id", req->trace_id);
	/* no-store unless the handler says otherwise (the /docs files). */
	bool cache_control = false;
	for (int i = 0; i < req->nheaders; i++)
		cache_control |= strcasecmp(req->headers[i].name, "Cache-Control") == 0;
	if (!cache_control)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	for (int i = 0; i < req->nheaders; i++)
		MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
	if (atomic_load(&ex->owner->stopping))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	const char *origin = http_allowed_origin(ex);
	if (origin) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
		MHD_add_response_header(resp, "Access-Control-Expose-Headers", cors_expose_headers);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
	}
	ex->reply_bytes = len;
	ex->answered = true;
	enum MHD_Result ok = MHD_queue_response(ex->conn, (unsigned)req->status, resp);
	MHD_destroy_response(resp);
	return ok;
}
