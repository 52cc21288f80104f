/* Jobs move on here (AGENT.md §6): a job has ordered steps; a step, when it
 * starts, queues its instructions (its plan, below, reads the cluster as it
 * is then) and completes when all of them have completed; a failed one fails
 * the step and the job. db_job_advance runs inside the transaction that
 * changed something (a reply, an expired lease, a new job), under the job's
 * row lock, so two instances never move one job at once.
 *
 * A step's instructions are queued with one wake-up naming all its nodes,
 * which wakes their parked polls on whichever instance holds them: a NOTIFY
 * in the transaction, or, with Redis, a publish after it commits
 * (queue/wakeups.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/apps_store.h"
#include "db/audit_store.h"
#include "db/jobs_store.h"
#include "db_internal.h"
#include "idalloc/clusters.h"

/* clang-format off */
#define INSERT_INSTRUCTIONS \
	"INSERT INTO instructions (tag, aid, nid, job_id, step_id, type, payload) "
/* $1 aid, $2 cid, $3 job, $4 step, $5 the job's target node. */
#define VPN_PEERS_PAYLOAD \
	"json_build_object('peers', coalesce((SELECT json_agg(json_build_object(" \
	"'pubKey', p.vpn_pub_key, 'endpointIp', p.vpn_endpoint, 'vpnIp'," \
	" " IDALLOC_VPN_IP_SQL("c.cluster_index", "p.vpn_host") ") ORDER BY p.vpn_host)" \
	" FROM nodes p WHERE p.aid = n.aid AND p.cid = n.cid AND p.nid <> n.nid" \
	" AND p.deleted_at IS NULL), '[]'))"
#define ONLINE_NODES \
	" FROM nodes n JOIN clusters c ON c.aid = n.aid AND c.cid = n.cid" \
	" WHERE n.aid = $1 AND n.cid = $2 AND n.nid <> $5 AND n.deleted_at IS NULL" \
	" AND n.status = 'online'"
#define CONTROL_PLANE " AND n.role IN ('controlplane', 'hybrid')"
/* clang-format on */

static const struct db_stmt plan_vpn_peers = {
	"plan_vpn_peers", INSERT_INSTRUCTIONS "SELECT gen_random_uuid(), n.aid, n.nid, $3, $4,"
					      " 'SET_VPN_PEERS', " VPN_PEERS_PAYLOAD ONLINE_NODES
};
static const struct db_stmt plan_join_command = {
	"plan_join_command", INSERT_INSTRUCTIONS
	"SELECT gen_random_uuid(), n.aid, n.nid, $3, $4, 'GET_CLUSTER_JOIN_CMD',"
	" json_build_object('asCp', (SELECT t.role IN ('controlplane', 'hybrid')"
	" FROM nodes t WHERE t.aid = $1 AND t.nid = $5))" ONLINE_NODES CONTROL_PLANE
	" ORDER BY n.vpn_host LIMIT 1"
};
/* The join on the new node: the join command a control plane gave in step 2,
 * or, for the first control plane, the cluster's initialisation. */
static const struct db_stmt plan_join = {
	"plan_join", INSERT_INSTRUCTIONS
	"SELECT gen_random_uuid(), n.aid, n.nid, $3, $4, 'RUN_REMOTE_SCRIPT', json_build_object("
	"'script', coalesce((SELECT i.reply->>'joinCmd' FROM instructions i JOIN job_steps s"
	" ON s.id = i.step_id WHERE s.job_id = $3 AND s.step_number = 2 AND i.status = 'completed'"
	" LIMIT 1), 'runos-init-cluster'), 'params', json_build_object('role', n.role))"
	" FROM nodes n WHERE n.aid = $1 AND n.nid = $5 AND n.deleted_at IS NULL AND $2 = n.cid"
};
static const struct db_stmt plan_etcd_remove = {
	"plan_etcd_remove", INSERT_INSTRUCTIONS
	"SELECT gen_random_uuid(), n.aid, n.nid, $3, $4, 'REMOVE_ETCD_MEMBER',"
	" json_build_object('nodeIp', (SELECT " IDALLOC_VPN_IP_SQL(
		"c.cluster_index",
		"t.vpn_host") " FROM nodes t WHERE t.aid = $1 AND t.nid = $5))" ONLINE_NODES
		CONTROL_PLANE " AND EXISTS (SELECT 1 FROM nodes t WHERE t.aid = $1"
			      " AND t.nid = $5 AND t.role IN ('controlplane', "
			      "'hybrid')) ORDER BY n.vpn_host LIMIT 1"
};
static const struct db_stmt plan_uninstall_all = { "plan_uninstall_all", INSERT_INSTRUCTIONS
						   "SELECT gen_random_uuid(), n.aid, n.nid, $3, $4,"
						   " 'UNINSTALL_NODE', '{}'::json" ONLINE_NODES };
