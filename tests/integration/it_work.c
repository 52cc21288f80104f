/* Work for agents (AGENT.md §5-6, API.md §5) against real servers, with the
 * test acting as node agents over mutual TLS:
 *  - end to end: token → register → online → the node.join job runs its
 *    steps through the agents (peers, join command, join) → node delete job
 *    → the deleted node's certificate refused;
 *  - the long poll: an empty poll ends at its wait; a parked poll is answered
 *    when work is queued, also when it is queued through another instance;
 *    a poll whose client hung up while parked is given no work; wake-ups
 *    go through Redis when it is configured, else (or when it does not
 *    answer) through NOTIFY;
 *  - leases (RUNOS_INSTRUCTION_LEASE=2): redelivery with attempt + 1, the
 *    late reply of the first attempt is 409, the step completes once;
 *    progress extends the lease and logs masked text; after the last
 *    attempt the step fails with agent_lost;
 *  - cancel while pending and while running (the heartbeat's cancel list);
 *    a deleted node's open instructions are cancelled and their jobs go on;
 *  - kill -9 of the server with 100 instructions in flight: after a restart
 *    each completes exactly once;
 *  - /jobs: tenancy, filters, bad input;
 *  - a cluster delete whose uninstall fails gives the cluster back, saying
 *    why, and can be tried again. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "harness.h"

#define LEASE 2

static struct it_server *srv, *srv2;
static struct it_user owner, stranger;
static PGconn *pg;
static char *ca;
static const char *server_env[] = { "RUNOS_INSTRUCTION_LEASE=2", "RUNOS_NODE_OFFLINE_AFTER=30",
				    NULL };

/* ---- acting as agents ------------------------------------------------------- */

static struct it_resp call_as(const struct it_server *s, const struct it_node *n,
			      const char *method, const char *path, const char *body)
{
	return it_agent_call(s, ca, n, method, path, body);
}

static void beat(const struct it_node *n)
{
	struct it_resp r = call_as(srv, n, "POST", "/agent/v1/heartbeat", "{}");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
}

/* One poll; its instructions (a JSON array, new reference) or NULL. */
static json_t *poll_on(const struct it_server *s, const struct it_node *n, int wait, int max)
{
	struct it_resp r = call_as(
		s, n, "GET", it_fmt("/agent/v1/instructions?wait=%d&max=%d", wait, max), NULL);
	CHECK_STATUS(r, 200);
	json_t *list = json_incref(json_object_get(r.json, "instructions"));
	it_resp_free(&r);
	return list;
}

static long reply(const struct it_node *n, const char *tag, int attempt, const char *type,
		  const char *payload)
{
	struct it_resp r = call_as(srv, n, "POST", it_fmt("/agent/v1/instructions/%s/reply", tag),
				   it_fmt("{\"attempt\":%d,\"type\":\"%s\",\"payload\":%s}",
					  attempt, type, payload ? payload : "{}"));
	long status = r.status;
	if (status != 204 && status != 409)
		fprintf(stderr, "reply: %ld %s\n", r.status, it_body_shown(&r));
	it_resp_free(&r);
	return status;
}

/* Polls n until an instruction arrives (up to tries polls of 2 s); the first
 * one, with its type, tag and attempt. */
static bool next_instruction(const struct it_node *n, char type[64], char tag[64], int *attempt,
			     json_t **payload)
{
	for (int i = 0; i < 5; i++) {
		json_t *list = poll_on(srv, n, 2, 1);
		json_t *first = json_array_get(list, 0);
		if (first) {
			snprintf(type, 64, "%s", json_string_value(json_object_get(first, "type")));
			snprintf(tag, 64, "%s", json_string_value(json_object_get(first, "tag")));
			*attempt = (int)json_integer_value(json_object_get(first, "attempt"));
			if (payload)
				*payload = json_incref(json_object_get(first, "payload"));
			json_decref(list);
			return true;
		}
		json_decref(list);
	}
	return false;
}

static const char *job_status(const char *job)
{
	static char status[32];
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "/jobs/%s", job);
	snprintf(status, sizeof(status), "%s", it_json_str(r.json, "status") ?: "?");
	it_resp_free(&r);
	return status;
}

static bool wait_job(const char *job, const char *want, int ms)
{
	for (double end = it_now_ms() + ms; it_now_ms() < end; it_sleep_ms(100))
		if (strcmp(job_status(job), want) == 0)
			return true;
	return strcmp(job_status(job), want) == 0;
}

/* A cluster with an online control plane "cp" that has answered its own
 * join (the first node initialises the cluster). */
static bool cluster_with_control_plane(const char *name, char cid[8], struct it_node *cp)
{
	char token[64];
	if (!it_new_cluster(srv, &owner, name, cid) ||
	    !it_join_token(srv, &owner, cid, "controlplane", 1, token) ||
	    !it_agent_register(srv, ca, token, cp))
		return false;
	beat(cp);
	char type[64], tag[64];
	int attempt;
	if (!next_instruction(cp, type, tag, &attempt, NULL) ||
	    strcmp(type, "RUN_REMOTE_SCRIPT") != 0)
		return false;
	return reply(cp, tag, attempt, "NO_CONTENT", NULL) == 204 &&
	       wait_job(cp->job_id, "completed", 5000);
}

/* ---- tests ------------------------------------------------------------------ */

