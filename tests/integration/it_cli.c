/* The stock runos CLI's manifest (docs/cli.md), as the CLI reads it:
 *   - every manifest served (unscoped, and an account's for each role)
 *     decodes under a strict decoder written from the manifest's description:
 *     no unknown member, every value of its type (the CLI drops every dynamic
 *     command when one is wrong); the decoder itself refuses broken copies;
 *   - every command's endpoint and method is a route of the table, its
 *     placeholders are its positional fields in path order, none a prefix of
 *     another, no name clashes with the CLI's own flags, commands unique once
 *     their {x} segments vanish;
 *   - the version is the digest of the commands, served alike by
 *     /cli/manifest-version, with ETags; an account's manifest holds what the
 *     caller's role may call; toolsets names the catalog's types;
 *   - a sample of commands, sent as the CLI builds requests from the manifest
 *     (placeholders filled by substring replacement, defaults always sent,
 *     GET/DELETE fields as query, others as a JSON body, boolean flags in
 *     flags:{}), gets a 2xx whose body the CLI reads as intended: never a
 *     failure (statusCode), a list unwrapped from a single-key object. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/cli_manifest.h"
#include "harness.h"
#include "http/route.h"
#include "http/router.h"

static struct it_server *srv;
static PGconn *pg;
static struct it_user owner, viewer;
static struct it_key owner_key;
static char cid[8];

/* ---- the strict decoder ------------------------------------------------- */

static char decode_error[512];

static bool fail(const char *fmt, const char *a, const char *b)
{
	snprintf(decode_error, sizeof(decode_error), fmt, a ? a : "", b ? b : "");
	return false;
}

/* Every member of o is one of allowed (NULL-terminated), every one of
 * required is there. */
static bool members_ok(const json_t *o, const char *what, const char *const *allowed,
		       const char *const *required)
{
	if (!json_is_object(o))
		return fail("%s: not an object%s", what, NULL);
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)o, key, v) {
		bool known = false;
		for (const char *const *a = allowed; *a; a++)
			known |= strcmp(*a, key) == 0;
		if (!known)
			return fail("%s: unknown member %s", what, key);
	}
	for (const char *const *r = required; *r; r++)
		if (!json_object_get(o, *r))
			return fail("%s: no %s", what, *r);
	return true;
}

