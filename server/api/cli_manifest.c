/* The CLI manifest's commands, derived from the route table. Every rule that
 * turns a row into a command is here, once (docs/cli.md lists them):
 *
 *   command   the pattern's segments without :aid and :cid (the CLI fills
 *             those from its account and --cid), each other :param as {param}
 *             (a positional argument), then a verb: GET "list" when the
 *             answer is a list, else "show"; POST "add" when it creates
 *             (201, or nothing is named before it), else the pattern's last
 *             words are the action ("jobs/{id}/cancel"); PATCH "update"; PUT
 *             "set"; DELETE "delete".
 *   :type     of the service catalog: one command per catalog type, the type
 *             in the endpoint and the command, the inputs narrowed to the
 *             type's (its versions, bounds, defaults, requires and boolean
 *             flags).
 *   input     GET and DELETE: the query parameters; others: the body fields;
 *             positional fields first, in path order.
 *   output    "array" of the list's items when the answer is one list (and a
 *             nextCursor only when there is more) or is an array itself,
 *             else "object".
 *   mcp       read or write; sensitive_* when the answer holds a secret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/cli_manifest.h"
#include "api/handlers.h"
#include "crypto/hash.h"
#include "http/router.h"
#include "services/catalog.h"

/* The CLI manifest's own rows, which are not commands. */
static bool is_manifest_row(const struct route *r)
{
	return r->handler == api_cli_manifest || r->handler == api_cli_manifest_version ||
	       r->handler == api_cli_toolsets;
}

bool api_cli_is_command(const struct route *r)
{
	bool token_may_call = r->access == ROUTE_ACCOUNT || r->access == ROUTE_ACCOUNT_OF ||
			      r->access == ROUTE_USER;
	return token_may_call && !r->session_only && !is_manifest_row(r);
}

static bool is_method(const struct route *r, const char *method)
{
	return strcmp(r->method, method) == 0;
}

/* The pattern's segments; a :param's name without its colon. */
struct segments {
	int n;
	struct {
		char text[64];
		bool param;
	} s[ROUTER_MAX_SEGMENTS];
};

static void split(const char *pattern, struct segments *out)
{
	out->n = 0;
	for (const char *p = pattern; *p == '/' && out->n < ROUTER_MAX_SEGMENTS;) {
		p++;
		size_t len = strcspn(p, "/");
		bool param = *p == ':';
		snprintf(out->s[out->n].text, sizeof(out->s[out->n].text), "%.*s",
			 (int)(len - param), p + param);
		out->s[out->n].param = param;
		out->n++;
		p += len;
	}
}

static bool filled_by_cli(const char *param)
{
	return strcmp(param, "aid") == 0 || strcmp(param, "cid") == 0;
}

/* A :type under services/ takes each type of the service catalog. */
static int catalog_param_at(const struct segments *sg)
{
	for (int i = 1; i < sg->n; i++)
		if (sg->s[i].param && strcmp(sg->s[i].text, "type") == 0 &&
		    strcmp(sg->s[i - 1].text, "services") == 0)
			return i;
	return -1;
}

static int answer_status(const struct route *r)
{
	return is_method(r, "POST") && r->output->post_status ? r->output->post_status
							      : r->output->status;
}

/* The answer's list when it is one the CLI shows as a table: its one
 * member that is always there (nextCursor is there only before the end);
 * NULL for any other answer. */
static const struct output_field *list_of(const struct output_spec *o)
{
	const struct output_field *list = NULL;
	int always = 0;
	for (const struct output_field *f = o->fields; f && f->name; f++) {
		always += !f->optional;
		if (f->type == FIELD_OBJECTS && !f->optional)
			list = f;
	}
	return always == 1 ? list : NULL;
}

static const char *verb(const struct route *r, bool names_something)
{
	if (is_method(r, "GET"))
		return list_of(r->output) || r->output->list ? "list" : "show";
	if (is_method(r, "PATCH"))
		return "update";
	if (is_method(r, "PUT"))
		return "set";
	if (is_method(r, "DELETE"))
		return "delete";
	/* A POST that creates adds; one on something named is its action. */
	return answer_status(r) == 201 || !names_something ? "add" : NULL;
}

static void append(char *out, size_t cap, const char *word)
{
	size_t n = strlen(out);
	snprintf(out + n, cap - n, "%s%s", n ? "/" : "", word);
}

/* The command and the endpoint of a row, with the catalog type t for its
 * :type (NULL: none). */