TEST(end_to_end)
{
	char cid[8], token[64];
	struct it_node cp, worker;
	REQUIRE(it_new_cluster(srv, &owner, "e2e", cid));
	REQUIRE(it_join_token(srv, &owner, cid, "controlplane", 1, token));
	REQUIRE(it_agent_register(srv, ca, token, &cp));
	REQUIRE(it_is_uuid(cp.job_id));
	beat(&cp);

	/* The first control plane: no peers, no join command, it initialises. */
	char type[64], tag[64];
	int attempt;
	json_t *payload = NULL;
	REQUIRE(next_instruction(&cp, type, tag, &attempt, &payload));
	CHECK_STR_EQ(type, "RUN_REMOTE_SCRIPT");
	CHECK_INT_EQ(attempt, 1);
	CHECK_STR_EQ(json_string_value(json_object_get(payload, "script")), "runos-init-cluster");
	json_decref(payload);
	CHECK_INT_EQ(reply(&cp, tag, attempt, "NO_CONTENT", NULL), 204);
	CHECK(wait_job(cp.job_id, "completed", 5000));
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "/jobs/%s", cp.job_id);
	CHECK_STR_EQ(it_json_str(r.json, "type"), "node.join");
	CHECK_STR_EQ(it_json_str(r.json, "target.id"), cp.nid);
	CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "progress")), 100);
	CHECK(it_json_str(r.json, "completedAt") != NULL);
	it_resp_free(&r);

	/* A worker joins: peers to the control plane, the join command from it,
	 * the join on the worker with that command. */
	REQUIRE(it_join_token(srv, &owner, cid, "worker", 1, token));
	REQUIRE(it_agent_register(srv, ca, token, &worker));
	REQUIRE(next_instruction(&cp, type, tag, &attempt, &payload));
	CHECK_STR_EQ(type, "SET_VPN_PEERS");
	CHECK_STR_EQ(json_string_value(json_object_get(
			     json_array_get(json_object_get(payload, "peers"), 0), "vpnIp")),
		     worker.vpn_ip);
	json_decref(payload);
	CHECK_INT_EQ(reply(&cp, tag, attempt, "NODE_VPN_PEER", "{\"nodePeer\":{}}"), 204);
	REQUIRE(next_instruction(&cp, type, tag, &attempt, &payload));
	CHECK_STR_EQ(type, "GET_CLUSTER_JOIN_CMD");
	CHECK(json_is_false(json_object_get(payload, "asCp")));
	json_decref(payload);
	CHECK_INT_EQ(reply(&cp, tag, attempt, "CLUSTER_JOIN_CMD",
			   "{\"joinCmd\":\"k3s agent --server https://172.24.0.1:6443\"}"),
		     204);
	REQUIRE(next_instruction(&worker, type, tag, &attempt, &payload));
	CHECK_STR_EQ(type, "RUN_REMOTE_SCRIPT");
	CHECK_STR_EQ(json_string_value(json_object_get(payload, "script")),
		     "k3s agent --server https://172.24.0.1:6443");
	json_decref(payload);
	CHECK_INT_EQ(reply(&worker, tag, attempt, "NO_CONTENT", NULL), 204);
	CHECK(wait_job(worker.job_id, "completed", 5000));
	r = it_call(srv, "GET", owner.token, NULL, "/jobs/%s/workitems", worker.job_id);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "workItems")), 3);
	CHECK_STR_EQ(it_json_str(r.json, "workItems.1.name"), "join-command");
	CHECK_STR_EQ(it_json_str(r.json, "workItems.1.status"), "completed");
	CHECK_STR_EQ(it_json_str(r.json, "workItems.1.result.0.reply.joinCmd"),
		     "k3s agent --server https://172.24.0.1:6443");
	it_resp_free(&r);

	/* The worker is deleted: peers to the rest; its certificate refused. */
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/nodes/%s", owner.aid, cid,
		    worker.nid);
	CHECK_STATUS(r, 202);
	char job[64];
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	REQUIRE(next_instruction(&cp, type, tag, &attempt, &payload));
	CHECK_STR_EQ(type, "SET_VPN_PEERS");
	CHECK_INT_EQ(json_array_size(json_object_get(payload, "peers")), 0);
	json_decref(payload);
	CHECK_INT_EQ(reply(&cp, tag, attempt, "NO_CONTENT", NULL), 204);
	CHECK(wait_job(job, "completed", 5000));
	r = call_as(srv, &worker, "GET", "/agent/v1/instructions?wait=0", NULL);
	CHECK_ERROR(r, 403, "agent.cert_revoked");
	it_resp_free(&r);
	it_node_free(&cp);
	it_node_free(&worker);
}

struct parked_poll {
	const struct it_server *s;
	const struct it_node *node;
	int wait;
	json_t *got;
	double ms;
};

static void *poll_thread(void *arg)
{
	struct parked_poll *p = arg;
	double start = it_now_ms();
	p->got = poll_on(p->s, p->node, p->wait, 10);
	p->ms = it_now_ms() - start;
	return NULL;
}

/* A poll of node on s parked with a long wait; work queued through the API
 * of queue_on (a node registered in the cluster: peers for node). The poll
 * must come back with that work, not at the end of its wait. */
/* Answers whatever node has to do now, until nothing is left. */
static void drain(const struct it_node *node)
{
	for (;;) {
		json_t *list = poll_on(srv, node, 0, 50);
		size_t i;
		json_t *in;
		json_array_foreach (list, i, in)
			reply(node, json_string_value(json_object_get(in, "tag")),
			      (int)json_integer_value(json_object_get(in, "attempt")), "NO_CONTENT",
			      NULL);
		size_t n = json_array_size(list);
		json_decref(list);
		if (n == 0)
			return;
	}
}

static void parked_poll_woken(const struct it_server *s, const struct it_server *queue_on,
			      const char *cid, const struct it_node *node)
{
	drain(node);
	struct parked_poll p = { s, node, 30, NULL, 0 };
	pthread_t t;
	pthread_create(&t, NULL, poll_thread, &p);
	it_sleep_ms(700); /* parked by now */
	char token[64];
	struct it_node joiner;
	CHECK(it_join_token(queue_on, &owner, cid, "worker", 1, token));
	CHECK(it_agent_register(queue_on, ca, token, &joiner));
	pthread_join(t, NULL);
	json_t *first = json_array_get(p.got, 0);
	CHECK_MSG(first != NULL, "the parked poll came back empty after %.0f ms", p.ms);
	CHECK_STR_EQ(json_string_value(json_object_get(first, "type")), "SET_VPN_PEERS");
	CHECK_MSG(p.ms < 29000, "the parked poll waited its whole wait (%.0f ms)", p.ms);
	if (first) {
		const char *tag = json_string_value(json_object_get(first, "tag"));
		CHECK_INT_EQ(reply(node, tag, 1, "NO_CONTENT", NULL), 204);
	}
	json_decref(p.got);
	it_node_free(&joiner);
}

