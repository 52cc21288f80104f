/* Services of a cluster (API.md §6): rows of the catalog's types with their
 * osid, what they require, their sealed credentials, the job that is about
 * them and what their cluster last reported. Every function takes the aid
 * and cid and filters by them. The instructions a job sends are rendered by
 * the caller (server/services/) and stored with the job. Thread safe. */
#ifndef RUNOSD_DB_SERVICES_STORE_H
#define RUNOSD_DB_SERVICES_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/audit_store.h"
#include "db/db.h"
#include "db/jobs_store.h"
#include "idalloc/ids.h"
#include "util/text.h"

#define SERVICE_TYPE_MAX 32
#define SERVICE_OSID_MAX 64
#define SERVICE_JSON_MAX 2048
#define SERVICE_MAX_REQUIRES 4

struct service {
	char id[IDALLOC_SHORT_ID_LEN + 1];
	char type[SERVICE_TYPE_MAX];
	char osid[SERVICE_OSID_MAX];
	char name[TEXT_BUF(NAME_MAX_CHARS)];
	char version[32];
	int replicas;
	int storage_mb; /* 0: stateless */
	char storage_class[SERVICE_OSID_MAX + 16];
	char flags[SERVICE_JSON_MAX];		   /* JSON object text */
	char node_affinity_tags[SERVICE_JSON_MAX]; /* JSON array text */
	char requires[SERVICE_JSON_MAX];	   /* JSON object text: field -> osid */
	char lifecycle[16];			   /* provisioning, installed, failed, deleting */
	char conditions[SERVICE_JSON_MAX]; /* [{type, status, reason, message, lastTransitionUs}] */
	char job_id[IDALLOC_UUID_LEN + 1]; /* "" when none */
	/* The last report of its cluster ("" state: none yet). */
	char reported_state[16];
	int reported_desired, reported_ready;
	char reported_message[TEXT_BUF(512)];
	int64_t reported_us;
	bool reporter_online; /* the node that reported is online now */
	int version_n;	      /* ETag */
	int64_t created_us, updated_us;
};

/* An input naming another service, resolved to its id. */
struct service_requirement {
	const char *field; /* "postgresOsid", or "storageClass" for a Longhorn instance */
	const char *required_id;
};

struct service_create {
	const char *aid, *cid, *id, *type, *name, *version;
	int replicas, storage_mb;
	const char *storage_class; /* NULL for a stateless type */
	const char *flags_json, *affinity_tags_json;
	const char *sealed_credentials;
	const struct service_requirement *requires;
	size_t nrequires;
	const char *job_id;
	const struct audit_actor *actor;
};

enum service_write_outcome {
	SERVICE_WRITTEN,
	SERVICE_CLUSTER_NOT_ACTIVE, /* cluster_status says what it is */
	SERVICE_ID_TAKEN,	    /* create: draw another id */
	SERVICE_NAME_TAKEN,
	SERVICE_REQUIRED_GONE,	/* a required service went or is being deleted */
	SERVICE_BUSY,		/* its lifecycle does not allow it now (busy_job: the job) */
	SERVICE_HAS_DEPENDENTS, /* delete: others require it (dependents) */
};

struct service_write_result {
	enum service_write_outcome outcome;
	char cluster_status[16];
	char busy_job[IDALLOC_UUID_LEN + 1];
	char dependents[SERVICE_JSON_MAX]; /* [{type, id, name}] */
	const char *gone_field;		   /* SERVICE_REQUIRED_GONE: which input */
};

/* Inserts the service (provisioning), what it requires, its service.create
 * job with the rendered instructions and an audit entry, and starts the job;
 * in one transaction, under a share lock of the cluster (which must be
 * active) and of each required service (which must not be deleting).
 * DB_CONFLICT with result->outcome SERVICE_NAME_TAKEN or SERVICE_ID_TAKEN
 * (nothing written); the other outcomes come with DB_OK. */
enum db_result db_services_create(struct db_pool *db, const struct service_create *in,
				  const struct job_instruction *list, size_t n, struct service *out,
				  struct service_write_result *result)
	__attribute__((warn_unused_result));

enum db_result db_services_get(struct db_pool *db, const char *aid, const char *cid, const char *id,
			       struct service *out) __attribute__((warn_unused_result));

/* By osid (a requires input), with its sealed credentials (to free). */
enum db_result db_services_find_osid(struct db_pool *db, const char *aid, const char *cid,
				     const char *osid, struct service *out, char **credentials)
	__attribute__((warn_unused_result));

/* The cluster's Longhorn instances not being deleted, oldest first, at most
 * max: their osids in out. */
enum db_result db_services_longhorns(struct db_pool *db, const char *aid, const char *cid,
				     char (*out)[SERVICE_OSID_MAX], size_t max, size_t *n)
	__attribute__((warn_unused_result));

/* By creation after the cursor, at most limit; type filters when not NULL.
 * *out (to free) holds *n. */
enum db_result db_services_list(struct db_pool *db, const char *aid, const char *cid,
				const char *type, int64_t after_us, const char *after_id, int limit,
				struct service **out, size_t *n)
	__attribute__((warn_unused_result));

/* A change of replicas, version or storage (the caller checked them) with
 * its service.update job: only at if_version when not 0 (else DB_CONFLICT),
 * and only while the service is installed or failed (else SERVICE_BUSY). */
struct service_change {
	const char *aid, *cid, *id;
	int if_version;
	int replicas, storage_mb;
	const char *version;
	const char *job_id;
	const struct audit_actor *actor;
};
enum db_result db_services_update(struct db_pool *db, const struct service_change *in,
				  const struct job_instruction *list, size_t n, struct service *out,
				  struct service_write_result *result)
	__attribute__((warn_unused_result));

/* Starts its service.delete job (the service is "deleting" until the job
 * removes it), unless other services require it (SERVICE_HAS_DEPENDENTS) or
 * it is being deleted already (SERVICE_BUSY); if_version as for update. */
enum db_result db_services_delete(struct db_pool *db, const char *aid, const char *cid,
				  const char *id, int if_version, const char *job_id,
				  const struct audit_actor *actor,
				  const struct job_instruction *list, size_t n,
				  struct service_write_result *result)
	__attribute__((warn_unused_result));

/* Its sealed credentials (to free), read with an audit entry. */
enum db_result db_services_credentials_read(struct db_pool *db, const char *aid, const char *cid,
					    const char *id, const struct audit_actor *actor,
					    char **sealed) __attribute__((warn_unused_result));

/* Keeps new sealed credentials as pending and starts the rotation job, which
 * makes them the service's when it succeeds; SERVICE_BUSY unless installed. */
enum db_result db_services_rotate(struct db_pool *db, const char *aid, const char *cid,
				  const char *id, const char *pending_sealed, const char *job_id,
				  const struct audit_actor *actor,
				  const struct job_instruction *list, size_t n,
				  struct service_write_result *result)
	__attribute__((warn_unused_result));

#endif