static void names(const struct route *r, const struct segments *sg, const char *type, char *command,
		  char *endpoint, size_t cap)
{
	command[0] = endpoint[0] = '\0';
	int type_at = catalog_param_at(sg);
	bool names_something = false, words_after_name = false;
	for (int i = 0; i < sg->n; i++) {
		const char *text = sg->s[i].text;
		size_t n = strlen(endpoint);
		if (i == type_at) {
			snprintf(endpoint + n, cap - n, "/%s", type);
			append(command, cap, type);
			continue;
		}
		snprintf(endpoint + n, cap - n, "/%s%s", sg->s[i].param ? ":" : "", text);
		if (sg->s[i].param && filled_by_cli(text))
			continue;
		if (sg->s[i].param) {
			char word[70];
			snprintf(word, sizeof(word), "{%s}", text);
			append(command, cap, word);
			names_something = true;
			words_after_name = false;
		} else {
			append(command, cap, text);
			words_after_name = names_something;
		}
	}
	const char *v = verb(r, names_something && words_after_name);
	if (v)
		append(command, cap, v);
}

static const char *manifest_type(enum field_type t)
{
	switch (t) {
	case FIELD_INTEGER:
		return "integer";
	case FIELD_BOOLEAN:
		return "boolean";
	case FIELD_STRINGS:
	case FIELD_OBJECTS:
	case FIELD_INTEGERS:
		return "array";
	case FIELD_OBJECT:
	case FIELD_JSON:
		return "object";
	default:
		return "string";
	}
}

static json_t *choices_json(const char *const *choices)
{
	json_t *e = json_array();
	for (const char *const *c = choices; c && *c; c++)
		json_array_append_new(e, json_string(*c));
	return e;
}

static json_t *field_json(const struct route *r, const struct field_spec *f)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:n, s:o}", "name", f->name, "type",
			      manifest_type(f->type), "description",
			      f->description ? f->description : "", "required", f->required,
			      "default", "enum", choices_json(f->choices));
	if (f->type == FIELD_STRINGS) {
		json_object_set_new(o, "format", json_string("string_array"));
		json_object_set_new(o, "itemType", json_string("string"));
	}
	/* A string the server takes empty: the CLI sends "" as given, and a
	 * PATCH of "" clears it. */
	bool empty_ok = !f->required && f->min_len == 0 &&
			(f->type == FIELD_STRING || f->type == FIELD_TEXT);
	if (empty_ok)
		json_object_set_new(o, "allowEmpty", json_true());
	if (empty_ok && is_method(r, "PATCH"))
		json_object_set_new(o, "clearable", json_true());
	return o;
}

static json_t *positional_json(const char *name)
{
	char description[96];
	snprintf(description, sizeof(description), "the %s of the path", name);
	return json_pack("{s:s, s:s, s:s, s:b, s:n, s:[], s:b}", "name", name, "type", "string",
			 "description", description, "required", true, "default", "enum",
			 "positional", true);
}

/* A create of catalog type t: its versions and defaults, its bounds in the
 * description, only its own requires, storage only when it keeps data. */
static json_t *catalog_field_json(const struct route *r, const struct field_spec *f,
				  const struct service_type *t)
{
	bool create = is_method(r, "POST");
	if (strstr(f->name, "Osid") && !catalog_require_find(t, f->name))
		return NULL;
	if ((strcmp(f->name, "storageMb") == 0 || strcmp(f->name, "storageClass") == 0) &&
	    catalog_stateless(t))
		return NULL;
	json_t *o = field_json(r, f);
	const struct catalog_require *req = catalog_require_find(t, f->name);
	if (req)
		json_object_set_new(o, "required", json_boolean(req->required && create));
	char description[160];
	if (strcmp(f->name, "version") == 0) {
		json_t *versions = json_array();
		for (int i = 0; i < CATALOG_MAX_VERSIONS && t->versions[i]; i++)
			json_array_append_new(versions, json_string(t->versions[i]));
		json_object_set_new(o, "enum", versions);
		if (create)
			json_object_set_new(o, "default", json_string(t->default_version));
	} else if (strcmp(f->name, "replicas") == 0) {
		snprintf(description, sizeof(description), "%d to %d", t->min_replicas,
			 t->max_replicas);
		json_object_set_new(o, "description", json_string(description));
		if (create)
			json_object_set_new(o, "default", json_integer(t->default_replicas));
	} else if (strcmp(f->name, "storageMb") == 0) {
		snprintf(description, sizeof(description), "volume size in MiB, %d to %d%s",
			 t->min_storage_mb, t->max_storage_mb, create ? "" : " (grow only)");
		json_object_set_new(o, "description", json_string(description));
		if (create)
			json_object_set_new(o, "default", json_integer(t->default_storage_mb));
	}
	return o;
}

