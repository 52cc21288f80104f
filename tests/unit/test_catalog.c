/* The service catalog's table and its values templates: every row is
 * consistent and renders with a sample input, and the renderer's rules
 * (typed whole-string placeholders, text inside strings, unknown ones
 * refused, affinity left out) hold. */
#include <ctype.h>
#include <stdlib.h>

#include "services/catalog.h"
#include "testlib.h"

static json_t *sample_requires(const struct service_type *t)
{
	json_t *req = json_object();
	for (int i = 0; i < CATALOG_MAX_REQUIRES && t->requires[i].field; i++) {
		const char *osid = "dep-abcde";
		json_object_set_new(req, t->requires[i].field,
				    json_pack("{s:s, s:s, s:i}", "osid", osid, "host",
					      "dep-abcde.dep-abcde.svc.cluster.local", "port",
					      5432));
	}
	return req;
}

static json_t *sample_secrets(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "username", "app", "password",
			 "pw-app", "admin-password", "pw-admin", "postgresql-password", "pw-pg",
			 "valkey-password", "pw-vk", "minio-username", "app", "minio-password",
			 "pw-minio", "database", "app");
}

/* Whether a string anywhere in v still has "{{" or "}}". */
static bool has_placeholder(json_t *v)
{
	if (json_is_string(v))
		return strstr(json_string_value(v), "{{") || strstr(json_string_value(v), "}}");
	const char *key;
	json_t *member;
	size_t i;
	if (json_is_object(v))
		json_object_foreach (v, key, member)
			if (has_placeholder(member))
				return true;
	if (json_is_array(v))
		json_array_foreach (v, i, member)
			if (has_placeholder(member))
				return true;
	return false;
}

static json_t *render(const struct service_type *t, json_t *affinity, char *err, size_t errcap)
{
	json_t *flags = json_object(), *req = sample_requires(t), *secrets = sample_secrets();
	char osid[64];
	snprintf(osid, sizeof(osid), "%s-abcde", t->type);
	struct catalog_values_input in = {
		.osid = osid,
		.version = t->default_version,
		.replicas = t->default_replicas,
		.storage_mb = t->default_storage_mb,
		.storage_class = "openebs-local",
		.secret_name = "credentials",
		.domain = "svc.example.test",
		.flags = flags,
		.affinity = affinity,
		.requires = req,
		.secrets = secrets,
	};
	json_t *v = catalog_values(t, &in, err, errcap);
	json_decref(flags);
	json_decref(req);
	json_decref(secrets);
	return v;
}

TEST(every_row_renders)
{
	json_t *affinity = json_pack("{s:{s:{s:[{s:[{s:s, s:s, s:[s]}]}]}}}", "nodeAffinity",
				     "requiredDuringSchedulingIgnoredDuringExecution",
				     "nodeSelectorTerms", "matchExpressions", "key", "runos.io/tag",
				     "operator", "In", "values", "fast");
	CHECK(catalog_count() >= 17);
	for (size_t i = 0; i < catalog_count(); i++) {
		const struct service_type *t = catalog_at(i);
		char err[256] = "";
		json_t *v = render(t, affinity, err, sizeof(err));
		CHECK_MSG(json_is_object(v), "%s: %s", t->type, err);
		CHECK_MSG(!v || !has_placeholder(v), "%s: a placeholder is left", t->type);
		json_decref(v);
		v = render(t, NULL, err, sizeof(err));
		CHECK_MSG(json_is_object(v), "%s without affinity: %s", t->type, err);
		char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
		CHECK_MSG(!text || !strstr(text, "\"affinity\""), "%s: affinity kept: %s", t->type,
			  text);
		free(text);
		json_decref(v);
	}
	json_decref(affinity);
}

