/* The agent listener (see include/agent/listener.h). Its certificate is made
 * at every start (a year long, never stored): agents trust the CA, not it. */
#include "agent/listener.h"

#include <stdio.h>
#include <string.h>

#include "agent/handlers.h"
#include "fleet/fleet.h"
#include "pki/ca_boot.h"
#include "pki/certs.h"
#include "runosd.h"
#include "util/xmalloc.h"

/* The host of a URL: "https://[::1]:8443/x" → "::1". */
static void url_host(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n;
	if (*p == '[') {
		p++;
		n = strcspn(p, "]");
	} else {
		n = strcspn(p, ":/");
	}
	snprintf(out, cap, "%.*s", (int)n, p);
}

/* The listener's peer check: the fleet's memory of certificates. */
static enum http_peer_state check_peer(void *arg, const struct pki_peer *peer,
				       struct agent_identity *out)
{
	return fleet_check_cert(arg, peer, out);
}

struct http_server *agent_listener_start(struct server *srv, char *err, size_t errcap)
{
	const struct pki_ca *ca = pki_ca_of(srv);
	if (!ca) {
		snprintf(err, errcap, "RUNOS_AGENT_ADDR: no agent CA yet (database not migrated)");
		return NULL;
	}
	char host[256];
	url_host(srv->cfg.agent_url, host, sizeof(host));
	struct pki_issued cert;
	if (!pki_issue_server_cert(ca, host, &cert)) {
		snprintf(err, errcap, "RUNOS_AGENT_URL: cannot make a certificate for %s", host);
		return NULL;
	}
	/* The chain: the listener's certificate, then the CA's. */
	char *chain = xasprintf("%s%s", cert.cert_pem, pki_ca_cert_pem(ca));
	struct http_listener l = {
		.name = "agent",
		.addr_var = "RUNOS_AGENT_ADDR",
		.addr = &srv->cfg.agent_addr,
		.routes = agent_routes,
		.nroutes = agent_routes_count,
		.max_connections = srv->cfg.agent_max_connections,
		.timeout_seconds = srv->cfg.http_timeout_seconds,
		/* Agents send small headers and keep a connection each (10,000
		 * of them): half the API's pool; bodies stream past it. */
		.connection_memory = 8 * 1024,
		.cert_pem = chain,
		.key_pem = cert.key_pem,
		.client_ca_pem = pki_ca_cert_pem(ca),
		.check_peer = check_peer,
		.check_peer_arg = srv->fleet,
	};
	/* libmicrohttpd copies the PEM texts when it starts. */
	struct http_server *h = http_server_start(srv, &l, err, errcap);
	free(chain);
	pki_issued_free(&cert);
	return h;
}
