/* What a service's jobs send, for every catalog type: the steps and their
 * instructions, the Secret sealed for the queue (and the chart's values when
 * they carry a password), no password in any payload left in the clear; the
 * generated credentials and their view; and the create route declaring
 * every requires input of the catalog. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "http/route.h"
#include "services/catalog.h"
#include "services/render.h"
#include "testlib.h"
#include "util/mask.h"

static const struct field_spec *create_input(void)
{
	for (size_t i = 0; i < api_routes_count; i++)
		if (strcmp(api_routes[i].method, "POST") == 0 &&
		    strcmp(api_routes[i].pattern, "/:aid/:cid/services/:type") == 0)
			return api_routes[i].input;
	return NULL;
}

TEST(create_route_declares_every_requires_input)
{
	const struct field_spec *in = create_input();
	CHECK(in != NULL);
	if (!in)
		return;
	for (size_t i = 0; i < catalog_count(); i++) {
		const struct service_type *t = catalog_at(i);
		for (size_t k = 0; k < CATALOG_MAX_REQUIRES && t->requires[k].field; k++) {
			const struct catalog_require *r = &t->requires[k];
			const struct field_spec *f = in;
			while (f->name && strcmp(f->name, r->field) != 0)
				f++;
			CHECK_MSG(
				f->name && f->type == FIELD_STRING,
				"%s's requires field %s is not a string input of the create route",
				t->type, r->field);
			size_t len = strlen(r->field);
			/* The handler refuses another type's requires field by this suffix. */
			CHECK_MSG(len > 4 && strcmp(r->field + len - 4, "Osid") == 0,
				  "%s: requires field %s does not end in Osid", t->type, r->field);
		}
	}
}

/* The instruction's payload text, opened when sealed. */
static char *payload_of(const struct seal_keyring *ring, const struct job_instruction *in)
{
	if (!in->sealed_payload)
		return strdup(in->payload ? in->payload : "{}");
	size_t len;
	uint8_t *plain = crypto_unseal(ring, in->sealed_payload, "abcde/jobs/job-1", &len);
	char *text = plain ? strdup((const char *)plain) : NULL;
	if (plain)
		crypto_free_secret(plain, len);
	return text;
}

/* The decoded object of an APPLY_CR payload (a new reference). */
static json_t *applied(const char *payload)
{
	json_t *p = json_loads(payload, 0, NULL);
	const char *b64 = json_string_value(json_object_get(p, "crB64"));
	json_t *obj = NULL;
	if (b64) {
		uint8_t *raw = malloc(strlen(b64));
		int len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)strlen(b64));
		/* EVP_DecodeBlock counts the padding's zero bytes; JSON ends at '}'. */
		while (len > 0 && raw[len - 1] == 0)
			len--;
		obj = len > 0 ? json_loadb((const char *)raw, (size_t)len, 0, NULL) : NULL;
		free(raw);
	}
	json_decref(p);
	return obj;
}

