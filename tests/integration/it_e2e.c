/* End to end with the agent-sim binary (tests/agent-sim), as a fleet runs it,
 * against the real server:
 *   a control-plane join token → agent-sim registers a machine → its heartbeat
 *   brings the node online → its node.join job completes through agent-sim's
 *   answers (the first control plane initialises the cluster) → a worker
 *   registers with a worker token → its node.join job completes: peers to the
 *   control plane, the join command from the control plane, that command as
 *   the worker's script → the worker is deleted through the API → its
 *   node.delete job completes (the control plane's peers updated) → the
 *   deleted node's certificate is refused (403 agent.cert_revoked), the
 *   control plane's still works.
 * Each agent-sim run is `work --until-replies N`: it ends when its agents have
 * had N answers accepted, so a wrong number of instructions fails the run
 * (too few: it times out; too many: the job is checked after). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents.h"
#include "harness.h"

#define SIM_TIMEOUT_S 30

static struct it_server *srv;
static struct it_user owner;
static PGconn *pg;
static char agent_sim[1024], ca_path[1024], agent_url[64];

/* Runs agent-sim with args (already shell-quoted where needed); its exit code,
 * and its stdout (to free) in *out. */
static int sim(const char *args, char **out)
{
	return it_shell_output(it_fmt("timeout %d '%s' %s --agent-url %s --ca '%s'", SIM_TIMEOUT_S,
				      agent_sim, args, agent_url, ca_path),
			       out);
}

/* The job until it is no longer pending or running (10 s at most). */
static void check_job_completed(const char *job_id, const char *type)
{
	json_t *job = it_job_settled(srv, owner.token, job_id);
	CHECK_MSG(job != NULL, "job %s still open after 15 s", job_id);
	if (!job)
		return;
	CHECK_STR_EQ(it_json_str(job, "type"), type);
	CHECK_STR_EQ(it_json_str(job, "status"), "completed");
	CHECK_INT_EQ(json_integer_value(json_object_get(job, "progress")), 100);
	json_decref(job);
}

/* Registers one machine with token into the state file; its node id. */
static bool register_node(const char *token, const char *state, char nid[8])
{
	char *out;
	int rc = sim(it_fmt("register --token %s --count 1 --state '%s'", token, state), &out);
	CHECK_INT_EQ(rc, 0);
	json_t *s = it_sim_summary(out);
	CHECK_INT_EQ(json_integer_value(json_object_get(s, "registered")), 1);
	json_decref(s);
	free(out);
	FILE *f = fopen(state, "r");
	char line[16384] = "";
	bool ok = f && fgets(line, sizeof(line), f);
	if (f)
		fclose(f);
	json_t *agent = ok ? json_loads(line, 0, NULL) : NULL;
	const char *id = it_json_str(agent, "nid");
	ok = id && strlen(id) < 8;
	if (ok)
		strcpy(nid, id);
	json_decref(agent);
	CHECK_MSG(ok, "no node in %s", state);
	return ok;
}