TEST(rows_are_consistent)
{
	for (size_t i = 0; i < catalog_count(); i++) {
		const struct service_type *t = catalog_at(i);
		CHECK_MSG(catalog_find(t->type) == t, "%s: found twice or not at all", t->type);
		int n = 0;
		while (n < CATALOG_MAX_VERSIONS && t->versions[n])
			n++;
		CHECK_MSG(n > 0 && n < CATALOG_MAX_VERSIONS, "%s: %d versions", t->type, n);
		CHECK_MSG(catalog_version_index(t, t->default_version) >= 0,
			  "%s: default %s not a version", t->type, t->default_version);
		CHECK(catalog_version_index(t, "0.0.0-none") == -1);
		CHECK_MSG(t->min_replicas >= 1 && t->min_replicas <= t->default_replicas &&
				  t->default_replicas <= t->max_replicas,
			  "%s: replicas %d..%d default %d", t->type, t->min_replicas,
			  t->max_replicas, t->default_replicas);
		if (t->default_storage_mb || t->min_storage_mb || t->max_storage_mb)
			CHECK_MSG(t->min_storage_mb > 0 &&
					  t->min_storage_mb <= t->default_storage_mb &&
					  t->default_storage_mb <= t->max_storage_mb,
				  "%s: storage bounds", t->type);
		bool uses_storage = strstr(t->values_template, "{{storageSize}}") != NULL;
		CHECK_MSG(uses_storage == !catalog_stateless(t),
			  "%s: stateless and {{storageSize}} disagree", t->type);
		CHECK_MSG(t->ports[0].name != NULL, "%s: no ports", t->type);
		for (int p = 0; p < CATALOG_MAX_PORTS && t->ports[p].name; p++)
			CHECK_MSG(t->ports[p].port > 0 && t->ports[p].port < 65536 &&
					  (strcmp(t->ports[p].protocol, "TCP") == 0 ||
					   strcmp(t->ports[p].protocol, "UDP") == 0),
				  "%s: port %s", t->type, t->ports[p].name);
		for (int r = 0; r < CATALOG_MAX_REQUIRES && t->requires[r].field; r++)
			CHECK_MSG(catalog_find(t->requires[r].type) != NULL, "%s requires %s",
				  t->type, t->requires[r].type);
		CHECK_MSG(t->platform == (strcmp(t->category, "platform") == 0),
			  "%s: platform and category disagree", t->type);
		const char *cats[] = { "databases",  "caching", "messaging", "storage",
				       "monitoring", "ai",	"platform",  NULL };
		bool known = false;
		for (const char **c = cats; *c; c++)
			known |= strcmp(*c, t->category) == 0;
		CHECK_MSG(known, "%s: category %s", t->type, t->category);
		CHECK_MSG(strcmp(t->pod_security, "restricted") == 0 ||
				  strcmp(t->pod_security, "baseline") == 0 ||
				  strcmp(t->pod_security, "privileged") == 0,
			  "%s: pod security %s", t->type, t->pod_security);
		/* DNS label: the osid <type>-<5 chars> names a namespace. */
		size_t len = strlen(t->type);
		bool label =
			len > 0 && islower((unsigned char)t->type[0]) && t->type[len - 1] != '-';
		for (size_t c = 0; c < len; c++)
			label &= islower((unsigned char)t->type[c]) ||
				 isdigit((unsigned char)t->type[c]) || t->type[c] == '-';
		CHECK_MSG(label && len + 6 <= 63, "%s: not a DNS label prefix", t->type);
		CHECK_MSG(t->chart.repo_url && t->chart.chart_name && t->chart.version, "%s: chart",
			  t->type);
		CHECK_MSG(t->http == (strstr(t->values_template, "{{host}}") != NULL),
			  "%s: http and {{host}} disagree", t->type);
		for (int f = 0; f < CATALOG_MAX_FLAGS && t->flags[f].name; f++) {
			json_t *d = json_loads(t->flags[f].default_json, JSON_DECODE_ANY, NULL);
			bool typed = t->flags[f].kind == CATALOG_FLAG_BOOLEAN	? json_is_boolean(d)
				     : t->flags[f].kind == CATALOG_FLAG_INTEGER ? json_is_integer(d)
										: json_is_string(d);
			CHECK_MSG(typed, "%s: flag %s default", t->type, t->flags[f].name);
			json_decref(d);
		}
	}
}

TEST(required_types)
{
	const char *want[] = { "postgresql",   "mysql",	     "clickhouse", "ferretdb", "valkey",
			       "rabbitmq",     "kafka",	     "minio",	   "longhorn", "harbor",
			       "grafana",      "prometheus", "ollama",	   "litellm",  "open-webui",
			       "cert-manager", "traefik",    NULL };
	for (const char **w = want; *w; w++)
		CHECK_MSG(catalog_find(*w) != NULL, "%s missing", *w);
	CHECK(catalog_find("cert-manager")->platform);
	CHECK(catalog_find("traefik")->platform);
	CHECK(catalog_find("nosuch") == NULL);
	CHECK(catalog_find(NULL) == NULL);
	CHECK(catalog_require_find(catalog_find("harbor"), "minioOsid") != NULL);
	CHECK(catalog_require_find(catalog_find("open-webui"), "ollamaOsid") != NULL);
	CHECK(catalog_require_find(catalog_find("grafana"), "postgresOsid") != NULL);
	CHECK(catalog_require_find(catalog_find("litellm"), "postgresOsid") != NULL);
}

/* A row made up here, to test the renderer's rules on their own. */
static struct service_type fake = {
	.type = "fake",
	.name = "Fake",
	.category = "databases",
	.versions = { "1.0" },
	.default_version = "1.0",
	.default_replicas = 1,
	.min_replicas = 1,
	.max_replicas = 3,
	.ports = { { "p", 1, "TCP" } },
	.flags = { { "on", CATALOG_FLAG_BOOLEAN, "true", "" },
		   { "n", CATALOG_FLAG_INTEGER, "7", "" } },
	.requires = { { "dbOsid", "postgresql", true } },
	.pod_security = "baseline",
};

