/* The request path after the body has arrived: refusals decided by routing
 * (404, 405, 413), CORS preflight, authentication and authorisation by the
 * route's declared access, JSON parsing and schema validation, then the
 * handler. Runs on the exchange's worker thread; the only shared state it
 * touches is the token cache (thread safe). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crypto/hash.h"
#include "http/server.h"
#include "http/validate.h"
#include "http_internal.h"
#include "idalloc/ids.h"
#include "runosd.h"
#include "util/timeutil.h"

/* A 401 says what was wrong and what is expected: "Invalid token" (API.md)
 * first, for clients that look for it, then the reason in words. */
static void reply_unauthenticated(struct request *req, enum auth_result r,
				  const char *authorization)
{
	static const char *const reasons[] = {
		[AUTH_MISSING] = "missing", [AUTH_MALFORMED] = "malformed",
		[AUTH_UNKNOWN] = "unknown", [AUTH_EXPIRED] = "expired",
		[AUTH_REVOKED] = "revoked",
	};
	if (r == AUTH_UNAVAILABLE) {
		request_error(req, 503, "db.unavailable", NULL,
			      "The database is unavailable; retry shortly");
		return;
	}
	json_t *extra = json_pack("{s:s}", "reason", reasons[r]);
	char when[32] = "";
	if (r == AUTH_EXPIRED) {
		time_format_rfc3339(req->principal.expires_us, when, sizeof(when));
		json_object_set_new(extra, "expiredAt", json_string(when));
	} else if (r == AUTH_REVOKED) {
		time_format_rfc3339(req->principal.revoked_us, when, sizeof(when));
		json_object_set_new(extra, "revokedAt", json_string(when));
	}
	request_set_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	bool bearer = authorization && strncasecmp(authorization, "Bearer ", 7) == 0;
	switch (r) {
	case AUTH_MISSING:
		request_error(req, 401, "auth.invalid_token", extra,
			      "Invalid token: this needs a header Authorization: Bearer <token>, "
			      "with a session token (POST /auth/login) or an API key");
		return;
	case AUTH_MALFORMED:
		request_error(
			req, 401, "auth.invalid_token", extra,
			bearer ? "Invalid token: this is not a runos token (rns_... or "
				 "rnp_..., 53 characters); check that it was copied whole"
			       : "Invalid token: the Authorization header must be "
				 "\"Bearer <token>\" (the word Bearer, a space, then the token)");
		return;
	case AUTH_UNKNOWN:
		request_error(req, 401, "auth.invalid_token", extra,
			      "Invalid token: no such token; sign in again (POST /auth/login) or "
			      "create an API key");
		return;
	case AUTH_EXPIRED:
	case AUTH_REVOKED:
		request_error(req, 401, "auth.invalid_token", extra,
			      "Invalid token: it was %s at %s; sign in again (POST /auth/login) or "
			      "use another API key",
			      r == AUTH_EXPIRED ? "expired" : "revoked", when);
		return;
	case AUTH_OK:
	case AUTH_UNAVAILABLE:
		break;
	}
	json_decref(extra);
	request_error(req, 401, "auth.invalid_token", NULL, "Invalid token");
}

/* Rate limits per token: its hash's first half names it without revealing
 * it. */
static bool limit_token(struct request *req)
{
	char key[96], hex[2 * 16 + 1];
	crypto_hex(req->principal.token_hash, 16, hex);
	snprintf(key, sizeof(key), "token:%s", hex);
	return request_rate_limit(req, key, req->server->cfg.rate_limit_per_minute);
}

static void reply_session_required(struct request *req)
{
	request_error(req, 403, "auth.session_required", NULL,
		      "This action needs a login session, not an API key");
}

/* The caller's role in aid against the route's: 404 for a non-member (what
 * does not exist for them), 403 below min_role or for a PAT on a
 * session-only route. */
static bool check_role(struct request *req, const char *what, const char *id)
{
	const struct route *route = req->route;
	if (req->principal.role_in_aid == ROLE_NONE) {
		/* Never 403 across tenants: another account does not exist for you. */
		request_db_error(req, DB_NOT_FOUND, what, id);
		return false;
	}
	if (route->session_only && req->principal.kind != TOKEN_SESSION) {
		reply_session_required(req);
		return false;
	}
	if (req->principal.role_in_aid < route->min_role) {
		request_error(req, 403, "auth.forbidden", NULL,
			      "Your role (%s) cannot do this; it needs %s",
			      auth_role_name(req->principal.role_in_aid),
			      auth_role_name(route->min_role));
		return false;
	}
	return true;
}

