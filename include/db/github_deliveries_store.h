/* The GitHub deliveries an app's webhook took (X-GitHub-Delivery): the first
 * request of a delivery claims it, handles it and stores its answer; a
 * repeat gets that answer, or hears that the first is still running, also
 * when the repeats reach several server instances at once. A claim left
 * unanswered for APP_DELIVERY_CLAIM_TTL seconds (its instance died) can be
 * claimed again. Thread safe. */
#ifndef RUNOSD_DB_GITHUB_DELIVERIES_STORE_H
#define RUNOSD_DB_GITHUB_DELIVERIES_STORE_H

#include <stddef.h>

#include "db/db.h"

#define APP_DELIVERY_CLAIM_TTL 60

enum delivery_claim {
	DELIVERY_CLAIMED,   /* this request handles it */
	DELIVERY_IN_FLIGHT, /* another request is handling it */
	DELIVERY_ANSWERED,  /* *status and *body (to free) are the first answer */
};

enum db_result db_github_delivery_claim(struct db_pool *db, const char *aid, const char *cid,
					const char *app_id, const char *delivery_id,
					enum delivery_claim *claim, int *status, char **body)
	__attribute__((warn_unused_result));

/* Stores the answer of a claimed delivery. */
enum db_result db_github_delivery_answer(struct db_pool *db, const char *aid, const char *cid,
					 const char *app_id, const char *delivery_id, int status,
					 const char *body) __attribute__((warn_unused_result));

/* Gives a claim up unanswered (the request failed before it could answer,
 * so GitHub's redelivery is handled afresh). */
enum db_result db_github_delivery_release(struct db_pool *db, const char *aid, const char *cid,
					  const char *app_id, const char *delivery_id)
	__attribute__((warn_unused_result));

#endif