/* The last step of a cluster delete: its nodes' certificates are revoked and
 * the cluster goes, which frees its cid and index; only while this step of
 * this job is the one running, for the cluster the job is about. */
static const struct db_stmt plan_remove_cluster = {
	"plan_remove_cluster",
	"WITH revoked AS (UPDATE node_certificates SET revoked_at = now() WHERE aid = $1"
	" AND revoked_at IS NULL AND nid IN (SELECT nid FROM nodes WHERE aid = $1 AND cid = $2)"
	" RETURNING serial),"
	" kept AS (INSERT INTO certificate_revocations (serial) SELECT serial FROM revoked"
	" ON CONFLICT DO NOTHING)"
	" DELETE FROM clusters WHERE aid = $1 AND cid = $2 AND cid = $5 AND EXISTS (SELECT 1"
	" FROM job_steps WHERE id = $4 AND job_id = $3 AND status = 'running')"
};

/* The instructions rendered when the job was made (step_instructions, a
 * service's objects and chart), queued in order to the first online
 * control-plane node of the cluster. */
static const struct db_stmt plan_rendered = {
	"plan_rendered",
	"INSERT INTO instructions (tag, aid, nid, job_id, step_id, type, payload, sealed_payload)"
	" SELECT gen_random_uuid(), n.aid, n.nid, $3, $4, si.type, si.payload, si.sealed_payload"
	" FROM step_instructions si, (SELECT n.aid, n.nid FROM nodes n WHERE n.aid = $1"
	" AND n.cid = $2 AND n.deleted_at IS NULL AND n.status = 'online'" CONTROL_PLANE
	" ORDER BY n.vpn_host LIMIT 1) n WHERE si.step_id = $4 AND EXISTS (SELECT 1 FROM jobs j"
	" WHERE j.id = $3 AND j.target_id = $5) ORDER BY si.ord"
};
/* Only while this step of this job is the one running. */
#define STEP_RUNNING                                                                               \
	" AND EXISTS (SELECT 1 FROM job_steps WHERE id = $4 AND job_id = $3 AND status = "         \
	"'running')"
/* Service steps that change the service itself ($5: its id). */
static const struct db_stmt plan_service_installed = {
	"plan_service_installed",
	"UPDATE services SET lifecycle = 'installed', updated_at = now(), conditions ="
	" (SELECT coalesce(jsonb_agg(c), '[]') FROM jsonb_array_elements(conditions) c"
	" WHERE c->>'type' NOT IN ('Failed', 'UpdateFailed'))"
	" WHERE aid = $1 AND cid = $2 AND id = $5 AND lifecycle <> 'deleting'" STEP_RUNNING
};
static const struct db_stmt plan_service_rotated = {
	"plan_service_rotated",
	"UPDATE services SET credentials = pending_credentials, pending_credentials = NULL,"
	" updated_at = now() WHERE aid = $1 AND cid = $2 AND id = $5"
	" AND pending_credentials IS NOT NULL" STEP_RUNNING
};
/* The last step of a service delete: the row goes (its credentials with it). */
static const struct db_stmt plan_service_remove = {
	"plan_service_remove", "DELETE FROM services WHERE aid = $1 AND cid = $2 AND id = $5 AND "
			       "lifecycle = 'deleting'" STEP_RUNNING
};

/* Apps (docs/apps.md): a deploy builds on a node of the cluster (a worker
 * when one is online, else a control-plane node), records what the build
 * answered, applies the rendered objects with the image pinned by the digest
 * built, and waits until the cluster reports the rollout done. */
#define ANY_ONLINE_NODE_PREFERRING_WORKERS                                                         \
	"(SELECT n.aid, n.nid FROM nodes n WHERE n.aid = $1 AND n.cid = $2"                        \
	" AND n.deleted_at IS NULL AND n.status = 'online' ORDER BY CASE n.role"                   \
	" WHEN 'worker' THEN 0 WHEN 'hybrid' THEN 1 ELSE 2 END, n.vpn_host LIMIT 1) n"
#define APP_OF_JOB " EXISTS (SELECT 1 FROM jobs j WHERE j.id = $3 AND j.target_id = $5)"
static const struct db_stmt plan_app_build = {
	"plan_app_build",
	"WITH moved AS (UPDATE app_deployments SET status = 'building' WHERE aid = $1"
	" AND cid = $2 AND app_id = $5 AND job_id = $3 AND status = 'pending')"
	" INSERT INTO instructions (tag, aid, nid, job_id, step_id, type, payload, sealed_payload)"
	" SELECT gen_random_uuid(), n.aid, n.nid, $3, $4, si.type, si.payload, si.sealed_payload"
	" FROM step_instructions si, " ANY_ONLINE_NODE_PREFERRING_WORKERS
	" WHERE si.step_id = $4 AND" APP_OF_JOB " ORDER BY si.ord"
};
/* What the build answered (IMAGE_BUILT{sha, imageDigest, durationMs}), or
 * for a rollback or a change of settings the digest rendered: the
 * deployment moves to deploying; none valid fails the job (none_error). */
