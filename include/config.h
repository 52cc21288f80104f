/* Configuration from the environment (ARCHITECTURE §6). One table in
 * server/config.c lists every variable with its type, default and bounds; this
 * struct is filled from it once at start and then only read. */
#ifndef RUNOSD_CONFIG_H
#define RUNOSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/log.h"

struct listen_addr {
	char host[64]; /* numeric IPv4 or IPv6 address, or "localhost" */
	int port;
};

struct config {
	char *database_url;
	char *redis_url; /* NULL: no Redis */
	struct listen_addr http_addr;
	struct listen_addr agent_addr;
	char *public_url; /* no trailing slash */
	char *agent_url;
	char *base_domain;
	char *state_dir;
	char *master_key; /* base64 of 32 bytes, or NULL: dev key file in state_dir */
	int threads;
	int db_pool;
	int db_wait_seconds;
	int db_connect_timeout_seconds; /* libpq connect_timeout */
	int db_statement_timeout_ms;	/* statement_timeout; the answer's bound + 1 s */
	int http_max_connections;
	int http_timeout_seconds;
	int http_max_connections_per_ip; /* 0: no limit */
	int http_header_timeout_seconds; /* 0: none */
	int agent_max_connections;
	int instruction_lease_seconds;
	int rate_limit_per_minute;
	int rate_limit_public_per_minute;
	int rate_limit_login_per_minute;
	int rate_limit_webhook_per_minute;
	enum log_level log_level;
	bool log_json;
	char **cors_origins; /* NULL-terminated */
	bool auto_migrate;
	int node_offline_after_seconds;
	/* RUNOS_DNS_SERVER: the resolver custom domains are checked through (an
	 * IPv4 address and port); port 0: the system's (/etc/resolv.conf). */
	struct listen_addr dns_server;
};

/* Returns the value of an environment variable or NULL; tests pass their own. */
typedef const char *(*config_getenv_fn)(const char *name);

/* Fills cfg from the environment. On a bad value returns false with a message
 * naming the variable in err. The strings in cfg are owned by it. */
bool config_load(struct config *cfg, config_getenv_fn getenv_fn, char *err, size_t errcap)
	__attribute__((warn_unused_result));
void config_finish(struct config *cfg);

/* Prints the variable table (for --help). */
void config_print_help(void);

bool config_parse_addr(const char *value, struct listen_addr *out);

#endif
