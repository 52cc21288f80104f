/* GET /openapi.json: the OpenAPI 3.1 document of the public listener, built
 * from the route table once (the table is compiled in) and served with a
 * strong ETag. Everything in it comes from a row or from the row's field
 * specs; what a row does not say is derived here from what it does say, each
 * rule beside the status or header it gives (error_responses, parameters). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/openapi.h"
#include "crypto/hash.h"
#include "http/request.h"
#include "idalloc/clusters.h"
#include "idalloc/ids.h"

#ifndef RUNOSD_VERSION
#define RUNOSD_VERSION "0.0.0"
#endif

static bool has_params(const char *pattern)
{
	return strchr(pattern, ':') != NULL;
}

/* "/:aid/clusters/:cid" → "/{aid}/clusters/{cid}". */
static void path_template(const char *pattern, char *out, size_t cap)
{
	size_t n = 0;
	bool in_param = false;
	for (const char *p = pattern; *p && n + 2 < cap; p++) {
		if (*p == ':') {
			out[n++] = '{';
			in_param = true;
		} else if (*p == '/' && in_param) {
			out[n++] = '}';
			out[n++] = '/';
			in_param = false;
		} else {
			out[n++] = *p;
		}
	}
	if (in_param && n + 1 < cap)
		out[n++] = '}';
	out[n] = '\0';
}

/* getByAidClustersByCid: the method and the pattern, so unique as rows are. */
static void operation_id(const struct route *r, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *m = r->method; *m && n + 1 < cap; m++)
		out[n++] = (char)(*m - 'A' + 'a');
	bool upper = true;
	for (const char *p = r->pattern; *p && n + 3 < cap; p++) {
		if (*p == '/' || *p == '-' || *p == '.' || *p == '_') {
			upper = true;
		} else if (*p == ':') {
			out[n++] = 'B';
			out[n++] = 'y';
			upper = true;
		} else {
			out[n++] = upper && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
			upper = false;
		}
	}
	out[n] = '\0';
}

/* The tag: the first segment that is not a parameter ("/:aid/:cid/nodes" →
 * nodes). */
