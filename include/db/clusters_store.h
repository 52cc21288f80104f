/* Clusters of an account. Every function takes the aid and filters by it.
 * Thread safe. */
#ifndef RUNOSD_DB_CLUSTERS_STORE_H
#define RUNOSD_DB_CLUSTERS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/audit_store.h"
#include "db/db.h"
#include "idalloc/clusters.h"
#include "idalloc/ids.h"
#include "util/text.h"

struct cluster {
	char cid[IDALLOC_CID_LEN + 1];
	char name[TEXT_BUF(NAME_MAX_CHARS)];
	char description[TEXT_BUF(DESCRIPTION_MAX_CHARS)];
	int cluster_index;
	char domain[300];
	char status[16];
	bool configured;
	int version; /* ETag */
	int64_t created_us;
	int64_t updated_us;
	int nodes_total, nodes_online, nodes_offline;
	/* JSON array text: [{type, status, reason, message, lastTransitionUs}] */
	char conditions[2048];
};

enum clusters_full {
	CLUSTERS_ROOM,	   /* not full */
	CLUSTERS_NO_INDEX, /* IDALLOC_MAX_CLUSTERS clusters */
	CLUSTERS_NO_CID,   /* every cid taken (cannot happen below the index limit) */
};

/* Allocates a cid, the smallest free index and the domain, and inserts the
 * cluster with its audit entry, in one transaction (see clusters_store.c for
 * how concurrent creates stay apart). DB_CONFLICT: the account is full, and
 * *full says how. */
enum db_result db_clusters_create(struct db_pool *db, const char *aid,
				  const struct audit_actor *actor, const char *name,
				  const char *description, struct cluster *out,
				  enum clusters_full *full) __attribute__((warn_unused_result));

enum db_result db_clusters_get(struct db_pool *db, const char *aid, const char *cid,
			       struct cluster *out) __attribute__((warn_unused_result));

/* Clusters by creation, after the cursor (after_us = 0: from the start), at
 * most limit; status and only_cid filter when not NULL. *out is an array of
 * *n entries to free(). */
enum db_result db_clusters_list(struct db_pool *db, const char *aid, const char *status,
				const char *only_cid, int64_t after_us, const char *after_cid,
				int limit, struct cluster **out, size_t *n)
	__attribute__((warn_unused_result));

/* Changes the non-NULL fields and records the change in the audit trail.
 * if_version != 0: only at that version, else DB_CONFLICT. */
enum db_result db_clusters_update(struct db_pool *db, const char *aid, const char *cid,
				  const struct audit_actor *actor, const char *name,
				  const char *description, int if_version, struct cluster *out)
	__attribute__((warn_unused_result));

enum cluster_delete_outcome {
	CLUSTER_DELETED,	  /* it had no live node: gone */
	CLUSTER_TEARDOWN_STARTED, /* job_id, a cluster.delete job, tears its nodes down */
	CLUSTER_BEING_DELETED,	  /* such a job runs already: job_id is its id */
};

/* Deletes the cluster, first checking if_version (as above) whatever it
 * then does: without live nodes it goes at once (its cid and index free
 * again); with some, the cluster.delete job job_id (a new UUID from the
 * caller) is started, the cluster is "deleting" with a Deleting condition
 * naming the job; while one runs, nothing changes and job_id is set to its
 * id. Recorded in the audit trail. */
enum db_result db_clusters_delete(struct db_pool *db, const char *aid, const char *cid,
				  const struct audit_actor *actor, int if_version,
				  char job_id[IDALLOC_UUID_LEN + 1],
				  enum cluster_delete_outcome *outcome)
	__attribute__((warn_unused_result));

#endif
