/* Configuration table: defaults, derived values, and a bad value of each type
 * refused with a message naming the variable. */
#include <stdlib.h>

#include "config.h"
#include "testlib.h"

static const char *vars[32][2];
static int nvars;

static const char *fake_env(const char *name)
{
	for (int i = 0; i < nvars; i++)
		if (strcmp(vars[i][0], name) == 0)
			return vars[i][1];
	return NULL;
}

static void set(const char *name, const char *value)
{
	vars[nvars][0] = name;
	vars[nvars][1] = value;
	nvars++;
}

static void reset(void)
{
	nvars = 0;
	set("RUNOS_DATABASE_URL", "host=/tmp dbname=x");
}

TEST(defaults)
{
	struct config cfg;
	char err[256];
	reset();
	CHECK(config_load(&cfg, fake_env, err, sizeof(err)));
	CHECK_STR_EQ(cfg.http_addr.host, "127.0.0.1");
	CHECK_INT_EQ(cfg.http_addr.port, 8080);
	CHECK_INT_EQ(cfg.agent_addr.port, 8443);
	CHECK_STR_EQ(cfg.public_url, "http://127.0.0.1:8080");
	CHECK_STR_EQ(cfg.agent_url, "https://127.0.0.1:8443");
	CHECK_STR_EQ(cfg.base_domain, "runos.xyz");
	CHECK(cfg.threads >= 16 && cfg.threads <= 64);
	CHECK_INT_EQ(cfg.db_pool, 2 * cfg.threads < 64 ? 2 * cfg.threads : 64);
	CHECK(cfg.redis_url == NULL);
	CHECK(cfg.auto_migrate);
	CHECK_INT_EQ(cfg.node_offline_after_seconds, 30);
	CHECK_INT_EQ(cfg.db_wait_seconds, 30);
	/* A database that stops answering ends a request within 10 s. */
	CHECK_INT_EQ(cfg.db_connect_timeout_seconds, 2);
	CHECK_INT_EQ(cfg.db_statement_timeout_ms, 5000);
	CHECK_INT_EQ(cfg.dns_server.port, 0); /* the system's resolver */
	CHECK(cfg.cors_origins != NULL && cfg.cors_origins[0] == NULL);
	config_finish(&cfg);
}

TEST(overrides)
{
	struct config cfg;
	char err[256];
	reset();
	set("RUNOS_HTTP_ADDR", "[::1]:9000");
	set("RUNOS_THREADS", "3");
	set("RUNOS_PUBLIC_URL", "https://api.example.com/");
	set("RUNOS_CORS_ORIGINS", " https://a.example , https://b.example,");
	set("RUNOS_AUTO_MIGRATE", "0");
	set("RUNOS_LOG_FORMAT", "text");
	set("RUNOS_MASTER_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	set("RUNOS_DNS_SERVER", "127.0.0.1:5353");
	CHECK(config_load(&cfg, fake_env, err, sizeof(err)));
	CHECK_STR_EQ(cfg.dns_server.host, "127.0.0.1");
	CHECK_INT_EQ(cfg.dns_server.port, 5353);
	CHECK_STR_EQ(cfg.http_addr.host, "::1");
	CHECK_INT_EQ(cfg.http_addr.port, 9000);
	CHECK_INT_EQ(cfg.threads, 3);
	CHECK_INT_EQ(cfg.db_pool, 6);
	CHECK_STR_EQ(cfg.public_url, "https://api.example.com");
	CHECK_STR_EQ(cfg.cors_origins[0], "https://a.example");
	CHECK_STR_EQ(cfg.cors_origins[1], "https://b.example");
	CHECK(cfg.cors_origins[2] == NULL);
	CHECK(!cfg.auto_migrate);
	CHECK(!cfg.log_json);
	config_finish(&cfg);
}

static void expect_refused(const char *name, const char *value, const char *secret)
{
	struct config cfg;
	char err[256] = "";
	reset();
	if (value)
		set(name, value);
	else
		nvars = 0;
	bool ok = config_load(&cfg, fake_env, err, sizeof(err));
	CHECK_MSG(!ok, "%s=%s accepted", name, value ? value : "(unset)");
	CHECK_MSG(strstr(err, name) != NULL, "message \"%s\" does not name %s", err, name);
	if (secret)
		CHECK_MSG(strstr(err, secret) == NULL, "message shows the secret: %s", err);
	if (ok)
		config_finish(&cfg);
}

TEST(refusals_name_the_variable)
{
	expect_refused("RUNOS_DATABASE_URL", NULL, NULL);
	expect_refused("RUNOS_THREADS", "0", NULL);
	expect_refused("RUNOS_THREADS", "abc", NULL);
	expect_refused("RUNOS_THREADS", "4x", NULL);
	expect_refused("RUNOS_DB_POOL", "-1", NULL);
	expect_refused("RUNOS_DB_CONNECT_TIMEOUT_S", "1", NULL);
	expect_refused("RUNOS_DB_STATEMENT_TIMEOUT_MS", "50", NULL);
	expect_refused("RUNOS_HTTP_ADDR", "nonsense", NULL);
	expect_refused("RUNOS_HTTP_ADDR", "127.0.0.1:99999", NULL);
	expect_refused("RUNOS_HTTP_ADDR", ":8080", NULL);
	expect_refused("RUNOS_AGENT_ADDR", "127.0.0.1:8080", NULL); /* same as HTTP */
	expect_refused("RUNOS_LOG_LEVEL", "loud", NULL);
	expect_refused("RUNOS_LOG_FORMAT", "xml", NULL);
	expect_refused("RUNOS_AUTO_MIGRATE", "maybe", NULL);
	expect_refused("RUNOS_REDIS_URL", "ftp://x", NULL);
	expect_refused("RUNOS_PUBLIC_URL", "example.com", NULL);
	expect_refused("RUNOS_NODE_OFFLINE_AFTER", "1", NULL);
	expect_refused("RUNOS_MASTER_KEY", "short-secret-value", "short-secret-value");
	expect_refused("RUNOS_BASE_DOMAIN", "", NULL);
	expect_refused("RUNOS_DNS_SERVER", "127.0.0.1", NULL);
	expect_refused("RUNOS_DNS_SERVER", "localhost:53", NULL); /* IPv4 addresses only */
	expect_refused("RUNOS_DNS_SERVER", "[::1]:53", NULL);
}

TEST(parse_addr)
{
	struct listen_addr a;
	CHECK(config_parse_addr("0.0.0.0:1", &a));
	CHECK_STR_EQ(a.host, "0.0.0.0");
	CHECK_INT_EQ(a.port, 1);
	CHECK(config_parse_addr("localhost:65535", &a));
	CHECK(!config_parse_addr("localhost:0", &a));
	CHECK(!config_parse_addr("::1:80", &a));
	CHECK(!config_parse_addr("[::1]80", &a));
	CHECK(!config_parse_addr("host:", &a));
}

int main(void)
{
	RUN(defaults);
	RUN(overrides);
	RUN(refusals_name_the_variable);
	RUN(parse_addr);
	return test_summary("unit/config");
}
