/* The catalog's functions over its table (catalog_types.c): lookups, the
 * public JSON of an entry, the whole body with its ETag (rendered once, on
 * first use, under pthread_once), and the Helm values a type's template
 * renders to. Everything here reads immutable data; catalog_values allocates
 * only what it returns, so every function is thread safe. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_internal.h"
#include "crypto/hash.h"
#include "util/xmalloc.h"

const struct service_type *catalog_find(const char *type)
{
	if (!type)
		return NULL;
	for (size_t i = 0; i < catalog_types_count; i++)
		if (strcmp(catalog_types[i].type, type) == 0)
			return &catalog_types[i];
	return NULL;
}

size_t catalog_count(void)
{
	return catalog_types_count;
}

const struct service_type *catalog_at(size_t i)
{
	return i < catalog_types_count ? &catalog_types[i] : NULL;
}

int catalog_version_index(const struct service_type *t, const char *version)
{
	for (int i = 0; version && i < CATALOG_MAX_VERSIONS && t->versions[i]; i++)
		if (strcmp(t->versions[i], version) == 0)
			return i;
	return -1;
}

bool catalog_stateless(const struct service_type *t)
{
	return t->default_storage_mb == 0 && t->min_storage_mb == 0 && t->max_storage_mb == 0;
}

const struct catalog_flag *catalog_flag_find(const struct service_type *t, const char *name)
{
	for (int i = 0; name && i < CATALOG_MAX_FLAGS && t->flags[i].name; i++)
		if (strcmp(t->flags[i].name, name) == 0)
			return &t->flags[i];
	return NULL;
}

const struct catalog_require *catalog_require_find(const struct service_type *t, const char *field)
{
	for (int i = 0; field && i < CATALOG_MAX_REQUIRES && t->requires[i].field; i++)
		if (strcmp(t->requires[i].field, field) == 0)
	return &t->requires[i];
	return NULL;
}

static const char *flag_kind_name(enum catalog_flag_kind kind)
{
	switch (kind) {
	case CATALOG_FLAG_BOOLEAN:
		return "boolean";
	case CATALOG_FLAG_INTEGER:
		return "integer";
	case CATALOG_FLAG_STRING:
		return "string";
	}
	return "string";
}

static json_t *bound_or_null(const struct service_type *t, int mb)
{
	return catalog_stateless(t) ? json_null() : json_integer(mb);
}

json_t *catalog_entry_json(const struct service_type *t)
{
	json_t *versions = json_array();
	for (int i = 0; i < CATALOG_MAX_VERSIONS && t->versions[i]; i++)
		json_array_append_new(versions, json_string(t->versions[i]));
	json_t *ports = json_array();
	for (int i = 0; i < CATALOG_MAX_PORTS && t->ports[i].name; i++)
		json_array_append_new(ports, json_pack("{s:s, s:i, s:s}", "name", t->ports[i].name,
						       "port", t->ports[i].port, "protocol",
						       t->ports[i].protocol));
	json_t *flags = json_array();
	for (int i = 0; i < CATALOG_MAX_FLAGS && t->flags[i].name; i++) {
		const struct catalog_flag *f = &t->flags[i];
		json_t *def = json_loads(f->default_json, JSON_DECODE_ANY, NULL);
		json_array_append_new(flags, json_pack("{s:s, s:s, s:o, s:s}", "name", f->name,
						       "type", flag_kind_name(f->kind), "default",
						       def ? def : json_null(), "description",
						       f->description));
	}
	json_t *requires = json_array();
	for (int i = 0; i < CATALOG_MAX_REQUIRES && t->requires[i].field; i++)
		json_array_append_new(requires,
				      json_pack("{s:s, s:s, s:b}", "field", t->requires[i].field,
						"type", t->requires[i].type, "required",
						t->requires[i].required));
	/* host and port always; the others where the type has them. */
	json_t *credentials = json_array();
	if (t->credentials.username)
		json_array_append_new(credentials, json_string("username"));
	if (t->credentials.password)
		json_array_append_new(credentials, json_string("password"));
	json_array_append_new(credentials, json_string("host"));
	json_array_append_new(credentials, json_string("port"));
	if (t->credentials.database)
		json_array_append_new(credentials, json_string("database"));
	json_array_append_new(credentials, json_string("url"));

	json_t *entry =
		json_pack("{s:s, s:s, s:s, s:b, s:s, s:o, s:s, s:i, s:i, s:i}", "type", t->type,
			  "name", t->name, "category", t->category, "platform", t->platform,
			  "description", t->description, "versions", versions, "defaultVersion",
			  t->default_version, "defaultReplicas", t->default_replicas, "minReplicas",
			  t->min_replicas, "maxReplicas", t->max_replicas);
	json_object_set_new(entry, "defaultStorageMb", bound_or_null(t, t->default_storage_mb));
	json_object_set_new(entry, "minStorageMb", bound_or_null(t, t->min_storage_mb));
	json_object_set_new(entry, "maxStorageMb", bound_or_null(t, t->max_storage_mb));
	json_object_set_new(entry, "ports", ports);
	json_object_set_new(entry, "http", json_boolean(t->http));
	json_object_set_new(entry, "flags", flags);
	json_object_set_new(entry, "requires", requires);
	json_object_set_new(entry, "credentials", credentials);
	json_object_set_new(entry, "chart",
			    json_pack("{s:s, s:s, s:s}", "repoUrl", t->chart.repo_url, "chartName",
				      t->chart.chart_name, "version", t->chart.version));
	return entry;
}

