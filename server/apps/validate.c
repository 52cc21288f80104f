/* The body rules of apps (include/apps/validate.h). The route's input schema
 * has already checked the JSON types and refused unknown members; these
 * checks are what a schema cannot say: a GitHub URL, git's branch syntax,
 * ports without repeats, relative paths inside the repository, requests not
 * over limits, env var keys. Each refusal names the member and says what
 * would be accepted. No allocation except app_requires_check's result. */
#include "apps/validate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "db/apps_store.h"
#include "services/catalog.h"
#include "util/text.h"

/* What the checks pass fits the store's columns. */
_Static_assert(APP_MAX_PORTS == APP_ROW_MAX_PORTS, "ports");
_Static_assert(APP_DNS_NAME_MAX == APP_ROW_DNS_NAME_MAX, "dns name");
_Static_assert(APP_REPO_URL_MAX == APP_ROW_URL_MAX, "repo url");
_Static_assert(APP_ENV_KEY_MAX < APP_ROW_KEY_MAX, "env var key");
_Static_assert(APP_FQDN_MAX < APP_ROW_FQDN_MAX, "fqdn");

#define INVALID "validation.invalid"
#define RANGE "validation.range"
#define LENGTH "validation.length"
#define REQUIRED "validation.required"
#define TYPE "validation.type"

void app_settings_defaults(struct app_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->replicas = 1;
	s->build_method = "buildkit";
	s->dockerfile = "Dockerfile";
	s->source_dir = ".";
	s->deployment_strategy = "rolling";
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* A GitHub login: [A-Za-z0-9] and single '-' inside, at most 39. */
static bool github_owner(const char *s, size_t len)
{
	if (len == 0 || len > 39 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && !(c == '-' && s[i + 1] != '-'))
			return false;
	}
	return true;
}

/* A GitHub repository name: [A-Za-z0-9._-], at most 100, not "." or "..". */
static bool github_repo(const char *s, size_t len)
{
	if (len == 0 || len > 100 || (len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool app_repo_url(const char *url, char out[APP_REPO_URL_MAX], const char *field,
		  struct app_problem *p)
{
	out[0] = '\0';
	/* The host of the URL (scp-like git@host:path too), for the providers
	 * that are coming. */
	static const char *const later[] = { "gitlab.com", "bitbucket.org" };
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	size_t authority = strcspn(host, "/");
	const char *at = memchr(host, '@', authority);
	if (at) {
		authority -= (size_t)(at + 1 - host);
		host = at + 1;
	}
	if (strncasecmp(host, "www.", 4) == 0 && authority > 4) {
		host += 4;
		authority -= 4;
	}
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		size_t n = strlen(later[i]);
		if (authority >= n && strncasecmp(host, later[i], n) == 0 &&
		    (authority == n || host[n] == ':'))
			return app_problem_set(p, "validation.unsupported", field,
					       "%s repositories are not supported yet: only GitHub "
					       "(https://github.com/<owner>/<repo>)",
					       i == 0 ? "GitLab" : "Bitbucket");
	}
	const char *prefix = "https://github.com/";
	if (!has_prefix(url, prefix))
		return app_problem_set(p, INVALID, field,
				       "Field %s must be a GitHub repository URL "
				       "https://github.com/<owner>/<repo>",
				       field);
	const char *owner = url + strlen(prefix);
	const char *slash = strchr(owner, '/');
	if (!slash)
		return app_problem_set(p, INVALID, field,
				       "Field %s must name a repository: "
				       "https://github.com/<owner>/<repo>",
				       field);
	const char *repo = slash + 1;
	size_t repo_len = strlen(repo);
	if (repo_len > 0 && repo[repo_len - 1] == '/')
		repo_len--;
	if (repo_len >= 4 && strncmp(repo + repo_len - 4, ".git", 4) == 0)
		repo_len -= 4;
	if (!github_owner(owner, (size_t)(slash - owner)) || !github_repo(repo, repo_len) ||
	    memchr(repo, '/', repo_len))
		return app_problem_set(p, INVALID, field,
				       "Field %s must be https://github.com/<owner>/<repo> with a "
				       "GitHub owner and repository name (no path, query or "
				       "fragment after them)",
				       field);
	snprintf(out, APP_REPO_URL_MAX, "https://github.com/%.*s/%.*s", (int)(slash - owner), owner,
		 (int)repo_len, repo);
	return true;
}

bool app_branch_valid(const char *b)
{
	size_t len = b ? strlen(b) : 0;
	if (len == 0 || len > APP_BRANCH_MAX || b[0] == '-' || b[0] == '/' || b[len - 1] == '/' ||
	    b[len - 1] == '.' || strcmp(b, "@") == 0 || strstr(b, "..") || strstr(b, "@{") ||
	    strstr(b, "//") || (len >= 5 && strcmp(b + len - 5, ".lock") == 0))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)b[i];
		if (c < 0x20 || c == 0x7f || strchr(" ~^:?*[\\", c))
			return false;
		/* no component starts with '.' or ends with ".lock" */
		if (c == '.' && (i == 0 || b[i - 1] == '/'))
			return false;
		if (c == '/' && i >= 5 && strncmp(b + i - 5, ".lock", 5) == 0)
			return false;
	}
	return true;
}

