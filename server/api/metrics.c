/* GET /metrics in the Prometheus text format (API.md §8): requests per route
 * and status class with latency histograms (http/metrics.c), the database
 * pool, Redis, parked agent polls, the instruction queue, jobs and nodes by
 * status. The counts from the database are left out (and
 * runosd_database_up is 0) when it does not answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "http/request.h"
#include "db/metrics_store.h"
#include "http/metrics.h"
#include "http/server.h"
#include "redis/ping.h"
#include "runosd.h"
#include "util/xmalloc.h"

#define REDIS_PING_MS 200

static void gauge(char **text, const char *name, const char *help, const char *labels,
		  long long value)
{
	char *line =
		xasprintf("# HELP %s %s\n# TYPE %s gauge\n%s%s%s%s %lld\n", name, help, name, name,
			  labels ? "{" : "", labels ? labels : "", labels ? "}" : "", value);
	size_t len = *text ? strlen(*text) : 0;
	*text = xrealloc(*text, len + strlen(line) + 1);
	strcpy(*text + len, line);
	free(line);
}

/* One gauge with several labelled samples: "label=value" pairs. */
static void gauge_family(char **text, const char *name, const char *help, const char *label,
			 const char *const *values, const int64_t *counts, int n)
{
	char *head = xasprintf("# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	size_t len = *text ? strlen(*text) : 0;
	*text = xrealloc(*text, len + strlen(head) + 1);
	strcpy(*text + len, head);
	free(head);
	for (int i = 0; i < n; i++) {
		char *line = xasprintf("%s{%s=\"%s\"} %lld\n", name, label, values[i],
				       (long long)counts[i]);
		len = strlen(*text);
		*text = xrealloc(*text, len + strlen(line) + 1);
		strcpy(*text + len, line);
		free(line);
	}
}

void api_metrics(struct request *req)
{
	struct server *srv = req->server;
	char *text = NULL;
	http_metrics_render(srv->metrics, &text);

	struct db_pool_stats pool;
	db_pool_stats(srv->db, &pool);
	gauge(&text, "runosd_db_pool_connections", "Connections of the database pool.", NULL,
	      pool.size);
	gauge(&text, "runosd_db_pool_in_use", "Pool connections in use.", NULL, pool.in_use);
	gauge(&text, "runosd_db_pool_waiting", "Threads waiting for a pool connection.", NULL,
	      pool.waiting);
	gauge(&text, "runosd_redis_up", "1 when the configured Redis answers PING.", NULL,
	      redis_ping(srv->cfg.redis_url, REDIS_PING_MS));
	gauge(&text, "runosd_agent_parked_polls", "Agent long polls parked on this instance.", NULL,
	      http_server_parked(srv->agent_http));

	struct fleet_counts c = { 0 };
	bool db_up = db_metrics_counts(srv->db, &c) == DB_OK;
	gauge(&text, "runosd_database_up", "1 when the database answered this scrape.", NULL,
	      db_up);
	if (db_up) {
		static const char *const node_statuses[] = { "provisioning", "online", "offline",
							     "error" };
		int64_t nodes[] = { c.nodes_provisioning, c.nodes_online, c.nodes_offline,
				    c.nodes_error };
		gauge_family(&text, "runosd_nodes", "Live nodes by status.", "status",
			     node_statuses, nodes, 4);
		static const char *const queue_states[] = { "pending", "leased" };
		int64_t queue[] = { c.instructions_pending, c.instructions_leased };
		gauge_family(&text, "runosd_instructions", "Instructions in the queue by state.",
			     "state", queue_states, queue, 2);
		static const char *const job_states[] = { "pending", "running" };
		int64_t jobs[] = { c.jobs_pending, c.jobs_running };
		gauge_family(&text, "runosd_jobs", "Jobs not finished, by status.", "status",
			     job_states, jobs, 2);
	}
	request_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text);
	free(text);
}
