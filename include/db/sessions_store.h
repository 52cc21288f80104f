/* Login sessions: rows keyed by the SHA-256 of their rns_ token. Thread safe. */
#ifndef RUNOSD_DB_SESSIONS_STORE_H
#define RUNOSD_DB_SESSIONS_STORE_H

#include <stdint.h>

#include "crypto/hash.h"
#include "db/db.h"

#define SESSION_TTL_SECONDS (14 * 24 * 3600)

enum db_result db_sessions_create(struct db_pool *db, const char *uid,
				  const uint8_t hash[CRYPTO_SHA256_LEN], int64_t expires_us)
	__attribute__((warn_unused_result));

/* Marks the session revoked; DB_NOT_FOUND when there is none or it already is. */
enum db_result db_sessions_revoke(struct db_pool *db, const uint8_t hash[CRYPTO_SHA256_LEN])
	__attribute__((warn_unused_result));

#endif