static json_t *render_fake(const char *template, int storage_mb, json_t *affinity, char *err)
{
	fake.values_template = template;
	json_t *req =
		json_pack("{s:{s:s, s:s, s:i}}", "dbOsid", "osid", "postgresql-qwert", "host",
			  "postgresql-qwert.postgresql-qwert.svc.cluster.local", "port", 5432);
	json_t *flags = json_pack("{s:i}", "n", 9);
	struct catalog_values_input in = { .osid = "fake-abcde",
					   .version = "1.0",
					   .replicas = 2,
					   .storage_mb = storage_mb,
					   .storage_class = "openebs-local",
					   .secret_name = "s",
					   .domain = "fake.example.test",
					   .flags = flags,
					   .affinity = affinity,
					   .requires = req };
	json_t *v = catalog_values(&fake, &in, err, 256);
	json_decref(req);
	json_decref(flags);
	return v;
}

static char *dump(json_t *v)
{
	return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

TEST(renderer_rules)
{
	char err[256] = "";
	json_t *v = render_fake(
		"{\"r\": \"{{replicas}}\", \"f\": \"{{flag:on}}\", \"n\": "
		"\"{{flag:n}}\", \"t\": \"x-{{osid}}:{{replicas}}\", \"s\": "
		"\"{{storageSize}}\", \"a\": \"{{affinity}}\", \"l\": [\"{{affinity}}\", "
		"1], \"h\": \"{{require:dbOsid:host}}\", \"p\": "
		"\"{{require:dbOsid:port}}\", \"d\": \"{{require:dbOsid:database}}\"}",
		2048, NULL, err);
	char *text = dump(v);
	CHECK_STR_EQ(text, "{\"d\":\"app\",\"f\":true,\"h\":\"postgresql-qwert.postgresql-qwert."
			   "svc.cluster.local\",\"l\":[1],\"n\":9,\"p\":5432,\"r\":2,\"s\":\"2Gi\","
			   "\"t\":\"x-fake-abcde:2\"}");
	free(text);
	json_decref(v);

	v = render_fake("{\"s\": \"{{storageSize}}\", \"a\": \"{{affinity}}\"}", 1500,
			json_pack("{s:{}}", "nodeAffinity"), err);
	text = dump(v);
	CHECK_STR_EQ(text, "{\"a\":{\"nodeAffinity\":{}},\"s\":\"1500Mi\"}");
	free(text);
	json_decref(v);

	const char *bad[] = { "{\"x\": \"{{nosuch}}\"}",
			      "{\"x\": \"a {{flag:missing}}\"}",
			      "{\"x\": \"{{require:otherOsid:host}}\"}",
			      "{\"x\": \"{{require:dbOsid:color}}\"}",
			      "{\"x\": \"a {{osid\"}",
			      "{\"x\": \"a-{{affinity}}\"}",
			      "{\"x\": \"{{storageSize}}\"}",
			      "{\"x\": \"{{secret:password}}\"}",
			      "not json",
			      NULL };
	for (const char **b = bad; *b; b++) {
		err[0] = '\0';
		v = render_fake(*b, 0, NULL, err);
		CHECK_MSG(v == NULL && err[0], "%s rendered", *b);
		json_decref(v);
	}
}

TEST(entry_and_body)
{
	const struct service_type *pg = catalog_find("postgresql");
	json_t *e = catalog_entry_json(pg);
	CHECK_STR_EQ(json_string_value(json_object_get(e, "type")), "postgresql");
	CHECK(json_is_integer(json_object_get(e, "defaultStorageMb")));
	CHECK(json_array_size(json_object_get(e, "credentials")) >= 4);
	json_decref(e);
	e = catalog_entry_json(catalog_find("traefik"));
	CHECK(json_is_null(json_object_get(e, "defaultStorageMb")));
	CHECK(json_is_true(json_object_get(e, "platform")));
	json_decref(e);

	const char *body = catalog_body();
	json_t *parsed = json_loads(body, 0, NULL);
	CHECK_INT_EQ(json_array_size(json_object_get(parsed, "services")), catalog_count());
	json_decref(parsed);
	const char *etag = catalog_etag();
	CHECK(etag[0] == '"' && etag[strlen(etag) - 1] == '"' && strlen(etag) == 34);
	CHECK(catalog_body() == body);
	CHECK(catalog_values_carry_secrets(catalog_find("harbor")));
	CHECK(!catalog_values_carry_secrets(pg));
}

int main(void)
{
	RUN(every_row_renders);
	RUN(rows_are_consistent);
	RUN(required_types);
	RUN(renderer_rules);
	RUN(entry_and_body);
	return test_summary("test_catalog");
}
