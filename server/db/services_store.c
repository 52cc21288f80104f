/* SQL for services (see include/db/services_store.h). A service and its job
 * are written in one transaction: the row, what it requires, the job with
 * its rendered instructions and the audit entry commit together or not at
 * all. Concurrent writes stay apart by row locks: a create holds a share
 * lock of its cluster and of each service it requires, a delete an update
 * lock of its service, so a service cannot lose what it requires between
 * the check and the commit. */
#include "db/services_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

/* clang-format off */
#define SERVICE_COLUMNS \
	"s.id, s.type, s.osid, s.name, s.version, s.replicas, coalesce(s.storage_mb, 0)," \
	" coalesce(s.storage_class, ''), s.flags::text, s.node_affinity_tags::text," \
	" (SELECT coalesce(json_object_agg(r.field, q.osid), '{}') FROM service_requires r" \
	"  JOIN services q ON q.aid = r.aid AND q.cid = r.cid AND q.id = r.required_id" \
	"  WHERE r.aid = s.aid AND r.cid = s.cid AND r.id = s.id AND r.field <> 'storageClass')::text," \
	" s.lifecycle, s.conditions::text, coalesce(s.job_id::text, ''), coalesce(s.reported_state, '')," \
	" coalesce(s.reported_desired, 0), coalesce(s.reported_ready, 0)," \
	" coalesce(s.reported_message, ''), coalesce(" DB_US("s.reported_at") ", 0)," \
	" coalesce((SELECT n.status = 'online' FROM nodes n WHERE n.aid = s.aid" \
	"  AND n.nid = s.reported_by AND n.deleted_at IS NULL), false)," \
	" s.version_n, " DB_US("s.created_at") ", " DB_US("s.updated_at")
/* A condition of type $ctype set (replacing one of that type) in conditions. */
#define SET_CONDITION(ctype, status, reason, message) \
	"(SELECT coalesce(jsonb_agg(c), '[]') FROM jsonb_array_elements(conditions) c" \
	" WHERE c->>'type' <> " ctype ") || jsonb_build_array(jsonb_build_object('type', " ctype \
	", 'status', " status ", 'reason', " reason ", 'message', " message ", 'lastTransitionUs'," \
	" (extract(epoch from now()) * 1000000)::int8))"
/* clang-format on */

static const struct db_stmt stmt_get = { "services_get",
					 "SELECT " SERVICE_COLUMNS " FROM services s"
					 " WHERE s.aid = $1 AND s.cid = $2 AND s.id = $3" };
static const struct db_stmt stmt_find_osid = { "services_find_osid",
					       "SELECT " SERVICE_COLUMNS
					       ", s.credentials FROM services s"
					       " WHERE s.aid = $1 AND s.cid = $2 AND s.osid = $3" };
