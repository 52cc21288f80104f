/* GET /openapi.json describes the route table, both ways: every route of the
 * public listener is an operation of the document (method, path template,
 * its path parameters, its success status), and every operation of the
 * document is a route; the agent listener's routes are not in it. The
 * document has a strong ETag (304 on If-None-Match). It is written to
 * $RUNOS_TEST_TMPDIR/openapi.json for tests/openapi/check.sh (redocly lint,
 * swagger-parser, and the answers the integration tests recorded). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "http/route.h"

static struct it_server *srv;
static json_t *doc;

/* "/:aid/clusters/:cid" → "/{aid}/clusters/{cid}". */
static const char *template_of(const char *pattern)
{
	static char out[256];
	size_t n = 0;
	bool in_param = false;
	for (const char *p = pattern; *p && n + 2 < sizeof(out); p++) {
		if (*p == ':') {
			out[n++] = '{';
			in_param = true;
			continue;
		}
		if (*p == '/' && in_param) {
			out[n++] = '}';
			in_param = false;
		}
		out[n++] = *p;
	}
	if (in_param)
		out[n++] = '}';
	out[n] = '\0';
	return out;
}

static const char *lower(const char *method)
{
	static char out[16];
	size_t i = 0;
	for (; method[i] && i + 1 < sizeof(out); i++)
		out[i] = (char)(method[i] - 'A' + 'a');
	out[i] = '\0';
	return out;
}

TEST(served_with_an_etag)
{
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/openapi.json");
	CHECK_STATUS(r, 200);
	const char *etag = it_header(&r, "ETag");
	CHECK_MSG(etag && etag[0] == '"', "ETag %s", etag ? etag : "(none)");
	doc = json_incref(r.json);
	char tag[64];
	snprintf(tag, sizeof(tag), "%s", etag ? etag : "");
	it_resp_free(&r);
	const char *headers[] = { it_fmt("If-None-Match: %s", tag), NULL };
	struct it_req req = { .method = "GET", .path = "/openapi.json", .headers = headers };
	it_request(srv, &req, &r);
	CHECK_INT_EQ(r.status, 304);
	it_resp_free(&r);
	CHECK_STR_EQ(it_json_str(doc, "openapi"), "3.1.0");
	const char *dir = getenv("RUNOS_TEST_TMPDIR");
	CHECK_MSG(dir != NULL, "RUNOS_TEST_TMPDIR is not set");
	if (dir && doc)
		CHECK_INT_EQ(json_dump_file(doc, it_fmt("%s/openapi.json", dir), JSON_INDENT(1)),
			     0);
}

TEST(every_route_is_described)
{
	json_t *paths = json_object_get(doc, "paths");
	for (size_t i = 0; i < api_routes_count; i++) {
		const struct route *r = &api_routes[i];
		const char *path = template_of(r->pattern);
		json_t *op = json_object_get(json_object_get(paths, path), lower(r->method));
		CHECK_MSG(op != NULL, "%s %s is not in the document", r->method, r->pattern);
		if (!op)
			continue;
		CHECK_STR_EQ(it_json_str(op, "summary"), r->summary);
		int status = strcmp(r->method, "POST") == 0 && r->output->post_status
				     ? r->output->post_status
				     : r->output->status;
		CHECK_MSG(json_object_get(json_object_get(op, "responses"), it_fmt("%d", status)),
			  "%s %s: no %d answer", r->method, r->pattern, status);
		size_t params = 0, declared = 0;
		for (const char *p = strchr(r->pattern, ':'); p; p = strchr(p + 1, ':'))
			params++;
		for (const struct field_spec *q = r->query; q && q->name; q++)
			params++;
		size_t k;
		json_t *param;
		json_array_foreach (json_object_get(op, "parameters"), k, param) {
			const char *in = it_json_str(param, "in");
			declared += in && (strcmp(in, "path") == 0 || strcmp(in, "query") == 0);
		}
		CHECK_MSG(declared == params, "%s %s: %zu parameters described, %zu in the row",
			  r->method, r->pattern, declared, params);
		CHECK_MSG(((r->input && r->input->name) || r->access == ROUTE_SIGNED) ==
				  (json_object_get(op, "requestBody") != NULL),
			  "%s %s: request body", r->method, r->pattern);
		/* A body with required fields has an example (a field_spec's
		 * example, enum or bound for each; examples.mjs validates them). */
		bool required = false;
		for (const struct field_spec *f = r->input; f && f->name; f++)
			required |= f->required;
		CHECK_MSG(!required ||
				  it_json_get(op, "requestBody.content.application/json.example"),
			  "%s %s: a body with required fields and no example", r->method,
			  r->pattern);
	}
}

