/* The agent gateway's memory of the fleet (AGENT.md §3-4), shared by the
 * agent listener's threads:
 *  - certificate status by serial: looked up in the database once, then kept;
 *    revocations made here apply at once, those of other instances within a
 *    second (a background poll of revoked_at);
 *  - heartbeats: kept in memory and written in batches every half second;
 *    only status transitions are written at once (online on the first good
 *    beat, offline by the background check after RUNOS_NODE_OFFLINE_AFTER,
 *    which starts only once the server has been up that long: the grace
 *    period after a restart).
 * Thread safe. */
#ifndef RUNOSD_FLEET_FLEET_H
#define RUNOSD_FLEET_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "http/peer.h"
#include "pki/certs.h"

struct server;
struct fleet;

/* Starts the background thread (batch writes, revocation poll, offline check). */
struct fleet *fleet_start(struct server *srv);
/* Stops it after a last batch write. Accepts NULL. */
void fleet_stop(struct fleet *f);

/* The status of a verified peer certificate (HTTP_PEER_REVOKED also when its
 * node was deleted, HTTP_PEER_UNKNOWN when signed by the CA but never
 * recorded, HTTP_PEER_UNAVAILABLE when the database could not be asked); on
 * HTTP_PEER_GOOD *out is the caller's identity. */
enum http_peer_state fleet_check_cert(struct fleet *f, const struct pki_peer *peer,
				      struct agent_identity *out);

/* A certificate just issued and recorded (registration, renewal). */
void fleet_note_cert(struct fleet *f, const char *serial, const char *aid, const char *nid,
		     const char *cid, const char *role);

/* Every certificate of the node is revoked from now on (its delete). */
void fleet_revoke_node(struct fleet *f, const char *aid, const char *nid);

/* A good heartbeat of node. Memory only, unless the node is not known to be
 * online: then it is made online in the database before this returns. */
enum db_result fleet_heartbeat(struct fleet *f, const struct agent_identity *node,
			       const char *external_ip, const char *version)
	__attribute__((warn_unused_result));

#endif