static void tag_of(const char *pattern, char *out, size_t cap)
{
	const char *p = pattern;
	while (*p == '/' && p[1] == ':') {
		const char *next = strchr(p + 1, '/');
		if (!next)
			break;
		p = next;
	}
	p++;
	size_t n = strcspn(p, "/");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static json_t *path_parameter(const char *name)
{
	json_t *schema = json_pack("{s:s}", "type", "string");
	/* The ids whose shape the router's handlers check (include/idalloc),
	 * with an example of each (API.md's). */
	const char *example = NULL;
	if (strcmp(name, "aid") == 0 || strcmp(name, "nid") == 0) {
		json_object_set_new(schema, "pattern", json_string(IDALLOC_SHORT_ID_PATTERN));
		example = name[0] == 'a' ? "rjwrn" : "w7k2p";
	} else if (strcmp(name, "cid") == 0) {
		json_object_set_new(schema, "pattern", json_string(IDALLOC_CID_PATTERN));
		example = "i4y";
	} else if (strcmp(name, "type") == 0) {
		example = "postgresql";
	}
	json_t *p = json_pack("{s:s, s:s, s:b, s:o}", "name", name, "in", "path", "required", true,
			      "schema", schema);
	if (example)
		json_object_set_new(p, "example", json_string(example));
	return p;
}

static bool if_match_applies(const struct route *r)
{
	/* PATCH and DELETE of one resource honour If-Match (API.md §1). */
	return has_params(r->pattern) &&
	       (strcmp(r->method, "PATCH") == 0 || strcmp(r->method, "DELETE") == 0);
}

/* A field's value in an example: its example, else the first choice of an
 * enum or the least integer allowed; NULL when the table gives none. */
static json_t *example_value(const struct field_spec *f)
{
	if (f->example) {
		switch (f->type) {
		case FIELD_INTEGER:
			return json_integer(strtoll(f->example, NULL, 10));
		case FIELD_BOOLEAN:
			return json_boolean(strcmp(f->example, "true") == 0);
		case FIELD_STRINGS:
			return json_pack("[s]", f->example);
		case FIELD_OBJECT:
		case FIELD_JSON:
			return json_loads(f->example, 0, NULL);
		default:
			return json_string(f->example);
		}
	}
	if (f->type == FIELD_ENUM && f->choices && f->choices[0])
		return json_string(f->choices[0]);
	if (f->type == FIELD_INTEGER)
		return json_integer(f->max_len > 0 ? f->min_len : 1);
	return NULL;
}

static json_t *parameters(const struct route *r)
{
	json_t *list = json_array();
	for (const char *p = strchr(r->pattern, ':'); p; p = strchr(p + 1, ':')) {
		char name[32];
		size_t n = strcspn(p + 1, "/");
		snprintf(name, sizeof(name), "%.*s", (int)n, p + 1);
		json_array_append_new(list, path_parameter(name));
	}
	for (const struct field_spec *q = r->query; q && q->name; q++) {
		json_t *p =
			json_pack("{s:s, s:s, s:b, s:o}", "name", q->name, "in", "query",
				  "required", q->required, "schema", api_openapi_input_schema(q));
		if (q->example)
			json_object_set_new(p, "example", example_value(q));
		json_array_append_new(list, p);
	}
	if (if_match_applies(r))
		json_array_append_new(
			list, json_pack("{s:s}", "$ref", "#/components/parameters/IfMatch"));
	/* A signed delivery names its event and itself, and carries the
	 * signature (GitHub's headers: the one signer so far). */
	static const char *const signed_headers[][2] = {
		{ "X-Hub-Signature-256", "sha256= and the hex HMAC-SHA256 of the body" },
		{ "X-GitHub-Event", "push, ping, ... (others are ignored)" },
		{ "X-GitHub-Delivery", "the delivery's id: a repeat gets the first answer" },
	};
	for (size_t i = 0; r->access == ROUTE_SIGNED && i < 3; i++)
		json_array_append_new(list,
				      json_pack("{s:s, s:s, s:b, s:s, s:{s:s}}", "name",
						signed_headers[i][0], "in", "header", "required",
						true, "description", signed_headers[i][1], "schema",
						"type", "string"));
	/* POST is where the idempotency layer (server/http/idempotency.c) acts. */
	if (strcmp(r->method, "POST") == 0)
		json_array_append_new(
			list, json_pack("{s:s}", "$ref", "#/components/parameters/IdempotencyKey"));
	return list;
}

static void add_error(const struct route *r, json_t *responses, const char *status,
		      const char *name)
{
	const char *ref = name ? name : "#/components/responses/Error";
	const char *other = r->output->error_media_type;
	if (!other) {
		json_object_set_new(responses, status, json_pack("{s:s}", "$ref", ref));
		return;
	}
	/* The route's own refusals come in its media type, the layers' before
	 * it (validation, rate limits) as JSON. */
	json_t *resp = json_pack("{s:s, s:{s:{s:{s:s}}, s:{s:{s:s}}}}", "description",
				 "A refusal: JSON, or a text the route's client shows", "content",
				 "application/json", "schema", "$ref", "#/components/schemas/Error",
				 other, "schema", "type", "string");
	json_object_set_new(responses, status, resp);
}

/* The refusals a route can give, from what its row says. Any other one (405,
 * 413, 415, 422, 500, a 409 of state) is the default answer, which has the
 * same error shape. */
static void error_responses(const struct route *r, json_t *responses)
{
	/* 400: the body or the query is validated against the row's specs (a
	 * signed one by its handler). */
	if ((r->input && r->input->name) || r->query || r->access == ROUTE_SIGNED)
		add_error(r, responses, "400", "#/components/responses/BadRequest");
	/* 401: every route but the public ones authenticates. */
	if (r->access != ROUTE_PUBLIC)
		add_error(r, responses, "401", "#/components/responses/Unauthorized");
	/* 403: a role is checked (min_role), or a session is required. */
	if (r->access == ROUTE_ACCOUNT || r->access == ROUTE_ACCOUNT_OF ||
	    r->access == ROUTE_SESSION || r->session_only)
		add_error(r, responses, "403", "#/components/responses/Forbidden");
	/* 404: a path with ids names something that may not exist (or be
	 * another account's). */
	if (has_params(r->pattern))
		add_error(r, responses, "404", "#/components/responses/NotFound");
	/* 409 and 412: If-Match applies (a stale version, a resource busy). */
	if (if_match_applies(r)) {
		add_error(r, responses, "409", "#/components/responses/Conflict");
		add_error(r, responses, "412", "#/components/responses/PreconditionFailed");
	}
	/* 429 and 503: the rate limits and the database are everyone's. */
	add_error(r, responses, "429", "#/components/responses/TooManyRequests");
	add_error(r, responses, "503", "#/components/responses/Unavailable");
	add_error(r, responses, "default", NULL);
}

static int status_of(const struct route *r, const struct output_spec *o)
{
	return strcmp(r->method, "POST") == 0 && o->post_status ? o->post_status : o->status;
}

static int success_status(const struct route *r)
{
	return status_of(r, r->output);
}

/* A page of a list: its answer has the NEXT_CURSOR member of routes.c. */
static bool is_page(const struct output_spec *o)
{
	for (const struct output_field *f = o->fields; f && f->name; f++)
		if (strcmp(f->name, "nextCursor") == 0)
			return true;
	return false;
}

static json_t *success_response(const struct route *r, const struct output_spec *o, json_t *schemas)
{
	int status = status_of(r, o);
	json_t *resp =
		json_pack("{s:s}", "description", o->description ? o->description : r->summary);
	if (status == 204)
		return resp;
	json_t *schema;
	if (o->fields) {
		if (!json_object_get(schemas, o->type))
			json_object_set_new(schemas, o->type, api_openapi_output_schema(o->fields));
		char ref[96];
		snprintf(ref, sizeof(ref), "#/components/schemas/%s", o->type);
		schema =
			o->list ? json_pack("{s:s, s:{s:s}}", "type", "array", "items", "$ref", ref)
				: json_pack("{s:s}", "$ref", ref);
	} else if (o->media_type && strcmp(o->media_type, "application/json") == 0) {
		schema = json_pack("{s:s}", "type", "object");
	} else {
		schema = json_pack("{s:s}", "type", "string");
	}
	json_object_set_new(resp, "content",
			    json_pack("{s:{s:o}}",
				      o->media_type ? o->media_type : "application/json", "schema",
				      schema));
	json_t *headers = json_object();
	/* A GET or PATCH of one resource sends its version (API.md §1). */
	if (strcmp(r->method, "DELETE") != 0 && strcmp(r->method, "POST") != 0 &&
	    has_params(r->pattern))
		json_object_set_new(headers, "ETag",
				    json_pack("{s:s}", "$ref", "#/components/headers/ETag"));
	/* A page of a list links the next one (api_reply_page). */
	if (is_page(o))
		json_object_set_new(headers, "Link",
				    json_pack("{s:s}", "$ref", "#/components/headers/LinkNext"));
	if (json_object_size(headers) > 0)
		json_object_set_new(resp, "headers", headers);
	else
		json_decref(headers);
	return resp;
}

/* A request body of the required fields and those with an example; NULL
 * when a required field has no value (then the row lacks an example:
 * it_openapi says which). tests/openapi/examples.mjs validates each. */
static json_t *body_example(const struct field_spec *fields)
{
	json_t *example = json_object();
	for (const struct field_spec *f = fields; f->name; f++) {
		if (!f->required && !f->example)
			continue;
		json_t *v = example_value(f);
		if (!v) {
			json_decref(example);
			return NULL;
		}
		json_object_set_new(example, f->name, v);
	}
	if (json_object_size(example) == 0) {
		json_decref(example);
		return NULL;
	}
	return example;
}

static json_t *request_body(const struct route *r)
{
	bool required = false;
	for (const struct field_spec *f = r->input; f->name; f++)
		required |= f->required;
	json_t *media = json_pack("{s:o}", "schema", api_openapi_body_schema(r->input));
	json_t *example = body_example(r->input);
	if (example)
		json_object_set_new(media, "example", example);
	return json_pack("{s:b, s:{s:o}}", "required", required, "content", "application/json",
			 media);
}

static json_t *operation(const struct route *r, json_t *schemas, json_t *tags)
{
	char id[128], tag[64], status[8];
	operation_id(r, id, sizeof(id));
	tag_of(r->pattern, tag, sizeof(tag));
	if (!json_object_get(tags, tag))
		json_object_set_new(tags, tag, json_string(r->summary));
	json_t *responses = json_object();
	snprintf(status, sizeof(status), "%d", success_status(r));
	json_object_set_new(responses, status, success_response(r, r->output, schemas));
	for (const struct route_answer *a = api_route_answers; a->handler; a++)
		if (a->handler == r->handler) {
			snprintf(status, sizeof(status), "%d", a->output->status);
			json_object_set_new(responses, status,
					    success_response(r, a->output, schemas));
		}
	error_responses(r, responses);
	json_t *op = json_pack("{s:s, s:s, s:[s], s:o}", "operationId", id, "summary", r->summary,
			       "tags", tag, "responses", responses);
	json_t *params = parameters(r);
	if (json_array_size(params) > 0)
		json_object_set_new(op, "parameters", params);
	else
		json_decref(params);
	if (r->input && r->input->name)
		json_object_set_new(op, "requestBody", request_body(r));
	else if (r->access == ROUTE_SIGNED)
		json_object_set_new(op, "requestBody",
				    json_pack("{s:b, s:{s:{s:{s:s, s:s}}}}", "required", true,
					      "content", "application/json", "schema", "type",
					      "object", "description",
					      "The sender's own document (GitHub's payload of the "
					      "event), signed as it is sent"));
	/* Public and signed routes take no token; the others the document's
	 * bearer. */
	if (r->access == ROUTE_PUBLIC || r->access == ROUTE_SIGNED)
		json_object_set_new(op, "security", json_array());
	return op;
}

static json_t *error_schema(void)
{
	return json_pack(
		"{s:s, s:s, s:[s, s, s], s:{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}, "
		"s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}}, s:b, s:{s:s, s:s, s:s}}",
		"type", "object", "description",
		"Every error, whatever layer refuses; some codes carry more keys (jobId, status, "
		"dependents, ...)",
		"required", "error", "code", "traceId", "properties", "error", "type", "string",
		"description", "a sentence for people", "code", "type", "string", "description",
		"for programs (cluster.not_found, validation.unknown_field, ...)", "traceId",
		"type", "string", "description", "also sent as X-Request-Id", "field", "type",
		"string", "description", "validation: the field at fault", "reason", "type",
		"string", "description", "401: what was wrong with the token", "retryAfter", "type",
		"integer", "description", "429: seconds to wait", "additionalProperties", true,
		"example", "error", "Cluster i4y not found", "code", "cluster.not_found", "traceId",
		"7f3c2a9e0b1d4c5f");
}

static json_t *error_response(const char *description, bool retry_after)
{
	json_t *r = json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", description, "content",
			      "application/json", "schema", "$ref", "#/components/schemas/Error");
	if (retry_after)
		json_object_set_new(r, "headers",
				    json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "Retry-After", "$ref",
					      "#/components/headers/RetryAfter", "RateLimit-Limit",
					      "$ref", "#/components/headers/RateLimitLimit",
					      "RateLimit-Remaining", "$ref",
					      "#/components/headers/RateLimitRemaining"));
	return r;
}

