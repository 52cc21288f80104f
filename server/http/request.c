/* The handler-facing request API (see include/http/request.h). A request
 * belongs to the one worker thread that runs its handler. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/validate.h"
#include "http_internal.h"
#include "ratelimit/ratelimit.h"
#include "runosd.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

const char *request_param(const struct request *req, const char *name)
{
	for (int i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].name, name) == 0)
			return req->params[i].value;
	return NULL;
}

bool request_add_param(struct request *req, const char *name, const char *value)
{
	struct exchange *ex = exchange_of(req);
	int i = req->nparams;
	/* The copy lives in the exchange's match, beside the router's values. */
	if (i >= ROUTE_MAX_PARAMS || strlen(value) >= sizeof(ex->match.params[i].value))
		return false;
	ex->match.params[i].name = name;
	snprintf(ex->match.params[i].value, sizeof(ex->match.params[i].value), "%s", value);
	req->params[i].name = name;
	req->params[i].value = ex->match.params[i].value;
	req->nparams = i + 1;
	return true;
}

const char *request_raw_body(const struct request *req, size_t *len)
{
	const struct exchange *ex = exchange_of(req);
	*len = ex->body_len;
	return ex->body ? ex->body : "";
}

const char *request_query(const struct request *req, const char *name)
{
	return MHD_lookup_connection_value(exchange_of(req)->conn, MHD_GET_ARGUMENT_KIND, name);
}

int request_query_int(const struct request *req, const char *name, int fallback)
{
	const char *text = request_query(req, name);
	return text ? atoi(text) : fallback;
}

const char *request_header(const struct request *req, const char *name)
{
	return MHD_lookup_connection_value(exchange_of(req)->conn, MHD_HEADER_KIND, name);
}

void http_request_clear_reply(struct request *req)
{
	json_decref(req->reply);
	req->reply = NULL;
	free(req->reply_text);
	req->reply_text = NULL;
	req->reply_type = NULL;
}

void request_reply(struct request *req, int status, json_t *body)
{
	http_request_clear_reply(req);
	req->status = status;
	req->reply = body;
}

void request_reply_text(struct request *req, int status, const char *content_type, const char *body)
{
	http_request_clear_reply(req);
	req->status = status;
	req->reply_text = xstrdup(body);
	req->reply_type = content_type;
}

void request_error(struct request *req, int status, const char *code, json_t *extra,
		   const char *fmt, ...)
{
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	http_utf8_make_valid(message);

	json_t *body = json_pack("{s:s, s:s, s:s}", "error", message, "code", code, "traceId",
				 req->trace_id);
	if (extra) {
		json_object_update_missing(body, extra);
		json_decref(extra);
	}
	if (status == 503)
		request_set_header(req, "Retry-After", "1");
	request_reply(req, status, body);
}

void request_set_header(struct request *req, const char *name, const char *value)
{
	for (int i = 0; i < req->nheaders; i++) {
		if (strcmp(req->headers[i].name, name) == 0) {
			free(req->headers[i].value);
			req->headers[i].value = xstrdup(value);
			return;
		}
	}
	if (req->nheaders == REQUEST_MAX_HEADERS) {
		log_error("reply header %s dropped: more than %d headers", name,
			  REQUEST_MAX_HEADERS);
		return;
	}
	req->headers[req->nheaders].name = name;
	req->headers[req->nheaders].value = xstrdup(value);
	req->nheaders++;
}

uint64_t request_park_wakes(struct request *req, const char *key)
{
	return queue_parking_wakes(exchange_of(req)->owner->parking, key);
}

void request_park(struct request *req, const char *key, uint64_t wakes, int64_t deadline_ms)
{
	struct exchange *ex = exchange_of(req);
	ex->park_requested = true;
	snprintf(ex->park_key, sizeof(ex->park_key), "%s", key);
	ex->park_wakes = wakes;
	ex->park_deadline_ms = deadline_ms;
}

bool request_stopping(const struct request *req)
{
	return atomic_load(&exchange_of(req)->owner->stopping);
}

bool request_rate_limit(struct request *req, const char *key, int limit)
{
	struct ratelimit_result r;
	ratelimit_take(req->server->limits, key, limit, 60 * 1000, &r);
	char value[24];
	snprintf(value, sizeof(value), "%d", r.limit);
	request_set_header(req, "RateLimit-Limit", value);
	snprintf(value, sizeof(value), "%d", r.remaining);
	request_set_header(req, "RateLimit-Remaining", value);
	if (r.allowed)
		return true;
	long long seconds = (r.retry_after_ms + 999) / 1000;
	if (seconds < 1)
		seconds = 1;
	snprintf(value, sizeof(value), "%lld", seconds);
	request_set_header(req, "Retry-After", value);
	request_error(req, 429, "rate_limited",
		      json_pack("{s:I}", "retryAfter", (json_int_t)seconds),
		      "Too many requests; retry in %lld s", seconds);
	return false;
}

void request_db_error(struct request *req, enum db_result r, const char *what, const char *id)
{
	char code[64], noun[64];
	/* "api_key" → "Api key" for people; the code keeps the identifier. */
	snprintf(noun, sizeof(noun), "%s", what);
	noun[0] = (char)toupper((unsigned char)noun[0]);
	for (char *p = noun; *p; p++)
		if (*p == '_')
			*p = ' ';
	switch (r) {
	case DB_NOT_FOUND:
		snprintf(code, sizeof(code), "%s.not_found", what);
		request_error(req, 404, code, NULL, "%s %s not found", noun, id ? id : "");
		return;
	case DB_CONFLICT:
		snprintf(code, sizeof(code), "%s.conflict", what);
		request_error(req, 409, code, NULL, "%s %s changed meanwhile; retry", noun,
			      id ? id : "");
		return;
	case DB_UNAVAILABLE:
	case DB_RETRY:
		request_error(req, 503, "db.unavailable", NULL,
			      "The database is unavailable; retry shortly");
		return;
	case DB_OK:
	case DB_ERROR:
		break;
	}
	request_error(req, 500, "internal", NULL, "Internal error");
}

json_t *http_json_time(int64_t unix_us)
{
	if (unix_us == 0)
		return json_null();
	char buf[32];
	time_format_rfc3339(unix_us, buf, sizeof(buf));
	return json_string(buf);
}

const char *request_body_string(const struct request *req, const char *name)
{
	json_t *v = json_object_get(req->body, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}