static bool is_one_of(const char *s, const char *const *set)
{
	for (; s && *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

static bool strings_ok(const json_t *a, const char *what, const char *const *set)
{
	if (!json_is_array(a))
		return fail("%s: not an array%s", what, NULL);
	size_t i;
	json_t *v;
	json_array_foreach (a, i, v)
		if (!json_is_string(v) || (set && !is_one_of(json_string_value(v), set)))
			return fail("%s: a bad item%s", what, NULL);
	return true;
}

static const char *const field_types[] = {
	"string", "integer", "boolean", "array", "object", NULL
};

static bool default_ok(const char *type, const json_t *d)
{
	if (json_is_null(d))
		return true;
	if (strcmp(type, "string") == 0)
		return json_is_string(d);
	if (strcmp(type, "integer") == 0)
		return json_is_integer(d);
	if (strcmp(type, "boolean") == 0)
		return json_is_boolean(d);
	if (strcmp(type, "array") == 0)
		return json_is_array(d);
	return json_is_object(d);
}

static bool field_ok(const json_t *f, const char *command)
{
	static const char *const allowed[] = { "name",	    "type",	  "description",
					       "required",  "default",	  "enum",
					       "format",    "positional", "allowEmpty",
					       "clearable", "itemType",	  NULL };
	static const char *const required[] = { "name",	   "type", "description", "required",
						"default", "enum", NULL };
	static const char *const formats[] = { "key_value", "string_array", NULL };
	if (!members_ok(f, command, allowed, required))
		return false;
	const char *type = json_string_value(json_object_get(f, "type"));
	if (!json_is_string(json_object_get(f, "name")) || !is_one_of(type, field_types) ||
	    !json_is_string(json_object_get(f, "description")) ||
	    !json_is_boolean(json_object_get(f, "required")))
		return fail("%s: a field's name, type, description or required%s", command, NULL);
	if (!default_ok(type, json_object_get(f, "default")))
		return fail("%s: default of field %s is not of its type", command,
			    json_string_value(json_object_get(f, "name")));
	if (!strings_ok(json_object_get(f, "enum"), command, NULL))
		return false;
	const json_t *format = json_object_get(f, "format");
	if (format && !is_one_of(json_string_value(format), formats))
		return fail("%s: format%s", command, NULL);
	static const char *const booleans[] = { "positional", "allowEmpty", "clearable", NULL };
	for (const char *const *b = booleans; *b; b++)
		if (json_object_get(f, *b) && !json_is_boolean(json_object_get(f, *b)))
			return fail("%s: %s is not a boolean", command, *b);
	const json_t *item = json_object_get(f, "itemType");
	if (item && !is_one_of(json_string_value(item), field_types))
		return fail("%s: itemType%s", command, NULL);
	return true;
}

static bool flag_ok(const json_t *f, const char *command)
{
	static const char *const members[] = { "name", "description", "default", NULL };
	if (!members_ok(f, command, members, members))
		return false;
	if (!json_is_string(json_object_get(f, "name")) ||
	    !json_is_string(json_object_get(f, "description")) ||
	    !json_is_boolean(json_object_get(f, "default")))
		return fail("%s: a flag's name, description or default%s", command, NULL);
	return true;
}

static bool output_ok(const json_t *o, const char *command)
{
	static const char *const members[] = { "type", "fields", NULL };
	static const char *const types[] = { "object", "array", NULL };
	if (!members_ok(o, command, members, members))
		return false;
	if (!is_one_of(json_string_value(json_object_get(o, "type")), types))
		return fail("%s: output type%s", command, NULL);
	const json_t *fields = json_object_get(o, "fields");
	if (!json_is_array(fields))
		return fail("%s: output fields%s", command, NULL);
	static const char *const field_members[] = { "name", "type", "description", "enum", NULL };
	static const char *const field_required[] = { "name", NULL };
	size_t i;
	json_t *f;
	json_array_foreach (fields, i, f) {
		if (json_is_string(f))
			continue;
		if (!members_ok(f, command, field_members, field_required) ||
		    !json_is_string(json_object_get(f, "name")))
			return fail("%s: an output field%s", command, NULL);
	}
	return true;
}

static bool command_ok(const json_t *c)
{
	static const char *const members[] = { "command", "description", "endpoint",
					       "method",  "mcp",	 "returnsJob",
					       "input",	  "output",	 NULL };
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", NULL };
	static const char *const mcp[] = { "read", "sensitive_read", "write", "sensitive_write",
					   NULL };
	if (!members_ok(c, "a command", members, members))
		return false;
	const char *name = json_string_value(json_object_get(c, "command"));
	if (!name || !*name || !json_is_string(json_object_get(c, "description")) ||
	    !json_is_string(json_object_get(c, "endpoint")) ||
	    !is_one_of(json_string_value(json_object_get(c, "method")), methods) ||
	    !json_is_boolean(json_object_get(c, "returnsJob")))
		return fail("%s: command, description, endpoint, method or returnsJob%s", name,
			    NULL);
	if (!strings_ok(json_object_get(c, "mcp"), name, mcp) ||
	    json_array_size(json_object_get(c, "mcp")) == 0)
		return fail("%s: mcp%s", name, NULL);
	const json_t *input = json_object_get(c, "input");
	static const char *const input_members[] = { "fields", "flags", NULL };
	static const char *const none[] = { NULL };
	if (!members_ok(input, name, input_members, none))
		return false;
	const json_t *fields = json_object_get(input, "fields"),
		     *flags = json_object_get(input, "flags");
	if ((fields && !json_is_array(fields)) || (flags && !json_is_array(flags)))
		return fail("%s: input fields or flags%s", name, NULL);
	size_t i;
	json_t *v;
	json_array_foreach (fields, i, v)
		if (!field_ok(v, name))
			return false;
	json_array_foreach (flags, i, v)
		if (!flag_ok(v, name))
			return false;
	return output_ok(json_object_get(c, "output"), name);
}

static bool manifest_ok(const json_t *m)
{
	static const char *const members[] = { "version", "commands", NULL };
	if (!members_ok(m, "the manifest", members, members))
		return false;
	if (!json_is_string(json_object_get(m, "version")) ||
	    !json_is_array(json_object_get(m, "commands")))
		return fail("the manifest: version or commands%s%s", NULL, NULL);
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(m, "commands"), i, c)
		if (!command_ok(c))
			return false;
	return true;
}

/* ---- reading the manifest ----------------------------------------------- */

static json_t *get_json(const char *token, const char *path, char etag[80])
{
	struct it_resp r = it_call(srv, "GET", token, NULL, "%s", path);
	CHECK_STATUS(r, 200);
	json_t *j = json_incref(r.json);
	if (etag)
		snprintf(etag, 80, "%s", it_header(&r, "ETag") ?: "");
	it_resp_free(&r);
	return j;
}

static const json_t *command_named(const json_t *m, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(m, "commands"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "command")), name) == 0)
			return c;
	return NULL;
}

