/* Join tokens of a cluster (API.md §4, AGENT.md §2). Only a token's SHA-256 is
 * stored. Every function of the API side takes the aid and filters by it; the
 * agent side finds a token by its hash alone, since the token decides the
 * account. Thread safe. */
#ifndef RUNOSD_DB_JOIN_TOKENS_STORE_H
#define RUNOSD_DB_JOIN_TOKENS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "db/credential_types.h"
#include "db/audit_store.h"
#include "db/db.h"
#include "idalloc/clusters.h"
#include "idalloc/ids.h"

struct join_token {
	char id[IDALLOC_UUID_LEN + 1];
	char aid[IDALLOC_SHORT_ID_LEN + 1];
	char cid[IDALLOC_CID_LEN + 1];
	char prefix[TOKEN_DISPLAY_PREFIX_LEN + 1];
	char role[16]; /* controlplane, worker, hybrid */
	int max_uses, uses;
	char created_by[IDALLOC_UUID_LEN + 1];
	int64_t expires_us, created_us;
};

/* Stores tok (id, aid, cid, prefix, role, max_uses, expires_us are read) with
 * the token's hash and its audit entry; fills the rest. DB_NOT_FOUND: no such
 * cluster in the account. */
enum db_result db_join_tokens_create(struct db_pool *db, struct join_token *tok,
				     const uint8_t hash[CRYPTO_SHA256_LEN],
				     const struct audit_actor *actor)
	__attribute__((warn_unused_result));

/* The cluster's tokens that are not revoked (used-up and expired ones too),
 * by creation, after the cursor; *out is an array of *n to free(). */
enum db_result db_join_tokens_list(struct db_pool *db, const char *aid, const char *cid,
				   int64_t after_us, const char *after_id, int limit,
				   struct join_token **out, size_t *n)
	__attribute__((warn_unused_result));

/* Revokes the token, with its audit entry. */
enum db_result db_join_tokens_revoke(struct db_pool *db, const char *aid, const char *cid,
				     const char *id, const struct audit_actor *actor)
	__attribute__((warn_unused_result));

/* The token with this hash while it is usable (not revoked, not expired, uses
 * left), without using it: for the installer. */
enum db_result db_join_tokens_peek(struct db_pool *db, const uint8_t hash[CRYPTO_SHA256_LEN],
				   struct join_token *out) __attribute__((warn_unused_result));

/* Uses the token once, in one statement that checks revocation, expiry and
 * uses together, so concurrent callers of a single-use token see exactly one
 * DB_OK; the others DB_NOT_FOUND. Registration does the same inside its own
 * transaction (db_join_token_consume in db_internal.h). */
enum db_result db_join_tokens_consume(struct db_pool *db, const uint8_t hash[CRYPTO_SHA256_LEN],
				      struct join_token *out) __attribute__((warn_unused_result));

#endif