/* The second answers (api_route_answers) are routes' and in the document. */
TEST(second_answers_are_described)
{
	json_t *paths = json_object_get(doc, "paths");
	for (const struct route_answer *a = api_route_answers; a->handler; a++) {
		const struct route *r = NULL;
		for (size_t i = 0; i < api_routes_count; i++)
			if (api_routes[i].handler == a->handler)
				r = &api_routes[i];
		CHECK_MSG(r != NULL, "a second answer (%s) of no route", a->output->type);
		if (!r)
			continue;
		json_t *op = json_object_get(json_object_get(paths, template_of(r->pattern)),
					     lower(r->method));
		CHECK_MSG(json_object_get(json_object_get(op, "responses"),
					  it_fmt("%d", a->output->status)),
			  "%s %s: no %d answer", r->method, r->pattern, a->output->status);
	}
}

/* Every list answer (a row whose output has nextCursor) describes the Link
 * header, and nextCursor as an optional string, never null. */
TEST(lists_describe_link)
{
	json_t *paths = json_object_get(doc, "paths");
	int lists = 0;
	for (size_t i = 0; i < api_routes_count; i++) {
		const struct route *r = &api_routes[i];
		bool paged = false;
		for (const struct output_field *f = r->output->fields; f && f->name; f++)
			paged |= strcmp(f->name, "nextCursor") == 0;
		json_t *op = json_object_get(json_object_get(paths, template_of(r->pattern)),
					     lower(r->method));
		json_t *answer = json_object_get(json_object_get(op, "responses"),
						 it_fmt("%d", r->output->status));
		const char *link = it_json_str(answer, "headers.Link.$ref");
		CHECK_MSG(paged == (link != NULL), "%s %s: Link described %s", r->method,
			  r->pattern, link ? "on an answer that is no list" : "not");
		if (!paged)
			continue;
		lists++;
		CHECK_STR_EQ(link, "#/components/headers/LinkNext");
		json_t *schemas = it_json_get(doc, "components.schemas");
		json_t *schema = json_object_get(schemas, r->output->type);
		CHECK_STR_EQ(it_json_str(schema, "properties.nextCursor.type"), "string");
		size_t k;
		json_t *name;
		json_array_foreach (json_object_get(schema, "required"), k, name)
			CHECK_MSG(strcmp(json_string_value(name), "nextCursor") != 0,
				  "%s: nextCursor required", r->output->type);
	}
	CHECK(lists >= 11);
	CHECK(it_json_get(doc, "components.headers.LinkNext.description") != NULL);
}

TEST(every_operation_is_a_route)
{
	const char *path, *method;
	json_t *item, *op;
	size_t operations = 0;
	json_object_foreach (json_object_get(doc, "paths"), path, item) {
		json_object_foreach (item, method, op) {
			operations++;
			bool found = false;
			for (size_t i = 0; i < api_routes_count && !found; i++)
				found = strcmp(template_of(api_routes[i].pattern), path) == 0 &&
					strcmp(lower(api_routes[i].method), method) == 0;
			CHECK_MSG(found, "%s %s is described but not routed", method, path);
		}
	}
	CHECK_INT_EQ(operations, api_routes_count);
	CHECK(json_object_get(json_object_get(doc, "paths"), "/agent/v1/heartbeat") == NULL);
}

int main(void)
{
	if (!it_init("it_openapi")) {
		test_failed++;
		return it_finish("it_openapi");
	}
	srv = it_server_start("openapi", NULL);
	if (!srv) {
		test_failed++;
		return it_finish("it_openapi");
	}
	RUN(served_with_an_etag);
	RUN(lists_describe_link);
	RUN(every_route_is_described);
	RUN(second_answers_are_described);
	RUN(every_operation_is_a_route);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	json_decref(doc);
	return it_finish("it_openapi");
}
