/* SQL for apps (see include/db/apps_store.h). A write and its job commit
 * together: the row, what it requires, its domains, the deployment, the job
 * with its rendered instructions and the audit entry, or none of them.
 * Concurrent writes of one app stay apart by its row lock (FOR UPDATE):
 * version checks, the env var sets' shared key space and the supersede rule
 * are decided under it. A create holds a share lock of its cluster and of
 * each service it requires, so neither can go between check and commit. */
#include "db/apps_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

/* clang-format off */
#define APP_COLUMNS \
	"a.id, a.osid, a.name, a.dns_name, a.repo_url, a.repo_branch, a.ports::text, a.replicas," \
	" a.build_method, a.dockerfile, a.source_dir, coalesce(a.health_check_path, '')," \
	" coalesce(a.health_check_port, 0), coalesce(a.cpu_request_mc, 0)," \
	" coalesce(a.memory_request_mb, 0), coalesce(a.cpu_limit_mc, 0)," \
	" coalesce(a.memory_limit_mb, 0), a.deployment_strategy, a.access_token IS NOT NULL," \
	" a.lifecycle, coalesce(a.job_id::text, ''), coalesce(a.reported_state, '')," \
	" coalesce(a.reported_desired, 0), coalesce(a.reported_ready, 0)," \
	" coalesce(a.reported_message, ''), coalesce(" DB_US("a.reported_at") ", 0), a.version_n," \
	" " DB_US("a.created_at") ", " DB_US("a.updated_at")
#define APP_NCOLUMNS 29
#define DEPLOYMENT_COLUMNS \
	"d.id::text, coalesce(d.job_id::text, ''), coalesce(d.sha, ''), coalesce(d.image_tag, '')," \
	" coalesce(d.image_digest, ''), d.status, d.trigger, coalesce(d.rollback_of::text, '')," \
	" coalesce(d.message, ''), " DB_US("d.created_at") ", coalesce(" DB_US("d.rollout_at") \
	", 0), coalesce(" DB_US("d.finished_at") ", 0)"
#define TENANT "aid = $1 AND cid = $2"
#define OPEN_STATUSES "('pending', 'building', 'deploying')"
/* clang-format on */

static const struct db_stmt stmt_get = { "apps_get",
					 "SELECT " APP_COLUMNS " FROM apps a"
					 " WHERE a.aid = $1 AND a.cid = $2 AND a.id = $3" };
static const struct db_stmt stmt_list = {
	"apps_list",
	"SELECT " APP_COLUMNS " FROM apps a WHERE a.aid = $1 AND a.cid = $2"
	" AND (a.created_at, a.id) > (" DB_TS("$3") ", $4)"
						    " ORDER BY a.created_at, a.id LIMIT $5"
};
/* By id alone: the webhook path names no account (ids are unique system-wide). */
static const struct db_stmt stmt_webhook_lookup = { "apps_webhook_lookup",
						    "SELECT " APP_COLUMNS
						    ", a.aid, a.cid, a.webhook_secret FROM apps a"
						    " WHERE a.id = $1 AND a.lifecycle = 'active'" };
static const struct db_stmt stmt_access_token = {
	"apps_access_token", "SELECT coalesce(access_token, ''), access_token IS NOT NULL"
			     " FROM apps WHERE " TENANT " AND id = $3"
};
static const struct db_stmt stmt_lock_service = { "apps_lock_service",
						  "SELECT lifecycle FROM services WHERE " TENANT
						  " AND id = $3 FOR SHARE" };