/* A client that hangs up while its poll is parked: the work queued after is
 * not leased to the dead poll (it would wait out a lease), it stays pending
 * for the node's next poll, delivered as attempt 1. */
static void hung_up_poll_takes_nothing(const char *cid, const struct it_node *node)
{
	drain(node);
	struct it_req req = { .method = "GET",
			      .path = "/agent/v1/instructions?wait=30",
			      .agent = true,
			      .ca_pem = ca,
			      .cert_pem = node->cert,
			      .key_pem = node->key,
			      .timeout_ms = 700 };
	struct it_resp r;
	it_request(srv, &req, &r); /* libcurl gives up and closes the connection */
	CHECK_INT_EQ(r.status, 0);
	it_resp_free(&r);
	char token[64];
	struct it_node joiner;
	CHECK(it_join_token(srv, &owner, cid, "worker", 1, token));
	CHECK(it_agent_register(srv, ca, token, &joiner));
	it_sleep_ms(300); /* the wake-up has reached the parked poll */
	const char *params[] = { owner.aid, node->nid };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM instructions WHERE aid = $1 AND nid = $2"
				 " AND status = 'pending' AND attempt = 0",
				 2, params),
		     1);
	char type[64], tag[64];
	int attempt;
	CHECK(next_instruction(node, type, tag, &attempt, NULL));
	CHECK_STR_EQ(type, "SET_VPN_PEERS");
	CHECK_INT_EQ(attempt, 1);
	CHECK_INT_EQ(reply(node, tag, attempt, "NO_CONTENT", NULL), 204);
	it_node_free(&joiner);
}

TEST(long_poll)
{
	char cid[8];
	struct it_node cp;
	REQUIRE(cluster_with_control_plane("poll", cid, &cp));
	/* Nothing to do: the poll ends at its wait, empty. */
	double start = it_now_ms();
	json_t *none = poll_on(srv, &cp, 1, 10);
	CHECK_INT_EQ(json_array_size(none), 0);
	CHECK(it_now_ms() - start >= 900);
	json_decref(none);
	/* Bad parameters. */
	struct it_resp r = call_as(srv, &cp, "GET", "/agent/v1/instructions?wait=61", NULL);
	CHECK_ERROR(r, 400, "validation.range");
	it_resp_free(&r);
	r = call_as(srv, &cp, "GET", "/agent/v1/instructions?max=0", NULL);
	CHECK_ERROR(r, 400, "validation.range");
	it_resp_free(&r);

	parked_poll_woken(srv, srv, cid, &cp);
	/* Parked on the second instance, queued through the first. */
	parked_poll_woken(srv2, srv, cid, &cp);
	hung_up_poll_takes_nothing(cid, &cp);
	it_node_free(&cp);
}

/* A notification on runos_work seen by the test's own LISTEN within 500 ms
 * whose payload names key; false when none came. */
static bool notified(PGconn *listen, const char *key)
{
	for (int i = 0; i < 50; i++) {
		PQconsumeInput(listen);
		PGnotify *n;
		bool found = false;
		while ((n = PQnotifies(listen))) {
			found = found || strstr(n->extra, key) != NULL;
			PQfreemem(n);
		}
		if (found)
			return true;
		it_sleep_ms(10);
	}
	return false;
}

/* Subscribers of the Redis channel runos:work at url (redis-cli), or -1. */
static long redis_subscribers(const char *url)
{
	char *out;
	long n = -1;
	if (it_shell_output(it_fmt("redis-cli -u '%s' PUBSUB NUMSUB runos:work", url), &out) == 0 &&
	    sscanf(out, "runos:work %ld", &n) != 1)
		n = -1;
	free(out);
	return n;
}

/* Work queued through queue_on for node (a node registered in cid): whether
 * a NOTIFY named it. */
static bool queue_and_see_notify(const struct it_server *queue_on, const char *cid,
				 const struct it_node *node, PGconn *listen)
{
	PGnotify *old;
	PQconsumeInput(listen);
	while ((old = PQnotifies(listen))) /* older ones */
		PQfreemem(old);
	char token[64];
	struct it_node joiner;
	CHECK(it_join_token(queue_on, &owner, cid, "worker", 1, token));
	CHECK(it_agent_register(queue_on, ca, token, &joiner));
	bool seen = notified(listen, it_fmt("%s/%s", owner.aid, node->nid));
	it_node_free(&joiner);
	drain(node);
	return seen;
}

/* Wake-ups across instances: through Redis when it is configured (every
 * instance subscribes; no NOTIFY is sent), through a NOTIFY in the
 * transaction without Redis, and through a NOTIFY after the failed publish
 * when the configured Redis does not answer. In each case a poll parked on
 * one instance is woken by work queued through the other. */
TEST(wakeups_redis_or_notify)
{
	char cid[8];
	struct it_node cp;
	REQUIRE(cluster_with_control_plane("wakeups", cid, &cp));
	PGconn *listen = it_db_connect(it_env.database_url);
	REQUIRE(listen);
	PQclear(PQexec(listen, "LISTEN runos_work"));

	CHECK_MSG(redis_subscribers(it_env.redis_url) >= 2,
		  "%ld subscribers of runos:work, want both servers'",
		  redis_subscribers(it_env.redis_url));
	CHECK_MSG(!queue_and_see_notify(srv, cid, &cp, listen),
		  "a NOTIFY was sent although Redis answers");

	static const char *no_redis[] = { "RUNOS_REDIS_URL", NULL };
	static const char *dead_redis[] = { "RUNOS_REDIS_URL=redis://127.0.0.1:9", NULL };
	const char *const *setups[] = { no_redis, dead_redis };
	const char *names[] = { "without Redis", "Redis not answering" };
	for (int i = 0; i < 2; i++) {
		struct it_server *a = it_server_start(it_fmt("work-wake-a%d", i), setups[i]);
		struct it_server *b = it_server_start(it_fmt("work-wake-b%d", i), setups[i]);
		CHECK_MSG(a && b, "%s: servers did not start", names[i]);
		if (a && b) {
			CHECK_MSG(queue_and_see_notify(a, cid, &cp, listen), "%s: no NOTIFY",
				  names[i]);
			parked_poll_woken(b, a, cid, &cp);
		}
		if (a)
			CHECK_INT_EQ(it_server_stop(a), 0);
		if (b)
			CHECK_INT_EQ(it_server_stop(b), 0);
	}
	PQfinish(listen);
	it_node_free(&cp);
}

