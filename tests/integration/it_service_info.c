/* GET /service-info and GET /service-info/:type (API.md §6): the catalog is
 * public, lists every type the issue names with every field of an entry, has
 * a strong ETag that If-None-Match answers with 304, and refuses an unknown
 * type (404 service_type.not_found) and an unknown query parameter (400). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct it_server *srv;

static const char *const entry_fields[] = {
	"type",
	"name",
	"category",
	"platform",
	"description",
	"versions",
	"defaultVersion",
	"defaultReplicas",
	"minReplicas",
	"maxReplicas",
	"defaultStorageMb",
	"minStorageMb",
	"maxStorageMb",
	"ports",
	"http",
	"flags",
	"requires",
	"credentials",
	"chart",
	NULL,
};

static void check_entry(const json_t *e)
{
	const char *type = json_string_value(json_object_get(e, "type"));
	for (const char *const *f = entry_fields; *f; f++)
		CHECK_MSG(json_object_get(e, *f) != NULL, "%s: no %s", type ? type : "?", *f);
	CHECK_INT_EQ(json_object_size(e), sizeof(entry_fields) / sizeof(entry_fields[0]) - 1);
	json_t *versions = json_object_get(e, "versions");
	const char *def = json_string_value(json_object_get(e, "defaultVersion"));
	bool found = false;
	size_t i;
	json_t *v;
	json_array_foreach (versions, i, v)
		found |= def && strcmp(json_string_value(v), def) == 0;
	CHECK_MSG(found, "%s: defaultVersion not among versions", type);
	CHECK(json_array_size(json_object_get(e, "ports")) > 0);
	json_t *chart = json_object_get(e, "chart");
	CHECK(json_is_string(json_object_get(chart, "repoUrl")));
	CHECK(json_is_string(json_object_get(chart, "chartName")));
	CHECK(json_is_string(json_object_get(chart, "version")));
}

TEST(list_has_every_type)
{
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/service-info");
	CHECK_STATUS(r, 200);
	CHECK(strncmp(it_header(&r, "Content-Type") ?: "", "application/json", 16) == 0);
	json_t *list = json_object_get(r.json, "services");
	const char *want[] = { "postgresql",   "mysql",	     "clickhouse", "ferretdb", "valkey",
			       "rabbitmq",     "kafka",	     "minio",	   "longhorn", "harbor",
			       "grafana",      "prometheus", "ollama",	   "litellm",  "open-webui",
			       "cert-manager", "traefik",    NULL };
	for (const char **w = want; *w; w++) {
		bool found = false;
		size_t i;
		json_t *e;
		json_array_foreach (list, i, e)
			found |= strcmp(json_string_value(json_object_get(e, "type")) ?: "", *w) ==
				 0;
		CHECK_MSG(found, "%s is not listed", *w);
	}
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e) {
		check_entry(e);
		const char *type = json_string_value(json_object_get(e, "type"));
		bool platform = json_is_true(json_object_get(e, "platform"));
		CHECK_MSG(platform == (strcmp(type, "cert-manager") == 0 ||
				       strcmp(type, "traefik") == 0),
			  "%s: platform %d", type, platform);
	}
	it_resp_free(&r);
}

TEST(one_type)
{
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/service-info/mysql");
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "type"), "mysql");
	CHECK_STR_EQ(it_json_str(r.json, "category"), "databases");
	CHECK(json_is_integer(it_json_get(r.json, "defaultStorageMb")));
	check_entry(r.json);
	CHECK(it_header(&r, "ETag") != NULL);
	it_resp_free(&r);

	r = it_call(srv, "GET", NULL, NULL, "/service-info/harbor");
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(it_json_get(r.json, "requires")), 3);
	CHECK_STR_EQ(it_json_str(r.json, "requires.0.field"), "postgresOsid");
	CHECK_STR_EQ(it_json_str(r.json, "requires.0.type"), "postgresql");
	CHECK(json_is_null(it_json_get(r.json, "defaultStorageMb")));
	it_resp_free(&r);
}

TEST(unknown_type)
{
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/service-info/mongodb");
	CHECK_ERROR(r, 404, "service_type.not_found");
	CHECK(strstr(it_json_str(r.json, "error") ?: "", "GET /service-info") != NULL);
	it_resp_free(&r);
}

TEST(etag_and_if_none_match)
{
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/service-info");
	CHECK_STATUS(r, 200);
	const char *tag = it_header(&r, "ETag");
	REQUIRE(tag && tag[0] == '"');
	char etag[80];
	snprintf(etag, sizeof(etag), "%s", tag);
	it_resp_free(&r);

	const char *match[] = { it_fmt("If-None-Match: %s", etag), NULL };
	struct it_req req = { .path = "/service-info", .headers = match };
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 304);
	CHECK_INT_EQ(r.body_len, 0);
	CHECK_STR_EQ(it_header(&r, "ETag"), etag);
	it_resp_free(&r);

	const char *list[] = { it_fmt("If-None-Match: \"other\", W/%s", etag), NULL };
	req.headers = list;
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 304);
	it_resp_free(&r);

	const char *other[] = { "If-None-Match: \"0000\"", NULL };
	req.headers = other;
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 200);
	CHECK(json_is_array(it_json_get(r.json, "services")));
	it_resp_free(&r);

	req.path = "/service-info/valkey";
	req.headers = match;
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 304);
	it_resp_free(&r);
}

TEST(unknown_query_parameter)
{
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/service-info?category=ai");
	CHECK_ERROR(r, 400, "validation.unknown_field");
	it_resp_free(&r);
	r = it_call(srv, "GET", NULL, NULL, "/service-info/mysql?x=1");
	CHECK_ERROR(r, 400, "validation.unknown_field");
	it_resp_free(&r);
}

TEST(clean_stop)
{
	CHECK_INT_EQ(it_server_stop(srv), 0);
}

int main(void)
{
	if (!it_init("it_service_info")) {
		test_failed++;
		return it_finish("it_service_info");
	}
	srv = it_server_start("service_info", NULL);
	if (!srv) {
		test_failed++;
		return it_finish("it_service_info");
	}
	RUN(list_has_every_type);
	RUN(one_type);
	RUN(unknown_type);
	RUN(etag_and_if_none_match);
	RUN(unknown_query_parameter);
	RUN(clean_stop);
	return it_finish("it_service_info");
}