static const struct db_stmt stmt_insert = {
	"apps_insert",
	"INSERT INTO apps (aid, cid, id, name, dns_name, repo_provider, repo_url, repo_branch, "
	"ports,"
	" replicas, build_method, dockerfile, source_dir, health_check_path, health_check_port,"
	" cpu_request_mc, memory_request_mb, cpu_limit_mc, memory_limit_mb, deployment_strategy,"
	" access_token, webhook_secret, job_id)"
	" VALUES ($1, $2, $3, $4, $5, 'github', $6, $7, $8::int[], $9::int, $10, $11, $12, $13,"
	" nullif($14::int, 0), nullif($15::int, 0), nullif($16::int, 0), nullif($17::int, 0),"
	" nullif($18::int, 0), $19, $20, $21, $22)"
	" ON CONFLICT (id) DO NOTHING RETURNING id"
};
static const struct db_stmt stmt_insert_require = {
	"apps_insert_require", "INSERT INTO app_requires (aid, cid, app_id, alias, service_id, env)"
			       " VALUES ($1, $2, $3, $4, $5, $6::jsonb)"
};
static const struct db_stmt stmt_insert_domain = {
	"apps_insert_domain",
	"INSERT INTO app_domains (fqdn, aid, cid, app_id, port, verification_token)"
	" VALUES ($4, $1, $2, $3, $5::int, $6) ON CONFLICT (fqdn) DO NOTHING RETURNING fqdn"
};
static const struct db_stmt stmt_lock = {
	"apps_lock", "SELECT lifecycle, version_n, coalesce(job_id::text, '') FROM apps"
		     " WHERE " TENANT " AND id = $3 FOR UPDATE"
};
static const struct db_stmt stmt_update = {
	"apps_update",
	"UPDATE apps SET name = $4, dns_name = $5, repo_url = $6, repo_branch = $7,"
	" ports = $8::int[], replicas = $9::int, build_method = $10, dockerfile = $11,"
	" source_dir = $12, health_check_path = $13, health_check_port = nullif($14::int, 0),"
	" cpu_request_mc = nullif($15::int, 0), memory_request_mb = nullif($16::int, 0),"
	" cpu_limit_mc = nullif($17::int, 0), memory_limit_mb = nullif($18::int, 0),"
	" deployment_strategy = $19, access_token = coalesce($20, access_token),"
	" job_id = coalesce($21::uuid, job_id), version_n = version_n + 1, updated_at = now()"
	" WHERE " TENANT " AND id = $3"
};
static const struct db_stmt stmt_touch = {
	"apps_touch", "UPDATE apps SET job_id = coalesce($4::uuid, job_id),"
		      " version_n = version_n + 1, updated_at = now() WHERE " TENANT " AND id = $3"
};
static const struct db_stmt stmt_rotate = {
	"apps_rotate_webhook", "UPDATE apps SET webhook_secret = $4, updated_at = now()"
			       " WHERE " TENANT " AND id = $3 AND lifecycle = 'active' RETURNING id"
};
static const struct db_stmt stmt_deleting = {
	"apps_deleting",
	"UPDATE apps SET lifecycle = 'deleting', job_id = $4::uuid,"
	" version_n = version_n + 1, updated_at = now() WHERE " TENANT " AND id = $3"
};
static const struct db_stmt stmt_remove = { "apps_remove",
					    "DELETE FROM apps WHERE " TENANT " AND id = $3" };
/* Open deployments end: $4 the status (superseded keeps the one rolling out). */
static const struct db_stmt stmt_end_open = {
	"apps_end_open", "UPDATE app_deployments SET status = $4, finished_at = now(), message = $5"
			 " WHERE " TENANT " AND app_id = $3 AND (status IN ('pending', 'building')"
			 " OR ($4 <> 'superseded' AND status = 'deploying'))"
			 " RETURNING coalesce(job_id::text, '')"
};
static const struct db_stmt stmt_insert_deployment = {
	"apps_insert_deployment",
	"INSERT INTO app_deployments (id, aid, cid, app_id, job_id, sha, image_tag, image_digest,"
	" trigger, rollback_of) VALUES ($4::uuid, $1, $2, $3, $5::uuid, $6, $7, $8, $9, $10::uuid)"
};
static const struct db_stmt stmt_rollback_source = {
	"apps_rollback_source",
	"SELECT status, coalesce(sha, ''), coalesce(image_tag, ''), coalesce(image_digest, '')"
	" FROM app_deployments WHERE " TENANT " AND app_id = $3 AND id = $4::uuid"
};
/* The keys of $4 held elsewhere than the set being replaced ($5: true for
 * the secret set): the other set, or what requires injects. */
static const struct db_stmt stmt_key_taken = {
	"apps_key_taken",
	"SELECT k, CASE WHEN $5::bool THEN 'envVars' ELSE 'secretEnvVars' END"
	" FROM unnest($4::text[]) k WHERE ($5::bool AND EXISTS (SELECT 1 FROM app_env_vars e"
	"  WHERE e.aid = $1 AND e.cid = $2 AND e.app_id = $3 AND e.key = k))"
	" OR (NOT $5::bool AND EXISTS (SELECT 1 FROM app_secret_env_vars s"
	"  WHERE s.aid = $1 AND s.cid = $2 AND s.app_id = $3 AND s.key = k))"
	" UNION ALL SELECT e.value, 'requires.' || r.alias FROM app_requires r,"
	" jsonb_each_text(r.env) e WHERE r.aid = $1 AND r.cid = $2 AND r.app_id = $3"
	" AND e.value = ANY ($4::text[]) LIMIT 1"
};
static const struct db_stmt stmt_env_clear = { "apps_env_clear",
					       "DELETE FROM app_env_vars WHERE " TENANT
					       " AND app_id = $3" };
static const struct db_stmt stmt_secret_env_clear = {
	"apps_secret_env_clear", "DELETE FROM app_secret_env_vars WHERE " TENANT " AND app_id = $3"
};
static const struct db_stmt stmt_env_insert = {
	"apps_env_insert", "INSERT INTO app_env_vars (aid, cid, app_id, key, value)"
			   " SELECT $1, $2, $3, k, v FROM unnest($4::text[], $5::text[]) t(k, v)"
};
static const struct db_stmt stmt_secret_env_insert = {
	"apps_secret_env_insert",
	"INSERT INTO app_secret_env_vars (aid, cid, app_id, key, sealed)"
	" SELECT $1, $2, $3, k, v FROM unnest($4::text[], $5::text[]) t(k, v)"
};
static const struct db_stmt stmt_env_list = { "apps_env_list",
					      "SELECT key, value FROM app_env_vars WHERE " TENANT
					      " AND app_id = $3"
					      " ORDER BY key" };
