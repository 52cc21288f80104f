/* Counts for GET /metrics: nodes by status, the instruction queue, jobs.
 * One statement per scrape. Thread safe. */
#ifndef RUNOSD_DB_METRICS_STORE_H
#define RUNOSD_DB_METRICS_STORE_H

#include <stdint.h>

#include "db/db.h"

struct fleet_counts {
	int64_t nodes_provisioning, nodes_online, nodes_offline, nodes_error;
	int64_t instructions_pending, instructions_leased;
	int64_t jobs_pending, jobs_running;
};

enum db_result db_metrics_counts(struct db_pool *db, struct fleet_counts *out)
	__attribute__((warn_unused_result));

#endif