#define BUILT_REPLY(member)                                                                        \
	"(SELECT i.reply->>'" member "' FROM instructions i WHERE i.job_id = $3"                   \
	" AND i.type = 'BUILD_IMAGE' AND i.status = 'completed' ORDER BY i.seq DESC LIMIT 1)"
static const struct db_stmt plan_app_built = {
	"plan_app_built",
	"UPDATE app_deployments d SET status = 'deploying', rollout_at = now(),"
	" sha = coalesce(b.sha, d.sha), image_digest = coalesce(b.digest, d.image_digest),"
	" image_tag = CASE WHEN b.sha IS NULL THEN d.image_tag"
	"  ELSE replace(d.image_tag, '" APP_IMAGE_SHA_PLACEHOLDER "', b.sha) END"
	" FROM (SELECT " BUILT_REPLY("sha") " AS sha, " BUILT_REPLY(
		"imageDigest") " AS digest) b"
			       " WHERE d.aid = $1 AND d.cid = $2 AND d.app_id = $5 AND d.job_id = "
			       "$3"
			       " AND d.status IN ('pending', 'building')"
			       " AND coalesce(b.digest, d.image_digest) ~ '^sha256:[0-9a-f]{64}$'"
			       " AND (b.sha IS NULL OR b.sha ~ '^[0-9a-f]{40}$')" STEP_RUNNING
};
/* The objects, to the first online control-plane node; the Deployment's
 * image was rendered as "<repository>@{{imageDigest}}" when the digest was
 * not known yet, and takes the deployment's now. */
#define DIGEST_PLACEHOLDER APP_IMAGE_DIGEST_PLACEHOLDER
#define CR_TEXT "convert_from(decode(si.payload->>'crB64', 'base64'), 'UTF8')"
static const struct db_stmt plan_app_rollout = {
	"plan_app_rollout",
	"INSERT INTO instructions (tag, aid, nid, job_id, step_id, type, payload, sealed_payload)"
	" SELECT gen_random_uuid(), n.aid, n.nid, $3, $4, si.type,"
	" CASE WHEN si.payload ? 'crB64' AND strpos(" CR_TEXT ", '" DIGEST_PLACEHOLDER "') > 0"
	"  THEN jsonb_build_object('crB64', translate(encode(convert_to(replace(" CR_TEXT
	", '" DIGEST_PLACEHOLDER "', (SELECT d.image_digest FROM app_deployments d WHERE d.aid = $1"
	"  AND d.job_id = $3 AND d.image_digest IS NOT NULL)), 'UTF8'), 'base64'), E'\\n', ''))"
	"  ELSE si.payload END, si.sealed_payload"
	" FROM step_instructions si, (SELECT n.aid, n.nid FROM nodes n WHERE n.aid = $1"
	" AND n.cid = $2 AND n.deleted_at IS NULL AND n.status = 'online'" CONTROL_PLANE
	" ORDER BY n.vpn_host LIMIT 1) n WHERE si.step_id = $4 AND" APP_OF_JOB
	" AND NOT (si.payload ? 'crB64' AND strpos(" CR_TEXT ", '" DIGEST_PLACEHOLDER "') > 0"
	"  AND NOT EXISTS (SELECT 1 FROM app_deployments d WHERE d.aid = $1 AND d.job_id = $3"
	"  AND d.image_digest IS NOT NULL)) ORDER BY si.ord"
};
/* The rollout is done when a control-plane node reports the app healthy
 * with every replica ready after the rollout started (agent.md: healthy
 * means the Deployment's rollout completed); a report of failed, or no
 * report of done within APP_ROLLOUT_TIMEOUT, fails it. No row: not yet (the
 * step waits and is tried again). */
#define APP_ROLLOUT_TIMEOUT "10 minutes"
#define APP_ROLLOUT_OUTCOME                                                                        \
	"CASE WHEN a.reported_state = 'healthy' AND a.reported_ready >= a.reported_desired"        \
	" THEN 'succeeded' ELSE 'failed' END"
#define APP_ROLLOUT_SETTLED(since)                                                                 \
	" AND ((a.reported_state IN ('healthy', 'failed') AND a.reported_at > " since              \
	" AND (a.reported_state = 'failed' OR a.reported_ready >= a.reported_desired))"            \
	" OR now() > " since " + interval '" APP_ROLLOUT_TIMEOUT "')"
