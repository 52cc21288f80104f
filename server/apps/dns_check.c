/* A custom domain's DNS checks (include/apps/dns_check.h) through glibc's
 * resolver: res_ninit reads the system's configuration, which is then
 * pointed at RUNOS_DNS_SERVER when it is set; each query waits at most
 * DNS_CHECK_TIMEOUT_S seconds, DNS_CHECK_TRIES times, so the two queries of
 * a check take at most 2 s when the resolver does not answer. */
#include "apps/dns_check.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* a equals b, ignoring case and a trailing dot on either. */
static bool same_name(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na > 0 && a[na - 1] == '.')
		na--;
	if (nb > 0 && b[nb - 1] == '.')
		nb--;
	return na == nb && strncasecmp(a, b, na) == 0;
}

static bool open_resolver(struct __res_state *rs, const struct listen_addr *server)
{
	memset(rs, 0, sizeof(*rs));
	if (res_ninit(rs) != 0)
		return false;
	rs->retrans = DNS_CHECK_TIMEOUT_S;
	rs->retry = DNS_CHECK_TRIES;
	rs->options &= ~(unsigned long)RES_DNSRCH; /* the name as given, no search list */
	if (server && server->port > 0) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_port = htons((uint16_t)server->port) };
		if (inet_pton(AF_INET, server->host, &sin.sin_addr) != 1) {
			res_nclose(rs);
			return false;
		}
		rs->nsaddr_list[0] = sin;
		rs->nscount = 1;
	}
	return true;
}

/* Queries name of type; *msg holds the answer when it returns MATCH (here:
 * "answered with records"), MISMATCH when the name or the type has none. */
static enum dns_check_result query(struct __res_state *rs, const char *name, int type,
				   unsigned char *buf, int cap, ns_msg *msg)
{
	int len = res_nquery(rs, name, ns_c_in, type, buf, cap);
	if (len < 0)
		return rs->res_h_errno == HOST_NOT_FOUND || rs->res_h_errno == NO_DATA
			       ? DNS_CHECK_MISMATCH
			       : DNS_CHECK_ERROR;
	if (ns_initparse(buf, len, msg) != 0)
		return DNS_CHECK_ERROR;
	return DNS_CHECK_MATCH;
}

/* Whether an answer's CNAME record of the name is target; what it is goes
 * to seen. */
static bool cname_is(ns_msg *msg, const char *target, char *seen, size_t cap)
{
	for (int i = 0; i < ns_msg_count(*msg, ns_s_an); i++) {
		ns_rr rr;
		char name[NS_MAXDNAME];
		if (ns_parserr(msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_cname ||
		    ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), ns_rr_rdata(rr), name,
				       sizeof(name)) < 0)
			continue;
		snprintf(seen, cap, "%s", name);
		if (same_name(name, target))
			return true;
	}
	return false;
}

/* Whether a TXT record of the answer (its strings joined) is token. */
static bool txt_holds(ns_msg *msg, const char *token)
{
	for (int i = 0; i < ns_msg_count(*msg, ns_s_an); i++) {
		ns_rr rr;
		if (ns_parserr(msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt)
			continue;
		char text[1024];
		size_t n = 0;
		const unsigned char *p = ns_rr_rdata(rr), *end = p + ns_rr_rdlen(rr);
		while (p < end) {
			size_t len = *p++;
			if (len > (size_t)(end - p) || n + len >= sizeof(text))
				break;
			memcpy(text + n, p, len);
			n += len;
			p += len;
		}
		text[n] = '\0';
		if (strcmp(text, token) == 0)
			return true;
	}
	return false;
}

enum dns_check_result dns_check_domain(const struct listen_addr *server, const char *fqdn,
				       const char *target, const char *token, char *detail,
				       size_t cap)
{
	struct __res_state rs;
	if (!open_resolver(&rs, server)) {
		snprintf(detail, cap, "The resolver could not be set up");
		return DNS_CHECK_ERROR;
	}
	unsigned char buf[NS_MAXMSG > 8192 ? 8192 : NS_MAXMSG];
	ns_msg msg;
	char seen[NS_MAXDNAME] = "";
	enum dns_check_result cname = query(&rs, fqdn, ns_t_cname, buf, sizeof(buf), &msg);
	if (cname == DNS_CHECK_MATCH && cname_is(&msg, target, seen, sizeof(seen))) {
		snprintf(detail, cap, "%s is a CNAME of %s", fqdn, target);
		res_nclose(&rs);
		return DNS_CHECK_MATCH;
	}
	char challenge[NS_MAXDNAME];
	snprintf(challenge, sizeof(challenge), "_runos-challenge.%s", fqdn);
	enum dns_check_result txt = query(&rs, challenge, ns_t_txt, buf, sizeof(buf), &msg);
	res_nclose(&rs);
	if (txt == DNS_CHECK_MATCH && txt_holds(&msg, token)) {
		snprintf(detail, cap, "%s holds the verification token", challenge);
		return DNS_CHECK_MATCH;
	}
	if (cname == DNS_CHECK_ERROR && txt == DNS_CHECK_ERROR) {
		snprintf(detail, cap, "The resolver did not answer for %s", fqdn);
		return DNS_CHECK_ERROR;
	}
	if (seen[0])
		snprintf(detail, cap, "%s is a CNAME of %s, not %s, and %s does not hold the token",
			 fqdn, seen, target, challenge);
	else
		snprintf(detail, cap, "%s has no CNAME to %s and %s does not hold the token", fqdn,
			 target, challenge);
	return DNS_CHECK_MISMATCH;
}