static const struct db_stmt stmt_secret_env_list = { "apps_secret_env_list",
						     "SELECT key, sealed FROM app_secret_env_vars"
						     " WHERE " TENANT
						     " AND app_id = $3 ORDER BY key" };
static const struct db_stmt stmt_requires = {
	"apps_requires",
	"SELECT r.alias, r.service_id, s.osid, s.type, r.env::text FROM app_requires r"
	" JOIN services s ON s.aid = r.aid AND s.cid = r.cid AND s.id = r.service_id"
	" WHERE r.aid = $1 AND r.cid = $2 AND r.app_id = $3 ORDER BY r.alias"
};
static const struct db_stmt stmt_deployments_list = {
	"app_deployments_list",
	"SELECT " DEPLOYMENT_COLUMNS " FROM app_deployments d WHERE d.aid = $1 AND d.cid = $2"
	" AND d.app_id = $3 AND ($4::int8 = 0 OR (d.created_at, d.id) < (" DB_TS(
		"$4") ", nullif($5, '')::uuid))"
		      " ORDER BY d.created_at DESC, d.id DESC LIMIT $6"
};
static const struct db_stmt stmt_deployment_get = {
	"app_deployments_get", "SELECT " DEPLOYMENT_COLUMNS " FROM app_deployments d"
			       " WHERE d.aid = $1 AND d.cid = $2 AND d.app_id = $3"
			       " AND d.id = $4::uuid"
};
static const struct db_stmt stmt_deployment_lock = {
	"app_deployments_lock", "SELECT status FROM app_deployments WHERE " TENANT
				" AND app_id = $3 AND id = $4::uuid FOR UPDATE"
};
static const struct db_stmt stmt_deployment_move = {
	"app_deployments_move",
	"UPDATE app_deployments SET status = $5, sha = coalesce($6, sha),"
	" image_tag = coalesce($7, image_tag), image_digest = coalesce($8, image_digest),"
	" message = coalesce($9, message),"
	" rollout_at = CASE WHEN $5 = 'deploying' THEN coalesce(rollout_at, now()) ELSE rollout_at"
	" END, finished_at = CASE WHEN $5 IN " OPEN_STATUSES " THEN NULL ELSE now() END"
	" WHERE " TENANT " AND app_id = $3 AND id = $4::uuid"
};

/* "{3000,9090}" into ports. */
static size_t parse_ports(const char *text, int *ports, size_t max)
{
	size_t n = 0;
	for (const char *s = text; *s && n < max;) {
		if (*s < '0' || *s > '9') {
			s++;
			continue;
		}
		char *end;
		ports[n++] = (int)strtol(s, &end, 10);
		s = end;
	}
	return n;
}

static void read_app(const PGresult *res, int row, struct app *out)
{
	memset(out, 0, sizeof(*out));
	db_get_text(res, row, 0, out->id, sizeof(out->id));
	db_get_text(res, row, 1, out->osid, sizeof(out->osid));
	db_get_text(res, row, 2, out->name, sizeof(out->name));
	db_get_text(res, row, 3, out->dns_name, sizeof(out->dns_name));
	db_get_text(res, row, 4, out->repo_url, sizeof(out->repo_url));
	db_get_text(res, row, 5, out->repo_branch, sizeof(out->repo_branch));
	out->nports = parse_ports(PQgetvalue(res, row, 6), out->ports, APP_ROW_MAX_PORTS);
	out->replicas = (int)db_get_int64(res, row, 7);
	db_get_text(res, row, 8, out->build_method, sizeof(out->build_method));
	db_get_text(res, row, 9, out->dockerfile, sizeof(out->dockerfile));
	db_get_text(res, row, 10, out->source_dir, sizeof(out->source_dir));
	db_get_text(res, row, 11, out->health_check_path, sizeof(out->health_check_path));
	out->health_check_port = (int)db_get_int64(res, row, 12);
	out->cpu_request_mc = (int)db_get_int64(res, row, 13);
	out->memory_request_mb = (int)db_get_int64(res, row, 14);
	out->cpu_limit_mc = (int)db_get_int64(res, row, 15);
	out->memory_limit_mb = (int)db_get_int64(res, row, 16);
	db_get_text(res, row, 17, out->deployment_strategy, sizeof(out->deployment_strategy));
	out->has_access_token = db_get_bool(res, row, 18);
	db_get_text(res, row, 19, out->lifecycle, sizeof(out->lifecycle));
	db_get_text(res, row, 20, out->job_id, sizeof(out->job_id));
	db_get_text(res, row, 21, out->reported_state, sizeof(out->reported_state));
	out->reported_desired = (int)db_get_int64(res, row, 22);
	out->reported_ready = (int)db_get_int64(res, row, 23);
	db_get_text(res, row, 24, out->reported_message, sizeof(out->reported_message));
	out->reported_us = db_get_int64(res, row, 25);
	out->version_n = (int)db_get_int64(res, row, 26);
	out->created_us = db_get_int64(res, row, 27);
	out->updated_us = db_get_int64(res, row, 28);
}

