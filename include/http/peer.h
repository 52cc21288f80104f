/* Who calls the agent listener (AGENT.md §3). The http module verifies a
 * client certificate against the agent CA; what the certificate's node is now
 * (revoked, deleted, its cluster and role) is for the listener's owner to say,
 * through the check it gives in struct http_listener. The http module knows
 * nothing of the fleet behind it. */
#ifndef RUNOSD_HTTP_PEER_H
#define RUNOSD_HTTP_PEER_H

#include <stdint.h>

#include "idalloc/ids.h"
#include "pki/certs.h"

/* Who an authenticated agent request comes from: its certificate, and the
 * node's cluster and role from the database. */
struct agent_identity {
	char aid[IDALLOC_SHORT_ID_LEN + 1];
	char nid[IDALLOC_SHORT_ID_LEN + 1];
	char cid[4];
	char role[16];
	char serial[PKI_SERIAL_HEX_LEN + 1];
	int64_t not_before_us, not_after_us;
};

enum http_peer_state {
	HTTP_PEER_GOOD,
	HTTP_PEER_REVOKED,     /* 403 agent.cert_revoked */
	HTTP_PEER_UNKNOWN,     /* 401 agent.cert_invalid */
	HTTP_PEER_UNAVAILABLE, /* 503 db.unavailable */
};

/* The status of a verified peer certificate; on HTTP_PEER_GOOD *out is the
 * caller's identity. Called on the worker thread of every ROUTE_AGENT
 * request: thread safe. */
typedef enum http_peer_state (*http_peer_check_fn)(void *arg, const struct pki_peer *peer,
						   struct agent_identity *out);

#endif