/* Waits (5 s at most) for both instances' subscriptions; whether they are. */
static bool both_subscribed(const struct it_redis *redis)
{
	for (int i = 0; i < 50 && redis_subscribers(redis->url) < 2; i++)
		it_sleep_ms(100);
	return redis_subscribers(redis->url) == 2;
}

/* Two instances on a Redis of their own (its TCP or its unix-socket URL),
 * both subscribed, a cluster with a control plane, and a connection that
 * LISTENs on runos_work. */
struct redis_pair {
	struct it_redis redis;
	struct it_server *a, *b;
	PGconn *listen;
	char cid[8];
	struct it_node cp;
	bool have_cp;
};

static bool redis_pair_start(struct redis_pair *p, const char *name, bool unix_socket)
{
	memset(p, 0, sizeof(*p));
	if (!it_redis_start(&p->redis))
		return false;
	char url[200];
	snprintf(url, sizeof(url), "RUNOS_REDIS_URL=%s",
		 unix_socket ? p->redis.socket_url : p->redis.url);
	const char *env[] = { url, NULL };
	p->a = it_server_start(it_fmt("work-%s-a", name), env);
	p->b = it_server_start(it_fmt("work-%s-b", name), env);
	p->listen = it_db_connect(it_env.database_url);
	if (!p->a || !p->b || !p->listen)
		return false;
	PQclear(PQexec(p->listen, "LISTEN runos_work"));
	p->have_cp = cluster_with_control_plane(name, p->cid, &p->cp);
	return p->have_cp && both_subscribed(&p->redis);
}

static void redis_pair_finish(struct redis_pair *p)
{
	if (p->have_cp)
		it_node_free(&p->cp);
	PQfinish(p->listen);
	if (p->a)
		CHECK_INT_EQ(it_server_stop(p->a), 0);
	if (p->b)
		CHECK_INT_EQ(it_server_stop(p->b), 0);
	it_redis_stop(&p->redis);
}

/* Redis dies with polls parked and comes back: wake-ups go through NOTIFY
 * meanwhile, and through Redis again once both instances have subscribed
 * again (within a few seconds). */
TEST(wakeups_through_a_redis_outage)
{
	struct redis_pair p;
	if (!redis_pair_start(&p, "outage", false)) {
		CHECK_MSG(false, "no Redis, servers, database or cluster, or not both subscribed");
		redis_pair_finish(&p);
		return;
	}
	parked_poll_woken(p.b, p.a, p.cid, &p.cp);

	it_redis_stop(&p.redis);
	CHECK_MSG(queue_and_see_notify(p.a, p.cid, &p.cp, p.listen), "no NOTIFY with Redis down");
	parked_poll_woken(p.b, p.a, p.cid, &p.cp);

	bool back = it_redis_start(&p.redis);
	CHECK_MSG(back, "Redis did not start again");
	if (back) {
		CHECK(both_subscribed(&p.redis));
		it_sleep_ms(1200); /* the publishers' pause after a failure */
		CHECK_MSG(!queue_and_see_notify(p.a, p.cid, &p.cp, p.listen),
			  "still NOTIFY with Redis back");
		parked_poll_woken(p.b, p.a, p.cid, &p.cp);
	}
	redis_pair_finish(&p);
}

/* RUNOS_REDIS_URL=unix:<socket>: both instances subscribe (they never did:
 * TCP keep-alive, asked for on a unix socket, failed the subscription, and
 * the polls were woken only by the retry's wake-all once a second), no
 * NOTIFY is sent, and a poll parked on B is woken through Redis. Then the
 * subscriptions are killed: a publish that no instance receives goes out as
 * a NOTIFY instead of nowhere. */
TEST(wakeups_over_a_unix_socket)
{
	struct redis_pair p;
	if (!redis_pair_start(&p, "unix", true)) {
		CHECK_MSG(false, "no Redis, servers, database or cluster, or not both subscribed");
		redis_pair_finish(&p);
		return;
	}
	CHECK_MSG(!queue_and_see_notify(p.a, p.cid, &p.cp, p.listen),
		  "a NOTIFY was sent although both instances subscribe");
	parked_poll_woken(p.b, p.a, p.cid, &p.cp);

	/* The instances subscribe again a second later: queued at once, the
	 * work finds no receiver. */
	CHECK(system(it_fmt("redis-cli -p %d CLIENT KILL TYPE pubsub >/dev/null", p.redis.port)) ==
	      0);
	CHECK_MSG(queue_and_see_notify(p.a, p.cid, &p.cp, p.listen),
		  "no NOTIFY for a publish nobody received");
	redis_pair_finish(&p);
}

