/* Lookups of bearer tokens by their SHA-256, for authentication: a session or
 * a personal access token with the memberships that decide its roles. */
#ifndef RUNOSD_DB_CREDENTIALS_STORE_H
#define RUNOSD_DB_CREDENTIALS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "db/credential_types.h"
#include "db/db.h"
#include "idalloc/ids.h"

struct credential_membership {
	char aid[IDALLOC_SHORT_ID_LEN + 1];
	enum role role;
};

struct credential {
	enum token_kind kind;
	char id[IDALLOC_UUID_LEN + 1];
	char uid[IDALLOC_UUID_LEN + 1];
	char key_aid[IDALLOC_SHORT_ID_LEN + 1]; /* PAT: its account */
	enum role key_role;			/* PAT: its own role */
	int64_t expires_us;
	int64_t revoked_us; /* 0: not revoked */
	size_t nmemberships;
	struct credential_membership *memberships; /* owned; free() */
};

/* Fills *out (kind must be TOKEN_SESSION or TOKEN_PAT). DB_NOT_FOUND when no
 * such token. For a PAT, memberships holds the creator's membership in the
 * key's account only (none if the creator left it). */
enum db_result db_credentials_lookup(struct db_pool *db, enum token_kind kind,
				     const uint8_t hash[CRYPTO_SHA256_LEN], struct credential *out)
	__attribute__((warn_unused_result));

void db_credential_finish(struct credential *c);

#endif