static void check_type(const struct service_type *t, const struct seal_keyring *ring)
{
	json_t *credentials = service_credentials_new(t);
	const char *password = json_string_value(json_object_get(credentials, "password"));
	json_t *flags = json_object(), *tags = json_pack("[s]", "gpu");
	for (const struct catalog_flag *f = t->flags; f->name; f++)
		json_object_set_new(flags, f->name,
				    json_loads(f->default_json, JSON_DECODE_ANY, NULL));
	struct service_dependency deps[CATALOG_MAX_REQUIRES];
	size_t ndeps = 0;
	for (size_t k = 0; k < CATALOG_MAX_REQUIRES && t->requires[k].field; k++) {
		const struct catalog_require *r = &t->requires[k];
		const struct service_type *rt = catalog_find(r->type);
		deps[ndeps++] = (struct service_dependency){ r->field, rt, "dep-osid",
							     service_credentials_new(rt) };
	}
	bool stateless = t->max_storage_mb == 0;
	struct service_spec spec = { .type = t,
				     .aid = "abcde",
				     .cid = "c1x",
				     .id = "qwert",
				     .osid = "svc-qwert",
				     .cluster_domain = "c1x.abcde.runos.xyz",
				     .version = t->default_version,
				     .replicas = t->default_replicas,
				     .storage_mb = t->default_storage_mb,
				     .storage_class = stateless ? NULL : "openebs-local",
				     .flags = flags,
				     .affinity_tags = tags,
				     .credentials = credentials,
				     .requires = deps,
				     .nrequires = ndeps,
				     .job_id = "job-1",
				     .keys = ring };
	struct rendered_job out;
	char err[256] = "";
	CHECK_MSG(service_render_create(&spec, &out, err, sizeof(err)), "%s: %s", t->type, err);
	bool longhorn = strcmp(t->type, "longhorn") == 0;
	CHECK_INT_EQ(out.n, longhorn ? 6 : 5);
	const char *kinds[] = { "Namespace", "ResourceQuota", "NetworkPolicy", "Secret" };
	for (size_t i = 0; i < out.n; i++) {
		const struct job_instruction *in = &out.items[i];
		char *text = payload_of(ring, in);
		CHECK_MSG(text != NULL, "%s: instruction %zu does not open", t->type, i);
		if (!text)
			continue;
		/* Only sealed payloads may hold the password. */
		if (!in->sealed_payload && password)
			CHECK_MSG(!strstr(text, password), "%s: %s in the clear holds the password",
				  t->type, in->type);
		if (i < 4) {
			CHECK_INT_EQ(in->step, 1);
			CHECK_STR_EQ(in->type, "APPLY_CR");
			json_t *obj = applied(text);
			CHECK_STR_EQ(json_string_value(json_object_get(obj, "kind")), kinds[i]);
			if (i == 3) {
				CHECK(in->sealed_payload != NULL);
				CHECK_MSG(
					!password || strstr(text, password) ||
						json_object_get(json_object_get(obj, "stringData"),
								"password"),
					"%s: the Secret lacks the password", t->type);
				for (size_t d = 0; d < ndeps; d++) {
					char key[64];
					snprintf(key, sizeof(key), "%s-host", deps[d].type->type);
					CHECK_MSG(json_object_get(
							  json_object_get(obj, "stringData"), key),
						  "%s: the Secret lacks %s", t->type, key);
				}
			}
			json_decref(obj);
		} else if (i == 4) {
			CHECK_INT_EQ(in->step, 2);
			CHECK_STR_EQ(in->type, "INSTALL_HELM_CHART");
			CHECK((in->sealed_payload != NULL) == catalog_values_carry_secrets(t));
			json_t *p = json_loads(text, 0, NULL);
			CHECK_STR_EQ(json_string_value(json_object_get(p, "namespace")),
				     "svc-qwert");
			CHECK_STR_EQ(json_string_value(json_object_get(p, "chartName")),
				     t->chart.chart_name);
			json_decref(p);
		} else {
			CHECK_INT_EQ(in->step, 3);
			json_t *obj = applied(text);
			CHECK_STR_EQ(json_string_value(json_object_get(obj, "kind")),
				     "StorageClass");
			CHECK_STR_EQ(json_string_value(json_object_get(obj, "provisioner")),
				     "driver.longhorn.io");
			json_decref(obj);
		}
		free(text);
	}
	rendered_job_free(&out);
	service_render_delete(&spec, &out);
	CHECK_INT_EQ(out.n, longhorn ? 3 : 2);
	CHECK_STR_EQ(out.items[0].type, "UNINSTALL_HELM_CHART");
	rendered_job_free(&out);
	json_decref(flags);
	json_decref(tags);
	json_decref(credentials);
	for (size_t d = 0; d < ndeps; d++)
		json_decref(deps[d].credentials);
}

TEST(every_type_renders_its_jobs)
{
	uint8_t key[SEAL_KEY_LEN] = { 7 };
	struct seal_keyring *ring = crypto_keyring_create((const uint8_t(*)[SEAL_KEY_LEN])key, 1);
	for (size_t i = 0; i < catalog_count(); i++)
		check_type(catalog_at(i), ring);
	crypto_keyring_destroy(ring);
}

TEST(credentials)
{
	const struct service_type *pg = catalog_find("postgresql");
	CHECK(pg != NULL);
	if (!pg)
		return;
	json_t *a = service_credentials_new(pg), *b = service_credentials_new(pg);
	const char *pa = json_string_value(json_object_get(a, "password"));
	CHECK(pa != NULL);
	if (!pa)
		return;
	CHECK(strncmp(pa, "rnc_", 4) == 0 && strlen(pa) == 36);
	CHECK(strcmp(pa, json_string_value(json_object_get(b, "password"))) != 0);
	char *masked = mask_secrets(pa);
	CHECK_STR_EQ(masked, "rnc_***");
	free(masked);
	json_t *view = service_credentials_view(pg, "postgresql-d6ekr", a);
	CHECK_STR_EQ(json_string_value(json_object_get(view, "host")),
		     "postgresql-d6ekr.postgresql-d6ekr.svc.cluster.local");
	char url[256];
	snprintf(url, sizeof(url),
		 "postgresql://app:%s@postgresql-d6ekr.postgresql-d6ekr.svc.cluster.local:5432/app",
		 pa);
	CHECK_STR_EQ(json_string_value(json_object_get(view, "url")), url);
	json_decref(view);
	json_decref(a);
	json_decref(b);
}

int main(void)
{
	RUN(create_route_declares_every_requires_input);
	RUN(every_type_renders_its_jobs);
	RUN(credentials);
	return test_summary("unit/services");
}