/* The type's boolean flags, which the CLI sends as {flags:{name: bool}}. */
static json_t *catalog_flags_json(const struct service_type *t)
{
	json_t *flags = json_array();
	for (int i = 0; i < CATALOG_MAX_FLAGS && t->flags[i].name; i++) {
		const struct catalog_flag *fl = &t->flags[i];
		if (fl->kind != CATALOG_FLAG_BOOLEAN)
			continue;
		json_array_append_new(flags, json_pack("{s:s, s:s, s:b}", "name", fl->name,
						       "description", fl->description, "default",
						       strcmp(fl->default_json, "true") == 0));
	}
	return flags;
}

static json_t *input_json(const struct route *r, const struct segments *sg,
			  const struct service_type *t)
{
	json_t *fields = json_array();
	int type_at = catalog_param_at(sg);
	for (int i = 0; i < sg->n; i++)
		if (sg->s[i].param && !filled_by_cli(sg->s[i].text) && i != type_at)
			json_array_append_new(fields, positional_json(sg->s[i].text));
	bool query = is_method(r, "GET") || is_method(r, "DELETE");
	const struct field_spec *specs = query ? r->query : r->input;
	json_t *flags = t && !query ? catalog_flags_json(t) : json_array();
	for (const struct field_spec *f = specs; f && f->name; f++) {
		if (t && strcmp(f->name, "flags") == 0)
			continue; /* input.flags */
		json_t *field = t ? catalog_field_json(r, f, t) : field_json(r, f);
		if (field)
			json_array_append_new(fields, field);
	}
	return json_pack("{s:o, s:o}", "fields", fields, "flags", flags);
}

static bool is_scalar(enum field_type t)
{
	return t != FIELD_OBJECT && t != FIELD_OBJECTS && t != FIELD_JSON && t != FIELD_STRINGS &&
	       t != FIELD_INTEGERS;
}

static json_t *output_json(const struct output_spec *o)
{
	json_t *fields = json_array();
	const struct output_field *list = list_of(o);
	const struct output_field *members = list ? list->members : o->fields;
	bool table = list || o->list;
	for (const struct output_field *f = members; f && f->name; f++)
		if (!table || is_scalar(f->type))
			json_array_append_new(fields, json_string(f->name));
	return json_pack("{s:s, s:o}", "type", table ? "array" : "object", "fields", fields);
}

static bool returns_job(const struct output_spec *o)
{
	for (const struct output_field *f = o->fields; f && f->name; f++)
		if (strcmp(f->name, "jobId") == 0)
			return true;
	return false;
}

static json_t *command_json(const struct route *r, const struct segments *sg,
			    const struct service_type *t)
{
	char command[256], endpoint[256];
	names(r, sg, t ? t->type : NULL, command, endpoint, sizeof(command));
	bool read = is_method(r, "GET");
	const char *mcp = r->output->sensitive ? (read ? "sensitive_read" : "sensitive_write")
					       : (read ? "read" : "write");
	char description[256];
	if (t)
		snprintf(description, sizeof(description), "%s: %s", t->name, r->summary);
	else
		snprintf(description, sizeof(description), "%s", r->summary);
	return json_pack("{s:s, s:s, s:s, s:s, s:[s], s:b, s:o, s:o}", "command", command,
			 "description", description, "endpoint", endpoint, "method", r->method,
			 "mcp", mcp, "returnsJob", returns_job(r->output), "input",
			 input_json(r, sg, t), "output", output_json(r->output));
}

json_t *api_cli_commands(const struct route *routes, size_t count, enum role role)
{
	json_t *commands = json_array();
	for (size_t i = 0; i < count; i++) {
		const struct route *r = &routes[i];
		if (!api_cli_is_command(r))
			continue;
		if (role != ROLE_NONE && r->access != ROUTE_USER && r->min_role > role)
			continue;
		struct segments sg;
		split(r->pattern, &sg);
		if (catalog_param_at(&sg) < 0) {
			json_array_append_new(commands, command_json(r, &sg, NULL));
			continue;
		}
		for (size_t k = 0; k < catalog_count(); k++)
			json_array_append_new(commands, command_json(r, &sg, catalog_at(k)));
	}
	return commands;
}

void api_cli_version(const json_t *commands, char out[65])
{
	char *text = json_dumps(commands, JSON_COMPACT | JSON_SORT_KEYS);
	uint8_t digest[CRYPTO_SHA256_LEN];
	crypto_sha256(text, strlen(text), digest);
	crypto_hex(digest, CRYPTO_SHA256_LEN, out);
	free(text);
}