TEST(lease_expiry_and_fencing)
{
	char cid[8], token[64];
	struct it_node cp, worker;
	REQUIRE(cluster_with_control_plane("lease", cid, &cp));
	REQUIRE(it_join_token(srv, &owner, cid, "worker", 1, token));
	REQUIRE(it_agent_register(srv, ca, token, &worker));

	char type[64], tag[64], tag2[64];
	int attempt, attempt2;
	REQUIRE(next_instruction(&cp, type, tag, &attempt, NULL));
	CHECK_INT_EQ(attempt, 1);
	/* Progress within the lease keeps it, and is logged masked. */
	it_sleep_ms(LEASE * 1000 / 2 + 300);
	struct it_resp r = call_as(
		srv, &cp, "POST", it_fmt("/agent/v1/instructions/%s/progress", tag),
		"{\"attempt\":1,\"message\":\"connecting with password=hunter2\",\"progress\":40}");
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	it_sleep_ms(LEASE * 1000 / 2 + 300);
	json_t *list = poll_on(srv, &cp, 0, 10);
	CHECK_INT_EQ(json_array_size(list), 0); /* still leased: not redelivered */
	json_decref(list);

	/* Silence past the lease: delivered again as attempt 2. */
	REQUIRE(next_instruction(&cp, type, tag2, &attempt2, NULL));
	CHECK_STR_EQ(tag2, tag);
	CHECK_INT_EQ(attempt2, 2);
	/* The first attempt's late reply is fenced off; the second counts. */
	CHECK_INT_EQ(reply(&cp, tag, 1, "NO_CONTENT", NULL), 409);
	CHECK_INT_EQ(reply(&cp, tag, 2, "NO_CONTENT", NULL), 204);
	CHECK_INT_EQ(reply(&cp, tag, 2, "NO_CONTENT", NULL), 409);
	const char *p[] = { tag };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM instructions WHERE tag = $1"
				 " AND status = 'completed' AND attempt = 2",
				 1, p),
		     1);
	/* Another node cannot answer it. */
	CHECK_INT_EQ(reply(&worker, tag, 2, "NO_CONTENT", NULL), 409);
	/* Progress of an answered instruction, an unknown tag, a malformed one,
	 * and an ERROR without its error are refused. */
	r = call_as(srv, &cp, "POST", it_fmt("/agent/v1/instructions/%s/progress", tag),
		    "{\"attempt\":2,\"message\":\"late\"}");
	CHECK_ERROR(r, 409, "instruction.stale");
	it_resp_free(&r);
	r = call_as(srv, &cp, "POST",
		    "/agent/v1/instructions/00000000-0000-4000-8000-000000000000/reply",
		    "{\"attempt\":1,\"type\":\"NO_CONTENT\"}");
	CHECK_ERROR(r, 409, "instruction.stale");
	it_resp_free(&r);
	r = call_as(srv, &cp, "POST", "/agent/v1/instructions/not-a-tag/reply",
		    "{\"attempt\":1,\"type\":\"NO_CONTENT\"}");
	CHECK_ERROR(r, 404, "instruction.not_found");
	it_resp_free(&r);
	r = call_as(srv, &cp, "POST", it_fmt("/agent/v1/instructions/%s/reply", tag),
		    "{\"attempt\":2,\"type\":\"ERROR\"}");
	CHECK_ERROR(r, 400, "validation.required");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "error");
	it_resp_free(&r);
	r = call_as(srv, &cp, "GET", "/agent/v1/instructions?wait=soon", NULL);
	CHECK_ERROR(r, 400, "validation.range");
	it_resp_free(&r);

	/* The step's log has the progress line, masked; ?after pages. */
	r = it_call(srv, "GET", owner.token, NULL, "/jobs/%s/workitems", worker.job_id);
	char wid[64];
	snprintf(wid, sizeof(wid), "%s", it_json_str(r.json, "workItems.0.id") ?: "");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/jobs/%s/workitems/%s/logs", worker.job_id,
		    wid);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "logs.0.message"), "connecting with password=***");
	CHECK(r.body && strstr(r.body, "hunter2") == NULL);
	json_t *id = it_json_get(r.json, "logs.0.id");
	long long first_id = json_integer_value(id);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/jobs/%s/workitems/%s/logs?after=%lld",
		    worker.job_id, wid, first_id);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "logs")), 0);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/jobs/%s/workitems/%s/logs?after=x",
		    worker.job_id, wid);
	CHECK_ERROR(r, 400, "validation.invalid");
	it_resp_free(&r);
	/* 100 lines are one page, without nextCursor or Link; with 50 more, the
	 * first page's Link (after=<its last id>) fetched as it is gives them. */
	const char *log_params[] = { wid, owner.aid, "99" };
	const char *add_lines = "INSERT INTO step_logs (step_id, aid, message)"
				" SELECT $1, $2, 'line ' || g FROM generate_series(1, $3::int) g";
	CHECK(it_db_exec(pg, add_lines, 3, log_params));
	r = it_call(srv, "GET", owner.token, NULL, "/jobs/%s/workitems/%s/logs", worker.job_id,
		    wid);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "logs")), 100);
	CHECK_INT_EQ(json_object_size(r.json), 2); /* workItemId, logs */
	CHECK(it_header(&r, "Link") == NULL);
	it_resp_free(&r);
	log_params[2] = "50";
	CHECK(it_db_exec(pg, add_lines, 3, log_params));
	r = it_call(srv, "GET", owner.token, NULL, "/jobs/%s/workitems/%s/logs", worker.job_id,
		    wid);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "logs")), 100);
	const char *after = it_json_str(r.json, "nextCursor");
	CHECK_STR_EQ(after, it_fmt("%lld", (long long)json_integer_value(
						   it_json_get(r.json, "logs.99.id"))));
	char link[1024];
	CHECK_MSG(it_link_next(srv, &r, link, sizeof(link)), "%s", link);
	CHECK_STR_EQ(link, it_fmt("/jobs/%s/workitems/%s/logs?after=%s", worker.job_id, wid,
				  after ?: ""));
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "%s", link);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "logs")), 50);
	CHECK_STR_EQ(it_json_str(r.json, "logs.49.message"), "line 50");
	CHECK_STR_EQ(it_json_str(r.json, "workItemId"), wid);
	CHECK(json_object_get(r.json, "nextCursor") == NULL && it_header(&r, "Link") == NULL);
	it_resp_free(&r);
	it_node_free(&cp);
	it_node_free(&worker);
}

