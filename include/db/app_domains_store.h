/* The custom domains of apps (docs/apps.md): an fqdn belongs to one app in
 * the whole system; each waits for its verification (CNAME or TXT) and is
 * checked again with backoff until it is verified or given up. Functions of
 * a tenant take its aid, cid and app id and filter by them; the background
 * verifier's db_app_domains_due looks across tenants. Thread safe. */
#ifndef RUNOSD_DB_APP_DOMAINS_STORE_H
#define RUNOSD_DB_APP_DOMAINS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/audit_store.h"
#include "db/db.h"
#include "idalloc/ids.h"

struct app_domain {
	char aid[8], cid[8], app_id[IDALLOC_SHORT_ID_LEN + 1];
	char fqdn[254];
	int port;
	char status[16]; /* pending, verified, failed */
	char verification_token[80];
	char certificate_status[16]; /* none, pending, issued, failed */
	int attempts;
	int64_t next_check_us, checked_us, verified_us, created_us; /* 0: not yet */
};

/* The app's domains, oldest first; *out (to free) holds *n. */
enum db_result db_app_domains_list(struct db_pool *db, const char *aid, const char *cid,
				   const char *app_id, struct app_domain **out, size_t *n)
	__attribute__((warn_unused_result));

/* Adds a pending domain of the app's port, with an audit entry
 * (app.domain.add). DB_NOT_FOUND when the app is not there or being
 * deleted; DB_CONFLICT when the fqdn is any app's already. */
enum db_result db_app_domains_add(struct db_pool *db, const char *aid, const char *cid,
				  const char *app_id, const char *fqdn, int port,
				  const char *verification_token, const struct audit_actor *actor,
				  struct app_domain *out) __attribute__((warn_unused_result));

/* Removes it, with an audit entry (app.domain.delete); DB_NOT_FOUND. */
enum db_result db_app_domains_delete(struct db_pool *db, const char *aid, const char *cid,
				     const char *app_id, const char *fqdn,
				     const struct audit_actor *actor)
	__attribute__((warn_unused_result));

/* Records a check of a pending domain: verified (its certificate then
 * pending: the next job of the app applies its Certificate), or one more
 * attempt with the next in retry_after_s seconds, or (give_up) failed.
 * DB_NOT_FOUND when it is not pending. */
enum db_result db_app_domains_checked(struct db_pool *db, const char *aid, const char *cid,
				      const char *app_id, const char *fqdn, bool verified,
				      bool give_up, int retry_after_s)
	__attribute__((warn_unused_result));

/* Pending domains of every tenant whose next check is due, soonest first,
 * at most limit; *out (to free) holds *n. */
enum db_result db_app_domains_due(struct db_pool *db, int limit, struct app_domain **out, size_t *n)
	__attribute__((warn_unused_result));

/* Takes up to limit due pending domains of every tenant, soonest first, and
 * moves their next check lease_s seconds on, with FOR UPDATE SKIP LOCKED:
 * instances that claim at once get different domains, and a claimer that
 * dies leaves them to be claimed again after the lease. *out (to free). */
enum db_result db_app_domains_claim(struct db_pool *db, int limit, int lease_s,
				    struct app_domain **out, size_t *n)
	__attribute__((warn_unused_result));

/* A failed domain pending again, from its first attempt (a check asked for
 * by the user); DB_NOT_FOUND when it is not failed. */
enum db_result db_app_domains_reopen(struct db_pool *db, const char *aid, const char *cid,
				     const char *app_id, const char *fqdn)
	__attribute__((warn_unused_result));

#endif