#define APP_ROLLOUT_MESSAGE                                                                        \
	"CASE WHEN a.reported_state = 'failed' THEN 'The rollout failed: ' ||"                     \
	" coalesce(a.reported_message, 'the cluster reports the app failed')"                      \
	" WHEN a.reported_state = 'healthy' AND a.reported_ready >= a.reported_desired THEN NULL"  \
	" ELSE 'The rollout did not finish within " APP_ROLLOUT_TIMEOUT ": ' ||"                   \
	" coalesce(a.reported_ready, 0) || ' of ' || coalesce(a.reported_desired, a.replicas) ||"  \
	" ' replicas ready' END"
static const struct db_stmt plan_app_ready = {
	"plan_app_ready",
	"UPDATE app_deployments d SET status = " APP_ROLLOUT_OUTCOME ", finished_at = now(),"
	" message = " APP_ROLLOUT_MESSAGE " FROM apps a WHERE a.aid = $1 AND a.cid = $2"
	" AND a.id = $5 AND d.aid = $1 AND d.cid = $2 AND d.app_id = $5 AND d.job_id = $3"
	" AND d.status = 'deploying'" APP_ROLLOUT_SETTLED("d.rollout_at") STEP_RUNNING
	" RETURNING d.status, coalesce(d.message, '')"
};
/* A change of env vars (no deployment): the pods restarted to read them. */
static const struct db_stmt plan_app_restarted = {
	"plan_app_restarted",
	"SELECT " APP_ROLLOUT_OUTCOME ", coalesce(" APP_ROLLOUT_MESSAGE ", '') FROM apps a,"
	" job_steps s WHERE a.aid = $1 AND a.cid = $2 AND a.id = $5 AND s.job_id = $3"
	" AND s.step_number = (SELECT step_number - 1 FROM job_steps WHERE id = "
	"$4)" APP_ROLLOUT_SETTLED("s.completed_at") STEP_RUNNING
};
/* The last step of an app delete: the row goes, everything of it with it. */
static const struct db_stmt plan_app_remove = {
	"plan_app_remove", "DELETE FROM apps WHERE aid = $1 AND cid = $2 AND id = $5"
			   " AND lifecycle = 'deleting'" STEP_RUNNING
};

/* What each step of a job does: a statement that queues its instructions,
 * or (local) does the work itself; NULL: nothing to do. A rendered step
 * that finds no node to send its instructions to waits for one (waiting
 * says which). A local step that changes no row fails the job with
 * none_error when it has one; an until step (local) waits until its
 * statement returns a row {outcome, message}, and fails the job when the
 * outcome is "failed". */
struct step_plan {
	const char *name;
	const struct db_stmt *plan;
	bool local;
	const char *waiting; /* rendered steps: "control-plane node", "node" */
	const char *none_error;
	bool until;
};
#define QUEUED(name, plan)                                                                         \
	{                                                                                          \
		name, plan, false, NULL, NULL, false                                               \
	}
#define LOCAL(name, plan)                                                                          \
	{                                                                                          \
		name, plan, true, NULL, NULL, false                                                \
	}
#define LOCAL_OR_FAIL(name, plan, error)                                                           \
	{                                                                                          \
		name, plan, true, NULL, error, false                                               \
	}
#define UNTIL(name, plan)                                                                          \
	{                                                                                          \
		name, plan, true, NULL, NULL, true                                                 \
	}
#define RENDERED(name, plan, waiting)                                                              \
	{                                                                                          \
		name, plan, false, waiting, NULL, false                                            \
	}
#define CONTROL_PLANE_NODE "control-plane node"
#define APP_NO_IMAGE                                                                               \
	"No image to roll out: the build answered no IMAGE_BUILT{sha, imageDigest} with a "        \
	"sha256 digest (and a 40-hex sha)"

#define JOB_MAX_STEPS 8

/* The job types, as data: a new type is one row naming its steps in order
 * (each a statement above) and what it undoes when it fails or is cancelled
 * (NULL: nothing), not new control flow. db_job_insert makes a job's steps
 * from its row, db_job_advance starts each from it, db_job_stopped runs its
 * undo. */
