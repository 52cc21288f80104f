/* The configuration table: every environment variable runosd reads, with its
 * type, default and bounds (ARCHITECTURE §6). Loading runs once in main before
 * any thread starts; the result is read-only afterwards. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/xmalloc.h"

enum config_type {
	CFG_STRING,
	CFG_INT,
	CFG_BOOL,
	CFG_ADDR,
	CFG_URL,
	CFG_LEVEL,
	CFG_FORMAT,
	CFG_LIST,
	CFG_KEY
};

struct config_var {
	const char *env;
	enum config_type type;
	size_t offset;
	const char *default_value; /* NULL: computed or unset (see apply_derived) */
	long min, max;		   /* CFG_INT bounds */
	bool required;
	const char *help;
};

#define FIELD(f) offsetof(struct config, f)

static const struct config_var config_vars[] = {
	{ "RUNOS_DATABASE_URL", CFG_STRING, FIELD(database_url), NULL, 0, 0, true,
	  "libpq URI or conninfo string" },
	{ "RUNOS_REDIS_URL", CFG_URL, FIELD(redis_url), NULL, 0, 0, false,
	  "redis://host:port/db or unix:/path; unset = no Redis" },
	{ "RUNOS_HTTP_ADDR", CFG_ADDR, FIELD(http_addr), "127.0.0.1:8080", 0, 0, false,
	  "public API listener host:port" },
	{ "RUNOS_AGENT_ADDR", CFG_ADDR, FIELD(agent_addr), "127.0.0.1:8443", 0, 0, false,
	  "agent mTLS listener host:port" },
	{ "RUNOS_PUBLIC_URL", CFG_URL, FIELD(public_url), NULL, 0, 0, false,
	  "base of links and the installer script (default http://<HTTP_ADDR>)" },
	{ "RUNOS_AGENT_URL", CFG_URL, FIELD(agent_url), NULL, 0, 0, false,
	  "what agents dial (default https://<AGENT_ADDR>)" },
	{ "RUNOS_BASE_DOMAIN", CFG_STRING, FIELD(base_domain), "runos.xyz", 0, 0, false,
	  "parent domain of cluster domains" },
	{ "RUNOS_STATE_DIR", CFG_STRING, FIELD(state_dir), "./var", 0, 0, false,
	  "directory for the dev master key file" },
	{ "RUNOS_MASTER_KEY", CFG_KEY, FIELD(master_key), NULL, 0, 0, false,
	  "base64 of 32 bytes; unset = key file in RUNOS_STATE_DIR (dev)" },
	{ "RUNOS_THREADS", CFG_INT, FIELD(threads), NULL, 1, 256, false,
	  "HTTP worker threads (default: 16 x number of cores, at most 64)" },
	{ "RUNOS_DB_POOL", CFG_INT, FIELD(db_pool), NULL, 1, 1000, false,
	  "database connections (default 2 x threads, at most 64)" },
	{ "RUNOS_DB_WAIT", CFG_INT, FIELD(db_wait_seconds), "30", 0, 3600, false,
	  "seconds to retry an unreachable database at start before exit 2" },
	{ "RUNOS_DB_CONNECT_TIMEOUT_S", CFG_INT, FIELD(db_connect_timeout_seconds), "2", 2, 60,
	  false, "seconds a new database connection may take to open" },
	{ "RUNOS_DB_STATEMENT_TIMEOUT_MS", CFG_INT, FIELD(db_statement_timeout_ms), "5000", 100,
	  600000, false,
	  "milliseconds a statement may run (PostgreSQL's statement_timeout); a database that "
	  "gives no answer 1 s later is dropped" },
	{ "RUNOS_HTTP_MAX_CONNECTIONS", CFG_INT, FIELD(http_max_connections), "4096", 16, 1000000,
	  false, "open client connections at most" },
	{ "RUNOS_HTTP_TIMEOUT", CFG_INT, FIELD(http_timeout_seconds), "60", 1, 3600, false,
	  "seconds an idle client connection is kept" },
	{ "RUNOS_HTTP_MAX_CONNECTIONS_PER_IP", CFG_INT, FIELD(http_max_connections_per_ip), "256",
	  0, 1000000, false, "open client connections from one address at most (0: no limit)" },
	{ "RUNOS_HTTP_HEADER_TIMEOUT", CFG_INT, FIELD(http_header_timeout_seconds), "15", 0, 3600,
	  false, "seconds a client has to send a request's line and headers (0: no limit)" },
	{ "RUNOS_RATE_LIMIT", CFG_INT, FIELD(rate_limit_per_minute), "1200", 1, 1000000000, false,
	  "requests per minute per token" },
	{ "RUNOS_RATE_LIMIT_PUBLIC", CFG_INT, FIELD(rate_limit_public_per_minute), "120", 1,
	  1000000000, false, "requests per minute per client address on unauthenticated writes" },
	{ "RUNOS_RATE_LIMIT_LOGIN", CFG_INT, FIELD(rate_limit_login_per_minute), "10", 1,
	  1000000000, false, "login attempts per minute per email" },
	{ "RUNOS_RATE_LIMIT_WEBHOOK", CFG_INT, FIELD(rate_limit_webhook_per_minute), "60", 1,
	  1000000000, false, "GitHub webhook deliveries per minute per app" },
	{ "RUNOS_INSTRUCTION_LEASE", CFG_INT, FIELD(instruction_lease_seconds), "60", 1, 3600,
	  false, "seconds an agent holds a delivered instruction without progress" },
	{ "RUNOS_AGENT_MAX_CONNECTIONS", CFG_INT, FIELD(agent_max_connections), "20000", 16,
	  1000000, false, "open agent connections at most (one per node)" },
	{ "RUNOS_LOG_LEVEL", CFG_LEVEL, FIELD(log_level), "info", 0, 0, false,
	  "debug, info, warn or error" },
	{ "RUNOS_LOG_FORMAT", CFG_FORMAT, FIELD(log_json), "json", 0, 0, false, "json or text" },
	{ "RUNOS_CORS_ORIGINS", CFG_LIST, FIELD(cors_origins), "", 0, 0, false,
	  "comma-separated origins allowed to call the API from a browser" },
	{ "RUNOS_AUTO_MIGRATE", CFG_BOOL, FIELD(auto_migrate), "1", 0, 0, false,
	  "apply migrations at start (1) or not (0)" },
	{ "RUNOS_NODE_OFFLINE_AFTER", CFG_INT, FIELD(node_offline_after_seconds), "30", 2, 86400,
	  false, "seconds without a heartbeat before a node is offline" },
	{ "RUNOS_DNS_SERVER", CFG_ADDR, FIELD(dns_server), NULL, 0, 0, false,
	  "IPv4 host:port of the resolver that checks custom domains; unset = the system's" },
};