static void read_deployment(const PGresult *res, int row, struct app_deployment *out)
{
	memset(out, 0, sizeof(*out));
	db_get_text(res, row, 0, out->id, sizeof(out->id));
	db_get_text(res, row, 1, out->job_id, sizeof(out->job_id));
	db_get_text(res, row, 2, out->sha, sizeof(out->sha));
	db_get_text(res, row, 3, out->image_tag, sizeof(out->image_tag));
	db_get_text(res, row, 4, out->image_digest, sizeof(out->image_digest));
	db_get_text(res, row, 5, out->status, sizeof(out->status));
	db_get_text(res, row, 6, out->trigger, sizeof(out->trigger));
	db_get_text(res, row, 7, out->rollback_of, sizeof(out->rollback_of));
	db_get_text(res, row, 8, out->message, sizeof(out->message));
	out->created_us = db_get_int64(res, row, 9);
	out->rollout_us = db_get_int64(res, row, 10);
	out->finished_us = db_get_int64(res, row, 11);
}

/* Takes the result by address (as services_store.c's one_service). */
static enum db_result one_app(enum db_result r, PGresult **resp, struct app *out)
{
	if (r != DB_OK)
		return r;
	PGresult *res = *resp;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK && out)
		read_app(res, 0, out);
	PQclear(res);
	return r;
}

static enum db_result get_in(struct db_conn *c, const char *aid, const char *cid, const char *id,
			     struct app *out)
{
	const char *params[] = { aid, cid, id };
	PGresult *res;
	return one_app(db_exec(c, &stmt_get, 3, params, &res), &res, out);
}

enum db_result db_apps_get(struct db_pool *db, const char *aid, const char *cid, const char *id,
			   struct app *out)
{
	const char *params[] = { aid, cid, id };
	PGresult *res;
	return one_app(db_query(db, &stmt_get, 3, params, &res), &res, out);
}

enum db_result db_apps_list(struct db_pool *db, const char *aid, const char *cid, int64_t after_us,
			    const char *after_id, int limit, struct app **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char after_buf[24], limit_buf[24];
	const char *params[] = { aid, cid, db_int64_param(after_us, after_buf),
				 after_id ? after_id : "", db_int64_param(limit, limit_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_list, 5, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++)
		read_app(res, i, &(*out)[i]);
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

enum db_result db_apps_webhook_lookup(struct db_pool *db, const char *id, char aid[8], char cid[8],
				      struct app *out, char **sealed_secret)
{
	*sealed_secret = NULL;
	const char *params[] = { id };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_webhook_lookup, 1, params, &res);
	if (r != DB_OK)
		return r;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK) {
		read_app(res, 0, out);
		db_get_text(res, 0, APP_NCOLUMNS, aid, 8);
		db_get_text(res, 0, APP_NCOLUMNS + 1, cid, 8);
		*sealed_secret = xstrdup(PQgetvalue(res, 0, APP_NCOLUMNS + 2));
	}
	PQclear(res);
	return r;
}

enum db_result db_apps_access_token(struct db_pool *db, const char *aid, const char *cid,
				    const char *id, char **sealed)
{
	*sealed = NULL;
	const char *params[] = { aid, cid, id };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_access_token, 3, params, &res);
	if (r != DB_OK)
		return r;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK && db_get_bool(res, 0, 1))
		*sealed = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return r;
}