static json_t *components(json_t *schemas)
{
	json_object_set_new(schemas, "Error", error_schema());
	json_t *responses = json_pack(
		"{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "BadRequest",
		error_response("Malformed or invalid input (validation.*, naming field)", false),
		"Unauthorized", error_response("Missing, invalid or expired token", false),
		"Forbidden",
		error_response("The role or the kind of token does not allow it", false),
		"NotFound",
		error_response("Unknown id, or another account's (existence is never revealed)",
			       false),
		"Conflict", error_response("A conflict of state or of versions", false),
		"PreconditionFailed", error_response("If-Match does not match", false),
		"TooManyRequests", error_response("Rate limited: retry after Retry-After", true),
		"Unavailable", error_response("A dependency (the database) is down", false),
		"Error", error_response("Any other refusal, in the same shape", false));
	json_object_set_new(
		json_object_get(responses, "Unavailable"), "headers",
		json_pack("{s:{s:s}}", "Retry-After", "$ref", "#/components/headers/RetryAfter"));
	json_t *headers = json_pack(
		"{s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}}", "ETag",
		"description", "The resource's version: send it back as If-Match", "schema", "type",
		"string", "RetryAfter", "description", "Seconds to wait before retrying", "schema",
		"type", "integer", "RateLimitLimit", "description",
		"Requests allowed in the window of this limit", "schema", "type", "integer",
		"RateLimitRemaining", "description", "Requests left in the window", "schema",
		"type", "integer");
	json_object_set_new(
		headers, "LinkNext",
		json_pack("{s:s, s:{s:s}, s:s}", "description",
			  "Only when there is a next page (as nextCursor): <URL>; rel=\"next\" "
			  "(RFC 8288), the URL of the next page: this request's with every query "
			  "parameter kept and cursor (after for step logs) set to nextCursor",
			  "schema", "type", "string", "example",
			  "<https://api.example.com/a1b2c/clusters?status=active&limit=2&cursor="
			  "MTc5NjQxNzM5MzMwNzMzNC4z>; rel=\"next\""));
	json_t *params = json_pack(
		"{s:{s:s, s:s, s:b, s:s, s:{s:s}}, s:{s:s, s:s, s:b, s:s, s:{s:s, s:i, s:i}}}",
		"IfMatch", "name", "If-Match", "in", "header", "required", false, "description",
		"The ETag read: 412 when the resource changed since", "schema", "type", "string",
		"IdempotencyKey", "name", "Idempotency-Key", "in", "header", "required", false,
		"description", "A retried POST with the same key and body answers the first answer",
		"schema", "type", "string", "minLength", 1, "maxLength", 255);
	return json_pack("{s:o, s:o, s:o, s:o, s:{s:{s:s, s:s, s:s}}}", "schemas", schemas,
			 "responses", responses, "headers", headers, "parameters", params,
			 "securitySchemes", "bearerAuth", "type", "http", "scheme", "bearer",
			 "description", "A session token or a personal access token");
}

