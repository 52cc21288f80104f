/* Acting as node agents in integration tests: registering machines with join
 * tokens and calling the agent listener with their certificates (mutual
 * TLS), as tests/agent-sim does for load. Shared by it_agent and it_work. */
#ifndef RUNOSD_TESTS_AGENTS_H
#define RUNOSD_TESTS_AGENTS_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "harness.h"

/* A registered node: identity and credentials (PEM). */
struct it_node {
	char nid[8], vpn_ip[24], role[16], job_id[40];
	char *cert, *key;
};

void it_node_free(struct it_node *n);

/* The agent CA's certificate (PEM, to free), or NULL. */
char *it_agent_ca(PGconn *db);

/* A request to the agent listener trusting ca, as node as (NULL: no client
 * certificate); a fresh connection each time. */
struct it_resp it_agent_call(const struct it_server *s, const char *ca, const struct it_node *as,
			     const char *method, const char *path, const char *body);

/* POST /agent/v1/register with token and machine (csr may be NULL). */
struct it_resp it_agent_register_raw(const struct it_server *s, const char *ca, const char *token,
				     const char *machine, const char *csr);

/* Registers a new machine without a CSR; false (with a message) when not 201. */
bool it_agent_register(const struct it_server *s, const char *ca, const char *token,
		       struct it_node *out);

/* A join token of cluster cid of owner's account; its secret in out. */
bool it_join_token(const struct it_server *s, const struct it_user *owner, const char *cid,
		   const char *role, int max_uses, char out[64]);

/* A new cluster of owner's account; its cid in out. */
bool it_new_cluster(const struct it_server *s, const struct it_user *owner, const char *name,
		    char out[8]);

/* The last line of agent-sim's output as JSON (its summary), or NULL. */
json_t *it_sim_summary(const char *out);

/* GET /jobs/:id as token until the job is no longer pending or running
 * (15 s at most): the job (a new reference), or NULL. */
json_t *it_job_settled(const struct it_server *s, const char *token, const char *job_id);

/* u signs up, is invited into owner's account with role and accepts. */
bool it_invite(const struct it_server *s, const struct it_user *owner, struct it_user *u,
	       const char *role);

/* The node of agent-sim's state file (its first line), registered and
 * joined by agent-sim, reports its cluster's credentials (as a control
 * plane whose Kubernetes came up does): the cluster is active. Its nid into
 * nid. False (with a message) when the state or the call fails. */
bool it_sim_node_reports_credentials(const struct it_server *s, PGconn *pg, const char *state,
				     char nid[8]);

/* A JSON string literal of s (to free). */
char *it_json_text(const char *s);

#endif
