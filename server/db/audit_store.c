/* SQL for the audit trail (see include/db/audit.h). Entries are only ever
 * inserted, inside the transaction of the change they record. */
#include "db/audit.h"
#include "db_internal.h"

static const struct db_stmt stmt_insert = {
	"audit_insert",
	"INSERT INTO audit_events (aid, actor_type, actor_id, action, target_type, target_id,"
	" trace_id, ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
};

enum db_result db_audit_insert(struct db_conn *c, const char *aid, const struct audit_actor *actor,
			       const char *action, const char *target_type, const char *target_id)
{
	const char *params[] = { aid,
				 actor->type,
				 actor->id,
				 action,
				 target_type,
				 target_id,
				 actor->trace_id ? actor->trace_id : "",
				 actor->ip ? actor->ip : "" };
	return db_exec(c, &stmt_insert, 8, params, NULL);
}
