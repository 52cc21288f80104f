/* Personal access tokens (API keys) of an account. Every function takes the aid
 * and filters by it; a revoked key is gone for all of them. Changes are
 * recorded in the audit trail (actor). Thread safe. */
#ifndef RUNOSD_DB_API_KEYS_STORE_H
#define RUNOSD_DB_API_KEYS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "db/credential_types.h"
#include "db/audit_store.h"
#include "db/db.h"
#include "idalloc/ids.h"
#include "util/text.h"

struct api_key {
	char id[IDALLOC_UUID_LEN + 1];
	char aid[IDALLOC_SHORT_ID_LEN + 1];
	char name[TEXT_BUF(NAME_MAX_CHARS)];
	char prefix[TOKEN_DISPLAY_PREFIX_LEN + 1];
	enum role role;
	char created_by[IDALLOC_UUID_LEN + 1];
	int version;
	int64_t created_us;
	int64_t expires_us;
};

/* Stores key (its id, aid, name, prefix, role, created_by, expires_us are
 * read) with the token's hash; fills created_us and version. */
enum db_result db_api_keys_create(struct db_pool *db, struct api_key *key,
				  const uint8_t hash[CRYPTO_SHA256_LEN],
				  const struct audit_actor *actor)
	__attribute__((warn_unused_result));

enum db_result db_api_keys_list(struct db_pool *db, const char *aid, int64_t after_us,
				const char *after_id, int limit, struct api_key **out, size_t *n)
	__attribute__((warn_unused_result));

enum db_result db_api_keys_get(struct db_pool *db, const char *aid, const char *id,
			       struct api_key *out) __attribute__((warn_unused_result));

/* if_version != 0: only at that version, else DB_CONFLICT. */
enum db_result db_api_keys_rename(struct db_pool *db, const char *aid, const char *id,
				  const char *name, int if_version, const struct audit_actor *actor,
				  struct api_key *out) __attribute__((warn_unused_result));

/* Revokes the key and gives its token hash (for the cache). */
enum db_result db_api_keys_revoke(struct db_pool *db, const char *aid, const char *id,
				  int if_version, const struct audit_actor *actor,
				  uint8_t hash_out[CRYPTO_SHA256_LEN])
	__attribute__((warn_unused_result));

#endif