static const json_t *field_named(const json_t *c, const char *name)
{
	size_t i;
	json_t *f;
	json_array_foreach (json_object_get(json_object_get(c, "input"), "fields"), i, f)
		if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0)
			return f;
	return NULL;
}

TEST(every_manifest_decodes_strictly)
{
	const char *paths[] = { "/cli/manifest", it_fmt("/%s/cli/manifest", owner.aid) };
	const char *tokens[] = { NULL, owner_key.token };
	for (int i = 0; i < 2; i++) {
		json_t *m = get_json(tokens[i], paths[i], NULL);
		CHECK_MSG(manifest_ok(m), "%s: %s", paths[i], decode_error);
		CHECK_MSG(json_array_size(json_object_get(m, "commands")) > 40, "%s: %zu commands",
			  paths[i], json_array_size(json_object_get(m, "commands")));
		json_decref(m);
	}
	json_t *m = get_json(viewer.token, it_fmt("/%s/cli/manifest", owner.aid), NULL);
	CHECK_MSG(manifest_ok(m), "viewer's: %s", decode_error);
	json_decref(m);
}

/* The decoder is strict: each of these broken copies fails it. */
TEST(the_decoder_refuses_wrong_types)
{
	json_t *good = get_json(NULL, "/cli/manifest", NULL);
	REQUIRE(good && manifest_ok(good));
	static const char *const breakages[] = {
		"required is a string",	 "default of the wrong type", "an unknown member",
		"mcp unknown",		 "returnsJob a number",	      "output fields numbers",
		"flag default a string",
	};
	for (size_t b = 0; b < sizeof(breakages) / sizeof(breakages[0]); b++) {
		json_t *m = json_deep_copy(good);
		json_t *commands = json_object_get(m, "commands");
		json_t *c = NULL, *f = NULL, *flag = NULL;
		size_t i;
		json_t *v;
		json_array_foreach (commands, i, v) {
			json_t *fields = json_object_get(json_object_get(v, "input"), "fields");
			json_t *flags = json_object_get(json_object_get(v, "input"), "flags");
			if (b == 6 && json_array_size(flags) > 0) {
				c = v;
				flag = json_array_get(flags, 0);
				break;
			}
			if (b != 6 && json_array_size(fields) > 0) {
				c = v;
				f = json_array_get(fields, 0);
				break;
			}
		}
		REQUIRE(c != NULL);
		switch (b) {
		case 0:
			json_object_set_new(f, "required", json_string("yes"));
			break;
		case 1:
			json_object_set_new(f, "default", json_pack("[i]", 3));
			break;
		case 2:
			json_object_set_new(c, "aliases", json_array());
			break;
		case 3:
			json_object_set_new(c, "mcp", json_pack("[s]", "admin"));
			break;
		case 4:
			json_object_set_new(c, "returnsJob", json_integer(1));
			break;
		case 5:
			json_object_set_new(json_object_get(c, "output"), "fields",
					    json_pack("[i]", 1));
			break;
		case 6:
			json_object_set_new(flag, "default", json_string("false"));
			break;
		}
		CHECK_MSG(!manifest_ok(m), "the decoder took a manifest with %s", breakages[b]);
		json_decref(m);
	}
	json_decref(good);
}

/* :aid → a1b2c, :cid → abc, other :x → x-value: the path the CLI would ask. */
static void sample_path(const char *endpoint, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = endpoint; *p && n + 16 < cap;) {
		if (*p != ':') {
			out[n++] = *p++;
			continue;
		}
		size_t len = strcspn(p + 1, "/");
		const char *value = strncmp(p, ":aid", 4) == 0 && len == 3   ? "a1b2c"
				    : strncmp(p, ":cid", 4) == 0 && len == 3 ? "abc"
									     : "x1";
		n += (size_t)snprintf(out + n, cap - n, "%s", value);
		p += 1 + len;
	}
	out[n] = '\0';
}

