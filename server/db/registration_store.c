/* SQL for node registration (see include/db/registration_store.h).
 *
 * Concurrency: the token is used by one UPDATE that re-checks its limits
 * after any concurrent one (join_tokens_store.c), so a single-use token has
 * one winner. Addresses are allocated under a lock of the cluster's row (FOR
 * NO KEY UPDATE: readers and the cluster's foreign keys are not blocked), so
 * registrations into one cluster take turns choosing the smallest free host,
 * on any number of instances; the partial unique index on live nodes' hosts
 * backs it up. A refusal rolls everything back, the token's use included. */
#include "db/registration_store.h"

#include <stdio.h>
#include <string.h>

#include "db/audit_store.h"
#include "db_internal.h"
#include "idalloc/clusters.h"

static const struct db_stmt stmt_lock_cluster = {
	"registration_lock_cluster", "SELECT cluster_index, status FROM clusters"
				     " WHERE aid = $1 AND cid = $2 FOR NO KEY UPDATE"
};
static const struct db_stmt stmt_machine_taken = {
	"registration_machine_taken",
	"SELECT 1 FROM nodes WHERE aid = $1 AND cid = $2 AND machine_id = $3 AND deleted_at IS NULL"
};
static const struct db_stmt stmt_hosts_in_use = {
	"registration_hosts_in_use",
	"SELECT vpn_host FROM nodes WHERE aid = $1 AND cid = $2 AND deleted_at IS NULL"
};
static const struct db_stmt stmt_nid_taken = { "registration_nid_taken",
					       "SELECT 1 FROM nodes WHERE aid = $1 AND nid = $2" };
static const struct db_stmt stmt_insert_node = {
	"registration_insert_node",
	"INSERT INTO nodes (aid, cid, nid, name, role, machine_id, hostname, os, vpn_host,"
	" agent_version, cert_not_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, " DB_TS(
		"$11") ")"
};
static const struct db_stmt stmt_insert_cert = {
	"registration_insert_cert", "INSERT INTO node_certificates (serial, aid, nid, not_after)"
				    " VALUES ($1, $2, $3, " DB_TS("$4") ")"
};

/* A query that answers whether any row matched. */
static enum db_result exists(struct db_conn *c, const struct db_stmt *stmt, int nparams,
			     const char *const *params, bool *found)
{
	PGresult *res;
	enum db_result r = db_exec(c, stmt, nparams, params, &res);
	if (r == DB_OK) {
		*found = PQntuples(res) > 0;
		PQclear(res);
	}
	return r;
}

/* The smallest free host of the (locked) cluster, or -1. */
static enum db_result free_vpn_host(struct db_conn *c, const char *aid, const char *cid, int *host)
{
	const char *params[] = { aid, cid };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_hosts_in_use, 2, params, &res);
	if (r != DB_OK)
		return r;
	bool used[256] = { false };
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t h = db_get_int64(res, i, 0);
		if (h >= 0 && h < 256)
			used[h] = true;
	}
	PQclear(res);
	*host = idalloc_vpn_host(used);
	return DB_OK;
}

struct register_args {
	const uint8_t *hash;
	const char *aid, *cid;
	struct registration *reg;
	enum registration_refusal *why;
};

static enum db_result register_tx(struct db_conn *c, void *arg)
{
	struct register_args *a = arg;
	struct registration *reg = a->reg;
	*a->why = REGISTRATION_OK;
	enum db_result r = db_join_token_consume(c, a->hash, &reg->token);
	if (r == DB_NOT_FOUND || (r == DB_OK && (strcmp(reg->token.aid, a->aid) != 0 ||
						 strcmp(reg->token.cid, a->cid) != 0))) {
		*a->why = REGISTRATION_TOKEN;
		return DB_CONFLICT;
	}
	if (r != DB_OK)
		return r;

	const char *cluster[] = { a->aid, a->cid };
	PGresult *res;
	r = db_exec(c, &stmt_lock_cluster, 2, cluster, &res);
	if (r != DB_OK)
		return r;
	bool deleting = PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 1), "deleting") == 0;
	reg->cluster_index = PQntuples(res) == 1 ? (int)db_get_int64(res, 0, 0) : -1;
	PQclear(res);
	if (deleting) {
		*a->why = REGISTRATION_CLUSTER;
		return DB_CONFLICT;
	}

	const char *machine[] = { a->aid, a->cid, reg->machine_id };
	const char *nid[] = { a->aid, reg->nid };
	bool taken = false;
	if ((r = exists(c, &stmt_machine_taken, 3, machine, &taken)) != DB_OK)
		return r;
	if (taken) {
		*a->why = REGISTRATION_MACHINE;
		return DB_CONFLICT;
	}
	if ((r = exists(c, &stmt_nid_taken, 2, nid, &taken)) != DB_OK)
		return r;
	if (taken) {
		*a->why = REGISTRATION_NID_TAKEN;
		return DB_CONFLICT;
	}
	if ((r = free_vpn_host(c, a->aid, a->cid, &reg->vpn_host)) != DB_OK)
		return r;
	if (reg->vpn_host < 0) {
		*a->why = REGISTRATION_FULL;
		return DB_CONFLICT;
	}

	char host_buf[24], after_buf[24];
	const char *name = reg->hostname && *reg->hostname ? reg->hostname : reg->nid;
	const char *node[] = { a->aid,
			       a->cid,
			       reg->nid,
			       name,
			       reg->token.role,
			       reg->machine_id,
			       reg->hostname ? reg->hostname : "",
			       reg->os ? reg->os : "",
			       db_int64_param(reg->vpn_host, host_buf),
			       reg->agent_version ? reg->agent_version : "",
			       db_int64_param(reg->cert_not_after_us, after_buf) };
	if ((r = db_exec(c, &stmt_insert_node, 11, node, NULL)) != DB_OK)
		return r;
	const char *cert[] = { reg->cert_serial, a->aid, reg->nid, after_buf };
	if ((r = db_exec(c, &stmt_insert_cert, 4, cert, NULL)) != DB_OK)
		return r;
	struct audit_actor actor = {
		.type = "node", .id = reg->nid, .trace_id = reg->trace_id, .ip = reg->ip
	};
	if ((r = db_audit_insert(c, a->aid, &actor, "node.register", "node", reg->nid)) != DB_OK ||
	    (r = db_cluster_status_refresh(c, a->aid, a->cid)) != DB_OK ||
	    (r = db_job_insert(c, reg->job_id, a->aid, a->cid, "node.join", "node", reg->nid,
			       reg->nid)) != DB_OK)
		return r;
	return db_job_advance(c, reg->job_id);
}

enum db_result db_nodes_register(struct db_pool *db, const uint8_t token_hash[CRYPTO_SHA256_LEN],
				 const char *aid, const char *cid, struct registration *reg,
				 enum registration_refusal *why)
{
	struct register_args args = { token_hash, aid, cid, reg, why };
	enum db_result r = db_transaction(db, register_tx, &args);
	/* A refusal rolled back (DB_CONFLICT from the function); a unique
	 * violation of a concurrent registration is a conflict too: of the
	 * machine (the index on live machine ids). */
	if (r == DB_CONFLICT && *why == REGISTRATION_OK)
		*why = REGISTRATION_MACHINE;
	return r == DB_CONFLICT ? DB_OK : r;
}
