/* Private to server/db/: libpq connections, prepared statements and the
 * transaction helper used by every store. */
#ifndef RUNOSD_DB_INTERNAL_H
#define RUNOSD_DB_INTERNAL_H

#include <libpq-fe.h>

#include "db/db.h"

/* A named SQL statement with $n parameters, prepared once per connection on
 * first use. Stores declare them as static const. */
struct db_stmt {
	const char *name;
	const char *sql;
};

struct db_conn;

/* Takes a connection for the calling thread (waits a bounded time when all
 * are busy) and re-opens it if it broke. NULL means PostgreSQL is unreachable
 * or the pool stayed exhausted: answer DB_UNAVAILABLE. */
struct db_conn *db_conn_acquire(struct db_pool *pool);
void db_conn_release(struct db_pool *pool, struct db_conn *conn);
PGconn *db_conn_pg(struct db_conn *conn);
/* Lifts statement_timeout and the pool's wait for an answer on conn until it
 * is released (it is reopened then): for migrations, which may take long. */
bool db_conn_unbounded(struct db_conn *conn) __attribute__((warn_unused_result));

/* Runs a prepared statement with text parameters (NULL = SQL NULL). On DB_OK
 * *res (when res is not NULL) holds the result, to be PQclear()ed; the other
 * results are logged once here with the SQLSTATE and statement name. */
enum db_result db_exec(struct db_conn *conn, const struct db_stmt *stmt, int nparams,
		       const char *const *params, PGresult **res)
	__attribute__((warn_unused_result));

/* db_exec on a connection of its own, for single statements. */
enum db_result db_query(struct db_pool *pool, const struct db_stmt *stmt, int nparams,
			const char *const *params, PGresult **res)
	__attribute__((warn_unused_result));

/* Runs fn inside BEGIN ... COMMIT on one connection. Serialization failures
 * and deadlocks (DB_RETRY) run the whole function again, at most 5 times; any
 * other result other than DB_OK rolls back and is returned. */
typedef enum db_result (*db_tx_fn)(struct db_conn *conn, void *arg);
enum db_result db_transaction(struct db_pool *pool, db_tx_fn fn, void *arg)
	__attribute__((warn_unused_result));

/* Request transactions (pool.c, used by idempotency_store.c). db_conn_begin
 * opens a transaction on an acquired connection. db_conn_pin makes c, inside
 * it, the calling thread's connection: until db_conn_unpin, each
 * db_conn_acquire of its pool on this thread returns c inside a savepoint of
 * its own (so one failed statement does not abort the rest), and
 * db_transaction runs inside such a savepoint. db_conn_unpin commits (commit
 * true) or rolls back, releases c and publishes the wake-ups of what
 * committed. With commit, DB_CONFLICT means a statement had failed outside
 * any savepoint (the transaction was lost; rolled back) and other results
 * those of COMMIT. */
enum db_result db_conn_begin(struct db_conn *c) __attribute__((warn_unused_result));
void db_conn_pin(struct db_conn *c);
struct db_conn *db_conn_pinned(struct db_pool *pool);
enum db_result db_conn_unpin(struct db_pool *pool, bool commit);

/* Work wake-ups (job_steps_store.c) with a publisher set (db_pool_set_wake_publisher):
 * keys ("aid/nid" separated by spaces) are kept with the transaction running
 * on c and handed to the publisher once it has committed; a rollback or a
 * retry drops them. Without a publisher the plan sends a NOTIFY itself. */
bool db_conn_publishes_wakes(const struct db_conn *c);
void db_conn_wake_after_commit(struct db_conn *c, const char *keys);

/* Result helpers. */
int64_t db_get_int64(const PGresult *res, int row, int col);
bool db_get_bool(const PGresult *res, int row, int col);
/* The text, or "" for NULL, cut to fit cap bytes at a character boundary
 * (size buffers of API text with TEXT_BUF, util/text.h, so nothing is cut). */
void db_get_text(const PGresult *res, int row, int col, char *out, size_t cap);
/* The text of an int64 for a parameter; buf holds 24 bytes. */
const char *db_int64_param(int64_t v, char buf[24]);

/* A PostgreSQL array literal for a parameter ($n::text[], $n::int8[]):
 * db_array_add appends one element (quoted, so any text), db_array_param
 * gives the literal (valid until the next add or finish), db_array_finish
 * frees it. Start from struct db_array a = { 0 }. */
struct db_array {
	char *text;
	size_t len, cap;
};
void db_array_add(struct db_array *a, const char *text);
const char *db_array_param(struct db_array *a);
void db_array_finish(struct db_array *a);

/* "\\x<hex>" text form of a bytea parameter; out holds 2 * len + 3 bytes. */
const char *db_bytea_param(const uint8_t *bytes, size_t len, char *out);
#define DB_HASH_PARAM_LEN (2 * 32 + 3)

/* SQL fragment: a timestamptz column as microseconds since the epoch. */
#define DB_US(col) "(extract(epoch from " col ") * 1000000)::int8"

/* SQL fragment: a microseconds-since-epoch int8 parameter as timestamptz. */
#define DB_TS(param) "(timestamptz 'epoch' + " param "::int8 * interval '1 microsecond')"

/* Statements shared by stores inside one transaction (signup). */
struct account;
struct account_input;
struct audit_actor;
enum db_result db_accounts_insert_owned(struct db_conn *conn, const char *uid,
					const struct account_input *in, bool is_default,
					const struct audit_actor *actor, struct account *out)
	__attribute__((warn_unused_result));
enum db_result db_sessions_insert(struct db_conn *conn, const char *uid, const uint8_t hash[32],
				  int64_t expires_us) __attribute__((warn_unused_result));