/* The placeholders of an endpoint, in order. */
static int placeholders(const char *endpoint, char names[ROUTE_MAX_PARAMS][32])
{
	int n = 0;
	for (const char *p = strchr(endpoint, ':'); p && n < ROUTE_MAX_PARAMS;
	     p = strchr(p + 1, ':')) {
		size_t len = strcspn(p + 1, "/");
		snprintf(names[n++], 32, "%.*s", (int)len, p + 1);
	}
	return n;
}

static void check_command_shape(const struct http_router *router, const json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "command"));
	const char *endpoint = json_string_value(json_object_get(c, "endpoint"));
	const char *method = json_string_value(json_object_get(c, "method"));
	char path[256];
	sample_path(endpoint, path, sizeof(path));
	struct router_match match;
	enum router_result found = http_router_match(router, method, path, &match);
	CHECK_MSG(found == ROUTER_FOUND && strcmp(match.route->method, method) == 0,
		  "%s: %s %s is not a route", name, method, endpoint);
	if (found == ROUTER_FOUND)
		CHECK_MSG(api_cli_is_command(match.route), "%s: %s is not a command's route", name,
			  match.route->pattern);

	/* Placeholders: none a prefix of another; each but :aid and :cid a
	 * positional field, in path order; each {x} of the command one. */
	char names[ROUTE_MAX_PARAMS][32];
	int n = placeholders(endpoint, names);
	for (int i = 0; i < n; i++)
		for (int k = 0; k < n; k++)
			CHECK_MSG(i == k || strncmp(names[i], names[k], strlen(names[i])) != 0,
				  "%s: :%s is a prefix of :%s", name, names[i], names[k]);
	const json_t *fields = json_object_get(json_object_get(c, "input"), "fields");
	size_t next_positional = 0;
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i], "aid") == 0 || strcmp(names[i], "cid") == 0)
			continue;
		const json_t *f = json_array_get(fields, next_positional++);
		CHECK_MSG(f && json_is_true(json_object_get(f, "positional")) &&
				  test_str_eq(json_string_value(json_object_get(f, "name")),
					      names[i]),
			  "%s: positional field %zu is not :%s", name, next_positional - 1,
			  names[i]);
		CHECK_MSG(strstr(name, it_fmt("{%s}", names[i])) != NULL,
			  "%s: no {%s} segment for :%s", name, names[i], names[i]);
	}
	size_t i;
	json_t *f;
	size_t positionals = 0;
	json_array_foreach (fields, i, f)
		positionals += json_is_true(json_object_get(f, "positional"));
	CHECK_MSG(positionals == next_positional, "%s: %zu positional fields for %zu placeholders",
		  name, positionals, next_positional);

	/* Names the CLI gives its own flags, and no name twice. */
	static const char *const own[] = { "json", "file", "wait", "help", NULL };
	const json_t *flags = json_object_get(json_object_get(c, "input"), "flags");
	const json_t *lists[] = { fields, flags };
	for (int l = 0; l < 2; l++) {
		json_array_foreach (lists[l], i, f) {
			const char *fname = json_string_value(json_object_get(f, "name"));
			bool positional = json_is_true(json_object_get(f, "positional"));
			CHECK_MSG(positional || !is_one_of(fname, own), "%s: a field named %s",
				  name, fname);
			CHECK_MSG(!strstr(endpoint, ":cid") || strcmp(fname, "cid") != 0,
				  "%s: a field named cid beside --cid", name);
			CHECK_MSG(strcmp(fname, "flags") != 0 || l == 1,
				  "%s: flags as a field, not as input.flags", name);
		}
	}
}

/* The command with its {x} segments removed, as the CLI names it. */
static void verb_path(const char *command, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = command; *p && n + 1 < cap;) {
		size_t len = strcspn(p, "/");
		if (*p != '{') {
			n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "/" : "", (int)len,
					      p);
		}
		p += len + (p[len] == '/');
	}
	out[n] = '\0';
}

