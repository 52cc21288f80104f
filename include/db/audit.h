/* Who did something, for the audit trail that stores write in the same
 * transaction as the change (table audit_events). */
#ifndef RUNOSD_DB_AUDIT_H
#define RUNOSD_DB_AUDIT_H

struct audit_actor {
	const char *type; /* "user", "api_key", "node", "system" */
	const char *id;
	const char *trace_id;
	const char *ip;
};

#endif