/* Appends an audit entry inside the caller's transaction (audit_store.c). */
struct audit_actor;
enum db_result db_audit_insert(struct db_conn *conn, const char *aid,
			       const struct audit_actor *actor, const char *action,
			       const char *target_type, const char *target_id)
	__attribute__((warn_unused_result));

/* db_query of a statement that changes something, and, when it returns a
 * row, its audit entry, in one transaction (audit_store.c). */
enum db_result db_query_audited(struct db_pool *db, const struct db_stmt *stmt, int nparams,
				const char *const *params, PGresult **res, const char *aid,
				const struct audit_actor *actor, const char *action,
				const char *target_type, const char *target_id)
	__attribute__((warn_unused_result));

/* Uses a join token inside the caller's transaction (join_tokens_store.c). */
struct join_token;
enum db_result db_join_token_consume(struct db_conn *conn, const uint8_t hash[32],
				     struct join_token *out) __attribute__((warn_unused_result));

/* Sets a cluster's status from its nodes and credentials (fleet_store.c). */
enum db_result db_cluster_status_refresh(struct db_conn *conn, const char *aid, const char *cid)
	__attribute__((warn_unused_result));

/* Locks the cluster's row FOR SHARE until the transaction ends (it can
 * neither go nor change status meanwhile) and gives its status, for a write
 * of something in it (a service, an app); DB_NOT_FOUND when there is none
 * (clusters_store.c). */
enum db_result db_cluster_share_lock(struct db_conn *conn, const char *aid, const char *cid,
				     char *status, size_t cap) __attribute__((warn_unused_result));

/* A cluster.delete job ended cancelled or failed (error: why) and the
 * cluster stays: out of "deleting" to the status its nodes give, with a
 * Deleting condition (False) saying what happened (clusters_store.c). */
enum db_result db_cluster_teardown_stopped(struct db_conn *conn, const char *aid, const char *cid,
					   const char *job_id, bool cancelled, const char *error)
	__attribute__((warn_unused_result));

/* A service job ended failed (error: why) or cancelled (services_store.c):
 * the service says so in a condition; a failed create leaves it failed. */
enum db_result db_service_job_stopped(struct db_conn *conn, const char *aid, const char *cid,
				      const char *job_id, bool cancelled, const char *error)
	__attribute__((warn_unused_result));

/* An app job ended failed (error: why) or cancelled (app_jobs_store.c):
 * its deployment ends so too, a stopped delete leaves the app active. */
enum db_result db_app_job_stopped(struct db_conn *conn, const char *aid, const char *cid,
				  const char *job_id, bool cancelled, const char *error)
	__attribute__((warn_unused_result));

/* Jobs (job_steps_store.c): inserts a job with the steps of its type (pending), and
 * moves a job on as far as it can go now, inside the caller's transaction. */
enum db_result db_job_insert(struct db_conn *conn, const char *id, const char *aid, const char *cid,
			     const char *type, const char *target_type, const char *target_id,
			     const char *created_by) __attribute__((warn_unused_result));
/* The same with instructions rendered now (a service's objects and chart):
 * each goes to its step, and that step's plan (plan_rendered) queues them. */
struct job_instruction;
enum db_result db_job_insert_rendered(struct db_conn *conn, const char *id, const char *aid,
				      const char *cid, const char *type, const char *target_type,
				      const char *target_id, const char *created_by,
				      const struct job_instruction *list, size_t n)
	__attribute__((warn_unused_result));
enum db_result db_job_advance(struct db_conn *conn, const char *job_id)
	__attribute__((warn_unused_result));
/* Cancels a pending or running job inside the caller's transaction, as
 * db_jobs_cancel does (without its audit entry): *cancelled false when it
 * had ended already (jobs_store.c; a superseded deploy's job). */
enum db_result db_job_cancel_in(struct db_conn *conn, const char *aid, const char *job_id,
				bool *cancelled) __attribute__((warn_unused_result));
/* What a job of type leaves behind when it ends failed (error: why) or
 * cancelled, inside the transaction that ended it. */
enum db_result db_job_stopped(struct db_conn *conn, const char *job_id, const char *type,
			      const char *aid, const char *cid, bool cancelled, const char *error)
	__attribute__((warn_unused_result));

/* Users' VPN devices (vpn_devices_store.c): the step of a vpn.devices job,
 * which sends SET_VPN_PEERS{interface:"wg1"} with the cluster's device peers
 * to its nodes serving wg1; and a change of cluster cid's device peers inside
 * the caller's transaction, which must hold the account's row lock (taken by
 * every device write; agent_store.c takes it too): coalesced into an open
 * vpn.devices job of the cluster or a new one. */
extern const struct db_stmt db_plan_wg1_peers;
enum db_result db_vpn_peers_changed(struct db_conn *conn, const char *aid, const char *cid,
				    const char *created_by) __attribute__((warn_unused_result));
/* A member leaves the account (members_store.c, under the account's row
 * lock): their devices go, and their clusters' peer sets are sent again. */
enum db_result db_vpn_devices_owner_gone(struct db_conn *conn, const char *aid, const char *uid,
					 const char *created_by)
	__attribute__((warn_unused_result));
/* Takes the account's row lock (FOR NO KEY UPDATE) in the caller's transaction. */
enum db_result db_vpn_lock_account(struct db_conn *conn, const char *aid)
	__attribute__((warn_unused_result));

/* Inserts an API key inside the caller's transaction, with its audit entry
 * (api_keys_store.c; device logins). */
struct api_key;
enum db_result db_api_key_insert(struct db_conn *conn, struct api_key *key, const uint8_t hash[32],
				 const struct audit_actor *actor)
	__attribute__((warn_unused_result));

#endif
