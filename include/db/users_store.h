/* Users, and signing up (a user, a personal account, its owner membership and
 * a first session in one transaction). All functions are thread safe. */
#ifndef RUNOSD_DB_USERS_STORE_H
#define RUNOSD_DB_USERS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "db/credential_types.h"
#include "db/accounts_store.h"
#include "db/audit_store.h"
#include "db/db.h"
#include "idalloc/ids.h"
#include "util/text.h"

struct user {
	char uid[IDALLOC_UUID_LEN + 1];
	char email[255];
	char name[TEXT_BUF(NAME_MAX_CHARS)];
	bool mfa_enabled;
	int version; /* ETag */
	int64_t created_us;
};

struct signup_input {
	const char *email;
	const char *name;
	const char *password_hash;
	struct account_input account;
	uint8_t session_hash[CRYPTO_SHA256_LEN];
	int64_t session_expires_us;
	struct audit_actor actor; /* trace id and address; the id is the new user's */
};

/* DB_CONFLICT: the email is taken (compared case-insensitively). */
enum db_result db_users_signup(struct db_pool *db, const struct signup_input *in,
			       struct user *user_out, struct account *account_out)
	__attribute__((warn_unused_result));

/* By email, case-insensitively, with the password hash. */
enum db_result db_users_find_by_email(struct db_pool *db, const char *email, struct user *out,
				      char password_hash[PASSWORD_HASH_MAX])
	__attribute__((warn_unused_result));

/* By uid; password_hash may be NULL. */
enum db_result db_users_get(struct db_pool *db, const char *uid, struct user *out,
			    char *password_hash) __attribute__((warn_unused_result));

/* Sets the non-NULL of name and password_hash. A new password revokes every
 * session of the user except keep_session_id. if_version != 0: only at that
 * version, else DB_CONFLICT (checked by the UPDATE itself, so a change made
 * since the caller read the user is seen). */
enum db_result db_users_update(struct db_pool *db, const char *uid, const char *name,
			       const char *password_hash, const char *keep_session_id,
			       int if_version, struct user *out)
	__attribute__((warn_unused_result));

/* TOTP (sealed secrets; see auth/totp.h). A new secret waits, pending, for
 * its first code. */
enum db_result db_users_totp_set_pending(struct db_pool *db, const char *uid, const char *sealed)
	__attribute__((warn_unused_result));

/* The sealed pending and enabled secrets (either may come back NULL; free
 * both). */
enum db_result db_users_totp_get(struct db_pool *db, const char *uid, char **pending, char **secret)
	__attribute__((warn_unused_result));

/* The pending secret becomes the enabled one, step its first used step.
 * DB_NOT_FOUND: nothing pending. */
enum db_result db_users_totp_enable(struct db_pool *db, const char *uid, int64_t step)
	__attribute__((warn_unused_result));

/* Uses a step of the enabled secret: DB_CONFLICT when it (or a later one)
 * was used already. */
enum db_result db_users_totp_use(struct db_pool *db, const char *uid, int64_t step)
	__attribute__((warn_unused_result));

#endif