/* ROUTE_ACCOUNT_OF: the token first, then the account its resource names,
 * then the caller's role there. */
static bool authorize_account_of(struct exchange *ex)
{
	struct request *req = &ex->req;
	const char *authorization =
		MHD_lookup_connection_value(ex->conn, MHD_HEADER_KIND, "Authorization");
	enum auth_result r =
		auth_authenticate(req->server->auth, authorization, NULL, &req->principal);
	if (r != AUTH_OK) {
		reply_unauthenticated(req, r, authorization);
		return false;
	}
	if (!limit_token(req))
		return false;
	struct route_account account = { .what = "account" };
	if (!req->route->account_of(req, &account))
		return false;
	if (!idalloc_is_short_id(account.aid)) {
		request_db_error(req, DB_NOT_FOUND, account.what, account.id);
		return false;
	}
	/* Again with the account: the token cache answers. */
	r = auth_authenticate(req->server->auth, authorization, account.aid, &req->principal);
	if (r != AUTH_OK) {
		reply_unauthenticated(req, r, authorization);
		return false;
	}
	return check_role(req, account.what, account.id);
}

/* Authentication and authorisation by the route's declared access. */
static bool authorize(struct exchange *ex)
{
	struct request *req = &ex->req;
	const struct route *route = req->route;
	char key[96];
	if (route->access == ROUTE_PUBLIC) {
		/* Unauthenticated writes (signup, login, device login, registration)
		 * per client address; reads (health, metrics, installer) are free. */
		if (strcmp(ex->method, "POST") != 0)
			return true;
		snprintf(key, sizeof(key), "address:%s", req->client_ip);
		return request_rate_limit(req, key, req->server->cfg.rate_limit_public_per_minute);
	}
	if (route->access == ROUTE_AGENT)
		return http_authorize_agent(ex);
	if (route->access == ROUTE_SIGNED)
		return true; /* the handler checks the signature, and limits */

	if (route->access == ROUTE_ACCOUNT_OF)
		return authorize_account_of(ex);
	const char *aid = NULL;
	if (route->access == ROUTE_ACCOUNT) {
		aid = request_param(req, "aid");
		if (!idalloc_is_short_id(aid)) {
			request_error(req, 404, "account.not_found", NULL, "Account %s not found",
				      aid);
			return false;
		}
	}
	const char *authorization =
		MHD_lookup_connection_value(ex->conn, MHD_HEADER_KIND, "Authorization");
	enum auth_result r =
		auth_authenticate(req->server->auth, authorization, aid, &req->principal);
	if (r != AUTH_OK) {
		reply_unauthenticated(req, r, authorization);
		return false;
	}
	if (!limit_token(req))
		return false;
	if (route->access == ROUTE_ACCOUNT)
		return check_role(req, "account", aid);
	if ((route->access == ROUTE_SESSION || route->session_only) &&
	    req->principal.kind != TOKEN_SESSION) {
		reply_session_required(req);
		return false;
	}
	return true;
}

static bool is_json_content_type(const char *type)
{
	if (!type)
		return false;
	while (*type == ' ')
		type++;
	size_t n = strlen("application/json");
	if (strncasecmp(type, "application/json", n) != 0)
		return false;
	type += n;
	while (*type == ' ')
		type++;
	return *type == '\0' || *type == ';';
}

static bool method_has_body(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	       strcmp(method, "PATCH") == 0;
}

/* Checks the body against the route's input schema; on failure replies 400. */
static bool validate(struct request *req)
{
	struct validation_error verr;
	if (!http_validate_body(req->route->input, req->body, &verr)) {
		request_error(req, 400, verr.code, json_pack("{s:s}", "field", verr.field), "%s",
			      verr.message);
		return false;
	}
	return true;
}

struct query_check {
	struct request *req;
	bool ok;
};

