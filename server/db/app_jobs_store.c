/* What an app job leaves behind when it ends failed or cancelled
 * (db_app_job_stopped, called by the job machinery of job_steps_store.c):
 * the deployment it was making ends the same way, saying why, and an app
 * whose delete stopped is active again. */
#include <stdio.h>

#include "db_internal.h"

static const struct db_stmt stmt_deployment_stopped = {
	"app_job_deployment_stopped",
	"UPDATE app_deployments SET status = CASE WHEN $4 THEN 'cancelled' ELSE 'failed' END,"
	" finished_at = now(), message = $5 WHERE aid = $1 AND cid = $2 AND job_id = $3"
	" AND status IN ('pending', 'building', 'deploying')"
};
static const struct db_stmt stmt_delete_stopped = {
	"app_job_delete_stopped",
	"UPDATE apps SET lifecycle = 'active', version_n = version_n + 1, updated_at = now()"
	" WHERE aid = $1 AND cid = $2 AND job_id = $3 AND lifecycle = 'deleting'"
};

enum db_result db_app_job_stopped(struct db_conn *c, const char *aid, const char *cid,
				  const char *job_id, bool cancelled, const char *error)
{
	char message[600];
	if (cancelled)
		snprintf(message, sizeof(message), "Job %s was cancelled", job_id);
	else
		snprintf(message, sizeof(message), "%s",
			 error && *error ? error : "The job failed");
	const char *params[] = { aid, cid, job_id, cancelled ? "true" : "false", message };
	enum db_result r = db_exec(c, &stmt_deployment_stopped, 5, params, NULL);
	return r == DB_OK ? db_exec(c, &stmt_delete_stopped, 3, params, NULL) : r;
}
