/* What a control-plane node reports about the services and apps of its
 * cluster (POST /agent/v1/service-status, AGENT.md §3): the reported_*
 * columns of the services and apps tables. Thread safe. */
#ifndef RUNOSD_DB_SERVICE_REPORTS_STORE_H
#define RUNOSD_DB_SERVICE_REPORTS_STORE_H

#include <stdbool.h>

#include "db/db.h"

/* Stores the reports of node nid of cluster cid of account aid, in one
 * statement. reports is a JSON array text of
 * {"osid","state","desired","ready","message"} (state one of the
 * reported_state values; desired, ready and message may be null), each osid
 * at most once. Only the services and apps of aid/cid named by an osid and
 * not being deleted take their report; the rest are ignored. *may_report is false
 * (and nothing is stored) when the node is not a live control-plane or
 * hybrid node of the cluster; *accepted counts the services and apps updated. */
enum db_result db_service_reports_put(struct db_pool *db, const char *aid, const char *cid,
				      const char *nid, const char *reports, bool *may_report,
				      int *accepted) __attribute__((warn_unused_result));

#endif