static const struct job_plan {
	const char *job_type;
	struct step_plan steps[JOB_MAX_STEPS]; /* ends at the first without a name */
	enum db_result (*stopped)(struct db_conn *c, const char *aid, const char *cid,
				  const char *job_id, bool cancelled, const char *error);
} plans[] = {
	{ "node.join",
	  { QUEUED("vpn-peers", &plan_vpn_peers), QUEUED("join-command", &plan_join_command),
	    QUEUED("join", &plan_join) },
	  NULL },
	/* The node's certificate was revoked when it was deleted (API.md §4), so
	 * it can no longer be told to uninstall itself: step 2 records that. */
	{ "node.delete",
	  { QUEUED("etcd-remove", &plan_etcd_remove), QUEUED("uninstall", NULL),
	    QUEUED("vpn-peers", &plan_vpn_peers) },
	  NULL },
	/* Stopped, the cluster comes back out of "deleting", saying why. */
	{ "cluster.delete",
	  { QUEUED("uninstall", &plan_uninstall_all), LOCAL("remove", &plan_remove_cluster) },
	  db_cluster_teardown_stopped },
	/* Services (services_store.c renders their instructions). A Longhorn
	 * instance's storage-class step has its StorageClass; other types' is
	 * empty and completes at once. */
	{ "service.create",
	  { RENDERED("namespace", &plan_rendered, CONTROL_PLANE_NODE),
	    RENDERED("chart", &plan_rendered, CONTROL_PLANE_NODE),
	    RENDERED("storage-class", &plan_rendered, CONTROL_PLANE_NODE),
	    LOCAL("installed", &plan_service_installed) },
	  db_service_job_stopped },
	{ "service.update",
	  { RENDERED("chart", &plan_rendered, CONTROL_PLANE_NODE),
	    LOCAL("updated", &plan_service_installed) },
	  db_service_job_stopped },
	{ "service.rotate_credentials",
	  { RENDERED("secret", &plan_rendered, CONTROL_PLANE_NODE),
	    RENDERED("restart", &plan_rendered, CONTROL_PLANE_NODE),
	    LOCAL("rotated", &plan_service_rotated) },
	  db_service_job_stopped },
	{ "service.delete",
	  { RENDERED("chart", &plan_rendered, CONTROL_PLANE_NODE),
	    RENDERED("namespace", &plan_rendered, CONTROL_PLANE_NODE),
	    LOCAL("remove", &plan_service_remove) },
	  db_service_job_stopped },
	/* Apps (server/apps/render.c renders their instructions, docs/apps.md
	 * says what each job does). */
	{ "app.deploy",
	  { RENDERED("build", &plan_app_build, "node"),
	    LOCAL_OR_FAIL("built", &plan_app_built, APP_NO_IMAGE),
	    RENDERED("rollout", &plan_app_rollout, CONTROL_PLANE_NODE),
	    UNTIL("ready", &plan_app_ready) },
	  db_app_job_stopped },
	{ "app.build", { RENDERED("build", &plan_app_build, "node") }, db_app_job_stopped },
	{ "app.rollback",
	  { LOCAL_OR_FAIL("built", &plan_app_built, APP_NO_IMAGE),
	    RENDERED("rollout", &plan_app_rollout, CONTROL_PLANE_NODE),
	    UNTIL("ready", &plan_app_ready) },
	  db_app_job_stopped },
	/* New env vars or settings of a deployed app: its objects again (the
	 * pods restart), no build. An app not deployed yet only gets its
	 * ConfigMap and Secret (app.env). */
	{ "app.configure",
	  { RENDERED("rollout", &plan_app_rollout, CONTROL_PLANE_NODE),
	    UNTIL("restarted", &plan_app_restarted) },
	  db_app_job_stopped },
	{ "app.env",
	  { RENDERED("rollout", &plan_app_rollout, CONTROL_PLANE_NODE) },
	  db_app_job_stopped },
	/* GET …/logs: kubectl logs on a control-plane node, while the request
	 * waits (server/api/apps_logs.c). */
	{ "app.logs", { RENDERED("logs", &plan_rendered, CONTROL_PLANE_NODE) }, NULL },
	{ "app.delete",
	  { RENDERED("namespace", &plan_rendered, CONTROL_PLANE_NODE),
	    LOCAL("remove", &plan_app_remove) },
	  db_app_job_stopped },
	/* A change of users' VPN devices (vpn_devices_store.c): the cluster's
	 * whole wg1 peer set to its nodes serving wg1. */
	{ "vpn.devices", { QUEUED("wg1-peers", &db_plan_wg1_peers) }, NULL },
};

/* A job that ended keeps no sealed secret in the queue: what was handed
 * over is with its agent, what was not will never be. */
static const struct db_stmt stmt_drop_sealed = {
	"job_drop_sealed",
	"WITH steps AS (UPDATE step_instructions SET sealed_payload = NULL WHERE step_id IN"
	" (SELECT id FROM job_steps WHERE job_id = $1) AND sealed_payload IS NOT NULL)"
	" UPDATE instructions SET sealed_payload = NULL WHERE job_id = $1"
	" AND sealed_payload IS NOT NULL"
};

enum db_result db_job_stopped(struct db_conn *c, const char *job_id, const char *type,
			      const char *aid, const char *cid, bool cancelled, const char *error)
{
	const char *job[] = { job_id };
	enum db_result r = db_exec(c, &stmt_drop_sealed, 1, job, NULL);
	if (r != DB_OK)
		return r;
	for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++)
		if (strcmp(plans[i].job_type, type) == 0 && plans[i].stopped)
			return plans[i].stopped(c, aid, cid, job_id, cancelled, error);
	return DB_OK;
}

