/* GET /metrics (API.md §8): Prometheus text that promtool accepts, with
 * per-route counts by status class and latency histograms that follow the
 * requests made, the database pool, Redis up, parked agent polls, the queue,
 * jobs and nodes by status. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents.h"
#include "harness.h"

static struct it_server *srv;
static PGconn *pg;

static char *scrape(void)
{
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/metrics");
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
	char *text = r.body ? strdup(r.body) : strdup("");
	it_resp_free(&r);
	return text;
}

/* The value of the sample line that starts with prefix (name and labels), or -1. */
static double sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *line = text; line && *line;) {
		if (strncmp(line, prefix, n) == 0 && line[n] == ' ')
			return atof(line + n + 1);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

TEST(promtool_accepts_it)
{
	char *text = scrape();
	const char *path = it_fmt("%s/metrics-%d.txt", it_env.tmpdir, (int)getpid());
	FILE *f = fopen(path, "w");
	REQUIRE(f != NULL);
	fputs(text, f);
	fclose(f);
	CHECK_INT_EQ(it_shell(it_fmt("promtool check metrics < %s", path)), 0);
	free(text);
}

TEST(request_counts_follow_requests)
{
	char *before = scrape();
	const char *ok = "runosd_http_requests_total{listener=\"api\",route=\"/healthz\","
			 "method=\"GET\",status=\"2xx\"}";
	const char *missing = "runosd_http_requests_total{listener=\"api\",route=\"unmatched\","
			      "method=\"\",status=\"4xx\"}";
	const char *hist = "runosd_http_request_duration_seconds_count{listener=\"api\","
			   "route=\"/healthz\",method=\"GET\"}";
	double ok0 = sample(before, ok), missing0 = sample(before, missing),
	       hist0 = sample(before, hist);
	CHECK(ok0 >= 0 && missing0 >= 0 && hist0 >= 0);
	for (int i = 0; i < 5; i++) {
		struct it_resp r = it_call(srv, "GET", NULL, NULL, "/healthz");
		it_resp_free(&r);
	}
	for (int i = 0; i < 3; i++) {
		struct it_resp r = it_call(srv, "GET", NULL, NULL, "/no/such/route");
		it_resp_free(&r);
	}
	char *after = scrape();
	CHECK_MSG(sample(after, ok) == ok0 + 5, "healthz 2xx %g -> %g", ok0, sample(after, ok));
	CHECK_MSG(sample(after, missing) == missing0 + 3, "unmatched 4xx %g -> %g", missing0,
		  sample(after, missing));
	CHECK(sample(after, hist) == hist0 + 5);
	/* Histogram buckets are cumulative and end at the count. */
	double inf = sample(after, "runosd_http_request_duration_seconds_bucket{listener=\"api\","
				   "route=\"/healthz\",method=\"GET\",le=\"+Inf\"}");
	double small = sample(after, "runosd_http_request_duration_seconds_bucket{listener=\"api\","
				     "route=\"/healthz\",method=\"GET\",le=\"0.0005\"}");
	CHECK(inf == sample(after, hist));
	CHECK(small >= 0 && small <= inf);
	free(before);
	free(after);
}

struct poll {
	const struct it_server *s;
	const char *ca;
	const struct it_node *node;
};

static void *park(void *arg)
{
	struct poll *p = arg;
	struct it_resp r =
		it_agent_call(p->s, p->ca, p->node, "GET", "/agent/v1/instructions?wait=3", NULL);
	it_resp_free(&r);
	return NULL;
}

TEST(gauges)
{
	char *text = scrape();
	CHECK(sample(text, "runosd_db_pool_connections") > 0);
	CHECK(sample(text, "runosd_db_pool_in_use") >= 0);
	CHECK(sample(text, "runosd_db_pool_waiting") == 0);
	CHECK(sample(text, "runosd_redis_up") == 1);
	CHECK(sample(text, "runosd_database_up") == 1);
	CHECK(sample(text, "runosd_agent_parked_polls") == 0);
	CHECK(sample(text, "runosd_nodes{status=\"online\"}") >= 0);
	CHECK(sample(text, "runosd_instructions{state=\"pending\"}") >= 0);
	CHECK(sample(text, "runosd_jobs{status=\"running\"}") >= 0);
	free(text);

	/* A node that registered (a running join job, its queued instruction)
	 * and parks a poll. */
	struct it_user owner;
	REQUIRE(it_signup(srv, &owner));
	char cid[8], token[64];
	REQUIRE(it_new_cluster(srv, &owner, "metrics", cid));
	REQUIRE(it_join_token(srv, &owner, cid, "controlplane", 1, token));
	char *ca = it_agent_ca(pg);
	REQUIRE(ca != NULL);
	struct it_node node;
	REQUIRE(it_agent_register(srv, ca, token, &node));
	text = scrape();
	CHECK(sample(text, "runosd_nodes{status=\"provisioning\"}") >= 1);
	CHECK(sample(text, "runosd_instructions{state=\"pending\"}") >= 1);
	CHECK(sample(text, "runosd_jobs{status=\"running\"}") >= 1);
	free(text);
	/* Take the join instruction, then park. */
	struct it_resp r =
		it_agent_call(srv, ca, &node, "GET", "/agent/v1/instructions?wait=0", NULL);
	it_resp_free(&r);
	struct poll p = { srv, ca, &node };
	pthread_t t;
	pthread_create(&t, NULL, park, &p);
	it_sleep_ms(700);
	text = scrape();
	CHECK_MSG(sample(text, "runosd_agent_parked_polls") == 1, "parked %g",
		  sample(text, "runosd_agent_parked_polls"));
	CHECK(sample(text, "runosd_instructions{state=\"leased\"}") >= 1);
	free(text);
	pthread_join(t, NULL);
	it_node_free(&node);
	free(ca);
}

int main(void)
{
	if (!it_init("it_metrics")) {
		test_failed++;
		return it_finish("it_metrics");
	}
	srv = it_server_start("metrics", NULL);
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	if (!srv || !pg) {
		test_failed++;
		fprintf(stderr, "FAIL it_metrics: no server or database\n");
		return it_finish("it_metrics");
	}
	RUN(promtool_accepts_it);
	RUN(request_counts_follow_requests);
	RUN(gauges);
	RUN(promtool_accepts_it);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	PQfinish(pg);
	return it_finish("it_metrics");
}