/* The newest job of the account of type about target. */
static bool job_of(const char *type, const char *target, char out[40])
{
	const char *params[] = { owner.aid, type, target };
	PGresult *res = PQexecParams(pg,
				     "SELECT id::text FROM jobs WHERE aid = $1 AND type = $2"
				     " AND target_id = $3 ORDER BY created_at DESC LIMIT 1",
				     3, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (ok)
		snprintf(out, 40, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	CHECK_MSG(ok, "no %s job for %s", type, target);
	return ok;
}

/* agent-sim work for the agents of state until n answers were accepted. */
static void work(const char *state, int n, const char *what)
{
	char *out;
	int rc = sim(it_fmt("work --state '%s' --beat --wait 5 --duration 20 --until-replies %d",
			    state, n),
		     &out);
	CHECK_MSG(rc == 0, "%s: agent-sim work exited %d: %s", what, rc, out);
	json_t *s = it_sim_summary(out);
	CHECK_INT_EQ(json_integer_value(it_json_get(s, "replies.ok")), n);
	CHECK_INT_EQ(json_integer_value(it_json_get(s, "replies.failed")), 0);
	CHECK_INT_EQ(json_integer_value(it_json_get(s, "polls.failed")), 0);
	json_decref(s);
	free(out);
}

static long node_online(const char *nid)
{
	const char *params[] = { owner.aid, nid };
	return it_db_count(pg,
			   "SELECT count(*) FROM nodes WHERE aid = $1 AND nid = $2"
			   " AND status = 'online'",
			   2, params);
}

int main(void)
{
	if (!it_init("it_e2e"))
		return 1;
	const char *bin_dir_end = strrchr(it_env.bin, '/');
	/* build/server/runosd → build/tests/agent-sim/agent-sim */
	snprintf(agent_sim, sizeof(agent_sim), "%.*s/../tests/agent-sim/agent-sim",
		 (int)(bin_dir_end - it_env.bin), it_env.bin);
	CHECK_MSG(access(agent_sim, X_OK) == 0, "%s is not built", agent_sim);
	static const char *env[] = { "RUNOS_NODE_OFFLINE_AFTER=60", NULL };
	srv = it_server_start("e2e", env);
	pg = PQconnectdb(it_env.database_url);
	if (!srv || PQstatus(pg) != CONNECTION_OK || !it_signup(srv, &owner))
		return it_finish("it_e2e");
	snprintf(agent_url, sizeof(agent_url), "https://127.0.0.1:%d", it_server_agent_port(srv));
	char *ca = it_agent_ca(pg);
	snprintf(ca_path, sizeof(ca_path), "%s/e2e-ca-%d.pem", it_env.tmpdir, (int)getpid());
	FILE *f = fopen(ca_path, "w");
	if (f && ca)
		fputs(ca, f);
	if (f)
		fclose(f);
	free(ca);

	char cid[8], cp_token[64], worker_token[64];
	if (!it_new_cluster(srv, &owner, "e2e", cid) ||
	    !it_join_token(srv, &owner, cid, "controlplane", 1, cp_token) ||
	    !it_join_token(srv, &owner, cid, "worker", 1, worker_token))
		return it_finish("it_e2e");

	/* The first control plane: registered, online, its join job (the
	 * cluster's initialisation script) answered. */
	char cp_state[1024], worker_state[1024], both_state[1024], cp[8], worker[8], job[40];
	snprintf(cp_state, sizeof(cp_state), "%s/e2e-cp-%d.jsonl", it_env.tmpdir, (int)getpid());
	snprintf(worker_state, sizeof(worker_state), "%s/e2e-worker-%d.jsonl", it_env.tmpdir,
		 (int)getpid());
	snprintf(both_state, sizeof(both_state), "%s/e2e-both-%d.jsonl", it_env.tmpdir,
		 (int)getpid());
	if (!register_node(cp_token, cp_state, cp) || !job_of("node.join", cp, job))
		return it_finish("it_e2e");
	CHECK_INT_EQ(node_online(cp), 0);
	work(cp_state, 1, "control plane join");
	CHECK_INT_EQ(node_online(cp), 1);
	check_job_completed(job, "node.join");
	{
		const char *params[] = { job };
		CHECK_INT_EQ(it_db_count(pg,
					 "SELECT count(*) FROM instructions WHERE job_id = $1"
					 " AND type = 'RUN_REMOTE_SCRIPT' AND status = 'completed'"
					 " AND payload->>'script' = 'runos-init-cluster'",
					 1, params),
			     1);
	}

	/* A worker: peers to the control plane, the join command from it, and
	 * that command as the worker's script. */
	if (!register_node(worker_token, worker_state, worker) || !job_of("node.join", worker, job))
		return it_finish("it_e2e");
	CHECK_INT_EQ(it_shell(it_fmt("cat '%s' '%s' >'%s'", cp_state, worker_state, both_state)),
		     0);
	work(both_state, 3, "worker join");
	check_job_completed(job, "node.join");
	{
		const char *params[] = { job, cp, worker };
		CHECK_INT_EQ(it_db_count(pg,
					 "SELECT count(*) FROM instructions WHERE job_id = $1"
					 " AND status = 'completed' AND ((nid = $2 AND type IN"
					 " ('SET_VPN_PEERS', 'GET_CLUSTER_JOIN_CMD')) OR (nid = $3"
					 " AND type = 'RUN_REMOTE_SCRIPT' AND payload->>'script'"
					 " = 'kubeadm join 172.24.0.1:6443 --token agent-sim'))",
					 3, params),
			     3);
	}
	CHECK_INT_EQ(node_online(worker), 1);

	/* The worker deleted: its job updates the control plane's peers. */
	struct it_resp r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/nodes/%s", owner.aid,
				   cid, worker);
	CHECK_STATUS(r, 202);
	const char *delete_job = it_json_str(r.json, "jobId");
	CHECK(delete_job && it_is_uuid(delete_job));
	char delete_id[40] = "";
	if (delete_job)
		snprintf(delete_id, sizeof(delete_id), "%s", delete_job);
	it_resp_free(&r);
	work(cp_state, 1, "worker delete");
	if (delete_id[0])
		check_job_completed(delete_id, "node.delete");

	/* The deleted node's certificate is refused; the control plane's is not. */
	char *out;
	int rc = sim(
		it_fmt("once --state '%s' --path /agent/v1/heartbeat --body '{}'", worker_state),
		&out);
	CHECK_MSG(rc != 0 && strncmp(out, "403 ", 4) == 0 && strstr(out, "agent.cert_revoked"),
		  "deleted node's heartbeat: exit %d, %s", rc, out);
	free(out);
	rc = sim(it_fmt("once --state '%s' --path /agent/v1/heartbeat --body '{}'", cp_state),
		 &out);
	CHECK_MSG(rc == 0 && strncmp(out, "200 ", 4) == 0, "control plane's heartbeat: exit %d, %s",
		  rc, out);
	free(out);

	unlink(cp_state);
	unlink(worker_state);
	unlink(both_state);
	unlink(ca_path);
	PQfinish(pg);
	it_server_stop(srv);
	return it_finish("it_e2e");
}
