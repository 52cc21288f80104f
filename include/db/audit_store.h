/* Who did something, for the audit trail that stores write in the same
 * transaction as the change (table audit_events), and reading it back. */
#ifndef RUNOSD_DB_AUDIT_STORE_H
#define RUNOSD_DB_AUDIT_STORE_H

struct audit_actor {
	const char *type; /* "user", "api_key", "node", "system" */
	const char *id;
	const char *trace_id;
	const char *ip;
};

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

struct audit_entry {
	char id[24];
	int64_t at_us;
	char actor_type[16], actor_id[64];
	char action[64];
	char target_type[32], target_id[64];
	char trace_id[72], ip[48];
};

/* The account's entries, newest first, before the cursor (before_us = 0: the
 * newest); *out (to free) holds *n. */
enum db_result db_audit_list(struct db_pool *db, const char *aid, int64_t before_us,
			     const char *before_id, int limit, struct audit_entry **out, size_t *n)
	__attribute__((warn_unused_result));

#endif
