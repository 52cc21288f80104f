/* Authentication of agent requests by client certificate (AGENT.md §3).
 * libmicrohttpd only asks for a certificate: a handshake without one, or
 * with anyone's, succeeds. So every ROUTE_AGENT request is checked here: the
 * connection's peer certificate (from GnuTLS, as DER) is verified against the
 * agent CA with OpenSSL once per connection, then its status (revoked, node
 * deleted) comes from the listener's peer check (the fleet's memory) on every
 * request, as does expiry. */
#include <gnutls/gnutls.h>
#include <string.h>

#include "http_internal.h"
#include "pki/ca_boot.h"
#include "runosd.h"
#include "util/timeutil.h"

static void verify_connection_peer(struct exchange *ex, const struct pki_ca *ca)
{
	struct http_conn *tls = ex->tls;
	tls->peer_checked = true;
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(ex->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!info || !info->tls_session)
		return;
	unsigned int n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(info->tls_session, &n);
	if (!chain || n == 0)
		return;
	tls->peer_valid = pki_verify_peer(ca, chain[0].data, chain[0].size, &tls->peer);
}

bool http_authorize_agent(struct exchange *ex)
{
	struct request *req = &ex->req;
	const struct pki_ca *ca = pki_ca_of(req->server);
	if (!ca) {
		request_error(req, 503, "db.unavailable", NULL,
			      "The database is unavailable; retry shortly");
		return false;
	}
	if (ex->tls && !ex->tls->peer_checked)
		verify_connection_peer(ex, ca);
	int64_t now = time_now_us();
	if (!ex->tls || !ex->tls->peer_valid || now >= ex->tls->peer.not_after_us) {
		request_error(req, 401, "agent.cert_invalid", NULL,
			      "A client certificate issued by the agent CA and valid now is "
			      "required");
		return false;
	}
	struct http_server *h = ex->owner;
	if (!h->check_peer) {
		request_error(req, 401, "agent.cert_invalid", NULL,
			      "This listener does not serve agents");
		return false;
	}
	switch (h->check_peer(h->check_peer_arg, &ex->tls->peer, &req->node)) {
	case HTTP_PEER_GOOD:
		return true;
	case HTTP_PEER_REVOKED:
		request_error(req, 403, "agent.cert_revoked", NULL,
			      "This certificate was revoked or its node deleted");
		return false;
	case HTTP_PEER_UNKNOWN:
		request_error(req, 401, "agent.cert_invalid", NULL,
			      "This certificate was not issued to a node");
		return false;
	case HTTP_PEER_UNAVAILABLE:
		break;
	}
	request_error(req, 503, "db.unavailable", NULL,
		      "The database is unavailable; retry shortly");
	return false;
}
