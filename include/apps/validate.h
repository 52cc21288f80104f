/* The rules of an app's create and PATCH bodies (API.md §7, docs/apps.md),
 * beyond the JSON types the route's input schema checks: the GitHub
 * repository URL and branch, the ports and their custom domains, the build
 * and run settings, resources, env var sets and requires. Pure functions over
 * parsed JSON (borrowed, never kept); each refusal is a struct app_problem.
 * Thread safe. */
#ifndef RUNOSD_APPS_VALIDATE_H
#define RUNOSD_APPS_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "apps/domains.h"
#include "apps/problem.h"

#define APP_MAX_PORTS 8
#define APP_MAX_PORT_DOMAINS 8 /* custom domains of one port in a create body */
#define APP_REPO_URL_MAX 160   /* https://github.com/ + 39 + / + 100 */
#define APP_BRANCH_MAX 255
#define APP_PATH_MAX 255 /* dockerfile, sourceDir */
#define APP_HEALTH_PATH_MAX 1024
#define APP_MAX_REPLICAS 20
#define APP_CPU_MIN_MC 10
#define APP_CPU_MAX_MC 64000
#define APP_MEMORY_MIN_MB 16
#define APP_MEMORY_MAX_MB 262144
#define APP_ACCESS_TOKEN_MAX 255
#define APP_ENV_MAX_VARS 200
#define APP_ENV_KEY_MAX 255
#define APP_ENV_VALUE_MAX 65536
#define APP_ENV_TOTAL_MAX 262144 /* keys and values of one set (a ConfigMap holds 1 MiB) */
#define APP_MAX_REQUIRES 8
#define APP_SHA_LEN 40

struct app_port {
	int port;
	char domains[APP_MAX_PORT_DOMAINS][APP_FQDN_MAX + 1]; /* normalised (app_custom_domain) */
	size_t ndomains;
};

/* What an app runs as: the create body, or a PATCH merged onto the app.
 * Strings point into the body or the base (not copied) except the
 * normalised ones held here (DNS name, repository URL, custom domains). 0 or NULL: not set (no
 * limit, no probe). */
struct app_settings {
	const char *name;
	char dns_name[APP_DNS_NAME_MAX + 1];
	char repo_url[APP_REPO_URL_MAX]; /* https://github.com/<owner>/<repo>, no .git */
	const char *branch;
	struct app_port ports[APP_MAX_PORTS];
	size_t nports;
	int replicas;
	const char *build_method;      /* buildkit, arc */
	const char *dockerfile;	       /* relative to source_dir */
	const char *source_dir;	       /* relative to the repository's root */
	const char *health_check_path; /* NULL: no probes */
	int health_check_port;	       /* the first port when not given */
	int cpu_request_mc, memory_request_mb, cpu_limit_mc, memory_limit_mb;
	const char *deployment_strategy; /* rolling, recreate */
	const char *access_token;	 /* NULL: none given (PATCH: kept) */
};

/* The defaults of a create: 1 replica, buildkit, "Dockerfile" in ".",
 * rolling; no probes, no resources. */
void app_settings_defaults(struct app_settings *s);

/* Applies the members of body (a create body, or a PATCH body) onto s (the
 * defaults, or the app as it is for PATCH ?merge=true) and checks the
 * result as a whole: false with p filled at the first refusal. reserved (n
 * of them) are the suffixes no custom domain may be under (the base
 * domains). Required in the result: name, repo.url, repo.branch and a port.
 * body's strings must outlive s. */
bool app_settings_apply(struct app_settings *s, const json_t *body, const char *const *reserved,
			size_t n, struct app_problem *p) __attribute__((warn_unused_result));

/* https://github.com/<owner>/<repo>[.git][/] normalised to
 * https://github.com/<owner>/<repo> in out (APP_REPO_URL_MAX). GitLab and
 * Bitbucket URLs are refused as not supported yet (validation.unsupported),
 * anything else as invalid. */
bool app_repo_url(const char *url, char out[APP_REPO_URL_MAX], const char *field,
		  struct app_problem *p) __attribute__((warn_unused_result));

/* A branch name git accepts (git check-ref-format --branch), at most
 * APP_BRANCH_MAX characters. */
bool app_branch_valid(const char *branch);

/* 40 lower-case hex digits. */
bool app_sha_valid(const char *sha);

/* [A-Za-z_][A-Za-z0-9_]*, at most APP_ENV_KEY_MAX characters. */
bool app_env_key_valid(const char *key);

/* One env var set ({KEY: "value"}) as POST …/env-vars or secret-env-vars
 * takes it: string values, valid keys, at most APP_ENV_MAX_VARS keys, a
 * value at most APP_ENV_VALUE_MAX bytes and the set at most
 * APP_ENV_TOTAL_MAX. field is the member ("envVars"); a key's problem names
 * "<field>.<KEY>". */
bool app_env_set_check(const json_t *vars, const char *field, struct app_problem *p)
	__attribute__((warn_unused_result));

/* No key of vars is a key of taken (an object: the other set, or what
 * requires injects); taken_what says what holds it ("secretEnvVars", or
 * "requires.db"), its value when a string. */
bool app_env_disjoint(const json_t *vars, const char *field, const json_t *taken,
		      const char *taken_what, struct app_problem *p)
	__attribute__((warn_unused_result));

/* The credential fields a requires entry may inject: url, password,
 * username, host, port, database. */
bool app_require_field_valid(const char *field);

/* A requires object ({alias: {type, id, env: {field: "ENV_KEY"}}}): aliases
 * [A-Za-z][A-Za-z0-9_-]{0,62}, at most APP_MAX_REQUIRES, a catalog type, a
 * service id, a non-empty env of credential fields to valid keys, no key
 * injected twice. On success *injected (when not NULL) is a new object of
 * every injected key to "requires.<alias>", for app_env_disjoint. */
bool app_requires_check(const json_t *requires, json_t **injected, struct app_problem *p)
	__attribute__((warn_unused_result));

#endif