TEST(every_command_is_a_route)
{
	char err[256];
	struct http_router *router =
		http_router_create(api_routes, api_routes_count, err, sizeof(err));
	REQUIRE(router != NULL);
	json_t *m = get_json(NULL, "/cli/manifest", NULL);
	REQUIRE(m);
	json_t *seen = json_object();
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(m, "commands"), i, c) {
		check_command_shape(router, c);
		char verbs[256];
		verb_path(json_string_value(json_object_get(c, "command")), verbs, sizeof(verbs));
		CHECK_MSG(!json_object_get(seen, verbs), "two commands are %s", verbs);
		json_object_set_new(seen, verbs, json_true());
	}
	/* Every row a token may call is a command. */
	size_t rows = 0;
	for (size_t k = 0; k < api_routes_count; k++)
		rows += api_cli_is_command(&api_routes[k]) &&
			!strstr(api_routes[k].pattern, ":type");
	CHECK_MSG(json_array_size(json_object_get(m, "commands")) > rows, "%zu commands, %zu rows",
		  json_array_size(json_object_get(m, "commands")), rows);
	json_decref(seen);
	json_decref(m);
	http_router_destroy(router);
}

/* The commands the description names, with what it says of them. */
TEST(named_commands)
{
	json_t *m = get_json(NULL, "/cli/manifest", NULL);
	REQUIRE(m);
	static const char *const names[] = { "clusters/list",
					     "clusters/show",
					     "clusters/add",
					     "services/list",
					     "services/postgresql/add",
					     "services/postgresql/list",
					     "services/postgresql/{id}/show",
					     "services/postgresql/{id}/credentials/show",
					     "services/postgresql/{id}/credentials/rotate",
					     "jobs/{id}/show",
					     "jobs/{id}/cancel",
					     "nodes/{nid}/show",
					     NULL };
	for (const char *const *n = names; *n; n++)
		CHECK_MSG(command_named(m, *n) != NULL, "no command %s", *n);
	const json_t *show = command_named(m, "clusters/show");
	CHECK_STR_EQ(json_string_value(json_object_get(show, "endpoint")), "/:aid/clusters/:cid");
	const json_t *list = command_named(m, "clusters/list");
	CHECK_STR_EQ(json_string_value(it_json_get(list, "output.type")), "array");
	CHECK_STR_EQ(json_string_value(it_json_get(list, "mcp.0")), "read");
	CHECK_MSG(field_named(list, "status") && field_named(list, "limit"),
		  "clusters/list: no status or limit query field");
	const json_t *creds = command_named(m, "services/postgresql/{id}/credentials/show");
	CHECK_STR_EQ(json_string_value(it_json_get(creds, "mcp.0")), "sensitive_read");
	const json_t *add = command_named(m, "services/postgresql/add");
	CHECK_STR_EQ(json_string_value(json_object_get(add, "endpoint")),
		     "/:aid/:cid/services/postgresql");
	CHECK_MSG(json_is_true(json_object_get(add, "returnsJob")), "add does not return a job");
	const json_t *version = field_named(add, "version");
	CHECK_MSG(version && json_is_string(json_object_get(version, "default")) &&
			  json_array_size(json_object_get(version, "enum")) > 0,
		  "services/postgresql/add: version has no default or versions");
	CHECK_MSG(field_named(add, "valkeyOsid") == NULL,
		  "postgresql/add offers another type's requires");
	CHECK_MSG(field_named(add, "flags") == NULL, "postgresql/add: flags as a field");
	const json_t *token_add = command_named(m, "join-tokens/add");
	CHECK_STR_EQ(json_string_value(it_json_get(token_add, "mcp.0")), "sensitive_write");
	/* A personal access token makes no keys: no command for it. */
	CHECK_MSG(command_named(m, "api-keys/add") == NULL, "api-keys/add is a command");
	const json_t *cancel = command_named(m, "jobs/{id}/cancel");
	CHECK_STR_EQ(json_string_value(it_json_get(cancel, "input.fields.0.name")), "id");
	json_decref(m);
}

