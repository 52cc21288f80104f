/* Apps of a cluster (API.md §7, docs/apps.md): their settings, sealed access
 * token and webhook secret, plain and sealed env var sets, the services they
 * require, their deployments and custom domains. Every function takes the
 * aid and cid and filters by them. Writes that start a job take it rendered
 * (struct job_instruction) and commit it with the row, its audit entry and
 * its first move, as services_store.h does; job_id NULL writes no job.
 * Secrets arrive and leave sealed: this store never sees a plain one.
 * Thread safe. */
#ifndef RUNOSD_DB_APPS_STORE_H
#define RUNOSD_DB_APPS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/audit_store.h"
#include "db/db.h"
#include "db/jobs_store.h"
#include "idalloc/ids.h"
#include "util/text.h"

#define APP_ROW_MAX_PORTS 8
#define APP_ROW_OSID_MAX 16 /* app-<id> */
#define APP_ROW_DNS_NAME_MAX 51
#define APP_ROW_URL_MAX 160
#define APP_ROW_PATH_CHARS 255
#define APP_ROW_HEALTH_PATH_CHARS 1024
#define APP_ROW_DIGEST_MAX 72 /* sha256:<64 hex> */
#define APP_ROW_IMAGE_TAG_MAX 400
#define APP_ROW_FQDN_MAX 254
#define APP_ROW_KEY_MAX 256 /* an env var key and its NUL */
/* The Deployment's image digest of a deploy rendered before its build: the
 * rollout step puts the built one in (job_steps_store.c, apps/render.h). */
#define APP_IMAGE_DIGEST_PLACEHOLDER "{{imageDigest}}"
/* The tag of a branch head's build until it says which commit it built:
 * the agent puts the sha in (docs/agent.md), so does the built step. */
#define APP_IMAGE_SHA_PLACEHOLDER "{sha}"

struct app {
	char id[IDALLOC_SHORT_ID_LEN + 1];
	char osid[APP_ROW_OSID_MAX];
	char name[TEXT_BUF(NAME_MAX_CHARS)];
	char dns_name[APP_ROW_DNS_NAME_MAX + 1];
	char repo_url[APP_ROW_URL_MAX];
	char repo_branch[TEXT_BUF(APP_ROW_PATH_CHARS)];
	int ports[APP_ROW_MAX_PORTS];
	size_t nports;
	int replicas;
	char build_method[16];
	char dockerfile[TEXT_BUF(APP_ROW_PATH_CHARS)];
	char source_dir[TEXT_BUF(APP_ROW_PATH_CHARS)];
	char health_check_path[TEXT_BUF(APP_ROW_HEALTH_PATH_CHARS)]; /* "": no probes */
	int health_check_port;					     /* 0: the first port */
	int cpu_request_mc, memory_request_mb, cpu_limit_mc, memory_limit_mb; /* 0: none */
	char deployment_strategy[16];
	bool has_access_token;
	char lifecycle[16];		   /* active, deleting */
	char job_id[IDALLOC_UUID_LEN + 1]; /* "" when none */
	char reported_state[16];	   /* "": no report yet */
	int reported_desired, reported_ready;
	char reported_message[TEXT_BUF(512)];
	int64_t reported_us;
	int version_n; /* ETag */
	int64_t created_us, updated_us;
};

/* What an app requires: a service of its cluster under an alias, and the
 * JSON object text of credential field -> env var key it injects. */
struct app_requirement {
	const char *alias;
	const char *service_id;
	const char *env_json;
};

/* A custom domain of a port, with the token of its TXT challenge. */
struct app_domain_input {
	const char *fqdn; /* normalised (apps/domains.h) */
	int port;
	const char *verification_token;
};

/* The settings of an app as a create or an update writes them; NULL and 0
 * members are "none" (no probes, no resources, no access token). */
struct app_fields {
	const char *name, *dns_name, *repo_url, *repo_branch;
	const int *ports;
	size_t nports;
	int replicas;
	const char *build_method, *dockerfile, *source_dir;
	const char *health_check_path;
	int health_check_port;
	int cpu_request_mc, memory_request_mb, cpu_limit_mc, memory_limit_mb;
	const char *deployment_strategy;
};

/* A job started with a write, and the deployment it makes (deployment_id
 * NULL: none, as for a delete). */
struct app_job {
	const char *action; /* the audit entry's: app.create, app.deploy, ... */
	const struct audit_actor *actor;
	const char *job_id; /* NULL: no job */
	const char *type;   /* app.deploy, app.build, app.update, app.delete, ... */
	const struct job_instruction *list;
	size_t n;
	const char *deployment_id;
	const char *trigger;	 /* api, webhook, rollback */
	const char *sha;	 /* NULL: the branch head, known once built */
	const char *rollback_of; /* a rollback: the deployment whose image it applies */
	/* What the build pushes (a deploy): "<repository>:<sha>", or with the
	 * sha placeholder of apps/render.h until the build says which. */
	const char *image_tag;
};

