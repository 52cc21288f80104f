/* Idempotency keys (API.md §1): claiming a key for a request, recording the
 * response, and what a repeat finds. Decided in PostgreSQL, so it holds
 * across instances. Thread safe.
 *
 * A claim opens the request transaction of the calling thread (see
 * idempotency_store.c and db_conn_pin): whatever the request then writes
 * through the pool on this thread commits with the recorded response at
 * db_idempotency_finish, or vanishes with it at db_idempotency_release (or
 * when the server dies first). Begin and finish or release run on the same
 * thread. */
#ifndef RUNOSD_DB_IDEMPOTENCY_STORE_H
#define RUNOSD_DB_IDEMPOTENCY_STORE_H

#include <stdint.h>

#include "crypto/hash.h"
#include "db/db.h"

/* A claim in flight recorded by a server of an older version (before
 * request transactions) and left longer than this is taken over. */
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

/* Claims (scope, key) for a request of this hash, or says why not.
 * IDEMPOTENCY_NEW: the request transaction is open; end it with finish or
 * release. */
enum db_result db_idempotency_begin(struct db_pool *db, const char *scope, const char *key,
				    const uint8_t hash[CRYPTO_SHA256_LEN],
				    enum idempotency_state *state, struct idempotent_response *out)
	__attribute__((warn_unused_result));

/* Records the response of a claimed key (body may be NULL) and commits the
 * request transaction. DB_OK: the change and the record committed.
 * DB_CONFLICT: a statement of the request had failed, which lost the change:
 * nothing committed and nothing is recorded (the request's answer may stand:
 * a retry runs again). Else the commit failed: nothing committed, or, when
 * the connection dropped at COMMIT, everything did. */
enum db_result db_idempotency_finish(struct db_pool *db, const char *scope, const char *key,
				     const uint8_t hash[CRYPTO_SHA256_LEN], int status,
				     const char *content_type, const char *body)
	__attribute__((warn_unused_result));

/* Lets go of a claimed key without a response, rolling the request's changes
 * back (a server error: may be retried). */
enum db_result db_idempotency_release(struct db_pool *db) __attribute__((warn_unused_result));

#endif
