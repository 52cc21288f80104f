/* Members of an account and invitations to become one (API.md §3). The owner
 * rules are kept here, under a lock of the account's row, so that concurrent
 * changes cannot leave an account without an owner: only owners grant,
 * change or remove the owner role, and the last owner can be neither
 * demoted, removed nor leave. Thread safe. */
#ifndef RUNOSD_DB_MEMBERS_STORE_H
#define RUNOSD_DB_MEMBERS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "db/credential_types.h"
#include "db/audit_store.h"
#include "db/db.h"
#include "idalloc/ids.h"
#include "util/text.h"

struct member {
	char uid[IDALLOC_UUID_LEN + 1];
	char email[256];
	char name[TEXT_BUF(NAME_MAX_CHARS)];
	enum role role;
	int64_t joined_us;
	int version; /* ETag */
};

enum member_refusal {
	MEMBER_OK,
	MEMBER_NOT_FOUND,  /* no such member of the account */
	MEMBER_OWNER_ONLY, /* an admin touching an owner or the owner role */
	MEMBER_LAST_OWNER, /* would leave the account without an owner */
	MEMBER_EXISTS,	   /* accepting: already a member */
	MEMBER_INVITATION, /* accepting: unknown, used, expired, or for another email */
};

/* Members by joining time after the cursor. *out (to free) holds *n. */
enum db_result db_members_list(struct db_pool *db, const char *aid, int64_t after_us,
			       const char *after_uid, int limit, struct member **out, size_t *n)
	__attribute__((warn_unused_result));

/* Changes uid's role; by is the caller's role in the account; if_version != 0:
 * only at that version, else DB_CONFLICT. *out is the member after the change. */
enum db_result db_members_set_role(struct db_pool *db, const char *aid, const char *uid,
				   enum role role, enum role by, int if_version,
				   const struct audit_actor *actor, struct member *out,
				   enum member_refusal *why) __attribute__((warn_unused_result));

/* Removes uid from the account (also the caller leaving: by = own role). When
 * it was uid's default account, the oldest remaining membership becomes the
 * default; its aid goes to default_aid ("" when none is left), the number of
 * remaining memberships to *remaining. */
enum db_result db_members_remove(struct db_pool *db, const char *aid, const char *uid, enum role by,
				 int if_version, const struct audit_actor *actor,
				 char default_aid[IDALLOC_SHORT_ID_LEN + 1], int *remaining,
				 enum member_refusal *why) __attribute__((warn_unused_result));

/* Stores an invitation (hash of its token), with its audit entry. */
enum db_result db_invitations_create(struct db_pool *db, const char *id, const char *aid,
				     const char *email, enum role role,
				     const uint8_t hash[CRYPTO_SHA256_LEN], int64_t expires_us,
				     const struct audit_actor *actor)
	__attribute__((warn_unused_result));

/* Uses the invitation of this hash for user uid (whose email must be the
 * invited one): uid becomes a member. *aid and *role say where and how. */
enum db_result db_invitations_accept(struct db_pool *db, const uint8_t hash[CRYPTO_SHA256_LEN],
				     const char *uid, char aid[IDALLOC_SHORT_ID_LEN + 1],
				     enum role *role, enum member_refusal *why)
	__attribute__((warn_unused_result));

#endif
