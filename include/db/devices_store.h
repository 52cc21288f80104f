/* CLI device logins (API.md §3): started by the CLI, approved by a signed-in
 * member of an account, redeemed once by the CLI for an API key of that
 * account. Tokens are kept as SHA-256. Thread safe. */
#ifndef RUNOSD_DB_DEVICES_STORE_H
#define RUNOSD_DB_DEVICES_STORE_H

#include <stdint.h>

#include "crypto/hash.h"
#include "db/api_keys_store.h"
#include "db/db.h"

enum device_state {
	DEVICE_OK,
	DEVICE_INVALID, /* unknown id, or not its token */
	DEVICE_PENDING, /* not approved yet */
	DEVICE_EXPIRED,
	DEVICE_USED, /* approved (approve) or redeemed (redeem) already */
};

enum db_result db_devices_create(struct db_pool *db, const char *id,
				 const uint8_t hash[CRYPTO_SHA256_LEN], int64_t expires_us)
	__attribute__((warn_unused_result));

/* Approves the device for uid in aid (uid must be a member: else
 * DB_NOT_FOUND). */
enum db_result db_devices_approve(struct db_pool *db, const char *id,
				  const uint8_t hash[CRYPTO_SHA256_LEN], const char *uid,
				  const char *aid, enum device_state *state)
	__attribute__((warn_unused_result));

/* Redeems an approved device once: key (id, name, prefix, expires_us set by
 * the caller; aid, role and created_by from the approval) is stored with
 * key_hash, in the same transaction. */
enum db_result db_devices_redeem(struct db_pool *db, const char *id,
				 const uint8_t hash[CRYPTO_SHA256_LEN], struct api_key *key,
				 const uint8_t key_hash[CRYPTO_SHA256_LEN],
				 enum device_state *state) __attribute__((warn_unused_result));

#endif
