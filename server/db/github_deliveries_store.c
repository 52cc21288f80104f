/* SQL for GitHub deliveries (see include/db/github_deliveries_store.h). The
 * claim is one INSERT ... ON CONFLICT: of requests racing with one delivery
 * id, on any instance, exactly one inserts (or takes over a stale claim);
 * the others read what is there. */
#include "db/github_deliveries_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

#define KEY "aid = $1 AND cid = $2 AND app_id = $3 AND delivery_id = $4"
#define STR(x) #x
#define XSTR(x) STR(x)

static const struct db_stmt stmt_claim = {
	"github_delivery_claim",
	"INSERT INTO github_deliveries (aid, cid, app_id, delivery_id) VALUES ($1, $2, $3, $4)"
	" ON CONFLICT (aid, cid, app_id, delivery_id) DO UPDATE SET created_at = now()"
	" WHERE github_deliveries.status IS NULL AND github_deliveries.created_at < now()"
	" - interval '" XSTR(APP_DELIVERY_CLAIM_TTL) " seconds' RETURNING 1"
};
static const struct db_stmt stmt_read = {
	"github_delivery_read",
	"SELECT coalesce(status, 0), coalesce(body, '') FROM github_deliveries WHERE " KEY
};
static const struct db_stmt stmt_answer = {
	"github_delivery_answer",
	"UPDATE github_deliveries SET status = $5::int, body = $6 WHERE " KEY " AND status IS NULL"
};
static const struct db_stmt stmt_release = { "github_delivery_release",
					     "DELETE FROM github_deliveries WHERE " KEY
					     " AND status IS NULL" };

enum db_result db_github_delivery_claim(struct db_pool *db, const char *aid, const char *cid,
					const char *app_id, const char *delivery_id,
					enum delivery_claim *claim, int *status, char **body)
{
	*body = NULL;
	*status = 0;
	const char *params[] = { aid, cid, app_id, delivery_id };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_claim, 4, params, &res);
	if (r != DB_OK)
		return r;
	bool claimed = PQntuples(res) == 1;
	PQclear(res);
	if (claimed) {
		*claim = DELIVERY_CLAIMED;
		return DB_OK;
	}
	if ((r = db_query(db, &stmt_read, 4, params, &res)) != DB_OK)
		return r;
	/* Released between the two statements: as good as in flight; GitHub's
	 * redelivery comes later. */
	*status = PQntuples(res) == 1 ? (int)db_get_int64(res, 0, 0) : 0;
	*claim = *status ? DELIVERY_ANSWERED : DELIVERY_IN_FLIGHT;
	if (*status)
		*body = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	return DB_OK;
}

/* One row changed, else DB_NOT_FOUND (not claimed, or answered already). */
static enum db_result one_row(struct db_pool *db, const struct db_stmt *stmt, int n,
			      const char *const *params)
{
	PGresult *res;
	enum db_result r = db_query(db, stmt, n, params, &res);
	if (r != DB_OK)
		return r;
	r = atoi(PQcmdTuples(res)) == 1 ? DB_OK : DB_NOT_FOUND;
	PQclear(res);
	return r;
}

enum db_result db_github_delivery_answer(struct db_pool *db, const char *aid, const char *cid,
					 const char *app_id, const char *delivery_id, int status,
					 const char *body)
{
	char status_buf[24];
	const char *params[] = { aid, cid, app_id, delivery_id, db_int64_param(status, status_buf),
				 body };
	return one_row(db, &stmt_answer, 6, params);
}

enum db_result db_github_delivery_release(struct db_pool *db, const char *aid, const char *cid,
					  const char *app_id, const char *delivery_id)
{
	const char *params[] = { aid, cid, app_id, delivery_id };
	return one_row(db, &stmt_release, 4, params);
}