TEST(agent_lost_after_three_attempts)
{
	char cid[8], token[64];
	struct it_node cp, worker;
	REQUIRE(cluster_with_control_plane("lost", cid, &cp));
	REQUIRE(it_join_token(srv, &owner, cid, "worker", 1, token));
	REQUIRE(it_agent_register(srv, ca, token, &worker));
	/* Take each delivery and never answer. Backoffs 1 s and 20 s. */
	char type[64], tag[64];
	int attempt = 0;
	for (int want = 1; want <= 3; want++) {
		json_t *got = NULL;
		for (double end = it_now_ms() + 30000; it_now_ms() < end && !got;) {
			json_t *list = poll_on(srv, &cp, 5, 1);
			if (json_array_size(list) > 0)
				got = json_incref(json_array_get(list, 0));
			json_decref(list);
		}
		REQUIRE(got != NULL);
		snprintf(tag, sizeof(tag), "%s", json_string_value(json_object_get(got, "tag")));
		snprintf(type, sizeof(type), "%s", json_string_value(json_object_get(got, "type")));
		attempt = (int)json_integer_value(json_object_get(got, "attempt"));
		json_decref(got);
		CHECK_INT_EQ(attempt, want);
	}
	CHECK(wait_job(worker.job_id, "failed", LEASE * 1000 + 3000));
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "/jobs/%s", worker.job_id);
	CHECK_STR_EQ(it_json_str(r.json, "error"), "agent_lost");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/jobs/%s/workitems", worker.job_id);
	CHECK_STR_EQ(it_json_str(r.json, "workItems.0.status"), "failed");
	CHECK_STR_EQ(it_json_str(r.json, "workItems.1.status"), "pending");
	it_resp_free(&r);
	/* A reply now is too late. */
	CHECK_INT_EQ(reply(&cp, tag, 3, "NO_CONTENT", NULL), 409);
	it_node_free(&cp);
	it_node_free(&worker);
}

/* A node deleted while another node's job waits for its answer: its open
 * instruction is cancelled (it can no longer fetch it), and the other job
 * goes on without it instead of waiting forever. */
TEST(deleted_node_work_cancelled)
{
	char cid[8], token[64], job[64];
	struct it_node cp, joiner;
	REQUIRE(cluster_with_control_plane("gone", cid, &cp));
	REQUIRE(it_join_token(srv, &owner, cid, "worker", 1, token));
	REQUIRE(it_agent_register(srv, ca, token, &joiner)); /* peers for cp, pending */
	snprintf(job, sizeof(job), "%s", joiner.job_id);
	const char *params[] = { job, cp.nid };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM instructions WHERE job_id = $1 AND nid = $2"
				 " AND status = 'pending'",
				 2, params),
		     1);
	struct it_resp r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/nodes/%s", owner.aid,
				   cid, cp.nid);
	CHECK_STATUS(r, 202);
	it_resp_free(&r);
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM instructions WHERE job_id = $1 AND nid = $2"
				 " AND status = 'cancelled' AND error = 'node_deleted'",
				 2, params),
		     1);
	/* No control plane is left to give a join command: the joiner is told to
	 * initialise, and its answer completes its job. */
	beat(&joiner);
	char type[64], tag[64];
	int attempt;
	CHECK(next_instruction(&joiner, type, tag, &attempt, NULL));
	CHECK_STR_EQ(type, "RUN_REMOTE_SCRIPT");
	CHECK_INT_EQ(reply(&joiner, tag, attempt, "NO_CONTENT", NULL), 204);
	CHECK(wait_job(job, "completed", 5000));
	it_node_free(&cp);
	it_node_free(&joiner);
}

TEST(cancel)
{
	char cid[8], token[64];
	struct it_node cp, worker;
	REQUIRE(cluster_with_control_plane("cancel", cid, &cp));

	/* Pending: cancelled at once, never delivered. */
	REQUIRE(it_join_token(srv, &owner, cid, "worker", 2, token));
	REQUIRE(it_agent_register(srv, ca, token, &worker));
	struct it_resp r =
		it_call(srv, "POST", owner.token, NULL, "/jobs/%s/cancel", worker.job_id);
	CHECK_STATUS(r, 202);
	CHECK_STR_EQ(it_json_str(r.json, "status"), "cancelled");
	it_resp_free(&r);
	CHECK_STR_EQ(job_status(worker.job_id), "cancelled");
	json_t *list = poll_on(srv, &cp, 0, 10);
	CHECK_INT_EQ(json_array_size(list), 0);
	json_decref(list);
	r = it_call(srv, "POST", owner.token, NULL, "/jobs/%s/cancel", worker.job_id);
	CHECK_ERROR(r, 409, "job.terminal");
	it_resp_free(&r);

	/* Running: the agent hears of it in its next heartbeat; its reply is
	 * taken, but the job stays cancelled and moves no further. */
	struct it_node second;
	REQUIRE(it_agent_register(srv, ca, token, &second));
	char type[64], tag[64];
	int attempt;
	REQUIRE(next_instruction(&cp, type, tag, &attempt, NULL));
	r = it_call(srv, "POST", owner.token, NULL, "/jobs/%s/cancel", second.job_id);
	CHECK_STATUS(r, 202);
	it_resp_free(&r);
	r = call_as(srv, &cp, "POST", "/agent/v1/heartbeat", it_fmt("{\"running\":[\"%s\"]}", tag));
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "cancel.0"), tag);
	it_resp_free(&r);
	r = call_as(srv, &cp, "POST", "/agent/v1/heartbeat", "{\"running\":[\"not-a-tag\"]}");
	CHECK_ERROR(r, 400, "validation.invalid");
	it_resp_free(&r);
	CHECK_INT_EQ(reply(&cp, tag, attempt, "NO_CONTENT", NULL), 204);
	it_sleep_ms(300);
	CHECK_STR_EQ(job_status(second.job_id), "cancelled");
	const char *p[] = { second.job_id };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM instructions WHERE job_id = $1"
				 " AND type <> 'SET_VPN_PEERS'",
				 1, p),
		     0);

	/* A viewer of the account cannot cancel; another account cannot see. */
	struct it_key viewer;
	REQUIRE(it_create_pat(srv, owner.token, owner.aid, "viewer", &viewer));
	REQUIRE(it_join_token(srv, &owner, cid, "worker", 1, token));
	struct it_node third;
	REQUIRE(it_agent_register(srv, ca, token, &third));
	r = it_call(srv, "POST", viewer.token, NULL, "/jobs/%s/cancel", third.job_id);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	r = it_call(srv, "GET", viewer.token, NULL, "/jobs/%s", third.job_id);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	const char *paths[] = { "/jobs/%s", "/jobs/%s/workitems" };
	for (int i = 0; i < 2; i++) {
		r = it_call(srv, "GET", stranger.token, NULL, paths[i], third.job_id);
		CHECK_ERROR(r, 404, "job.not_found");
		it_resp_free(&r);
	}
	r = it_call(srv, "POST", stranger.token, NULL, "/jobs/%s/cancel", third.job_id);
	CHECK_ERROR(r, 404, "job.not_found");
	it_resp_free(&r);
	CHECK_STR_EQ(job_status(third.job_id), "running");
	it_node_free(&cp);
	it_node_free(&worker);
	it_node_free(&second);
	it_node_free(&third);
}