#define CONFIG_VAR_COUNT (sizeof(config_vars) / sizeof(config_vars[0]))

bool config_parse_addr(const char *value, struct listen_addr *out)
{
	const char *colon;
	size_t host_len;

	if (value[0] == '[') {
		const char *end = strchr(value, ']');
		if (!end || end[1] != ':')
			return false;
		host_len = (size_t)(end - value - 1);
		if (host_len == 0 || host_len >= sizeof(out->host))
			return false;
		memcpy(out->host, value + 1, host_len);
		colon = end + 1;
	} else {
		colon = strrchr(value, ':');
		if (!colon)
			return false;
		host_len = (size_t)(colon - value);
		if (host_len == 0 || host_len >= sizeof(out->host) || memchr(value, ':', host_len))
			return false;
		memcpy(out->host, value, host_len);
	}
	out->host[host_len] = '\0';

	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end != '\0' || port < 1 || port > 65535)
		return false;
	out->port = (int)port;
	return true;
}

static bool parse_int(const char *value, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || end == value || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* A URL of a known scheme, of printable ASCII without the characters that
 * would need quoting where URLs are pasted: shell lines and the installer. */
static bool valid_url(const char *value)
{
	static const char *const schemes[] = { "http://", "https://", "redis://", "rediss://",
					       "unix:" };
	for (const char *p = value; *p; p++)
		if (*p <= ' ' || *p > '~' || strchr("'\"\\`", *p))
			return false;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(value, schemes[i], n) == 0 && value[n] != '\0')
			return true;
	}
	return false;
}

static bool valid_base64_key(const char *value)
{
	/* 32 bytes are 44 base64 characters ending in one '='. */
	if (strlen(value) != 44 || value[43] != '=' || value[42] == '=')
		return false;
	for (int i = 0; i < 43; i++) {
		char c = value[i];
		if (!isalnum((unsigned char)c) && c != '+' && c != '/')
			return false;
	}
	return true;
}

static char **split_list(const char *value)
{
	size_t count = 1;
	for (const char *p = value; *p; p++)
		count += *p == ',';
	char **list = xcalloc(count + 1, sizeof(char *));
	size_t n = 0;
	const char *start = value;
	for (;;) {
		const char *end = strchr(start, ',');
		size_t len = end ? (size_t)(end - start) : strlen(start);
		while (len && isspace((unsigned char)*start)) {
			start++;
			len--;
		}
		while (len && isspace((unsigned char)start[len - 1]))
			len--;
		if (len) {
			list[n] = xmalloc(len + 1);
			memcpy(list[n], start, len);
			list[n][len] = '\0';
			n++;
		}
		if (!end)
			break;
		start = end + 1;
	}
	return list;
}