struct app_create {
	const char *aid, *cid, *id;
	struct app_fields fields;
	const char *sealed_access_token; /* NULL: a public repository */
	const char *sealed_webhook_secret;
	const struct app_requirement *requires;
	size_t nrequires;
	const struct app_domain_input *domains;
	size_t ndomains;
	struct app_job job;
};

enum app_write_outcome {
	APP_WRITTEN,
	APP_CLUSTER_NOT_ACTIVE, /* cluster_status says what it is */
	APP_ID_TAKEN,		/* create: draw another id (DB_CONFLICT) */
	APP_NAME_TAKEN,		/* DB_CONFLICT */
	APP_DOMAIN_TAKEN,	/* a custom domain is another app's (DB_CONFLICT; taken) */
	APP_REQUIRED_GONE,	/* a required service is gone or being deleted (gone_alias) */
	APP_BUSY,		/* being deleted (busy_job: its job) */
	APP_KEY_TAKEN,		/* env: a key is in the other set or injected (taken) */
	APP_NOT_SUCCEEDED,	/* rollback: that deployment did not succeed */
};

struct app_write_result {
	enum app_write_outcome outcome;
	char cluster_status[16];
	char busy_job[IDALLOC_UUID_LEN + 1];
	char taken[APP_ROW_FQDN_MAX + 1]; /* the fqdn or env var key */
	char taken_by[80];		  /* APP_KEY_TAKEN: "secretEnvVars", "requires.<alias>" */
	const char *gone_alias;
	/* Deployments a new one superseded (their jobs are cancelled). */
	int superseded;
};

/* Inserts the app, what it requires, its custom domains, its job and first
 * deployment and an audit entry, in one transaction, under a share lock of
 * the cluster (which must be active) and of each required service (which
 * must not be deleting). DB_CONFLICT with APP_ID_TAKEN, APP_NAME_TAKEN or
 * APP_DOMAIN_TAKEN writes nothing; other outcomes come with DB_OK. */
enum db_result db_apps_create(struct db_pool *db, const struct app_create *in, struct app *out,
			      struct app_write_result *result) __attribute__((warn_unused_result));

enum db_result db_apps_get(struct db_pool *db, const char *aid, const char *cid, const char *id,
			   struct app *out) __attribute__((warn_unused_result));

/* By creation after the cursor (after_us 0: from the first), at most limit;
 * *out (to free) holds *n. */
enum db_result db_apps_list(struct db_pool *db, const char *aid, const char *cid, int64_t after_us,
			    const char *after_id, int limit, struct app **out, size_t *n)
	__attribute__((warn_unused_result));

/* The sealed webhook secret (to free) of an app found by its id alone (the
 * webhook path), with its aid and cid; DB_NOT_FOUND for none or one being
 * deleted. */
enum db_result db_apps_webhook_lookup(struct db_pool *db, const char *id, char aid[8], char cid[8],
				      struct app *out, char **sealed_secret)
	__attribute__((warn_unused_result));

/* The sealed access token (to free; NULL when none) for a build. */
enum db_result db_apps_access_token(struct db_pool *db, const char *aid, const char *cid,
				    const char *id, char **sealed)
	__attribute__((warn_unused_result));

/* Replaces the settings (the caller merged and checked them) and, when
 * sealed_access_token is not NULL, the access token; starts job when given.
 * Only at if_version when not 0 (else DB_CONFLICT), only while active (else
 * APP_BUSY). */
struct app_change {
	const char *aid, *cid, *id;
	int if_version;
	struct app_fields fields;
	const char *sealed_access_token;
	struct app_job job;
};
enum db_result db_apps_update(struct db_pool *db, const struct app_change *in, struct app *out,
			      struct app_write_result *result) __attribute__((warn_unused_result));

/* A new sealed webhook secret (rotation), with an audit entry
 * (app.webhook_secret.rotate); DB_NOT_FOUND when being deleted. */
enum db_result db_apps_webhook_rotate(struct db_pool *db, const char *aid, const char *cid,
				      const char *id, const char *sealed_secret,
				      const struct audit_actor *actor)
	__attribute__((warn_unused_result));

/* Starts the delete job (the app is "deleting" until the job removes it
 * with db_apps_remove); APP_BUSY when being deleted already; if_version as
 * for update. Open deployments are cancelled. */