/* The int[] literal of the ports; buf holds 8 * 7 + 3 bytes. */
static const char *ports_param(const int *ports, size_t n, char *buf, size_t cap)
{
	size_t len = (size_t)snprintf(buf, cap, "{");
	for (size_t i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%d", i ? "," : "", ports[i]);
	if (len < cap)
		snprintf(buf + len, cap - len, "}");
	return buf;
}

/* The job of a write, its audit entry and first move; only the audit
 * entry when there is no job. The deployment, when the job makes one. */
static enum db_result start_job(struct db_conn *c, const char *aid, const char *cid, const char *id,
				const struct app_job *job)
{
	enum db_result r;
	if (job->job_id &&
	    (r = db_job_insert_rendered(c, job->job_id, aid, cid, job->type, "app", id,
					job->actor->id, job->list, job->n)) != DB_OK)
		return r;
	if ((r = db_audit_insert(c, aid, job->actor, job->action, "app", id)) != DB_OK)
		return r;
	return job->job_id ? db_job_advance(c, job->job_id) : DB_OK;
}

static enum db_result insert_deployment(struct db_conn *c, const char *aid, const char *cid,
					const char *id, const struct app_job *job, const char *tag,
					const char *digest)
{
	const char *params[] = { aid,
				 cid,
				 id,
				 job->deployment_id,
				 job->job_id,
				 job->sha,
				 tag && *tag ? tag : job->image_tag,
				 digest && *digest ? digest : NULL,
				 job->trigger ? job->trigger : "api",
				 job->rollback_of };
	return db_exec(c, &stmt_insert_deployment, 10, params, NULL);
}

/* An app's settings as $4 to $19 of the insert and the update, in the
 * order of their columns; the texts of the numbers are kept in t. */
#define APP_SETTINGS_PARAMS 16
struct settings_params {
	char ports[80], nums[6][24];
};

static void settings_params(const struct app_fields *f, struct settings_params *t, const char **out)
{
	const char *p[APP_SETTINGS_PARAMS] = {
		f->name,
		f->dns_name,
		f->repo_url,
		f->repo_branch,
		ports_param(f->ports, f->nports, t->ports, sizeof(t->ports)),
		db_int64_param(f->replicas, t->nums[0]),
		f->build_method,
		f->dockerfile,
		f->source_dir,
		f->health_check_path,
		db_int64_param(f->health_check_port, t->nums[1]),
		db_int64_param(f->cpu_request_mc, t->nums[2]),
		db_int64_param(f->memory_request_mb, t->nums[3]),
		db_int64_param(f->cpu_limit_mc, t->nums[4]),
		db_int64_param(f->memory_limit_mb, t->nums[5]),
		f->deployment_strategy,
	};
	memcpy(out, p, sizeof(p));
}

struct create_args {
	const struct app_create *in;
	struct app *out;
	struct app_write_result *result;
};

static enum db_result lock_cluster_and_services(struct db_conn *c, const struct app_create *in,
						struct app_write_result *result)
{
	PGresult *res;
	enum db_result r = db_cluster_share_lock(c, in->aid, in->cid, result->cluster_status,
						 sizeof(result->cluster_status));
	if (r != DB_OK)
		return r;
	if (strcmp(result->cluster_status, "active") != 0) {
		result->outcome = APP_CLUSTER_NOT_ACTIVE;
		return DB_OK;
	}
	for (size_t i = 0; i < in->nrequires; i++) {
		const char *params[] = { in->aid, in->cid, in->requires[i].service_id };
		if ((r = db_exec(c, &stmt_lock_service, 3, params, &res)) != DB_OK)
			return r;
		bool live = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "deleting") != 0;
		PQclear(res);
		if (!live) {
			result->outcome = APP_REQUIRED_GONE;
			result->gone_alias = in->requires[i].alias;
			return DB_OK;
		}
	}
	return DB_OK;
}

static enum db_result create_tx(struct db_conn *c, void *arg)
{
	struct create_args *a = arg;
	const struct app_create *in = a->in;
	const struct app_fields *f = &in->fields;
	a->result->outcome = APP_WRITTEN;
	enum db_result r = lock_cluster_and_services(c, in, a->result);
	if (r != DB_OK || a->result->outcome != APP_WRITTEN)
		return r;
	struct settings_params sp;
	const char *params[3 + APP_SETTINGS_PARAMS + 3] = { in->aid, in->cid, in->id };
	settings_params(f, &sp, params + 3);
	params[3 + APP_SETTINGS_PARAMS] = in->sealed_access_token;
	params[4 + APP_SETTINGS_PARAMS] = in->sealed_webhook_secret;
	params[5 + APP_SETTINGS_PARAMS] = in->job.job_id;
	PGresult *res;
	r = db_exec(c, &stmt_insert, 3 + APP_SETTINGS_PARAMS + 3, params, &res);
	/* The name's unique index failed the statement (rolled back). */
	if (r == DB_CONFLICT) {
		a->result->outcome = APP_NAME_TAKEN;
		return DB_CONFLICT;
	}
	if (r != DB_OK)
		return r;
	bool inserted = PQntuples(res) == 1;
	PQclear(res);
	if (!inserted) {
		a->result->outcome = APP_ID_TAKEN;
		return DB_CONFLICT;
	}
	for (size_t i = 0; i < in->nrequires; i++) {
		const char *req[] = { in->aid,
				      in->cid,
				      in->id,
				      in->requires[i].alias,
				      in->requires[i].service_id,
				      in->requires[i].env_json };
		if ((r = db_exec(c, &stmt_insert_require, 6, req, NULL)) != DB_OK)
			return r;
	}
	for (size_t i = 0; i < in->ndomains; i++) {
		char port[24];
		const char *dom[] = { in->aid,
				      in->cid,
				      in->id,
				      in->domains[i].fqdn,
				      db_int64_param(in->domains[i].port, port),
				      in->domains[i].verification_token };
		if ((r = db_exec(c, &stmt_insert_domain, 6, dom, &res)) != DB_OK)
			return r;
		bool free_fqdn = PQntuples(res) == 1;
		PQclear(res);
		if (!free_fqdn) {
			a->result->outcome = APP_DOMAIN_TAKEN;
			snprintf(a->result->taken, sizeof(a->result->taken), "%s",
				 in->domains[i].fqdn);
			return DB_CONFLICT;
		}
	}
	if (in->job.deployment_id &&
	    (r = insert_deployment(c, in->aid, in->cid, in->id, &in->job, NULL, NULL)) != DB_OK)
		return r;
	if ((r = start_job(c, in->aid, in->cid, in->id, &in->job)) != DB_OK)
		return r;
	return get_in(c, in->aid, in->cid, in->id, a->out);
}

enum db_result db_apps_create(struct db_pool *db, const struct app_create *in, struct app *out,
			      struct app_write_result *result)
{
	memset(result, 0, sizeof(*result));
	struct create_args args = { in, out, result };
	return db_transaction(db, create_tx, &args);
}