static const struct db_stmt stmt_longhorns = {
	"services_longhorns", "SELECT osid FROM services WHERE aid = $1 AND cid = $2"
			      " AND type = 'longhorn' AND lifecycle <> 'deleting'"
			      " ORDER BY created_at, id LIMIT $3"
};
static const struct db_stmt stmt_list = {
	"services_list",
	"SELECT " SERVICE_COLUMNS " FROM services s WHERE s.aid = $1 AND s.cid = $2"
	" AND ($3::text IS NULL OR s.type = $3) AND (s.created_at, s.id) > (" DB_TS(
		"$4") ", $5)"
		      " ORDER BY s.created_at, s.id LIMIT $6"
};
static const struct db_stmt stmt_lock_required = {
	"services_lock_required", "SELECT lifecycle FROM services WHERE aid = $1 AND cid = $2"
				  " AND id = $3 FOR SHARE"
};
static const struct db_stmt stmt_insert = {
	"services_insert",
	"INSERT INTO services (aid, cid, id, type, name, version, replicas, storage_mb,"
	" storage_class, flags, node_affinity_tags, credentials, job_id)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7::int, nullif($8::int, 0), $9, $10::jsonb, $11::jsonb,"
	" $12, $13) ON CONFLICT (aid, cid, id) DO NOTHING RETURNING id"
};
static const struct db_stmt stmt_insert_require = {
	"services_insert_require", "INSERT INTO service_requires (aid, cid, id, field, required_id)"
				   " VALUES ($1, $2, $3, $4, $5)"
};
static const struct db_stmt stmt_lock = {
	"services_lock", "SELECT lifecycle, version_n, coalesce(job_id::text, ''), osid"
			 " FROM services WHERE aid = $1 AND cid = $2 AND id = $3 FOR UPDATE"
};
static const struct db_stmt stmt_update = {
	"services_update",
	"UPDATE services SET version = $4, replicas = $5::int, storage_mb = nullif($6::int, 0),"
	" job_id = $7, version_n = version_n + 1, updated_at = now()"
	" WHERE aid = $1 AND cid = $2 AND id = $3"
};
/* Services and apps (type "app") that require it. */
static const struct db_stmt stmt_dependents = {
	"services_dependents",
	"SELECT coalesce(json_agg(json_build_object('type', d.type, 'id', d.id, 'name', d.name)"
	" ORDER BY d.created_at), '[]')::text, count(*) FROM ("
	" SELECT s.type, s.id, s.name, s.created_at FROM service_requires r JOIN services s"
	" ON s.aid = r.aid AND s.cid = r.cid AND s.id = r.id"
	" WHERE r.aid = $1 AND r.cid = $2 AND r.required_id = $3"
	" UNION ALL SELECT 'app', a.id, a.name, a.created_at FROM app_requires q JOIN apps a"
	" ON a.aid = q.aid AND a.cid = q.cid AND a.id = q.app_id"
	" WHERE q.aid = $1 AND q.cid = $2 AND q.service_id = $3) d"
};
static const struct db_stmt stmt_deleting = {
	"services_deleting",
	"UPDATE services SET prior_lifecycle = lifecycle, lifecycle = 'deleting', job_id = $4,"
	" version_n = version_n + 1, updated_at = now() WHERE aid = $1 AND cid = $2 AND id = $3"
};
static const struct db_stmt stmt_credentials = {
	"services_credentials", "SELECT credentials, osid FROM services WHERE aid = $1 AND cid = $2"
				" AND id = $3"
};
static const struct db_stmt stmt_rotating = {
	"services_rotating", "UPDATE services SET pending_credentials = $4, job_id = $5,"
			     " updated_at = now() WHERE aid = $1 AND cid = $2 AND id = $3"
};
static const struct db_stmt stmt_job_failure = {
	"services_job_failure",
	"SELECT j.type, coalesce((SELECT name FROM job_steps WHERE job_id = j.id"
	" AND status = 'failed' ORDER BY step_number LIMIT 1), '') FROM jobs j WHERE j.id = $1"
};
/* A stopped job's service: a create that did not finish is failed, a delete
 * goes back to what the service was, a rotation keeps the old credentials. */
static const struct db_stmt stmt_stopped = {
	"services_stopped",
	"UPDATE services SET lifecycle = CASE lifecycle WHEN 'provisioning' THEN 'failed'"
	" WHEN 'deleting' THEN coalesce(prior_lifecycle, 'failed') ELSE lifecycle END,"
	" pending_credentials = NULL, updated_at = now(), conditions = " SET_CONDITION(
		"$4::text", "'True'", "$5::text",
		"$6::text") " WHERE aid = $1 AND cid = $2 AND job_id = $3"
};