static enum MHD_Result check_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	(void)kind;
	struct query_check *q = cls;
	struct validation_error verr;
	if (http_validate_query(q->req->route->query, key, value ? value : "", &verr))
		return MHD_YES;
	request_error(q->req, 400, verr.code, json_pack("{s:s}", "field", verr.field), "%s",
		      verr.message);
	q->ok = false;
	return MHD_NO;
}

/* Checks every query parameter against the route's query schema; on failure
 * replies 400. */
static bool read_query(struct exchange *ex)
{
	struct query_check q = { &ex->req, true };
	MHD_get_connection_values(ex->conn, MHD_GET_ARGUMENT_KIND, check_query_arg, &q);
	return q.ok;
}

/* Parses and validates the body; on failure the error reply is set. */
static bool read_body(struct exchange *ex)
{
	struct request *req = &ex->req;
	if (!method_has_body(ex->method))
		return (req->body = json_object()) != NULL;
	if (ex->body_len == 0) {
		/* No body is an empty object: its required members are missing. */
		req->body = json_object();
		return validate(req);
	}
	const char *type = MHD_lookup_connection_value(ex->conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!is_json_content_type(type)) {
		request_error(req, 415, "request.unsupported_media_type", NULL,
			      "Send the body as Content-Type: application/json");
		return false;
	}
	json_error_t jerr;
	req->body =
		json_loadb(ex->body, ex->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!req->body) {
		bool dup = json_error_code(&jerr) == json_error_duplicate_key;
		request_error(
			req, 400, dup ? "validation.duplicate_key" : "validation.malformed_json",
			json_pack("{s:i, s:i}", "line", jerr.line, "column", jerr.column), "%s: %s",
			dup ? "Duplicate key in JSON body" : "Malformed JSON body", jerr.text);
		return false;
	}
	if (!json_is_object(req->body)) {
		request_error(req, 400, "validation.not_object", NULL,
			      "The body must be a JSON object");
		return false;
	}
	/* Another party's document (GitHub's payload): the handler reads what
	 * it needs of it once the signature holds. */
	return req->route->access == ROUTE_SIGNED || validate(req);
}

static void answer_options(struct exchange *ex)
{
	struct request *req = &ex->req;
	request_reply(req, 204, NULL);
	char allow[128];
	snprintf(allow, sizeof(allow), "%s, OPTIONS", ex->match.allow);
	request_set_header(req, MHD_HTTP_HEADER_ALLOW, allow);
	if (http_allowed_origin(ex)) {
		request_set_header(req, "Access-Control-Allow-Methods", allow);
		request_set_header(req, "Access-Control-Allow-Headers", http_cors_allow_headers);
		request_set_header(req, "Access-Control-Max-Age", "600");
	}
}

void http_dispatch(struct exchange *ex)
{
	struct request *req = &ex->req;
	if (ex->oversized == 414) {
		request_error(req, 414, "request.uri_too_long", NULL,
			      "The request target is longer than %d bytes", HTTP_MAX_TARGET);
		return;
	}
	if (ex->oversized) {
		request_error(req, 431, "request.headers_too_large", NULL,
			      "The request headers are larger than %d bytes", HTTP_MAX_HEADERS);
		return;
	}
	if (ex->body_too_large) {
		request_error(req, 413, "request.too_large", NULL,
			      "The body is larger than %d bytes", HTTP_MAX_BODY);
		return;
	}
	if (strcmp(ex->method, "OPTIONS") == 0 && ex->routed != ROUTER_NOT_FOUND) {
		answer_options(ex);
		return;
	}
	if (ex->routed == ROUTER_NOT_FOUND) {
		request_error(req, 404, "route.not_found", NULL, "No route for %s %s", ex->method,
			      ex->path);
		return;
	}
	if (ex->routed == ROUTER_METHOD_NOT_ALLOWED) {
		request_set_header(req, MHD_HTTP_HEADER_ALLOW, ex->match.allow);
		request_error(req, 405, "route.method_not_allowed",
			      json_pack("{s:s}", "allow", ex->match.allow),
			      "Method %s is not allowed here; allowed: %s", ex->method,
			      ex->match.allow);
		return;
	}
	/* A resumed long poll was authorised and read before it parked. */
	if (!ex->resumed &&
	    (!authorize(ex) || !read_query(ex) || !read_body(ex) || !http_idempotency_begin(ex)))
		return;
	req->route->handler(req);
	http_idempotency_finish(ex);
}