TEST(job_lists)
{
	struct it_resp r = it_call(srv, "GET", owner.token, NULL,
				   "/jobs?aid=%s&type=node.join"
				   "&status=completed&limit=2",
				   owner.aid);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "jobs")), 2);
	CHECK_STR_EQ(it_json_str(r.json, "jobs.0.type"), "node.join");
	CHECK_STR_EQ(it_json_str(r.json, "jobs.0.status"), "completed");
	const char *next = it_json_str(r.json, "nextCursor");
	CHECK(next != NULL);
	if (next) {
		struct it_resp r2 = it_call(srv, "GET", owner.token, NULL,
					    "/jobs?aid=%s&type=node.join&status=completed"
					    "&limit=2&cursor=%s",
					    owner.aid, next);
		CHECK_STATUS(r2, 200);
		CHECK(strcmp(it_json_str(r2.json, "jobs.0.id") ?: "",
			     it_json_str(r.json, "jobs.0.id") ?: "") != 0);
		it_resp_free(&r2);
	}
	it_resp_free(&r);

	/* Paged by the Link rel=next of each page, fetched as it is: it keeps
	 * aid, type, status and limit (the filters matter here: the account
	 * has jobs of other types and statuses), and the last page has neither
	 * nextCursor nor Link. */
	const char *params[] = { owner.aid };
	long long want = it_db_count(pg,
				     "SELECT count(*) FROM jobs WHERE aid = $1"
				     " AND type = 'node.join' AND status = 'completed'",
				     1, params);
	CHECK(want > 2);
	CHECK(it_db_count(pg, "SELECT count(*) FROM jobs WHERE aid = $1", 1, params) > want);
	char page[1024];
	snprintf(page, sizeof(page), "/jobs?aid=%s&type=node.join&status=completed&limit=2",
		 owner.aid);
	long long seen = 0;
	for (int pages = 0; pages < 100; pages++) {
		r = it_call(srv, "GET", owner.token, NULL, "%s", page);
		if (!CHECK_STATUS(r, 200)) {
			it_resp_free(&r);
			break;
		}
		json_t *jobs = json_object_get(r.json, "jobs");
		size_t i;
		json_t *job;
		json_array_foreach (jobs, i, job) {
			CHECK_STR_EQ(json_string_value(json_object_get(job, "type")), "node.join");
			CHECK_STR_EQ(json_string_value(json_object_get(job, "status")),
				     "completed");
		}
		seen += (long long)json_array_size(jobs);
		bool last = json_object_get(r.json, "nextCursor") == NULL;
		char link[1024];
		bool linked = it_link_next(srv, &r, link, sizeof(link));
		CHECK_MSG(linked != last, "%s: nextCursor %s, Link %s", r.what,
			  last ? "absent" : "present", it_header(&r, "Link") ?: "absent");
		if (last) {
			CHECK_INT_EQ(json_object_size(r.json), 1);
			it_resp_free(&r);
			break;
		}
		CHECK_INT_EQ(json_array_size(jobs), 2);
		CHECK_MSG(linked && strstr(link,
					   it_fmt("cursor=%s", it_json_str(r.json, "nextCursor"))),
			  "%s: Link %s does not carry nextCursor", r.what, link);
		it_resp_free(&r);
		if (!linked)
			break;
		snprintf(page, sizeof(page), "%s", link);
	}
	CHECK_INT_EQ(seen, want);
	r = it_call(srv, "GET", owner.token, NULL, "/jobs");
	CHECK_ERROR(r, 400, "validation.required");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/jobs?aid=%s&status=done", owner.aid);
	CHECK_ERROR(r, 400, "validation.invalid");
	it_resp_free(&r);
	r = it_call(srv, "GET", stranger.token, NULL, "/jobs?aid=%s", owner.aid);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/jobs/not-a-uuid");
	CHECK_ERROR(r, 404, "job.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", NULL, NULL, "/jobs?aid=%s", owner.aid);
	CHECK_401(r, "missing");
	it_resp_free(&r);
}

/* 100 node registrations queue 100 SET_VPN_PEERS for the control plane. */
#define IN_FLIGHT 100