TEST(version_is_the_digest_of_the_commands)
{
	char etag[80];
	json_t *m = get_json(NULL, "/cli/manifest", etag);
	json_t *v = get_json(NULL, "/cli/manifest-version", NULL);
	REQUIRE(m && v);
	const char *version = json_string_value(json_object_get(m, "version"));
	CHECK_STR_EQ(json_string_value(json_object_get(v, "version")), version);
	char digest[65];
	api_cli_version(json_object_get(m, "commands"), digest);
	CHECK_STR_EQ(version, digest);
	CHECK_STR_EQ(etag, it_fmt("\"%s\"", version));
	/* One command less is another version. */
	json_t *fewer = json_deep_copy(json_object_get(m, "commands"));
	json_array_remove(fewer, 0);
	char other[65];
	api_cli_version(fewer, other);
	CHECK_MSG(strcmp(other, digest) != 0, "the version ignores a dropped command");
	json_decref(fewer);

	const char *inm[] = { it_fmt("If-None-Match: %s", etag), NULL };
	struct it_req req = { .path = "/cli/manifest", .headers = inm };
	struct it_resp r;
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 304);
	it_resp_free(&r);

	/* The account's, by role: a viewer's has only what a viewer may call. */
	json_t *mine = get_json(owner_key.token, it_fmt("/%s/cli/manifest", owner.aid), NULL);
	json_t *theirs = get_json(viewer.token, it_fmt("/%s/cli/manifest", owner.aid), NULL);
	json_t *their_version =
		get_json(viewer.token, it_fmt("/%s/cli/manifest-version", owner.aid), NULL);
	REQUIRE(mine && theirs && their_version);
	CHECK_STR_EQ(json_string_value(json_object_get(their_version, "version")),
		     json_string_value(json_object_get(theirs, "version")));
	CHECK_MSG(strcmp(json_string_value(json_object_get(mine, "version")),
			 json_string_value(json_object_get(theirs, "version"))) != 0,
		  "an owner's and a viewer's manifests have one version");
	CHECK_MSG(command_named(mine, "clusters/add") && !command_named(theirs, "clusters/add"),
		  "clusters/add: in the owner's and not the viewer's");
	CHECK_MSG(command_named(theirs, "clusters/list") != NULL, "the viewer cannot list");
	json_decref(mine);
	json_decref(theirs);
	json_decref(their_version);
	json_decref(m);
	json_decref(v);

	/* Another account's manifest is not found; no token is 401. */
	r = it_call(srv, "GET", owner_key.token, NULL, "/%s/cli/manifest", viewer.aid);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", NULL, NULL, "/%s/cli/manifest", owner.aid);
	CHECK_STATUS(r, 401);
	it_resp_free(&r);
}

TEST(toolsets)
{
	json_t *t = get_json(owner_key.token, it_fmt("/%s/cli/toolsets", owner.aid), NULL);
	json_t *catalog = get_json(NULL, "/service-info", NULL);
	REQUIRE(t && catalog);
	CHECK(json_is_true(json_object_get(t, "scoped")));
	CHECK(json_is_false(json_object_get(t, "virtInstalled")));
	json_t *types = json_object_get(t, "serviceTypes");
	CHECK_INT_EQ((long long)json_array_size(types),
		     (long long)json_array_size(json_object_get(catalog, "services")));
	size_t i;
	json_t *s;
	json_array_foreach (json_object_get(catalog, "services"), i, s)
		CHECK_STR_EQ(json_string_value(json_array_get(types, i)),
			     json_string_value(json_object_get(s, "type")));
	json_decref(t);
	json_decref(catalog);
}

/* ---- the CLI's requests ------------------------------------------------- */

static void append_query(char *url, size_t cap, const char *name, const char *value)
{
	size_t n = strlen(url);
	n += (size_t)snprintf(url + n, cap - n, "%c%s=", strchr(url, '?') ? '&' : '?', name);
	for (const unsigned char *p = (const unsigned char *)value; *p && n + 4 < cap; p++)
		n += (size_t)(isalnum(*p) || strchr("-._~", *p)
				      ? snprintf(url + n, cap - n, "%c", *p)
				      : snprintf(url + n, cap - n, "%%%02X", *p));
}