bool app_sha_valid(const char *sha)
{
	if (!sha || strlen(sha) != APP_SHA_LEN)
		return false;
	for (const char *s = sha; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

bool app_env_key_valid(const char *key)
{
	size_t len = key ? strlen(key) : 0;
	if (len == 0 || len > APP_ENV_KEY_MAX || (key[0] >= '0' && key[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* A path inside the repository: relative, no "..", no empty segment. */
static bool repo_path(const char *path)
{
	size_t len = strlen(path);
	if (len == 0 || len > APP_PATH_MAX || path[0] == '/')
		return false;
	if (strcmp(path, ".") == 0)
		return true;
	const char *seg = path;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		if (n == 0 || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		if (!end)
			break;
		seg = end + 1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			return false;
	}
	return true;
}

/* The string member name of obj into *out, refusing another type. */
static bool take_string(const json_t *obj, const char *name, const char *field, const char **out,
			struct app_problem *p)
{
	json_t *v = json_object_get(obj, name);
	if (!v)
		return true;
	if (!json_is_string(v))
		return app_problem_set(p, TYPE, field, "Field %s must be a string", field);
	*out = json_string_value(v);
	return true;
}

/* An integer member in [min, max] into *out; *present says it was there. */
static bool take_int(const json_t *obj, const char *name, int min, int max, int *out,
		     struct app_problem *p)
{
	json_t *v = json_object_get(obj, name);
	if (!v)
		return true;
	if (!json_is_integer(v))
		return app_problem_set(p, TYPE, name, "Field %s must be an integer", name);
	json_int_t n = json_integer_value(v);
	if (n < min || n > max)
		return app_problem_set(p, RANGE, name, "Field %s must be between %d and %d", name,
				       min, max);
	*out = (int)n;
	return true;
}

static bool one_of(const char *value, const char *a, const char *b)
{
	return strcmp(value, a) == 0 || strcmp(value, b) == 0;
}

static bool apply_repo(struct app_settings *s, const json_t *repo, struct app_problem *p)
{
	if (!json_is_object(repo))
		return app_problem_set(p, TYPE, "repo", "Field repo must be an object");
	const char *provider = NULL, *url = NULL, *branch = NULL;
	if (!take_string(repo, "provider", "repo.provider", &provider, p) ||
	    !take_string(repo, "url", "repo.url", &url, p) ||
	    !take_string(repo, "branch", "repo.branch", &branch, p))
		return false;
	if (provider && strcmp(provider, "github") != 0)
		return app_problem_set(
			p,
			one_of(provider, "gitlab", "bitbucket") ? "validation.unsupported"
								: INVALID,
			"repo.provider",
			"Provider %s is not supported%s: repo.provider must be github", provider,
			one_of(provider, "gitlab", "bitbucket") ? " yet" : "");
	if (url && !app_repo_url(url, s->repo_url, "repo.url", p))
		return false;
	if (branch && !app_branch_valid(branch))
		return app_problem_set(p, INVALID, "repo.branch",
				       "Field repo.branch must be a git branch name (at most %d "
				       "characters, none of space ~ ^ : ? * [ \\, no \"..\")",
				       APP_BRANCH_MAX);
	if (branch)
		s->branch = branch;
	return true;
}

static bool apply_ports(struct app_settings *s, const json_t *body, const char *const *reserved,
			size_t n, struct app_problem *p)
{
	json_t *port = json_object_get(body, "port");
	json_t *mappings = json_object_get(body, "servicePortMappings");
	if (port && mappings)
		return app_problem_set(p, INVALID, "port",
				       "Give port or servicePortMappings, not both");
	if (port) {
		int number = 0;
		if (!take_int(body, "port", 1, 65535, &number, p))
			return false;
		memset(s->ports, 0, sizeof(s->ports));
		s->ports[0].port = number;
		s->nports = 1;
		return true;
	}
	if (!mappings)
		return true;
	if (!json_is_array(mappings))
		return app_problem_set(p, TYPE, "servicePortMappings",
				       "Field servicePortMappings must be an array");
	size_t count = json_array_size(mappings);
	if (count == 0 || count > APP_MAX_PORTS)
		return app_problem_set(p, LENGTH, "servicePortMappings",
				       "Field servicePortMappings must have 1 to %d ports",
				       APP_MAX_PORTS);
	struct app_port ports[APP_MAX_PORTS];
	memset(ports, 0, sizeof(ports));
	for (size_t i = 0; i < count; i++) {
		json_t *m = json_array_get(mappings, i);
		char field[64];
		snprintf(field, sizeof(field), "servicePortMappings[%zu].port", i);
		json_t *v = json_object_get(m, "port");
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 65535)
			return app_problem_set(p, v ? RANGE : REQUIRED, field,
					       "Field %s must be a port between 1 and 65535",
					       field);
		ports[i].port = (int)json_integer_value(v);
		for (size_t k = 0; k < i; k++)
			if (ports[k].port == ports[i].port)
				return app_problem_set(p, INVALID, field, "Port %d is mapped twice",
						       ports[i].port);
		json_t *domains = json_object_get(m, "domains");
		if (!domains)
			continue;
		snprintf(field, sizeof(field), "servicePortMappings[%zu].domains", i);
		if (!json_is_array(domains) || json_array_size(domains) > APP_MAX_PORT_DOMAINS)
			return app_problem_set(p, INVALID, field,
					       "Field %s must be an array of at most %d domains",
					       field, APP_MAX_PORT_DOMAINS);
		for (size_t d = 0; d < json_array_size(domains); d++) {
			json_t *fqdn = json_array_get(domains, d);
			char name[128];
			snprintf(name, sizeof(name), "%s[%zu]", field, d);
			if (!json_is_string(fqdn))
				return app_problem_set(p, TYPE, name, "Field %s must be a string",
						       name);
			if (!app_custom_domain(json_string_value(fqdn), reserved, n, name,
					       ports[i].domains[d], sizeof(ports[i].domains[d]), p))
				return false;
			ports[i].ndomains++;
		}
	}
	memcpy(s->ports, ports, sizeof(ports));
	s->nports = count;
	return true;
}

/* No custom domain is given twice, on one port or two. */
static bool check_domains(const struct app_settings *s, struct app_problem *p)
{
	for (size_t i = 0; i < s->nports; i++)
		for (size_t d = 0; d < s->ports[i].ndomains; d++)
			for (size_t k = 0; k <= i; k++)
				for (size_t e = 0; e < (k < i ? s->ports[k].ndomains : d); e++) {
					if (strcmp(s->ports[k].domains[e],
						   s->ports[i].domains[d]) != 0)
						continue;
					char field[80];
					snprintf(field, sizeof(field),
						 "servicePortMappings[%zu].domains[%zu]", i, d);
					return app_problem_set(p, INVALID, field,
							       "Domain %s is given twice",
							       s->ports[i].domains[d]);
				}
	return true;
}

static bool apply_strings(struct app_settings *s, const json_t *body, struct app_problem *p)
{
	const char *build = NULL, *strategy = NULL, *dockerfile = NULL, *source_dir = NULL,
		   *health = NULL, *token = NULL;
	if (!take_string(body, "name", "name", &s->name, p) ||
	    !take_string(body, "buildMethod", "buildMethod", &build, p) ||
	    !take_string(body, "deploymentStrategy", "deploymentStrategy", &strategy, p) ||
	    !take_string(body, "dockerfile", "dockerfile", &dockerfile, p) ||
	    !take_string(body, "sourceDir", "sourceDir", &source_dir, p) ||
	    !take_string(body, "healthCheckPath", "healthCheckPath", &health, p) ||
	    !take_string(body, "accessToken", "accessToken", &token, p))
		return false;
	if (build && !one_of(build, "buildkit", "arc"))
		return app_problem_set(p, INVALID, "buildMethod",
				       "Field buildMethod must be buildkit or arc");
	if (strategy && !one_of(strategy, "rolling", "recreate"))
		return app_problem_set(p, INVALID, "deploymentStrategy",
				       "Field deploymentStrategy must be rolling or recreate");
	if (dockerfile && (!repo_path(dockerfile) || strcmp(dockerfile, ".") == 0))
		return app_problem_set(p, INVALID, "dockerfile",
				       "Field dockerfile must be a file path inside the "
				       "repository (relative, no \"..\", at most %d characters)",
				       APP_PATH_MAX);
	if (source_dir && !repo_path(source_dir))
		return app_problem_set(p, INVALID, "sourceDir",
				       "Field sourceDir must be a directory inside the repository "
				       "(relative, no \"..\", at most %d characters)",
				       APP_PATH_MAX);
	if (health) {
		size_t len = strlen(health);
		bool ok = len > 0 && len <= APP_HEALTH_PATH_MAX && health[0] == '/';
		for (size_t i = 0; ok && i < len; i++)
			ok = (unsigned char)health[i] > 0x20 && (unsigned char)health[i] < 0x7f;
		if (!ok)
			return app_problem_set(
				p, INVALID, "healthCheckPath",
				"Field healthCheckPath must be an HTTP path starting "
				"with / (printable ASCII, no spaces, at most %d)",
				APP_HEALTH_PATH_MAX);
	}
	if (token) {
		size_t len = strlen(token);
		bool ok = len > 0 && len <= APP_ACCESS_TOKEN_MAX;
		for (size_t i = 0; ok && i < len; i++)
			ok = (unsigned char)token[i] > 0x20 && (unsigned char)token[i] < 0x7f;
		/* the message never quotes the token */
		if (!ok)
			return app_problem_set(p, INVALID, "accessToken",
					       "Field accessToken must be 1 to %d printable ASCII "
					       "characters without spaces",
					       APP_ACCESS_TOKEN_MAX);
	}
	s->build_method = build ? build : s->build_method;
	s->deployment_strategy = strategy ? strategy : s->deployment_strategy;
	s->dockerfile = dockerfile ? dockerfile : s->dockerfile;
	s->source_dir = source_dir ? source_dir : s->source_dir;
	s->health_check_path = health ? health : s->health_check_path;
	s->access_token = token ? token : s->access_token;
	return true;
}

static bool apply_numbers(struct app_settings *s, const json_t *body, struct app_problem *p)
{
	return take_int(body, "replicas", 0, APP_MAX_REPLICAS, &s->replicas, p) &&
	       take_int(body, "healthCheckPort", 1, 65535, &s->health_check_port, p) &&
	       take_int(body, "cpuRequestMc", APP_CPU_MIN_MC, APP_CPU_MAX_MC, &s->cpu_request_mc,
			p) &&
	       take_int(body, "cpuLimitMc", APP_CPU_MIN_MC, APP_CPU_MAX_MC, &s->cpu_limit_mc, p) &&
	       take_int(body, "memoryRequestMb", APP_MEMORY_MIN_MB, APP_MEMORY_MAX_MB,
			&s->memory_request_mb, p) &&
	       take_int(body, "memoryLimitMb", APP_MEMORY_MIN_MB, APP_MEMORY_MAX_MB,
			&s->memory_limit_mb, p);
}

/* The rules between members, on the result. */
static bool check_whole(const struct app_settings *s, struct app_problem *p)
{
	if (!s->name)
		return app_problem_set(p, REQUIRED, "name", "Field name is required");
	size_t chars = 0;
	for (const char *c = s->name; *c; c++)
		chars += ((unsigned char)*c & 0xc0) != 0x80;
	if (chars == 0 || chars > NAME_MAX_CHARS)
		return app_problem_set(p, LENGTH, "name", "Field name must be 1 to %d characters",
				       NAME_MAX_CHARS);
	if (!s->repo_url[0])
		return app_problem_set(p, REQUIRED, "repo.url", "Field repo.url is required");
	if (!s->branch)
		return app_problem_set(p, REQUIRED, "repo.branch", "Field repo.branch is required");
	if (s->nports == 0)
		return app_problem_set(p, REQUIRED, "port",
				       "Field port (or servicePortMappings) is required");
	if (s->health_check_port && !s->health_check_path)
		return app_problem_set(p, INVALID, "healthCheckPort",
				       "Field healthCheckPort needs healthCheckPath (the probes "
				       "are HTTP GETs)");
	if (s->cpu_request_mc && s->cpu_limit_mc && s->cpu_request_mc > s->cpu_limit_mc)
		return app_problem_set(p, RANGE, "cpuRequestMc",
				       "Field cpuRequestMc (%d) is over cpuLimitMc (%d)",
				       s->cpu_request_mc, s->cpu_limit_mc);
	if (s->memory_request_mb && s->memory_limit_mb && s->memory_request_mb > s->memory_limit_mb)
		return app_problem_set(p, RANGE, "memoryRequestMb",
				       "Field memoryRequestMb (%d) is over memoryLimitMb (%d)",
				       s->memory_request_mb, s->memory_limit_mb);
	return true;
}

bool app_settings_apply(struct app_settings *s, const json_t *body, const char *const *reserved,
			size_t n, struct app_problem *p)
{
	if (!json_is_object(body))
		return app_problem_set(p, "validation.not_object", "",
				       "The body must be an object");
	/* On a copy, so a refused body leaves s as it was. */
	struct app_settings next = *s;
	json_t *repo = json_object_get(body, "repo");
	if ((repo && !apply_repo(&next, repo, p)) || !apply_ports(&next, body, reserved, n, p) ||
	    !check_domains(&next, p) || !apply_strings(&next, body, p) ||
	    !apply_numbers(&next, body, p) || !check_whole(&next, p))
		return false;
	app_dns_name(next.name, next.dns_name);
	*s = next;
	return true;
}

bool app_env_set_check(const json_t *vars, const char *field, struct app_problem *p)
{
	if (!json_is_object(vars))
		return app_problem_set(p, TYPE, field, "Field %s must be an object", field);
	if (json_object_size(vars) > APP_ENV_MAX_VARS)
		return app_problem_set(p, LENGTH, field, "Field %s may hold at most %d variables",
				       field, APP_ENV_MAX_VARS);
	size_t total = 0;
	const char *key;
	json_t *value;
	json_object_foreach ((json_t *)vars, key, value) {
		char name[APP_ENV_KEY_MAX + 64];
		snprintf(name, sizeof(name), "%s.%.*s", field, APP_ENV_KEY_MAX, key);
		if (!app_env_key_valid(key))
			return app_problem_set(
				p, INVALID, name,
				"Key %.80s%s of %s must match [A-Za-z_][A-Za-z0-9_]* "
				"(at most %d characters)",
				key, strlen(key) > 80 ? "..." : "", field, APP_ENV_KEY_MAX);
		if (!json_is_string(value))
			return app_problem_set(p, TYPE, name, "Value of %s must be a string", key);
		size_t len = json_string_length(value);
		/* a value with NUL would not survive a ConfigMap or the database */
		if (strlen(json_string_value(value)) != len)
			return app_problem_set(p, INVALID, name, "Value of %s holds a NUL", key);
		if (len > APP_ENV_VALUE_MAX)
			return app_problem_set(p, LENGTH, name, "Value of %s is over %d bytes", key,
					       APP_ENV_VALUE_MAX);
		total += strlen(key) + len;
	}
	if (total > APP_ENV_TOTAL_MAX)
		return app_problem_set(p, LENGTH, field, "Field %s is over %d bytes in all", field,
				       APP_ENV_TOTAL_MAX);
	return true;
}

bool app_env_disjoint(const json_t *vars, const char *field, const json_t *taken,
		      const char *taken_what, struct app_problem *p)
{
	const char *key;
	json_t *value;
	json_object_foreach ((json_t *)vars, key, value) {
		json_t *holder = json_object_get(taken, key);
		if (!holder)
			continue;
		char name[APP_ENV_KEY_MAX + 64];
		snprintf(name, sizeof(name), "%s.%s", field, key);
		const char *what = json_is_string(holder) ? json_string_value(holder) : taken_what;
		return app_problem_set(
			p, INVALID, name,
			"Key %s is already set by %s: a key may be in one place only", key, what);
	}
	return true;
}

bool app_require_field_valid(const char *field)
{
	static const char *const fields[] = { "url",  "password", "username",
					      "host", "port",	  "database" };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(field, fields[i]) == 0)
			return true;
	return false;
}

static bool alias_valid(const char *a)
{
	size_t len = strlen(a);
	if (len == 0 || len > 63 || !((a[0] >= 'a' && a[0] <= 'z') || (a[0] >= 'A' && a[0] <= 'Z')))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = a[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool short_id(const char *s)
{
	if (strlen(s) != 5 || s[0] < 'a' || s[0] > 'z' || s[4] < 'a' || s[4] > 'z')
		return false;
	for (int i = 1; i < 4; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* One entry of requires; adds its keys to injected. */
static bool check_require(const char *alias, const json_t *r, json_t *injected,
			  struct app_problem *p)
{
	char field[160];
	snprintf(field, sizeof(field), "requires.%.63s", alias);
	if (!alias_valid(alias))
		return app_problem_set(p, INVALID, field,
				       "Alias %.63s of requires must match "
				       "[A-Za-z][A-Za-z0-9_-]{0,62}",
				       alias);
	if (!json_is_object(r))
		return app_problem_set(p, TYPE, field, "Field %s must be an object", field);
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)r, key, v) {
		if (strcmp(key, "type") != 0 && strcmp(key, "id") != 0 && strcmp(key, "env") != 0)
			return app_problem_set(p, "validation.unknown_field", field,
					       "Field %s.%.40s is not known (type, id, env)", field,
					       key);
	}
	const char *type = json_string_value(json_object_get(r, "type"));
	const char *id = json_string_value(json_object_get(r, "id"));
	json_t *env = json_object_get(r, "env");
	char sub[256];
	snprintf(sub, sizeof(sub), "%s.type", field);
	if (!type || !catalog_find(type))
		return app_problem_set(p, type ? INVALID : REQUIRED, sub,
				       "Field %s must be a service type of the catalog", sub);
	snprintf(sub, sizeof(sub), "%s.id", field);
	if (!id || !short_id(id))
		return app_problem_set(p, id ? INVALID : REQUIRED, sub,
				       "Field %s must be the id of a service of the cluster", sub);
	snprintf(sub, sizeof(sub), "%s.env", field);
	if (!json_is_object(env) || json_object_size(env) == 0)
		return app_problem_set(p, env ? INVALID : REQUIRED, sub,
				       "Field %s must map credential fields (url, password, "
				       "username, host, port, database) to env var keys",
				       sub);
	json_object_foreach (env, key, v) {
		snprintf(sub, sizeof(sub), "%s.env.%.40s", field, key);
		if (!app_require_field_valid(key))
			return app_problem_set(p, INVALID, sub,
					       "Field %s is not a credential field (url, password, "
					       "username, host, port, database)",
					       sub);
		const char *env_key = json_string_value(v);
		if (!env_key || !app_env_key_valid(env_key))
			return app_problem_set(p, INVALID, sub,
					       "Field %s must be an env var key "
					       "[A-Za-z_][A-Za-z0-9_]*",
					       sub);
		json_t *holder = json_object_get(injected, env_key);
		if (holder)
			return app_problem_set(p, INVALID, sub, "Key %s is already injected by %s",
					       env_key, json_string_value(holder));
		json_object_set_new(injected, env_key, json_string(field));
	}
	return true;
}

bool app_requires_check(const json_t *requires, json_t **injected, struct app_problem *p)
{
	if (injected)
		*injected = NULL;
	if (!json_is_object(requires))
		return app_problem_set(p, TYPE, "requires", "Field requires must be an object");
	if (json_object_size(requires) > APP_MAX_REQUIRES)
		return app_problem_set(p, LENGTH, "requires",
				       "Field requires may name at most %d services",
				       APP_MAX_REQUIRES);
	json_t *keys = json_object();
	const char *alias;
	json_t *r;
	json_object_foreach ((json_t *) requires, alias, r) {
		if (!check_require(alias, r, keys, p)) {
			json_decref(keys);
			return false;
		}
	}
	if (injected)
		*injected = keys;
	else
		json_decref(keys);
	return true;
}
