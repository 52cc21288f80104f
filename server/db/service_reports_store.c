/* SQL for what control-plane nodes report about services (see
 * include/db/service_reports_store.h). */
#include "db/service_reports_store.h"

#include "db_internal.h"

/* One statement: the caller must be a live control-plane (or hybrid) node of
 * the cluster; the services and apps (osid app-<id>) of its own account and
 * cluster that the reports name, and that are not being deleted, are locked
 * in id order (two nodes
 * reporting at once wait for each other instead of deadlocking) and take
 * their report. A report is status, not spec: version_n (the ETag) and
 * updated_at stay as they are, so a client's If-Match is not broken by a
 * heartbeat's worth of status. */
static const struct db_stmt stmt_put = {
	"service_reports_put",
	"WITH me AS (SELECT 1 FROM nodes WHERE aid = $1 AND cid = $2 AND nid = $3"
	"  AND deleted_at IS NULL AND role IN ('controlplane', 'hybrid')),"
	" r AS (SELECT * FROM jsonb_to_recordset($4::jsonb) AS r(osid text, state text,"
	"  desired integer, ready integer, message text)),"
	" locked AS (SELECT s.id FROM services s JOIN r ON r.osid = s.osid"
	"  WHERE s.aid = $1 AND s.cid = $2 AND s.lifecycle <> 'deleting'"
	"  AND EXISTS (SELECT 1 FROM me) ORDER BY s.id FOR UPDATE OF s),"
	" up AS (UPDATE services s SET reported_state = r.state, reported_desired = r.desired,"
	"  reported_ready = r.ready, reported_message = r.message, reported_by = $3,"
	"  reported_at = now() FROM locked l, r"
	"  WHERE s.aid = $1 AND s.cid = $2 AND s.id = l.id AND s.osid = r.osid"
	"  AND s.lifecycle <> 'deleting' RETURNING 1),"
	" app_locked AS (SELECT a.id FROM apps a JOIN r ON r.osid = a.osid"
	"  WHERE a.aid = $1 AND a.cid = $2 AND a.lifecycle <> 'deleting'"
	"  AND EXISTS (SELECT 1 FROM me) ORDER BY a.id FOR UPDATE OF a),"
	" app_up AS (UPDATE apps a SET reported_state = r.state, reported_desired = r.desired,"
	"  reported_ready = r.ready, reported_message = r.message, reported_by = $3,"
	"  reported_at = now() FROM app_locked l, r"
	"  WHERE a.aid = $1 AND a.cid = $2 AND a.id = l.id AND a.osid = r.osid RETURNING 1)"
	" SELECT EXISTS (SELECT 1 FROM me), (SELECT count(*) FROM up) + (SELECT count(*) FROM "
	"app_up)"
};

enum db_result db_service_reports_put(struct db_pool *db, const char *aid, const char *cid,
				      const char *nid, const char *reports, bool *may_report,
				      int *accepted)
{
	*may_report = false;
	*accepted = 0;
	const char *params[] = { aid, cid, nid, reports };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_put, 4, params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) == 1) {
		*may_report = db_get_bool(res, 0, 0);
		*accepted = (int)db_get_int64(res, 0, 1);
	}
	PQclear(res);
	return DB_OK;
}
