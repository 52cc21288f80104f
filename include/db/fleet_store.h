/* What the agent gateway keeps in the database about live nodes: their
 * certificates (status and revocations), heartbeats written in batches, and
 * the status transitions online/offline with their conditions, audit entries
 * and the cluster status that follows. Thread safe. */
#ifndef RUNOSD_DB_FLEET_STORE_H
#define RUNOSD_DB_FLEET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "idalloc/ids.h"
#include "util/text.h"

/* A node's certificate as the database knows it. */
struct cert_record {
	bool revoked; /* the certificate, or its node was deleted */
	char cid[4];
	char role[16];
};

/* DB_NOT_FOUND: no such certificate of that node. */
enum db_result db_fleet_cert_lookup(struct db_pool *db, const char *serial, const char *aid,
				    const char *nid, struct cert_record *out)
	__attribute__((warn_unused_result));

/* Serials revoked at or after since_us, each passed to fn; *latest_us is the
 * newest revocation time seen (unchanged when none). */
enum db_result db_fleet_revoked_since(struct db_pool *db, int64_t since_us,
				      void (*fn)(void *arg, const char *serial), void *arg,
				      int64_t *latest_us) __attribute__((warn_unused_result));

/* Records a certificate issued to a live node (renewal). */
enum db_result db_fleet_cert_insert(struct db_pool *db, const char *aid, const char *nid,
				    const char *serial, int64_t not_after_us)
	__attribute__((warn_unused_result));

struct heartbeat {
	char aid[IDALLOC_SHORT_ID_LEN + 1];
	char nid[IDALLOC_SHORT_ID_LEN + 1];
	int64_t at_us;
	char external_ip[64];
	char version[TEXT_BUF(AGENT_VERSION_MAX_CHARS)];
};

/* Writes the last heartbeat of each node in one statement; the nodes of the
 * batch that are not online in the database (marked offline meanwhile, on
 * any instance) are made online again, each as a transition. */
enum db_result db_fleet_write_beats(struct db_pool *db, const struct heartbeat *beats, size_t n)
	__attribute__((warn_unused_result));

/* The node's first good heartbeat since it was offline or new: online, with
 * the Ready condition, an audit entry and its cluster's status, at once.
 * *changed says whether it was not online before. */
enum db_result db_fleet_mark_online(struct db_pool *db, const struct heartbeat *beat, bool *changed)
	__attribute__((warn_unused_result));

/* Every online node without a heartbeat for offline_after seconds goes
 * offline, with its condition, audit entry and cluster status; fn hears of
 * each (aid, nid). */
enum db_result db_fleet_mark_offline(struct db_pool *db, int offline_after,
				     void (*fn)(void *arg, const char *aid, const char *nid),
				     void *arg, int *count) __attribute__((warn_unused_result));

#endif
