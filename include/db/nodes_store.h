/* Nodes of a cluster. Every function takes the aid and the cid and filters by
 * both; deleted nodes are not shown. Thread safe. */
#ifndef RUNOSD_DB_NODES_STORE_H
#define RUNOSD_DB_NODES_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "db/audit_store.h"
#include "db/db.h"
#include "idalloc/ids.h"
#include "util/text.h"

struct node_condition {
	char type[64];
	char status[16];
	char reason[128];
	char message[TEXT_BUF(STATUS_MESSAGE_MAX_CHARS)];
	int64_t last_transition_us;
};

struct node {
	char nid[IDALLOC_SHORT_ID_LEN + 1];
	char cid[4];
	char name[TEXT_BUF(NAME_MAX_CHARS)];
	char role[16];
	char status[16];
	char machine_id[TEXT_BUF(MACHINE_ID_MAX_CHARS)];
	char hostname[TEXT_BUF(HOSTNAME_MAX_CHARS)];
	char os[TEXT_BUF(OS_MAX_CHARS)];
	int cluster_index;
	int vpn_host;
	char external_ip[64];
	char agent_version[TEXT_BUF(AGENT_VERSION_MAX_CHARS)];
	int64_t last_heartbeat_us; /* 0: never */
	int64_t cert_not_after_us; /* 0: none */
	int version;
	int64_t created_us;
	size_t nconditions;
	struct node_condition *conditions; /* owned; db_node_finish frees */
};

void db_node_finish(struct node *n);

/* Nodes after the cursor, at most limit. *out holds *n nodes; free each with
 * db_node_finish, then the array with free(). */
enum db_result db_nodes_list(struct db_pool *db, const char *aid, const char *cid, int64_t after_us,
			     const char *after_nid, int limit, struct node **out, size_t *n)
	__attribute__((warn_unused_result));

enum db_result db_nodes_get(struct db_pool *db, const char *aid, const char *cid, const char *nid,
			    struct node *out) __attribute__((warn_unused_result));

/* Renames the node and records it in the audit trail. if_version != 0: only
 * at that version, else DB_CONFLICT. */
enum db_result db_nodes_rename(struct db_pool *db, const char *aid, const char *cid,
			       const char *nid, const struct audit_actor *actor, const char *name,
			       int if_version, struct node *out)
	__attribute__((warn_unused_result));

/* Deletes the node: its VPN address and machine id are free at once, every
 * certificate of it is revoked, and a node.delete job (job_id) is queued for
 * its teardown, with an audit entry. if_version as for rename. */
enum db_result db_nodes_delete(struct db_pool *db, const char *aid, const char *cid,
			       const char *nid, const struct audit_actor *actor, int if_version,
			       const char *job_id) __attribute__((warn_unused_result));

#endif
