/* Idempotency keys (API.md §1): claiming a key for a request, recording the
 * response, and what a repeat finds. Decided in PostgreSQL, so it holds
 * across instances. Thread safe. */
#ifndef RUNOSD_DB_IDEMPOTENCY_STORE_H
#define RUNOSD_DB_IDEMPOTENCY_STORE_H

#include <stdint.h>

#include "crypto/hash.h"
#include "db/db.h"

/* A claim left in flight longer than this (its server died) is taken over. */
#define IDEMPOTENCY_ABANDONED_SECONDS 60

enum idempotency_state {
	IDEMPOTENCY_NEW,       /* claimed: run the request, then record its response */
	IDEMPOTENCY_IN_FLIGHT, /* another request with the key runs now */
	IDEMPOTENCY_MISMATCH,  /* the key was used with another request */
	IDEMPOTENCY_REPLAY,    /* done: replay status and body */
};

struct idempotent_response {
	int status;
	char content_type[64];
	char *body; /* owned; NULL: empty */
};

/* Claims (scope, key) for a request of this hash, or says why not. */
enum db_result db_idempotency_begin(struct db_pool *db, const char *scope, const char *key,
				    const uint8_t hash[CRYPTO_SHA256_LEN],
				    enum idempotency_state *state, struct idempotent_response *out)
	__attribute__((warn_unused_result));

/* Records the response of a claimed key (body may be NULL). */
enum db_result db_idempotency_finish(struct db_pool *db, const char *scope, const char *key,
				     int status, const char *content_type, const char *body)
	__attribute__((warn_unused_result));

/* Lets go of a claimed key without a response (a server error: may be retried). */
enum db_result db_idempotency_release(struct db_pool *db, const char *scope, const char *key)
	__attribute__((warn_unused_result));

#endif