static bool apply_var(struct config *cfg, const struct config_var *var, const char *value)
{
	void *field = (char *)cfg + var->offset;
	long n;

	switch (var->type) {
	case CFG_STRING:
		if (value[0] == '\0')
			return false;
		*(char **)field = xstrdup(value);
		return true;
	case CFG_URL:
		if (!valid_url(value))
			return false;
		*(char **)field = xstrdup(value);
		return true;
	case CFG_KEY:
		if (!valid_base64_key(value))
			return false;
		*(char **)field = xstrdup(value);
		return true;
	case CFG_INT:
		if (!parse_int(value, var->min, var->max, &n))
			return false;
		*(int *)field = (int)n;
		return true;
	case CFG_BOOL:
		if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0)
			*(bool *)field = true;
		else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0)
			*(bool *)field = false;
		else
			return false;
		return true;
	case CFG_ADDR:
		return config_parse_addr(value, field);
	case CFG_LEVEL:
		return log_parse_level(value, field);
	case CFG_FORMAT:
		return log_parse_format(value, field);
	case CFG_LIST:
		*(char ***)field = split_list(value);
		return true;
	}
	return false;
}

static char *addr_url(const char *scheme, const struct listen_addr *addr)
{
	if (strchr(addr->host, ':'))
		return xasprintf("%s://[%s]:%d", scheme, addr->host, addr->port);
	return xasprintf("%s://%s:%d", scheme, addr->host, addr->port);
}

static void strip_trailing_slash(char *url)
{
	size_t n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		url[--n] = '\0';
}

/* Defaults that depend on other variables. */
static bool apply_derived(struct config *cfg, char *err, size_t errcap)
{
	if (!cfg->public_url)
		cfg->public_url = addr_url("http", &cfg->http_addr);
	if (!cfg->agent_url)
		cfg->agent_url = addr_url("https", &cfg->agent_addr);
	strip_trailing_slash(cfg->public_url);
	strip_trailing_slash(cfg->agent_url);
	if (cfg->threads == 0) {
		/* Sixteen per core, at most 64: a worker blocks on PostgreSQL for
		 * most of a request (libpq waits), and the threads are what keeps
		 * the cores busy meanwhile. On 2 cores the agents' claim + reply
		 * path went from 3,300/s with 4 threads to 3,700 with 8 and 4,100
		 * with 32 (BENCHMARKS.md, work queue). */
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		int per_core = 16 * (cores > 0 ? (int)cores : 1);
		cfg->threads = per_core < 64 ? per_core : 64;
	}
	if (cfg->db_pool == 0) /* opened as needed; at most 64 (max_connections) */
		cfg->db_pool = 2 * cfg->threads < 64 ? 2 * cfg->threads : 64;
	struct in_addr ipv4;
	if (cfg->dns_server.port && inet_pton(AF_INET, cfg->dns_server.host, &ipv4) != 1) {
		snprintf(err, errcap, "RUNOS_DNS_SERVER: \"%s\" is not an IPv4 address",
			 cfg->dns_server.host);
		return false;
	}
	if (cfg->http_addr.port == cfg->agent_addr.port &&
	    strcmp(cfg->http_addr.host, cfg->agent_addr.host) == 0) {
		snprintf(err, errcap,
			 "RUNOS_AGENT_ADDR: must differ from RUNOS_HTTP_ADDR (both are %s:%d)",
			 cfg->http_addr.host, cfg->http_addr.port);
		return false;
	}
	return true;
}

bool config_load(struct config *cfg, config_getenv_fn getenv_fn, char *err, size_t errcap)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < CONFIG_VAR_COUNT; i++) {
		const struct config_var *var = &config_vars[i];
		const char *value = getenv_fn(var->env);
		if (!value)
			value = var->default_value;
		if (!value) {
			if (var->required) {
				snprintf(err, errcap, "%s: required but not set (%s)", var->env,
					 var->help);
				config_finish(cfg);
				return false;
			}
			continue;
		}
		if (!apply_var(cfg, var, value)) {
			if (var->type == CFG_KEY)
				snprintf(err, errcap, "%s: invalid value (%s)", var->env,
					 var->help);
			else
				snprintf(err, errcap, "%s: invalid value \"%.200s\" (%s)", var->env,
					 value, var->help);
			config_finish(cfg);
			return false;
		}
	}
	if (!apply_derived(cfg, err, errcap)) {
		config_finish(cfg);
		return false;
	}
	return true;
}

void config_finish(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->database_url);
	free(cfg->redis_url);
	free(cfg->public_url);
	free(cfg->agent_url);
	free(cfg->base_domain);
	free(cfg->state_dir);
	free(cfg->master_key);
	if (cfg->cors_origins) {
		for (char **p = cfg->cors_origins; *p; p++)
			free(*p);
		free(cfg->cors_origins);
	}
	memset(cfg, 0, sizeof(*cfg));
}

void config_print_help(void)
{
	printf("Environment variables:\n");
	for (size_t i = 0; i < CONFIG_VAR_COUNT; i++) {
		const struct config_var *var = &config_vars[i];
		printf("  %-28s %s%s%s%s\n", var->env, var->help,
		       var->default_value && var->default_value[0] ? " [default: " : "",
		       var->default_value && var->default_value[0] ? var->default_value : "",
		       var->default_value && var->default_value[0] ? "]" : "");
	}
}