/* ---- the whole catalog, once --------------------------------------------- */

static pthread_once_t body_once = PTHREAD_ONCE_INIT;
static char *body_text;
static char body_etag[40];

static void render_body(void)
{
	json_t *list = json_array();
	for (size_t i = 0; i < catalog_types_count; i++)
		json_array_append_new(list, catalog_entry_json(&catalog_types[i]));
	json_t *body = json_pack("{s:o}", "services", list);
	body_text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	uint8_t digest[CRYPTO_SHA256_LEN];
	crypto_sha256(body_text, strlen(body_text), digest);
	char hex[33];
	crypto_hex(digest, 16, hex);
	snprintf(body_etag, sizeof(body_etag), "\"%s\"", hex);
}

const char *catalog_body(void)
{
	pthread_once(&body_once, render_body);
	return body_text;
}

const char *catalog_etag(void)
{
	pthread_once(&body_once, render_body);
	return body_etag;
}

/* ---- values --------------------------------------------------------------- */

struct render {
	const struct service_type *t;
	const struct catalog_values_input *in;
	char *err;
	size_t errcap;
	bool failed;
};

/* What a placeholder stands for: a new reference; NULL with r->failed set on
 * an error; NULL without it when the member is to be left out ({{affinity}}
 * without one). */
static json_t *fail(struct render *r, const char *fmt, const char *name)
{
	if (!r->failed)
		snprintf(r->err, r->errcap, fmt, r->t->type, name);
	r->failed = true;
	return NULL;
}

static json_t *text_or_fail(struct render *r, const char *value, const char *name)
{
	return value ? json_string(value) : fail(r, "%s: {{%s}} has no value", name);
}

static char *storage_size(int mb)
{
	char *s = xmalloc(24);
	if (mb > 0 && mb % 1024 == 0)
		snprintf(s, 24, "%dGi", mb / 1024);
	else
		snprintf(s, 24, "%dMi", mb);
	return s;
}

/* {{require:<field>:<what>}}: host, port and osid from the input; database and
 * username from the required type's catalog row (its fixed names). */
static json_t *require_value(struct render *r, const char *name)
{
	char field[64];
	const char *rest = name + strlen("require:");
	const char *colon = strchr(rest, ':');
	if (!colon || (size_t)(colon - rest) >= sizeof(field))
		return fail(r, "%s: bad placeholder {{%s}}", name);
	memcpy(field, rest, (size_t)(colon - rest));
	field[colon - rest] = '\0';
	const char *what = colon + 1;
	const struct catalog_require *req = catalog_require_find(r->t, field);
	if (!req)
		return fail(r, "%s: {{%s}} names no field of the type's requires", name);
	if (strcmp(what, "database") == 0 || strcmp(what, "username") == 0) {
		const struct service_type *rt = catalog_find(req->type);
		const char *v = !rt		 ? NULL
				: what[0] == 'd' ? rt->credentials.database
						 : rt->credentials.username;
		return text_or_fail(r, v, name);
	}
	if (strcmp(what, "host") != 0 && strcmp(what, "port") != 0 && strcmp(what, "osid") != 0)
		return fail(r, "%s: unknown placeholder {{%s}}", name);
	json_t *v = json_object_get(json_object_get(r->in->requires, field), what);
	if (!v)
		return fail(r, "%s: {{%s}} has no value in the input", name);
	return json_incref(v);
}

static json_t *placeholder(struct render *r, const char *name)
{
	const struct catalog_values_input *in = r->in;
	if (strcmp(name, "osid") == 0)
		return text_or_fail(r, in->osid, name);
	if (strcmp(name, "version") == 0)
		return text_or_fail(r, in->version, name);
	if (strcmp(name, "replicas") == 0)
		return json_integer(in->replicas);
	if (strcmp(name, "storageSize") == 0) {
		if (in->storage_mb <= 0)
			return fail(r, "%s: {{%s}} without storage", name);
		char *s = storage_size(in->storage_mb);
		json_t *v = json_string(s);
		free(s);
		return v;
	}
	if (strcmp(name, "storageClass") == 0)
		return text_or_fail(r, in->storage_class, name);
	if (strcmp(name, "secretName") == 0)
		return text_or_fail(r, in->secret_name, name);
	if (strcmp(name, "host") == 0)
		return text_or_fail(r, in->domain, name);
	if (strcmp(name, "affinity") == 0)
		return in->affinity ? json_incref(in->affinity) : NULL;
	if (strncmp(name, "flag:", 5) == 0) {
		const struct catalog_flag *f = catalog_flag_find(r->t, name + 5);
		if (!f)
			return fail(r, "%s: {{%s}} names no flag of the type", name);
		json_t *v = json_object_get(in->flags, f->name);
		if (v)
			return json_incref(v);
		v = json_loads(f->default_json, JSON_DECODE_ANY, NULL);
		return v ? v : fail(r, "%s: the default of {{%s}} is not JSON", name);
	}
	if (strncmp(name, "secret:", 7) == 0) {
		const char *v = json_string_value(json_object_get(in->secrets, name + 7));
		return text_or_fail(r, v, name);
	}
	if (strncmp(name, "require:", 8) == 0)
		return require_value(r, name);
	return fail(r, "%s: unknown placeholder {{%s}}", name);
}

