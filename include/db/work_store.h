/* The instruction queue as agents see it (AGENT.md §5): claiming leased
 * instructions, replies fenced by attempt, progress that extends the lease
 * and lands in the step's log, running lists from heartbeats, and the sweep
 * that redelivers or fails expired leases. Every call takes the node's aid
 * and nid (from its certificate) and touches only its instructions. Thread
 * safe. */
#ifndef RUNOSD_DB_WORK_STORE_H
#define RUNOSD_DB_WORK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "idalloc/ids.h"

#define WORK_MAX_ATTEMPTS 3

struct instruction {
	char tag[IDALLOC_UUID_LEN + 1];
	char type[64];
	char *payload;	      /* JSON text, owned */
	char *sealed_payload; /* owned; NULL: none. When set, the payload is this
			       * opened (JOB_SEALED_AAD_FMT, db/jobs_store.h) */
	char job_id[IDALLOC_UUID_LEN + 1];
	int attempt;
	int64_t lease_expires_us;
	int64_t seq;
};

void db_instructions_free(struct instruction *list, size_t n);

/* A NOTIFY on runos_work with keys ("aid/nid" separated by spaces), on its
 * own: the wake-up publisher's way when Redis does not answer. */
enum db_result db_work_notify(struct db_pool *db, const char *keys)
	__attribute__((warn_unused_result));

/* Leases up to max of the node's due instructions, in queue order, for
 * lease_seconds; *out (free with db_instructions_free) holds *n. */
enum db_result db_work_claim(struct db_pool *db, const char *aid, const char *nid, int max,
			     int lease_seconds, struct instruction **out, size_t *n)
	__attribute__((warn_unused_result));

/* A reply to attempt of the instruction tag: it completes (or fails, for an
 * ERROR reply) and its job moves on. DB_CONFLICT: not leased to this node at
 * that attempt (stale, answered, or someone else's). reply_json may be NULL. */
enum db_result db_work_reply(struct db_pool *db, const char *aid, const char *nid, const char *tag,
			     int attempt, const char *reply_type, const char *reply_json,
			     const char *error) __attribute__((warn_unused_result));

/* Progress of attempt: the lease is extended by lease_seconds and message
 * (already masked) goes to the step's log; progress (0-100, or -1) to the
 * job. DB_CONFLICT as for a reply. */
enum db_result db_work_progress(struct db_pool *db, const char *aid, const char *nid,
				const char *tag, int attempt, int lease_seconds, const char *level,
				const char *message, int progress)
	__attribute__((warn_unused_result));

/* A heartbeat's running tags (JSON array text): their leases are extended;
 * the tags among them whose job was cancelled go to fn. */
enum db_result db_work_running(struct db_pool *db, const char *aid, const char *nid,
			       const char *tags_json, int lease_seconds,
			       void (*fn)(void *arg, const char *tag), void *arg)
	__attribute__((warn_unused_result));

/* Expired leases: back to pending with a backoff (1 s, then 20 s, then 60 s),
 * or failed (agent_lost) after WORK_MAX_ATTEMPTS, their jobs moved on; jobs
 * left waiting with nothing open are moved on too. fn hears "aid/nid" of
 * every node with instructions that became due since since_us (redeliveries
 * after their backoff), to wake its poll. */
enum db_result db_work_sweep(struct db_pool *db, int64_t since_us,
			     void (*fn)(void *arg, const char *key), void *arg)
	__attribute__((warn_unused_result));

#endif
