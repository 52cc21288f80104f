/* SQL for the counts of /metrics (see include/db/metrics_store.h). */
#include "db/metrics_store.h"

#include "db_internal.h"

static const struct db_stmt stmt_counts = {
	"metrics_counts",
	"SELECT"
	" count(*) FILTER (WHERE status = 'provisioning'), count(*) FILTER (WHERE status = "
	"'online'),"
	" count(*) FILTER (WHERE status = 'offline'), count(*) FILTER (WHERE status = 'error'),"
	" (SELECT count(*) FROM instructions WHERE status = 'pending'),"
	" (SELECT count(*) FROM instructions WHERE status = 'leased'),"
	" (SELECT count(*) FROM jobs WHERE status = 'pending'),"
	" (SELECT count(*) FROM jobs WHERE status = 'running')"
	" FROM nodes WHERE deleted_at IS NULL"
};

enum db_result db_metrics_counts(struct db_pool *db, struct fleet_counts *out)
{
	PGresult *res;
	enum db_result r = db_query(db, &stmt_counts, 0, NULL, &res);
	if (r != DB_OK)
		return r;
	int64_t *fields[] = { &out->nodes_provisioning,	  &out->nodes_online,
			      &out->nodes_offline,	  &out->nodes_error,
			      &out->instructions_pending, &out->instructions_leased,
			      &out->jobs_pending,	  &out->jobs_running };
	for (int i = 0; i < 8; i++)
		*fields[i] = db_get_int64(res, 0, i);
	PQclear(res);
	return DB_OK;
}