/* Step step_number (from 1) of job_type, or NULL past its last. */
static const struct step_plan *plan_of(const char *job_type, int step_number)
{
	for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		if (strcmp(plans[i].job_type, job_type) != 0)
			continue;
		if (step_number < 1 || step_number > JOB_MAX_STEPS ||
		    !plans[i].steps[step_number - 1].name)
			return NULL;
		return &plans[i].steps[step_number - 1];
	}
	return NULL;
}

int db_job_step_of(const char *job_type, const char *step_name)
{
	for (int n = 1; plan_of(job_type, n); n++)
		if (strcmp(plan_of(job_type, n)->name, step_name) == 0)
			return n;
	return 0;
}

static const struct db_stmt stmt_insert_job = {
	"job_insert", "INSERT INTO jobs (id, aid, cid, type, target_type, target_id, created_by)"
		      " VALUES ($1, $2, $3, $4, $5, $6, $7)"
};
static const struct db_stmt stmt_insert_step = {
	"job_insert_step", "INSERT INTO job_steps (id, job_id, aid, step_number, name)"
			   " VALUES (gen_random_uuid(), $1, $2, $3, $4)"
};
static const struct db_stmt stmt_lock_job = {
	"job_lock", "SELECT type, status, aid, coalesce(cid, ''), target_id FROM jobs"
		    " WHERE id = $1 FOR UPDATE"
};
/* The first step not completed, with its instructions counted. */
static const struct db_stmt stmt_current_step = {
	"job_current_step", "SELECT s.id, s.step_number, s.status,"
			    " count(i.tag) FILTER (WHERE i.status IN ('pending', 'leased')),"
			    " count(i.tag) FILTER (WHERE i.status = 'failed'),"
			    " min(i.error) FILTER (WHERE i.status = 'failed'),"
			    " (SELECT count(*) FROM job_steps WHERE job_id = $1)"
			    " FROM job_steps s LEFT JOIN instructions i ON i.step_id = s.id"
			    " WHERE s.job_id = $1 AND s.status <> 'completed'"
			    " GROUP BY s.id, s.step_number, s.status ORDER BY s.step_number LIMIT 1"
};
static const struct db_stmt stmt_start_step = {
	"job_start_step",
	"WITH step AS (UPDATE job_steps SET status = 'running', started_at = now(), waiting = NULL,"
	" retry_at = NULL, result = NULL WHERE id = $2"
	" RETURNING step_number)"
	" UPDATE jobs SET status = 'running', started_at = coalesce(started_at, now()),"
	" current_step = (SELECT step_number FROM step) WHERE id = $1"
};
/* The step's instructions counted (see stmt_reply) and their nodes' keys
 * ("aid/nid" separated by spaces; a cluster's 253 nodes at most, well under
 * NOTIFY's 8000 bytes): sent as one NOTIFY for the whole step, or returned
 * for the wake-up publisher (db_pool_set_wake_publisher). */
#define STEP_COUNTED_SELECT(what)                                                                  \
	"WITH counted AS (UPDATE job_steps SET open_instructions = $2::int WHERE id = $1)"         \
	" SELECT " what " FROM instructions WHERE step_id = $1 AND status = 'pending'"
#define STEP_KEYS "string_agg(DISTINCT aid || '/' || nid, ' ')"
static const struct db_stmt stmt_notify_step = {
	"job_notify_step", STEP_COUNTED_SELECT("pg_notify('runos_work', " STEP_KEYS ")")
};
static const struct db_stmt stmt_step_keys = { "job_step_keys", STEP_COUNTED_SELECT(STEP_KEYS) };
static const struct db_stmt stmt_complete_step = {
	"job_complete_step",
	"WITH step AS (UPDATE job_steps SET status = 'completed', completed_at = now(),"
	" result = $3::jsonb WHERE id = $2 RETURNING step_number)"
	" UPDATE jobs SET progress = least(99, (SELECT step_number FROM step) * 100 /"
	" greatest(1, (SELECT count(*) FROM job_steps WHERE job_id = $1))) WHERE id = $1"
};
static const struct db_stmt stmt_fail_job = {
	"job_fail",
	"WITH step AS (UPDATE job_steps SET status = 'failed', completed_at = now() WHERE id = $2),"
	" rest AS (UPDATE instructions SET status = 'cancelled', completed_at = now()"
	"  WHERE job_id = $1 AND status = 'pending')"
	" UPDATE jobs SET status = 'failed', error = $3, completed_at = now() WHERE id = $1"
};
static const struct db_stmt stmt_finish_job = {
	"job_finish", "UPDATE jobs SET status = 'completed', progress = 100, completed_at = now(),"
		      " result = (SELECT json_object_agg(name, coalesce(result, 'null'::jsonb))"
		      " FROM job_steps WHERE job_id = $1) WHERE id = $1"
};
/* A step's result: each instruction's node, reply type and reply. */
static const struct db_stmt stmt_step_result = {
	"job_step_result",
	"SELECT coalesce(json_agg(json_build_object('nid', nid, 'type', reply_type, 'reply', reply)"
	" ORDER BY seq), '[]')::text FROM instructions WHERE step_id = $1"
};