/* The app locked for a change: DB_NOT_FOUND; DB_CONFLICT at another version
 * (if_version not 0); APP_BUSY (with DB_OK) while it is being deleted. */
static enum db_result lock_app(struct db_conn *c, const char *aid, const char *cid, const char *id,
			       int if_version, struct app_write_result *result)
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
	bool deleting = strcmp(PQgetvalue(res, 0, 0), "deleting") == 0;
	int version = (int)db_get_int64(res, 0, 1);
	db_get_text(res, 0, 2, result->busy_job, sizeof(result->busy_job));
	PQclear(res);
	if (if_version != 0 && if_version != version)
		return DB_CONFLICT;
	result->outcome = deleting ? APP_BUSY : APP_WRITTEN;
	return DB_OK;
}

/* Ends the app's open deployments with status (superseded: only those not
 * rolling out yet) and cancels their jobs; *count says how many. */
static enum db_result end_open(struct db_conn *c, const char *aid, const char *cid, const char *id,
			       const char *status, const char *message, int *count)
{
	const char *params[] = { aid, cid, id, status, message };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_end_open, 5, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	for (int i = 0; i < rows && r == DB_OK; i++) {
		const char *job = PQgetvalue(res, i, 0);
		bool cancelled;
		if (*job)
			r = db_job_cancel_in(c, aid, job, &cancelled);
	}
	PQclear(res);
	if (count)
		*count = rows;
	return r;
}

struct update_args {
	const struct app_change *in;
	struct app *out;
	struct app_write_result *result;
};

static enum db_result update_tx(struct db_conn *c, void *arg)
{
	struct update_args *a = arg;
	const struct app_change *in = a->in;
	const struct app_fields *f = &in->fields;
	enum db_result r = lock_app(c, in->aid, in->cid, in->id, in->if_version, a->result);
	if (r != DB_OK || a->result->outcome != APP_WRITTEN)
		return r;
	struct settings_params sp;
	const char *params[3 + APP_SETTINGS_PARAMS + 2] = { in->aid, in->cid, in->id };
	settings_params(f, &sp, params + 3);
	params[3 + APP_SETTINGS_PARAMS] = in->sealed_access_token;
	params[4 + APP_SETTINGS_PARAMS] = in->job.job_id;
	r = db_exec(c, &stmt_update, 3 + APP_SETTINGS_PARAMS + 2, params, NULL);
	if (r == DB_CONFLICT) {
		a->result->outcome = APP_NAME_TAKEN;
		return DB_CONFLICT;
	}
	if (r != DB_OK)
		return r;
	if (in->job.deployment_id &&
	    ((r = end_open(c, in->aid, in->cid, in->id, "superseded",
			   "Superseded by a newer deploy", &a->result->superseded)) != DB_OK ||
	     (r = insert_deployment(c, in->aid, in->cid, in->id, &in->job, NULL, NULL)) != DB_OK))
		return r;
	if ((r = start_job(c, in->aid, in->cid, in->id, &in->job)) != DB_OK)
		return r;
	return get_in(c, in->aid, in->cid, in->id, a->out);
}

enum db_result db_apps_update(struct db_pool *db, const struct app_change *in, struct app *out,
			      struct app_write_result *result)
{
	memset(result, 0, sizeof(*result));
	struct update_args args = { in, out, result };
	return db_transaction(db, update_tx, &args);
}

enum db_result db_apps_webhook_rotate(struct db_pool *db, const char *aid, const char *cid,
				      const char *id, const char *sealed_secret,
				      const struct audit_actor *actor)
{
	const char *params[] = { aid, cid, id, sealed_secret };
	PGresult *res;
	enum db_result r = db_query_audited(db, &stmt_rotate, 4, params, &res, aid, actor,
					    "app.webhook_secret.rotate", "app", id);
	if (r != DB_OK)
		return r;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	PQclear(res);
	return r;
}

struct delete_args {
	const char *aid, *cid, *id;
	int if_version;
	const struct app_job *job;
	struct app_write_result *result;
};

static enum db_result delete_tx(struct db_conn *c, void *arg)
{
	struct delete_args *a = arg;
	enum db_result r = lock_app(c, a->aid, a->cid, a->id, a->if_version, a->result);
	if (r != DB_OK || a->result->outcome != APP_WRITTEN)
		return r;
	const char *params[] = { a->aid, a->cid, a->id, a->job->job_id };
	if ((r = end_open(c, a->aid, a->cid, a->id, "cancelled", "The app is being deleted",
			  NULL)) != DB_OK ||
	    (r = db_exec(c, &stmt_deleting, 4, params, NULL)) != DB_OK)
		return r;
	return start_job(c, a->aid, a->cid, a->id, a->job);
}

enum db_result db_apps_delete(struct db_pool *db, const char *aid, const char *cid, const char *id,
			      int if_version, const struct app_job *job,
			      struct app_write_result *result)
{
	memset(result, 0, sizeof(*result));
	struct delete_args args = { aid, cid, id, if_version, job, result };
	return db_transaction(db, delete_tx, &args);
}