json_t *api_openapi_document(const struct route *routes, size_t count)
{
	json_t *paths = json_object(), *schemas = json_object(), *tag_set = json_object();
	for (size_t i = 0; i < count; i++) {
		const struct route *r = &routes[i];
		if (r->access == ROUTE_AGENT)
			continue;
		char path[256], method[8];
		path_template(r->pattern, path, sizeof(path));
		snprintf(method, sizeof(method), "%s", r->method);
		for (char *m = method; *m; m++)
			*m = (char)(*m - 'A' + 'a');
		json_t *item = json_object_get(paths, path);
		if (!item) {
			item = json_object();
			json_object_set_new(paths, path, item);
		}
		json_object_set_new(item, method, operation(r, schemas, tag_set));
	}
	json_t *tags = json_array();
	const char *name;
	json_t *first;
	json_object_foreach (tag_set, name, first)
		json_array_append_new(tags, json_pack("{s:s, s:s}", "name", name, "description",
						      json_string_value(first)));
	json_decref(tag_set);
	return json_pack(
		"{s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}, s:[{s:s, s:s}], s:[{s:[]}], s:o, s:o, s:o}",
		"openapi", "3.1.0", "info", "title", "runosd API", "version", RUNOSD_VERSION,
		"description",
		"The control plane's public API, generated from its route table "
		"(server/api/routes.c). Conventions: docs/api.md.",
		"license", "name", "Apache 2.0", "identifier", "Apache-2.0", "servers", "url", "/",
		"description", "the server that served this document (RUNOS_HTTP_ADDR)", "security",
		"bearerAuth", "tags", tags, "paths", paths, "components", components(schemas));
}

/* ---- GET /openapi.json ---------------------------------------------------- */

static pthread_once_t document_once = PTHREAD_ONCE_INIT;
static char *document_text;
static char document_etag[40];

static void render_document(void)
{
	json_t *doc = api_openapi_document(api_routes, api_routes_count);
	document_text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	uint8_t digest[CRYPTO_SHA256_LEN];
	crypto_sha256(document_text, strlen(document_text), digest);
	char hex[33];
	crypto_hex(digest, 16, hex);
	snprintf(document_etag, sizeof(document_etag), "\"%s\"", hex);
}

void api_openapi(struct request *req)
{
	pthread_once(&document_once, render_document);
	request_set_header(req, "ETag", document_etag);
	if (api_not_modified(req, document_etag)) {
		request_reply(req, 304, NULL);
		return;
	}
	request_reply_text(req, 200, "application/json", document_text);
}