static const struct db_stmt stmt_insert_rendered = {
	"job_insert_rendered",
	"INSERT INTO step_instructions (step_id, ord, type, payload, sealed_payload)"
	" SELECT id, $3, $4, $5::jsonb, $6 FROM job_steps WHERE job_id = $1 AND step_number = $2"
};

enum db_result db_job_insert_rendered(struct db_conn *c, const char *id, const char *aid,
				      const char *cid, const char *type, const char *target_type,
				      const char *target_id, const char *created_by,
				      const struct job_instruction *list, size_t n)
{
	enum db_result r = db_job_insert(c, id, aid, cid, type, target_type, target_id, created_by);
	for (size_t i = 0; i < n && r == DB_OK; i++) {
		char step[24], ord[24];
		const char *params[] = { id,
					 db_int64_param(list[i].step, step),
					 db_int64_param((int64_t)i, ord),
					 list[i].type,
					 list[i].payload ? list[i].payload : "{}",
					 list[i].sealed_payload };
		r = db_exec(c, &stmt_insert_rendered, 6, params, NULL);
	}
	return r;
}

enum db_result db_job_insert(struct db_conn *c, const char *id, const char *aid, const char *cid,
			     const char *type, const char *target_type, const char *target_id,
			     const char *created_by)
{
	const char *params[] = { id, aid, cid, type, target_type, target_id, created_by };
	enum db_result r = db_exec(c, &stmt_insert_job, 7, params, NULL);
	for (int n = 1; r == DB_OK && plan_of(type, n); n++) {
		char number[24];
		const char *step[] = { id, aid, db_int64_param(n, number), plan_of(type, n)->name };
		r = db_exec(c, &stmt_insert_step, 4, step, NULL);
	}
	return r;
}

static const struct db_stmt stmt_step_rendered = {
	"job_step_rendered", "SELECT count(*) FROM step_instructions WHERE step_id = $1"
};
/* Back to pending, saying why (once in its log), for the sweep to try again
 * from retry_at (work_stalled). */
static const struct db_stmt stmt_step_wait = {
	"job_step_wait",
	"WITH log AS (INSERT INTO step_logs (step_id, aid, level, message) SELECT id, aid, 'warn',"
	" $2 FROM job_steps WHERE id = $1 AND waiting IS NULL)"
	" UPDATE job_steps SET status = 'pending', started_at = NULL, waiting = $2,"
	" retry_at = now() + interval '2 seconds', result = jsonb_build_object('waiting', $2::text)"
	" WHERE id = $1"
};

/* The step waits, saying why: pending again, tried from retry_at (*queued =
 * 1 keeps the job where it is). */
static enum db_result step_wait(struct db_conn *c, const char *step_id, const char *why,
				int *queued)
{
	const char *params[] = { step_id, why };
	*queued = 1;
	return db_exec(c, &stmt_step_wait, 2, params, NULL);
}

/* A rendered step that queued nothing: with instructions to send, there was
 * no online node of the kind it sends to, and it waits for one; without, it
 * has nothing to do. */
static enum db_result wait_for_node(struct db_conn *c, const struct step_plan *plan,
				    const char *step_id, const char *cid, int *queued)
{
	const char *step[] = { step_id };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_step_rendered, 1, step, &res);
	if (r != DB_OK)
		return r;
	bool has_work = db_get_int64(res, 0, 0) > 0;
	PQclear(res);
	if (!has_work)
		return DB_OK;
	char why[160];
	snprintf(why, sizeof(why),
		 "Waiting: no %s of cluster %s is online; this step starts when one is",
		 plan->waiting, cid);
	return step_wait(c, step_id, why, queued);
}

/* What a local step's statement did decides what comes next: an until step
 * waits for its row and fails the job on a "failed" one; a step that must
 * change something fails the job when it did not. *failure (to use at once)
 * is then the job's error. */
static enum db_result local_outcome(struct db_conn *c, const struct step_plan *plan,
				    const char *step_id, PGresult *res, int *queued, char *failure,
				    size_t cap)
{
	if (plan->until && PQntuples(res) == 0)
		return step_wait(c, step_id, "Waiting for the cluster to report the rollout done",
				 queued);
	if (plan->until && strcmp(PQgetvalue(res, 0, 0), "failed") == 0)
		snprintf(failure, cap, "%s", PQgetvalue(res, 0, 1));
	else if (plan->none_error && atoi(PQcmdTuples(res)) == 0)
		snprintf(failure, cap, "%s", plan->none_error);
	return DB_OK;
}

