/* What authenticated agents read and report (AGENT.md §3): VPN peers,
 * control-plane nodes, the VIP holder, cluster credentials, events and
 * install status. The node's identity comes from its certificate; every
 * function takes its aid, cid and nid. Thread safe. */
#ifndef RUNOSD_DB_AGENT_STORE_H
#define RUNOSD_DB_AGENT_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"

struct vpn_peer {
	char pub_key[128];
	char endpoint_ip[64];
	int cluster_index, vpn_host;
};

/* Stores the node's WireGuard key and endpoint and lists the other live nodes
 * of its cluster that have reported theirs; *out (to free) holds *n. */
enum db_result db_agent_vpn_sync(struct db_pool *db, const char *aid, const char *cid,
				 const char *nid, const char *pub_key, const char *endpoint_ip,
				 struct vpn_peer **out, size_t *n)
	__attribute__((warn_unused_result));

/* Stores a control-plane node's wg1 (users' VPN) key and endpoint; when they
 * changed, the devices' peer set is sent to the cluster's nodes serving wg1
 * (vpn_devices_store.c). A node of another role is left as it is. */
enum db_result db_agent_wg1_report(struct db_pool *db, const char *aid, const char *cid,
				   const char *nid, const char *pub_key, const char *endpoint)
	__attribute__((warn_unused_result));

/* The cluster's online control-plane nodes' addresses; *out (to free) holds *n. */
enum db_result db_agent_control_planes(struct db_pool *db, const char *aid, const char *cid,
				       struct vpn_peer **out, size_t *n)
	__attribute__((warn_unused_result));

/* Whether the node holds the cluster's VIP: a control-plane node asking takes
 * it over when nobody holds it or its holder is not online (generation + 1). */
enum db_result db_agent_vip_holder(struct db_pool *db, const char *aid, const char *cid,
				   const char *nid, bool *is_holder, int *generation)
	__attribute__((warn_unused_result));

/* Stores the sealed credentials; the cluster becomes configured, and its
 * status follows. trace_id and ip (of the agent's request) go to the audit
 * entry. */
enum db_result db_agent_credentials_put(struct db_pool *db, const char *aid, const char *cid,
					const char *nid, const char *sealed,
					const char *kubernetes_version, const char *trace_id,
					const char *ip) __attribute__((warn_unused_result));

/* The sealed credentials (to free). DB_NOT_FOUND: none reported yet. */
enum db_result db_agent_credentials_get(struct db_pool *db, const char *aid, const char *cid,
					char **sealed) __attribute__((warn_unused_result));

/* An event from the agent; details is a JSON object text. */
enum db_result db_agent_event(struct db_pool *db, const char *aid, const char *nid,
			      const char *type, int severity, const char *message,
			      const char *details) __attribute__((warn_unused_result));

/* The install status: its Installed condition; failed = INSTALL_ERROR also
 * puts the node in status error. */
enum db_result db_agent_install_status(struct db_pool *db, const char *aid, const char *nid,
				       const char *status, const char *message, bool failed)
	__attribute__((warn_unused_result));

#endif
