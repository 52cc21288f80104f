/* Jobs as users see them (API.md §5): one, a list, their steps ("work
 * items") and step logs, and cancelling. Every function takes the aid the
 * caller may see and filters by it. Thread safe. */
#ifndef RUNOSD_DB_JOBS_STORE_H
#define RUNOSD_DB_JOBS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/audit_store.h"
#include "db/db.h"
#include "idalloc/ids.h"

/* An instruction rendered when its job is made (a service's objects and
 * chart), for step (from 1) of the job; the step queues them in order.
 * sealed_payload, when not NULL, is the payload sealed (crypto_seal bound to
 * "<aid>/jobs/<job id>", JOB_SEALED_AAD_FMT): the queue keeps it sealed and
 * the agent listener opens it when it hands the instruction over. */
struct job_instruction {
	int step;
	const char *type;	    /* APPLY_CR, INSTALL_HELM_CHART, ... */
	const char *payload;	    /* JSON text; NULL: {} */
	const char *sealed_payload; /* NULL: none */
};
#define JOB_SEALED_AAD_FMT "%s/jobs/%s"

/* The number (from 1) of job_type's step named step_name in its plan, 0
 * when it has none: what a renderer puts an instruction's step from. */
int db_job_step_of(const char *job_type, const char *step_name);

struct job {
	char id[IDALLOC_UUID_LEN + 1];
	char aid[IDALLOC_SHORT_ID_LEN + 1];
	char cid[8];
	char type[32];
	char status[16];
	int progress, current_step, attempt;
	char error[512];
	char *result; /* JSON text or NULL; owned */
	char target_type[16], target_id[64];
	int64_t created_us, started_us, completed_us;
};

struct job_step {
	char id[IDALLOC_UUID_LEN + 1];
	char name[64];
	char status[16];
	int step_number;
	char *result; /* JSON text or NULL; owned */
	int64_t created_us, started_us, completed_us;
};

struct step_log {
	int64_t id;
	char level[8];
	char *message; /* owned */
	int64_t created_us;
};

void db_job_finish(struct job *j);

/* The job's aid without filtering: who may see it is decided by the caller
 * from it (a job of another account is then 404). */
enum db_result db_jobs_get(struct db_pool *db, const char *id, struct job *out)
	__attribute__((warn_unused_result));

/* Jobs of aid, newest first, before the cursor (before_us = 0: the newest);
 * cid, status and type filter when not NULL. Free each with db_job_finish. */
enum db_result db_jobs_list(struct db_pool *db, const char *aid, const char *cid,
			    const char *status, const char *type, int64_t before_us,
			    const char *before_id, int limit, struct job **out, size_t *n)
	__attribute__((warn_unused_result));

/* The job's steps in order; free each result, then the array. */
enum db_result db_jobs_steps(struct db_pool *db, const char *job_id, struct job_step **out,
			     size_t *n) __attribute__((warn_unused_result));

/* Log lines of a step of the job after after_id, at most limit. */
enum db_result db_jobs_logs(struct db_pool *db, const char *job_id, const char *step_id,
			    int64_t after_id, int limit, struct step_log **out, size_t *n)
	__attribute__((warn_unused_result));
void db_step_logs_free(struct step_log *logs, size_t n);

/* Cancels: pending instructions at once, leased ones are announced to their
 * agents (heartbeat cancel lists), and the job ends cancelled; what it was
 * doing is put back where that is needed (a cancelled cluster delete gives
 * the cluster back). DB_CONFLICT: already terminal. */
enum db_result db_jobs_cancel(struct db_pool *db, const char *aid, const char *id,
			      const struct audit_actor *actor) __attribute__((warn_unused_result));

#endif
