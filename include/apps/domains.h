/* The domains of an app (docs/apps.md): its name made DNS-safe, the
 * generated domains of its ports under the cluster domain, and the checks of
 * a custom domain a user brings. Pure functions, thread safe. */
#ifndef RUNOSD_APPS_DOMAINS_H
#define RUNOSD_APPS_DOMAINS_H

#include <stdbool.h>
#include <stddef.h>

#include "apps/problem.h"

#define APP_LABEL_MAX 63 /* a DNS label */
#define APP_FQDN_MAX 253 /* a name, without the root's dot */
/* "<dns name>-<id>-<port>" is one label: 63 - "-xxxxx" - "-65535". */
#define APP_DNS_NAME_MAX (APP_LABEL_MAX - 6 - 6)

/* The app name made DNS-safe: lower-case, every run of characters other
 * than [a-z0-9] one '-', no '-' at either end, at most APP_DNS_NAME_MAX
 * characters; "app" when nothing is left, "app-" in front when it would
 * start with a digit (the name is also an RFC 1035 label). out holds
 * APP_DNS_NAME_MAX + 1 bytes. */
void app_dns_name(const char *name, char out[APP_DNS_NAME_MAX + 1]);

/* The generated domain of the index-th port (0: the first):
 * "<dns name>-<id>.<cluster domain>" for the first, "<dns name>-<id>-<port>.<cluster domain>"
 * for the others. false (out "") when it would be longer than APP_FQDN_MAX
 * or cap. */
bool app_generated_domain(const char *dns_name, const char *id, size_t index, int port,
			  const char *cluster_domain, char *out, size_t cap)
	__attribute__((warn_unused_result));

/* A custom domain as a user gives it, checked and normalised into out
 * (lower-case, no trailing dot; cap at least APP_FQDN_MAX + 1): a public DNS
 * name of at least two labels, each 1..63 of [a-z0-9-] not starting or
 * ending with '-', at most APP_FQDN_MAX characters, not an IP literal, a
 * top-level label that is not all digits, and not equal to or under one of
 * the reserved suffixes (the base domains that cluster domains live under;
 * n of them). field names the member in p. */
bool app_custom_domain(const char *fqdn, const char *const *reserved, size_t n, const char *field,
		       char *out, size_t cap, struct app_problem *p)
	__attribute__((warn_unused_result));

/* The name of the Secret a cert-manager Certificate of a verified custom
 * domain writes its certificate to (in the app's namespace). */
void app_domain_tls_secret(const char *fqdn, char *out, size_t cap);

#endif