enum db_result db_apps_delete(struct db_pool *db, const char *aid, const char *cid, const char *id,
			      int if_version, const struct app_job *job,
			      struct app_write_result *result) __attribute__((warn_unused_result));

/* The app's row and everything of it gone (its delete job's last step). */
enum db_result db_apps_remove(struct db_pool *db, const char *aid, const char *cid, const char *id)
	__attribute__((warn_unused_result));

/* One env var: the value plain (env vars) or sealed (secret env vars). */
struct app_env_var {
	const char *key;
	const char *value;
};

/* Replaces the app's plain (secret false) or secret env var set with vars,
 * and starts job when given; refused with APP_KEY_TAKEN when a key is in the
 * other set or injected by requires (checked under the app's lock, so two
 * writes of the sets cannot both take one key). */
enum db_result db_apps_env_replace(struct db_pool *db, const char *aid, const char *cid,
				   const char *id, bool secret, const struct app_env_var *vars,
				   size_t n, const struct app_job *job,
				   struct app_write_result *result)
	__attribute__((warn_unused_result));

/* A set read back, by key: values plain or sealed. Free with
 * db_app_env_free. */
struct app_env_row {
	char key[APP_ROW_KEY_MAX];
	char *value;
};
enum db_result db_apps_env_list(struct db_pool *db, const char *aid, const char *cid,
				const char *id, bool secret, struct app_env_row **out, size_t *n)
	__attribute__((warn_unused_result));
void db_app_env_free(struct app_env_row *rows, size_t n);

/* What the app requires, by alias: the service's id, osid and type and the
 * env object text. */
struct app_require_row {
	char alias[64];
	char service_id[IDALLOC_SHORT_ID_LEN + 1];
	char service_osid[64];
	char service_type[32];
	char env_json[1024];
};
enum db_result db_apps_requires(struct db_pool *db, const char *aid, const char *cid,
				const char *id, struct app_require_row **out, size_t *n)
	__attribute__((warn_unused_result));

struct app_deployment {
	char id[IDALLOC_UUID_LEN + 1];
	char job_id[IDALLOC_UUID_LEN + 1];
	char sha[41];
	char image_tag[APP_ROW_IMAGE_TAG_MAX];
	char image_digest[APP_ROW_DIGEST_MAX];
	char status[16];
	char trigger[16];
	char rollback_of[IDALLOC_UUID_LEN + 1];
	char message[TEXT_BUF(512)];
	int64_t created_us, rollout_us, finished_us; /* 0: not yet */
};

/* Starts a deploy: the deployment (pending) of job (deployment_id and
 * trigger set), its job and audit entry; older deployments of the app that
 * have not started their rollout (pending, building) become superseded and
 * their jobs are cancelled (result->superseded counts them). A rollback
 * (job->rollback_of) copies that deployment's sha, tag and digest, and is
 * refused with APP_NOT_SUCCEEDED unless it succeeded (DB_NOT_FOUND when it
 * is not the app's). APP_BUSY while the app is being deleted. */
enum db_result db_apps_deploy(struct db_pool *db, const char *aid, const char *cid, const char *id,
			      const struct app_job *job, struct app_write_result *result)
	__attribute__((warn_unused_result));

/* Starts job (no deployment: a build alone) with its audit entry, under the
 * app's lock; APP_BUSY while the app is being deleted. */
enum db_result db_apps_start_job(struct db_pool *db, const char *aid, const char *cid,
				 const char *id, const struct app_job *job,
				 struct app_write_result *result)
	__attribute__((warn_unused_result));

/* Newest first, before the cursor (before_us 0: the newest), at most limit;
 * *out (to free) holds *n. */
enum db_result db_app_deployments_list(struct db_pool *db, const char *aid, const char *cid,
				       const char *app_id, int64_t before_us, const char *before_id,
				       int limit, struct app_deployment **out, size_t *n)
	__attribute__((warn_unused_result));

enum db_result db_app_deployments_get(struct db_pool *db, const char *aid, const char *cid,
				      const char *app_id, const char *id,
				      struct app_deployment *out)
	__attribute__((warn_unused_result));

/* Moves a deployment on: pending -> building -> deploying -> succeeded or
 * failed, and any open one to cancelled or failed. sha, image_tag,
 * image_digest and message are set when not NULL. A deployment that ended
 * (succeeded, failed, superseded, cancelled) or a move backwards is
 * DB_CONFLICT: a late report cannot revive it. */
struct app_deployment_move {
	const char *status;
	const char *sha, *image_tag, *image_digest, *message;
};
enum db_result db_app_deployments_move(struct db_pool *db, const char *aid, const char *cid,
				       const char *app_id, const char *id,
				       const struct app_deployment_move *move)
	__attribute__((warn_unused_result));

#endif