TEST(kill_9_with_instructions_in_flight)
{
	char cid[8], token[64];
	struct it_node cp;
	REQUIRE(cluster_with_control_plane("crash", cid, &cp));
	REQUIRE(it_join_token(srv, &owner, cid, "worker", IN_FLIGHT, token));
	struct it_node nodes[IN_FLIGHT];
	for (int i = 0; i < IN_FLIGHT; i++)
		REQUIRE(it_agent_register(srv, ca, token, &nodes[i]));
	/* All leased to the control plane. */
	json_t *all = json_array();
	for (int i = 0; i < 4 && json_array_size(all) < IN_FLIGHT; i++) {
		json_t *list = poll_on(srv, &cp, 1, 50);
		json_array_extend(all, list);
		json_decref(list);
	}
	REQUIRE(json_array_size(all) == IN_FLIGHT);
	/* Half answered, then the server dies mid-stream. */
	bool answered[IN_FLIGHT] = { false };
	int accepted = 0;
	for (int i = 0; i < IN_FLIGHT / 2; i++) {
		json_t *in = json_array_get(all, (size_t)i);
		answered[i] = reply(&cp, json_string_value(json_object_get(in, "tag")), 1,
				    "NO_CONTENT", NULL) == 204;
		accepted += answered[i];
	}
	CHECK(accepted > 0);
	it_server_signal(srv, SIGKILL);
	it_server_wait(srv, 5000);
	srv = it_server_start("work-restarted", server_env);
	REQUIRE(srv != NULL);
	/* Every reply again: what was acknowledged before the crash is refused
	 * now (it completed once); the rest is taken while its lease holds. */
	for (int i = 0; i < IN_FLIGHT; i++) {
		json_t *in = json_array_get(all, (size_t)i);
		long status = reply(&cp, json_string_value(json_object_get(in, "tag")), 1,
				    "NO_CONTENT", NULL);
		if (answered[i])
			CHECK_INT_EQ(status, 409);
		else
			accepted += status == 204;
	}
	/* Leases that ran out during the restart: redelivered as attempt 2 and
	 * answered now. The joins' next steps come too: answered, not counted. */
	for (double end = it_now_ms() + 10000; accepted < IN_FLIGHT && it_now_ms() < end;) {
		json_t *list = poll_on(srv, &cp, 1, 50);
		size_t i;
		json_t *in;
		json_array_foreach (list, i, in) {
			const char *tag = json_string_value(json_object_get(in, "tag"));
			int attempt = (int)json_integer_value(json_object_get(in, "attempt"));
			if (strcmp(json_string_value(json_object_get(in, "type")),
				   "SET_VPN_PEERS") != 0)
				reply(&cp, tag, attempt, "CLUSTER_JOIN_CMD",
				      "{\"joinCmd\":\"join\"}");
			else if (reply(&cp, tag, attempt, "NO_CONTENT", NULL) == 204)
				accepted++;
		}
		json_decref(list);
	}
	CHECK_INT_EQ(accepted, IN_FLIGHT);
	/* As the jobs see it: each of the 100 completed exactly once. */
	const char *p[] = { owner.aid, cp.nid };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM instructions WHERE aid = $1 AND nid = $2"
				 " AND type = 'SET_VPN_PEERS' AND status = 'completed'"
				 " AND job_id IN (SELECT id FROM jobs WHERE type = 'node.join')",
				 2, p),
		     IN_FLIGHT);
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT count(*) FROM job_steps s JOIN jobs j ON j.id = s.job_id"
			    " WHERE j.aid = $1 AND s.step_number = 1 AND s.status = 'completed'"
			    " AND j.target_id IN (SELECT nid FROM nodes WHERE aid = $1"
			    " AND nid <> $2 AND cid = (SELECT cid FROM nodes WHERE aid = $1"
			    " AND nid = $2))",
			    2, p),
		IN_FLIGHT);
	json_decref(all);
	for (int i = 0; i < IN_FLIGHT; i++)
		it_node_free(&nodes[i]);
	it_node_free(&cp);
}

TEST(failed_teardown_gives_the_cluster_back)
{
	char cid[8];
	struct it_node cp;
	REQUIRE(cluster_with_control_plane("teardown-fails", cid, &cp));
	struct it_resp r =
		it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid);
	char before[32];
	snprintf(before, sizeof(before), "%s", it_json_str(r.json, "status") ?: "");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid);
	CHECK_STATUS(r, 202);
	char job[64];
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	char type[64], tag[64];
	int attempt;
	REQUIRE(next_instruction(&cp, type, tag, &attempt, NULL));
	CHECK_STR_EQ(type, "UNINSTALL_NODE");
	r = call_as(srv, &cp, "POST", it_fmt("/agent/v1/instructions/%s/reply", tag),
		    it_fmt("{\"attempt\":%d,\"type\":\"ERROR\",\"error\":\"disk busy\"}", attempt));
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	CHECK(wait_job(job, "failed", 5000));
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid);
	CHECK_STR_EQ(it_json_str(r.json, "status"), before);
	CHECK_STR_EQ(it_json_str(r.json, "conditions.0.type"), "Deleting");
	CHECK_STR_EQ(it_json_str(r.json, "conditions.0.status"), "False");
	CHECK_STR_EQ(it_json_str(r.json, "conditions.0.reason"), "DeleteFailed");
	const char *message = it_json_str(r.json, "conditions.0.message") ?: "";
	CHECK_MSG(strstr(message, job) && strstr(message, "disk busy") && strstr(message, "again"),
		  "message: %s", message);
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid);
	CHECK_STATUS(r, 202);
	it_resp_free(&r);
	it_node_free(&cp);
}

int main(void)
{
	if (!it_init("it_work")) {
		test_failed++;
		return it_finish("it_work");
	}
	srv = it_server_start("work", server_env);
	srv2 = it_server_start("work-second", server_env);
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	ca = pg ? it_agent_ca(pg) : NULL;
	if (!srv || !srv2 || !pg || !ca || !it_signup(srv, &owner) || !it_signup(srv, &stranger)) {
		test_failed++;
		fprintf(stderr, "FAIL it_work: no servers, database, CA or users\n");
		return it_finish("it_work");
	}
	RUN(end_to_end);
	RUN(long_poll);
	RUN(wakeups_redis_or_notify);
	RUN(wakeups_through_a_redis_outage);
	RUN(wakeups_over_a_unix_socket);
	RUN(lease_expiry_and_fencing);
	RUN(deleted_node_work_cancelled);
	RUN(cancel);
	RUN(job_lists);
	RUN(kill_9_with_instructions_in_flight);
	RUN(agent_lost_after_three_attempts);
	RUN(failed_teardown_gives_the_cluster_back);
	CHECK_INT_EQ(it_server_stop(srv2), 0);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	PQfinish(pg);
	free(ca);
	return it_finish("it_work");
}