static char *value_text(const json_t *v)
{
	return json_is_string(v) ? strdup(json_string_value(v))
				 : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* What the CLI sends for command c with positional args and flag values
 * (an object: field → value): the answer. */
static struct it_resp run_command(const json_t *m, const char *name, const char *const *args,
				  const json_t *values)
{
	const json_t *c = command_named(m, name);
	CHECK_MSG(c != NULL, "no command %s", name);
	if (!c)
		return (struct it_resp){ 0 };
	const char *method = json_string_value(json_object_get(c, "method"));
	const json_t *fields = json_object_get(json_object_get(c, "input"), "fields");
	const json_t *flags = json_object_get(json_object_get(c, "input"), "flags");

	/* Substitutions: :aid, :cid, then each positional, by plain replacement. */
	char url[1024];
	snprintf(url, sizeof(url), "%s", json_string_value(json_object_get(c, "endpoint")));
	const char *subst[ROUTE_MAX_PARAMS + 2][2] = { { ":aid", owner.aid }, { ":cid", cid } };
	int nsubst = 2;
	size_t i, arg = 0;
	json_t *f;
	json_array_foreach (fields, i, f)
		if (json_is_true(json_object_get(f, "positional")) && args && args[arg]) {
			subst[nsubst][0] =
				it_fmt(":%s", json_string_value(json_object_get(f, "name")));
			subst[nsubst++][1] = args[arg++];
		}
	for (int s = 0; s < nsubst; s++) {
		char *at;
		while ((at = strstr(url, subst[s][0]))) {
			char rest[1024];
			snprintf(rest, sizeof(rest), "%s", at + strlen(subst[s][0]));
			snprintf(at, sizeof(url) - (size_t)(at - url), "%s%s", subst[s][1], rest);
		}
	}

	/* Defaults, then the values given; booleans of input.flags in flags:{}. */
	json_t *input = json_object();
	json_array_foreach (fields, i, f) {
		const char *fname = json_string_value(json_object_get(f, "name"));
		if (json_is_true(json_object_get(f, "positional")))
			continue;
		const json_t *v = json_object_get(values, fname);
		if (!v)
			v = json_object_get(f, "default");
		if (v && !json_is_null(v))
			json_object_set(input, fname, (json_t *)v);
	}
	json_t *flag_values = json_object();
	json_array_foreach (flags, i, f)
		json_object_set(flag_values, json_string_value(json_object_get(f, "name")),
				json_object_get(f, "default"));
	bool query = strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0;
	char *body = NULL;
	if (query) {
		const char *key;
		json_t *v;
		json_object_foreach (input, key, v) {
			char *text = value_text(v);
			append_query(url, sizeof(url), key, text);
			free(text);
		}
	} else {
		if (json_object_size(flag_values) > 0)
			json_object_set(input, "flags", flag_values);
		body = json_dumps(input, JSON_COMPACT);
	}
	struct it_req req = {
		.method = method, .path = url, .token = owner_key.token, .body = body
	};
	struct it_resp r;
	it_request(srv, &req, &r);
	free(body);
	json_decref(input);
	json_decref(flag_values);

	/* As the CLI reads a 2xx: never a failure in it; a list answer is one
	 * member wrapping the array (and a cursor when there is more). */
	if (r.status >= 200 && r.status < 300 && r.json) {
		CHECK_MSG(!json_object_get(r.json, "statusCode"), "%s: a 2xx with a statusCode: %s",
			  name, it_body_shown(&r));
		if (test_str_eq(json_string_value(it_json_get(c, "output.type")), "array")) {
			const char *key;
			json_t *v;
			size_t lists = 0, cursors = 0;
			json_object_foreach (r.json, key, v) {
				lists += json_is_array(v);
				cursors += strcmp(key, "nextCursor") == 0 && json_is_string(v);
			}
			CHECK_MSG(lists == 1 && json_object_size(r.json) == 1 + cursors,
				  "%s: not one list to unwrap: %s", name, it_body_shown(&r));
		}
	}
	return r;
}

static void expect_2xx(const json_t *m, const char *name, const char *const *args,
		       const char *values_json, char *id_out, const char *id_member)
{
	json_t *values = values_json ? json_loads(values_json, 0, NULL) : json_object();
	struct it_resp r = run_command(m, name, args, values);
	CHECK_MSG(r.status >= 200 && r.status < 300, "%s: %ld %s", name, r.status,
		  it_body_shown(&r));
	if (id_out)
		snprintf(id_out, 64, "%s", it_json_str(r.json, id_member) ?: "");
	it_resp_free(&r);
	json_decref(values);
}

TEST(the_cli_requests_succeed)
{
	json_t *m = get_json(owner_key.token, it_fmt("/%s/cli/manifest", owner.aid), NULL);
	REQUIRE(m && manifest_ok(m));
	char new_cid[64], svc[64], job[64], token_id[64];
	expect_2xx(m, "clusters/add", NULL, "{\"name\":\"from the cli\"}", new_cid, "cid");
	snprintf(cid, sizeof(cid), "%.7s", new_cid);
	const char *params[] = { owner.aid, cid };
	REQUIRE(it_db_exec(pg,
			   "UPDATE clusters SET status = 'active', configured = true"
			   " WHERE aid = $1 AND cid = $2",
			   2, params));
	expect_2xx(m, "clusters/list", NULL, "{\"status\":\"active\"}", NULL, NULL);
	expect_2xx(m, "clusters/list", NULL, "{\"limit\":1}", NULL, NULL);
	expect_2xx(m, "clusters/show", NULL, NULL, NULL, NULL);
	expect_2xx(m, "clusters/update", NULL, "{\"description\":\"\"}", NULL, NULL);
	expect_2xx(m, "clusters/is-app-deployment-ready/show", NULL, NULL, NULL, NULL);
	expect_2xx(m, "cluster-domains/list", NULL, NULL, NULL, NULL);
	expect_2xx(m, "nodes/list", NULL, NULL, NULL, NULL);
	expect_2xx(m, "join-tokens/add", NULL, "{\"role\":\"worker\"}", token_id, "id");
	expect_2xx(m, "join-tokens/list", NULL, NULL, NULL, NULL);
	const char *token_args[] = { token_id, NULL };
	expect_2xx(m, "join-tokens/{id}/delete", token_args, NULL, NULL, NULL);
	expect_2xx(m, "services/postgresql/add", NULL, "{\"name\":\"cli-db\"}", svc, "id");
	expect_2xx(m, "services/valkey/add", NULL, "{\"name\":\"cli-cache\"}", NULL, NULL);
	expect_2xx(m, "services/list", NULL, NULL, NULL, NULL);
	expect_2xx(m, "services/postgresql/list", NULL, NULL, NULL, NULL);
	const char *svc_args[] = { svc, NULL };
	expect_2xx(m, "services/postgresql/{id}/show", svc_args, NULL, NULL, NULL);
	expect_2xx(m, "services/postgresql/{id}/status/show", svc_args, NULL, NULL, NULL);
	expect_2xx(m, "jobs/list", NULL, "{\"type\":\"service.create\"}", job, "jobs.0.id");
	const char *job_args[] = { job, NULL };
	expect_2xx(m, "jobs/{id}/show", job_args, NULL, NULL, NULL);
	expect_2xx(m, "jobs/{id}/workitems/show", job_args, NULL, NULL, NULL);
	expect_2xx(m, "members/list", NULL, NULL, NULL, NULL);
	expect_2xx(m, "api-keys/list", NULL, NULL, NULL, NULL);
	expect_2xx(m, "audit-events/list", NULL, NULL, NULL, NULL);
	expect_2xx(m, "account/profile/show", NULL, NULL, NULL, NULL);
	expect_2xx(m, "modules/list", NULL, NULL, NULL, NULL);
	expect_2xx(m, "user/show", NULL, NULL, NULL, NULL);
	expect_2xx(m, "user/accounts/list", NULL, NULL, NULL, NULL);
	json_decref(m);
}

TEST(clean_stop)
{
	CHECK_INT_EQ(it_server_stop(srv), 0);
}

int main(void)
{
	if (!it_init("it_cli"))
		return 1;
	srv = it_server_start("cli", NULL);
	pg = it_db_connect(it_env.database_url);
	if (!srv || !pg || !it_signup(srv, &owner) || !it_signup(srv, &viewer) ||
	    !it_create_pat(srv, owner.token, owner.aid, NULL, &owner_key)) {
		test_failed++;
		return it_finish("it_cli");
	}
	/* viewer: a viewer of owner's account (a session: viewers make no keys). */
	const char *params[] = { owner.aid, viewer.uid };
	if (!it_db_exec(pg, "INSERT INTO memberships (aid, uid, role) VALUES ($1, $2, 'viewer')", 2,
			params)) {
		test_failed++;
		return it_finish("it_cli");
	}
	RUN(every_manifest_decodes_strictly);
	RUN(the_decoder_refuses_wrong_types);
	RUN(every_command_is_a_route);
	RUN(named_commands);
	RUN(version_is_the_digest_of_the_commands);
	RUN(toolsets);
	RUN(the_cli_requests_succeed);
	RUN(clean_stop);
	PQfinish(pg);
	return it_finish("it_cli");
}