static void read_service(const PGresult *res, int row, struct service *out)
{
	memset(out, 0, sizeof(*out));
	db_get_text(res, row, 0, out->id, sizeof(out->id));
	db_get_text(res, row, 1, out->type, sizeof(out->type));
	db_get_text(res, row, 2, out->osid, sizeof(out->osid));
	db_get_text(res, row, 3, out->name, sizeof(out->name));
	db_get_text(res, row, 4, out->version, sizeof(out->version));
	out->replicas = (int)db_get_int64(res, row, 5);
	out->storage_mb = (int)db_get_int64(res, row, 6);
	db_get_text(res, row, 7, out->storage_class, sizeof(out->storage_class));
	/* JSON text whole or not at all: cut JSON would not parse. */
	char *json[] = { out->flags, out->node_affinity_tags, out->requires, NULL,
			 out->conditions };
	const char *empty[] = { "{}", "[]", "{}", NULL, "[]" };
	for (int i = 0; i < 5; i++) {
		int col = i < 3 ? 8 + i : 12;
		if (!json[i])
			continue;
		if (strlen(PQgetvalue(res, row, col)) < SERVICE_JSON_MAX)
			db_get_text(res, row, col, json[i], SERVICE_JSON_MAX);
		else
			snprintf(json[i], SERVICE_JSON_MAX, "%s", empty[i]);
	}
	db_get_text(res, row, 11, out->lifecycle, sizeof(out->lifecycle));
	db_get_text(res, row, 13, out->job_id, sizeof(out->job_id));
	db_get_text(res, row, 14, out->reported_state, sizeof(out->reported_state));
	out->reported_desired = (int)db_get_int64(res, row, 15);
	out->reported_ready = (int)db_get_int64(res, row, 16);
	db_get_text(res, row, 17, out->reported_message, sizeof(out->reported_message));
	out->reported_us = db_get_int64(res, row, 18);
	out->reporter_online = db_get_bool(res, row, 19);
	out->version_n = (int)db_get_int64(res, row, 20);
	out->created_us = db_get_int64(res, row, 21);
	out->updated_us = db_get_int64(res, row, 22);
}

/* Takes the result by address (as clusters_store.c's one_cluster). */
static enum db_result one_service(enum db_result r, PGresult **resp, struct service *out)
{
	if (r != DB_OK)
		return r;
	PGresult *res = *resp;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK && out)
		read_service(res, 0, out);
	PQclear(res);
	return r;
}

static enum db_result get_in(struct db_conn *c, const char *aid, const char *cid, const char *id,
			     struct service *out)
{
	const char *params[] = { aid, cid, id };
	PGresult *res;
	return one_service(db_exec(c, &stmt_get, 3, params, &res), &res, out);
}

enum db_result db_services_get(struct db_pool *db, const char *aid, const char *cid, const char *id,
			       struct service *out)
{
	const char *params[] = { aid, cid, id };
	PGresult *res;
	return one_service(db_query(db, &stmt_get, 3, params, &res), &res, out);
}

enum db_result db_services_find_osid(struct db_pool *db, const char *aid, const char *cid,
				     const char *osid, struct service *out, char **credentials)
{
	*credentials = NULL;
	const char *params[] = { aid, cid, osid };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_find_osid, 3, params, &res);
	if (r != DB_OK)
		return r;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK) {
		read_service(res, 0, out);
		*credentials = xstrdup(PQgetvalue(res, 0, 23));
	}
	PQclear(res);
	return r;
}

