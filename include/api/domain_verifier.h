/* The background verifier of apps' custom domains (docs/apps.md): a thread
 * of each instance that claims due pending domains (FOR UPDATE SKIP LOCKED,
 * so instances share the work and never check one domain at once) and
 * checks them with api_app_domain_check, as the system. */
#ifndef RUNOSD_API_DOMAIN_VERIFIER_H
#define RUNOSD_API_DOMAIN_VERIFIER_H

struct server;
struct domain_verifier;

struct domain_verifier *domain_verifier_start(struct server *srv);
/* Stops and frees it (NULL: nothing); waits for the check under way. */
void domain_verifier_stop(struct domain_verifier *v);

#endif