enum db_result db_apps_remove(struct db_pool *db, const char *aid, const char *cid, const char *id)
{
	const char *params[] = { aid, cid, id };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_remove, 3, params, &res);
	if (r != DB_OK)
		return r;
	r = atoi(PQcmdTuples(res)) == 1 ? DB_OK : DB_NOT_FOUND;
	PQclear(res);
	return r;
}

struct env_args {
	const char *aid, *cid, *id;
	bool secret;
	const struct app_env_var *vars;
	size_t n;
	const struct app_job *job;
	struct app_write_result *result;
};

static enum db_result env_tx(struct db_conn *c, void *arg)
{
	struct env_args *a = arg;
	enum db_result r = lock_app(c, a->aid, a->cid, a->id, 0, a->result);
	if (r != DB_OK || a->result->outcome != APP_WRITTEN)
		return r;
	struct db_array keys = { 0 }, values = { 0 };
	for (size_t i = 0; i < a->n; i++) {
		db_array_add(&keys, a->vars[i].key);
		db_array_add(&values, a->vars[i].value);
	}
	const char *check[] = { a->aid, a->cid, a->id, db_array_param(&keys),
				a->secret ? "true" : "false" };
	PGresult *res;
	r = db_exec(c, &stmt_key_taken, 5, check, &res);
	if (r == DB_OK) {
		if (PQntuples(res) > 0) {
			a->result->outcome = APP_KEY_TAKEN;
			db_get_text(res, 0, 0, a->result->taken, sizeof(a->result->taken));
			db_get_text(res, 0, 1, a->result->taken_by, sizeof(a->result->taken_by));
		}
		PQclear(res);
	}
	if (r == DB_OK && a->result->outcome == APP_WRITTEN) {
		const char *params[] = { a->aid, a->cid, a->id, db_array_param(&keys),
					 db_array_param(&values) };
		const char *touch[] = { a->aid, a->cid, a->id, a->job->job_id };
		if ((r = db_exec(c, a->secret ? &stmt_secret_env_clear : &stmt_env_clear, 3, params,
				 NULL)) == DB_OK &&
		    (a->n == 0 ||
		     (r = db_exec(c, a->secret ? &stmt_secret_env_insert : &stmt_env_insert, 5,
				  params, NULL)) == DB_OK) &&
		    (r = db_exec(c, &stmt_touch, 4, touch, NULL)) == DB_OK)
			r = start_job(c, a->aid, a->cid, a->id, a->job);
	}
	db_array_finish(&keys);
	db_array_finish(&values);
	return r;
}

enum db_result db_apps_env_replace(struct db_pool *db, const char *aid, const char *cid,
				   const char *id, bool secret, const struct app_env_var *vars,
				   size_t n, const struct app_job *job,
				   struct app_write_result *result)
{
	memset(result, 0, sizeof(*result));
	struct env_args args = { aid, cid, id, secret, vars, n, job, result };
	return db_transaction(db, env_tx, &args);
}

enum db_result db_apps_env_list(struct db_pool *db, const char *aid, const char *cid,
				const char *id, bool secret, struct app_env_row **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	const char *params[] = { aid, cid, id };
	PGresult *res;
	enum db_result r =
		db_query(db, secret ? &stmt_secret_env_list : &stmt_env_list, 3, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++) {
		db_get_text(res, i, 0, (*out)[i].key, sizeof((*out)[i].key));
		(*out)[i].value = xstrdup(PQgetvalue(res, i, 1));
	}
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

void db_app_env_free(struct app_env_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		/* sealed or not, values do not linger in freed memory */
		explicit_bzero(rows[i].value, strlen(rows[i].value));
		free(rows[i].value);
	}
	free(rows);
}

enum db_result db_apps_requires(struct db_pool *db, const char *aid, const char *cid,
				const char *id, struct app_require_row **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	const char *params[] = { aid, cid, id };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_requires, 3, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++) {
		struct app_require_row *row = &(*out)[i];
		db_get_text(res, i, 0, row->alias, sizeof(row->alias));
		db_get_text(res, i, 1, row->service_id, sizeof(row->service_id));
		db_get_text(res, i, 2, row->service_osid, sizeof(row->service_osid));
		db_get_text(res, i, 3, row->service_type, sizeof(row->service_type));
		if (strlen(PQgetvalue(res, i, 4)) < sizeof(row->env_json))
			db_get_text(res, i, 4, row->env_json, sizeof(row->env_json));
		else
			snprintf(row->env_json, sizeof(row->env_json), "{}");
	}
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

struct deploy_args {
	const char *aid, *cid, *id;
	const struct app_job *job;
	struct app_write_result *result;
};