/* Appends a value as text to buf (for a placeholder inside a longer string). */
static bool append_text(struct render *r, char **buf, size_t *len, json_t *v, const char *name)
{
	char num[32];
	const char *text = NULL;
	if (json_is_string(v))
		text = json_string_value(v);
	else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		text = num;
	} else if (json_is_boolean(v))
		text = json_is_true(v) ? "true" : "false";
	if (!text) {
		fail(r, "%s: {{%s}} cannot be part of a text", name);
		return false;
	}
	size_t n = strlen(text);
	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, text, n + 1);
	*len += n;
	return true;
}

/* A string of the template: a whole "{{name}}" becomes the typed value,
 * placeholders inside a longer text are replaced as text. NULL: drop it (or
 * an error, r->failed). */
static json_t *render_string(struct render *r, const char *s)
{
	size_t slen = strlen(s);
	if (slen > 4 && strncmp(s, "{{", 2) == 0 && strcmp(s + slen - 2, "}}") == 0 &&
	    !strstr(s + 2, "{{") && strstr(s + 2, "}}") == s + slen - 2) {
		char name[128];
		if (slen - 4 >= sizeof(name))
			return fail(r, "%s: placeholder too long: %s", s);
		memcpy(name, s + 2, slen - 4);
		name[slen - 4] = '\0';
		return placeholder(r, name);
	}
	char *buf = xstrdup("");
	size_t len = 0;
	const char *p = s;
	while (*p) {
		const char *open = strstr(p, "{{");
		if (!open) {
			json_t *tail = json_string(p);
			append_text(r, &buf, &len, tail, "");
			json_decref(tail);
			break;
		}
		const char *close = strstr(open + 2, "}}");
		char lit[1024];
		size_t litn = (size_t)(open - p);
		if (!close || litn >= sizeof(lit) || (size_t)(close - open - 2) >= 128) {
			free(buf);
			return fail(r, "%s: unterminated placeholder in \"%s\"", s);
		}
		memcpy(lit, p, litn);
		lit[litn] = '\0';
		json_t *lv = json_string(lit);
		append_text(r, &buf, &len, lv, "");
		json_decref(lv);
		char name[128];
		memcpy(name, open + 2, (size_t)(close - open - 2));
		name[close - open - 2] = '\0';
		json_t *v = placeholder(r, name);
		if (!v) {
			if (!r->failed)
				fail(r, "%s: {{%s}} cannot be left out of a text", name);
			free(buf);
			return NULL;
		}
		bool ok = append_text(r, &buf, &len, v, name);
		json_decref(v);
		if (!ok) {
			free(buf);
			return NULL;
		}
		p = close + 2;
	}
	json_t *out = json_string(buf);
	free(buf);
	return out;
}

static json_t *render_value(struct render *r, json_t *v)
{
	if (json_is_string(v))
		return render_string(r, json_string_value(v));
	if (json_is_object(v)) {
		json_t *out = json_object();
		const char *key;
		json_t *member;
		json_object_foreach (v, key, member) {
			json_t *rv = render_value(r, member);
			if (r->failed) {
				json_decref(out);
				return NULL;
			}
			if (rv)
				json_object_set_new(out, key, rv);
		}
		return out;
	}
	if (json_is_array(v)) {
		json_t *out = json_array();
		size_t i;
		json_t *item;
		json_array_foreach (v, i, item) {
			json_t *rv = render_value(r, item);
			if (r->failed) {
				json_decref(out);
				return NULL;
			}
			if (rv)
				json_array_append_new(out, rv);
		}
		return out;
	}
	return json_incref(v);
}

json_t *catalog_values(const struct service_type *t, const struct catalog_values_input *in,
		       char *err, size_t errcap)
{
	json_error_t jerr;
	json_t *template = json_loads(t->values_template, JSON_REJECT_DUPLICATES, &jerr);
	if (!template) {
		snprintf(err, errcap, "%s: values template is not JSON: %s (column %d)", t->type,
			 jerr.text, jerr.column);
		return NULL;
	}
	struct render r = { t, in, err, errcap, false };
	json_t *values = render_value(&r, template);
	json_decref(template);
	if (r.failed) {
		json_decref(values);
		return NULL;
	}
	return values;
}

bool catalog_values_carry_secrets(const struct service_type *t)
{
	return strstr(t->values_template, "{{secret:") != NULL;
}