enum db_result db_services_longhorns(struct db_pool *db, const char *aid, const char *cid,
				     char (*out)[SERVICE_OSID_MAX], size_t max, size_t *n)
{
	*n = 0;
	char max_buf[24];
	const char *params[] = { aid, cid, db_int64_param((int64_t)max, max_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_longhorns, 3, params, &res);
	if (r != DB_OK)
		return r;
	for (int i = 0; i < PQntuples(res) && (size_t)i < max; i++)
		db_get_text(res, i, 0, out[(*n)++], SERVICE_OSID_MAX);
	PQclear(res);
	return DB_OK;
}

enum db_result db_services_list(struct db_pool *db, const char *aid, const char *cid,
				const char *type, int64_t after_us, const char *after_id, int limit,
				struct service **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char after_buf[24], limit_buf[24];
	const char *params[] = { aid,
				 cid,
				 type,
				 db_int64_param(after_us, after_buf),
				 after_id ? after_id : "",
				 db_int64_param(limit, limit_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_list, 6, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++)
		read_service(res, i, &(*out)[i]);
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

struct create_args {
	const struct service_create *in;
	const struct job_instruction *list;
	size_t n;
	struct service *out;
	struct service_write_result *result;
};

static enum db_result create_tx(struct db_conn *c, void *arg)
{
	struct create_args *a = arg;
	const struct service_create *in = a->in;
	PGresult *res;
	enum db_result r = db_cluster_share_lock(c, in->aid, in->cid, a->result->cluster_status,
						 sizeof(a->result->cluster_status));
	if (r != DB_OK)
		return r;
	if (strcmp(a->result->cluster_status, "active") != 0) {
		a->result->outcome = SERVICE_CLUSTER_NOT_ACTIVE;
		return DB_OK;
	}
	for (size_t i = 0; i < in->nrequires; i++) {
		const char *params[] = { in->aid, in->cid, in->requires[i].required_id };
		if ((r = db_exec(c, &stmt_lock_required, 3, params, &res)) != DB_OK)
			return r;
		bool live = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "deleting") != 0;
		PQclear(res);
		if (!live) {
			a->result->outcome = SERVICE_REQUIRED_GONE;
			a->result->gone_field = in->requires[i].field;
			return DB_OK;
		}
	}
	char replicas[24], storage[24];
	const char *params[] = { in->aid,
				 in->cid,
				 in->id,
				 in->type,
				 in->name,
				 in->version,
				 db_int64_param(in->replicas, replicas),
				 db_int64_param(in->storage_mb, storage),
				 in->storage_class,
				 in->flags_json ? in->flags_json : "{}",
				 in->affinity_tags_json ? in->affinity_tags_json : "[]",
				 in->sealed_credentials,
				 in->job_id };
	r = db_exec(c, &stmt_insert, 13, params, &res);
	/* Both roll back (DB_CONFLICT): the name's unique index failed the
	 * statement, or another service has the id drawn. */
	if (r == DB_CONFLICT) {
		a->result->outcome = SERVICE_NAME_TAKEN;
		return DB_CONFLICT;
	}
	if (r != DB_OK)
		return r;
	bool inserted = PQntuples(res) == 1;
	PQclear(res);
	if (!inserted) {
		a->result->outcome = SERVICE_ID_TAKEN;
		return DB_CONFLICT;
	}
	for (size_t i = 0; i < in->nrequires; i++) {
		const char *req[] = { in->aid, in->cid, in->id, in->requires[i].field,
				      in->requires[i].required_id };
		if ((r = db_exec(c, &stmt_insert_require, 5, req, NULL)) != DB_OK)
			return r;
	}
	if ((r = db_job_insert_rendered(c, in->job_id, in->aid, in->cid, "service.create",
					"service", in->id, in->actor->id, a->list, a->n)) !=
		    DB_OK ||
	    (r = db_audit_insert(c, in->aid, in->actor, "service.create", "service", in->id)) !=
		    DB_OK ||
	    (r = db_job_advance(c, in->job_id)) != DB_OK)
		return r;
	a->result->outcome = SERVICE_WRITTEN;
	return get_in(c, in->aid, in->cid, in->id, a->out);
}

enum db_result db_services_create(struct db_pool *db, const struct service_create *in,
				  const struct job_instruction *list, size_t n, struct service *out,
				  struct service_write_result *result)
{
	memset(result, 0, sizeof(*result));
	struct create_args args = { in, list, n, out, result };
	return db_transaction(db, create_tx, &args);
}

/* The service locked for a change: DB_NOT_FOUND, DB_CONFLICT (if_version),
 * else *lifecycle and the job about it in result->busy_job. */
static enum db_result lock_service(struct db_conn *c, const char *aid, const char *cid,
				   const char *id, int if_version, char lifecycle[16],
				   struct service_write_result *result)
{
	const char *params[] = { aid, cid, id };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_lock, 3, params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	db_get_text(res, 0, 0, lifecycle, 16);
	int version = (int)db_get_int64(res, 0, 1);
	db_get_text(res, 0, 2, result->busy_job, sizeof(result->busy_job));
	PQclear(res);
	return if_version != 0 && if_version != version ? DB_CONFLICT : DB_OK;
}

/* The job of a write, its audit entry, and its first move. */
static enum db_result start_job(struct db_conn *c, const char *aid, const char *cid, const char *id,
				const char *job_type, const char *job_id,
				const struct audit_actor *actor, const char *action,
				const struct job_instruction *list, size_t n)
{
	enum db_result r;
	if ((r = db_job_insert_rendered(c, job_id, aid, cid, job_type, "service", id, actor->id,
					list, n)) != DB_OK ||
	    (r = db_audit_insert(c, aid, actor, action, "service", id)) != DB_OK)
		return r;
	return db_job_advance(c, job_id);
}

struct update_args {
	const struct service_change *in;
	const struct job_instruction *list;
	size_t n;
	struct service *out;
	struct service_write_result *result;
};

static enum db_result update_tx(struct db_conn *c, void *arg)
{
	struct update_args *a = arg;
	const struct service_change *in = a->in;
	char lifecycle[16];
	enum db_result r =
		lock_service(c, in->aid, in->cid, in->id, in->if_version, lifecycle, a->result);
	if (r != DB_OK)
		return r;
	if (strcmp(lifecycle, "installed") != 0 && strcmp(lifecycle, "failed") != 0) {
		a->result->outcome = SERVICE_BUSY;
		return DB_OK;
	}
	char replicas[24], storage[24];
	const char *params[] = { in->aid,
				 in->cid,
				 in->id,
				 in->version,
				 db_int64_param(in->replicas, replicas),
				 db_int64_param(in->storage_mb, storage),
				 in->job_id };
	if ((r = db_exec(c, &stmt_update, 7, params, NULL)) != DB_OK ||
	    (r = start_job(c, in->aid, in->cid, in->id, "service.update", in->job_id, in->actor,
			   "service.update", a->list, a->n)) != DB_OK)
		return r;
	a->result->outcome = SERVICE_WRITTEN;
	return get_in(c, in->aid, in->cid, in->id, a->out);
}

enum db_result db_services_update(struct db_pool *db, const struct service_change *in,
				  const struct job_instruction *list, size_t n, struct service *out,
				  struct service_write_result *result)
{
	memset(result, 0, sizeof(*result));
	struct update_args args = { in, list, n, out, result };
	return db_transaction(db, update_tx, &args);
}

struct delete_args {
	const char *aid, *cid, *id, *job_id;
	int if_version;
	const struct audit_actor *actor;
	const struct job_instruction *list;
	size_t n;
	struct service_write_result *result;
};

static enum db_result delete_tx(struct db_conn *c, void *arg)
{
	struct delete_args *a = arg;
	char lifecycle[16];
	enum db_result r =
		lock_service(c, a->aid, a->cid, a->id, a->if_version, lifecycle, a->result);
	if (r != DB_OK)
		return r;
	if (strcmp(lifecycle, "deleting") == 0) {
		a->result->outcome = SERVICE_BUSY;
		return DB_OK;
	}
	const char *params[] = { a->aid, a->cid, a->id, a->job_id };
	PGresult *res;
	if ((r = db_exec(c, &stmt_dependents, 3, params, &res)) != DB_OK)
		return r;
	bool dependents = db_get_int64(res, 0, 1) > 0;
	if (dependents)
		db_get_text(res, 0, 0, a->result->dependents, sizeof(a->result->dependents));
	PQclear(res);
	if (dependents) {
		a->result->outcome = SERVICE_HAS_DEPENDENTS;
		return DB_OK;
	}
	if ((r = db_exec(c, &stmt_deleting, 4, params, NULL)) != DB_OK ||
	    (r = start_job(c, a->aid, a->cid, a->id, "service.delete", a->job_id, a->actor,
			   "service.delete", a->list, a->n)) != DB_OK)
		return r;
	a->result->outcome = SERVICE_WRITTEN;
	return DB_OK;
}

enum db_result db_services_delete(struct db_pool *db, const char *aid, const char *cid,
				  const char *id, int if_version, const char *job_id,
				  const struct audit_actor *actor,
				  const struct job_instruction *list, size_t n,
				  struct service_write_result *result)
{
	memset(result, 0, sizeof(*result));
	struct delete_args args = { aid, cid, id, job_id, if_version, actor, list, n, result };
	return db_transaction(db, delete_tx, &args);
}

struct credentials_args {
	const char *aid, *cid, *id;
	const struct audit_actor *actor;
	char **sealed;
};

static enum db_result credentials_tx(struct db_conn *c, void *arg)
{
	struct credentials_args *a = arg;
	const char *params[] = { a->aid, a->cid, a->id };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_credentials, 3, params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	free(*a->sealed);
	*a->sealed = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return db_audit_insert(c, a->aid, a->actor, "service.credentials.read", "service", a->id);
}

enum db_result db_services_credentials_read(struct db_pool *db, const char *aid, const char *cid,
					    const char *id, const struct audit_actor *actor,
					    char **sealed)
{
	*sealed = NULL;
	struct credentials_args args = { aid, cid, id, actor, sealed };
	enum db_result r = db_transaction(db, credentials_tx, &args);
	if (r != DB_OK) {
		free(*sealed);
		*sealed = NULL;
	}
	return r;
}

struct rotate_args {
	const char *aid, *cid, *id, *pending, *job_id;
	const struct audit_actor *actor;
	const struct job_instruction *list;
	size_t n;
	struct service_write_result *result;
};

static enum db_result rotate_tx(struct db_conn *c, void *arg)
{
	struct rotate_args *a = arg;
	char lifecycle[16];
	enum db_result r = lock_service(c, a->aid, a->cid, a->id, 0, lifecycle, a->result);
	if (r != DB_OK)
		return r;
	if (strcmp(lifecycle, "installed") != 0) {
		a->result->outcome = SERVICE_BUSY;
		return DB_OK;
	}
	const char *params[] = { a->aid, a->cid, a->id, a->pending, a->job_id };
	if ((r = db_exec(c, &stmt_rotating, 5, params, NULL)) != DB_OK ||
	    (r = start_job(c, a->aid, a->cid, a->id, "service.rotate_credentials", a->job_id,
			   a->actor, "service.credentials.rotate", a->list, a->n)) != DB_OK)
		return r;
	a->result->outcome = SERVICE_WRITTEN;
	return DB_OK;
}

enum db_result db_services_rotate(struct db_pool *db, const char *aid, const char *cid,
				  const char *id, const char *pending_sealed, const char *job_id,
				  const struct audit_actor *actor,
				  const struct job_instruction *list, size_t n,
				  struct service_write_result *result)
{
	memset(result, 0, sizeof(*result));
	struct rotate_args args = { aid, cid, id, pending_sealed, job_id, actor, list, n, result };
	return db_transaction(db, rotate_tx, &args);
}

/* The condition a stopped job of each type leaves on its service. */
static const struct {
	const char *job_type, *condition, *verb;
} stopped_conditions[] = {
	{ "service.create", "Failed", "Create" },
	{ "service.update", "UpdateFailed", "Update" },
	{ "service.delete", "DeleteFailed", "Delete" },
	{ "service.rotate_credentials", "RotateFailed", "Rotate" },
};

enum db_result db_service_job_stopped(struct db_conn *c, const char *aid, const char *cid,
				      const char *job_id, bool cancelled, const char *error)
{
	const char *job[] = { job_id };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_job_failure, 1, job, &res);
	if (r != DB_OK)
		return r;
	char type[40] = "", step[64] = "";
	if (PQntuples(res) == 1) {
		db_get_text(res, 0, 0, type, sizeof(type));
		db_get_text(res, 0, 1, step, sizeof(step));
	}
	PQclear(res);
	const char *condition = "Failed", *verb = "Create";
	for (size_t i = 0; i < sizeof(stopped_conditions) / sizeof(stopped_conditions[0]); i++)
		if (strcmp(stopped_conditions[i].job_type, type) == 0) {
			condition = stopped_conditions[i].condition;
			verb = stopped_conditions[i].verb;
		}
	char reason[48], message[600];
	snprintf(reason, sizeof(reason), "%s%s", verb, cancelled ? "Cancelled" : "Failed");
	if (cancelled)
		snprintf(message, sizeof(message), "Job %s was cancelled", job_id);
	else
		snprintf(message, sizeof(message), "Job %s failed at step %s: %.400s", job_id,
			 step[0] ? step : "(none)", error && *error ? error : "failed");
	const char *params[] = { aid, cid, job_id, condition, reason, message };
	return db_exec(c, &stmt_stopped, 6, params, NULL);
}
