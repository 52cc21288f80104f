/* Node registration (AGENT.md §2): one transaction that uses the join token,
 * refuses a machine already registered in the cluster, allocates the node's
 * VPN address, inserts the node with its first certificate and starts its
 * node.join job (AGENT.md §6). Thread safe. */
#ifndef RUNOSD_DB_REGISTRATION_STORE_H
#define RUNOSD_DB_REGISTRATION_STORE_H

#include <stdint.h>

#include "crypto/hash.h"
#include "db/db.h"
#include "db/join_tokens_store.h"

struct registration {
	/* in */
	const char *nid;    /* chosen by the caller, who signed the certificate for it */
	const char *job_id; /* of the node.join job this starts */
	const char *machine_id, *hostname, *os, *agent_version;
	const char *cert_serial;
	int64_t cert_not_after_us;
	const char *trace_id, *ip; /* of the request, for the audit trail */
	/* out */
	struct join_token token; /* the token used: account, cluster, role */
	int cluster_index, vpn_host;
};

enum registration_refusal {
	REGISTRATION_OK,
	REGISTRATION_TOKEN,	/* unknown, revoked, expired or used up */
	REGISTRATION_MACHINE,	/* machine_id is a live node of the cluster */
	REGISTRATION_FULL,	/* no VPN address left in the cluster */
	REGISTRATION_NID_TAKEN, /* the nid exists in the account: choose another */
	REGISTRATION_CLUSTER,	/* the token's cluster is being deleted */
};

/* Registers with the token of this hash, expected to be of aid and cid (the
 * caller signed the certificate for them). DB_OK with a refusal other than
 * REGISTRATION_OK changes nothing, the token included. */
enum db_result db_nodes_register(struct db_pool *db, const uint8_t token_hash[CRYPTO_SHA256_LEN],
				 const char *aid, const char *cid, struct registration *reg,
				 enum registration_refusal *why)
	__attribute__((warn_unused_result));

#endif