/* Starts the step: queues its plan and wakes the nodes. *queued: how many.
 * failure: set when the step failed the job (local_outcome). */
static enum db_result start_step(struct db_conn *c, const char *job_id, const char *type,
				 const char *aid, const char *cid, const char *target,
				 const char *step_id, int step_number, int *queued, char *failure,
				 size_t cap)
{
	*queued = 0;
	const char *ids[] = { job_id, step_id };
	enum db_result r = db_exec(c, &stmt_start_step, 2, ids, NULL);
	const struct step_plan *plan = plan_of(type, step_number);
	if (r != DB_OK || !plan || !plan->plan)
		return r;
	const char *params[] = { aid, cid, job_id, step_id, target };
	PGresult *res;
	r = db_exec(c, plan->plan, 5, params, &res);
	if (r != DB_OK)
		return r;
	if (plan->local) {
		r = local_outcome(c, plan, step_id, res, queued, failure, cap);
		PQclear(res);
		return r;
	}
	*queued = atoi(PQcmdTuples(res));
	PQclear(res);
	if (*queued == 0 && plan->waiting)
		return wait_for_node(c, plan, step_id, cid, queued);
	if (*queued == 0)
		return DB_OK;
	char count[24];
	const char *step[] = { step_id, db_int64_param(*queued, count) };
	if (!db_conn_publishes_wakes(c))
		return db_exec(c, &stmt_notify_step, 2, step, NULL);
	if ((r = db_exec(c, &stmt_step_keys, 2, step, &res)) != DB_OK)
		return r;
	if (!PQgetisnull(res, 0, 0))
		db_conn_wake_after_commit(c, PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_OK;
}

static enum db_result complete_step(struct db_conn *c, const char *job_id, const char *step_id)
{
	const char *step[] = { step_id };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_step_result, 1, step, &res);
	if (r != DB_OK)
		return r;
	const char *params[] = { job_id, step_id, PQgetvalue(res, 0, 0) };
	r = db_exec(c, &stmt_complete_step, 3, params, NULL);
	PQclear(res);
	return r;
}

enum db_result db_job_advance(struct db_conn *c, const char *job_id)
{
	const char *job[] = { job_id };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_lock_job, 1, job, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	char type[32], status[16], aid[8], cid[8], target[64];
	db_get_text(res, 0, 0, type, sizeof(type));
	db_get_text(res, 0, 1, status, sizeof(status));
	db_get_text(res, 0, 2, aid, sizeof(aid));
	db_get_text(res, 0, 3, cid, sizeof(cid));
	db_get_text(res, 0, 4, target, sizeof(target));
	PQclear(res);
	if (strcmp(status, "pending") != 0 && strcmp(status, "running") != 0)
		return DB_OK; /* terminal: never moves again */

	for (;;) {
		r = db_exec(c, &stmt_current_step, 1, job, &res);
		if (r != DB_OK)
			return r;
		if (PQntuples(res) == 0) {
			PQclear(res);
			r = db_exec(c, &stmt_finish_job, 1, job, NULL);
			return r == DB_OK ? db_exec(c, &stmt_drop_sealed, 1, job, NULL) : r;
		}
		char step_id[40], step_status[16], error[256];
		db_get_text(res, 0, 0, step_id, sizeof(step_id));
		int number = (int)db_get_int64(res, 0, 1);
		db_get_text(res, 0, 2, step_status, sizeof(step_status));
		int64_t open = db_get_int64(res, 0, 3), failed = db_get_int64(res, 0, 4);
		db_get_text(res, 0, 5, error, sizeof(error));
		PQclear(res);

		char failure[512] = "";
		if (strcmp(step_status, "pending") == 0) {
			int queued;
			r = start_step(c, job_id, type, aid, cid, target, step_id, number, &queued,
				       failure, sizeof(failure));
			if (r != DB_OK || queued > 0)
				return r;
		}
		if (failure[0] || (strcmp(step_status, "pending") != 0 && failed > 0)) {
			const char *params[] = { job_id, step_id,
						 failure[0] ? failure
						 : error[0] ? error
							    : "failed" };
			r = db_exec(c, &stmt_fail_job, 3, params, NULL);
			return r == DB_OK
				       ? db_job_stopped(c, job_id, type, aid, cid, false, params[2])
				       : r;
		} else if (open > 0) {
			return DB_OK; /* waiting for replies */
		}
		if ((r = complete_step(c, job_id, step_id)) != DB_OK)
			return r;
	}
}