static enum db_result deploy_tx(struct db_conn *c, void *arg)
{
	struct deploy_args *a = arg;
	const struct app_job *job = a->job;
	enum db_result r = lock_app(c, a->aid, a->cid, a->id, 0, a->result);
	if (r != DB_OK || a->result->outcome != APP_WRITTEN)
		return r;
	struct app_job copy = *job;
	char sha[48] = "", tag[APP_ROW_IMAGE_TAG_MAX] = "", digest[APP_ROW_DIGEST_MAX] = "";
	if (job->rollback_of) {
		const char *params[] = { a->aid, a->cid, a->id, job->rollback_of };
		PGresult *res;
		if ((r = db_exec(c, &stmt_rollback_source, 4, params, &res)) != DB_OK)
			return r;
		bool found = PQntuples(res) == 1;
		bool succeeded = found && strcmp(PQgetvalue(res, 0, 0), "succeeded") == 0;
		if (succeeded) {
			db_get_text(res, 0, 1, sha, sizeof(sha));
			db_get_text(res, 0, 2, tag, sizeof(tag));
			db_get_text(res, 0, 3, digest, sizeof(digest));
		}
		PQclear(res);
		if (!found)
			return DB_NOT_FOUND;
		if (!succeeded) {
			a->result->outcome = APP_NOT_SUCCEEDED;
			return DB_OK;
		}
		copy.sha = sha[0] ? sha : NULL;
	}
	const char *touch[] = { a->aid, a->cid, a->id, job->job_id };
	if ((r = end_open(c, a->aid, a->cid, a->id, "superseded", "Superseded by a newer deploy",
			  &a->result->superseded)) != DB_OK ||
	    (r = insert_deployment(c, a->aid, a->cid, a->id, &copy, tag, digest)) != DB_OK ||
	    (r = db_exec(c, &stmt_touch, 4, touch, NULL)) != DB_OK)
		return r;
	return start_job(c, a->aid, a->cid, a->id, job);
}

enum db_result db_apps_deploy(struct db_pool *db, const char *aid, const char *cid, const char *id,
			      const struct app_job *job, struct app_write_result *result)
{
	memset(result, 0, sizeof(*result));
	struct deploy_args args = { aid, cid, id, job, result };
	return db_transaction(db, deploy_tx, &args);
}

struct start_args {
	const char *aid, *cid, *id;
	const struct app_job *job;
	struct app_write_result *result;
};

static enum db_result start_tx(struct db_conn *c, void *arg)
{
	struct start_args *a = arg;
	enum db_result r = lock_app(c, a->aid, a->cid, a->id, 0, a->result);
	if (r != DB_OK || a->result->outcome != APP_WRITTEN)
		return r;
	return start_job(c, a->aid, a->cid, a->id, a->job);
}

enum db_result db_apps_start_job(struct db_pool *db, const char *aid, const char *cid,
				 const char *id, const struct app_job *job,
				 struct app_write_result *result)
{
	memset(result, 0, sizeof(*result));
	struct start_args args = { aid, cid, id, job, result };
	return db_transaction(db, start_tx, &args);
}

enum db_result db_app_deployments_list(struct db_pool *db, const char *aid, const char *cid,
				       const char *app_id, int64_t before_us, const char *before_id,
				       int limit, struct app_deployment **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char before_buf[24], limit_buf[24];
	const char *params[] = { aid,
				 cid,
				 app_id,
				 db_int64_param(before_us, before_buf),
				 before_id ? before_id : "",
				 db_int64_param(limit, limit_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_deployments_list, 6, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++)
		read_deployment(res, i, &(*out)[i]);
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

enum db_result db_app_deployments_get(struct db_pool *db, const char *aid, const char *cid,
				      const char *app_id, const char *id,
				      struct app_deployment *out)
{
	const char *params[] = { aid, cid, app_id, id };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_deployment_get, 4, params, &res);
	if (r != DB_OK)
		return r;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK)
		read_deployment(res, 0, out);
	PQclear(res);
	return r;
}

/* The order of a deployment's open statuses; -1 for an ended one. */
static int open_rank(const char *status)
{
	static const char *const open[] = { "pending", "building", "deploying" };
	for (int i = 0; i < 3; i++)
		if (strcmp(status, open[i]) == 0)
			return i;
	return -1;
}

/* from -> to is a move forwards (or a repeat of an open status). */
static bool may_move(const char *from, const char *to)
{
	int f = open_rank(from), t = open_rank(to);
	if (f < 0)
		return false;
	if (t >= 0)
		return t >= f;
	if (strcmp(to, "succeeded") == 0)
		return f == 2;
	return strcmp(to, "failed") == 0 || strcmp(to, "cancelled") == 0 ||
	       (strcmp(to, "superseded") == 0 && f < 2);
}

struct move_args {
	const char *aid, *cid, *app_id, *id;
	const struct app_deployment_move *move;
};

static enum db_result move_tx(struct db_conn *c, void *arg)
{
	struct move_args *a = arg;
	const char *params[] = {
		a->aid,		 a->cid,       a->app_id,	   a->id,
		a->move->status, a->move->sha, a->move->image_tag, a->move->image_digest,
		a->move->message
	};
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_deployment_lock, 4, params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	bool ok = may_move(PQgetvalue(res, 0, 0), a->move->status);
	PQclear(res);
	if (!ok)
		return DB_CONFLICT;
	return db_exec(c, &stmt_deployment_move, 9, params, NULL);
}

enum db_result db_app_deployments_move(struct db_pool *db, const char *aid, const char *cid,
				       const char *app_id, const char *id,
				       const struct app_deployment_move *move)
{
	struct move_args args = { aid, cid, app_id, id, move };
	return db_transaction(db, move_tx, &args);
}
