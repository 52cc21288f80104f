/* Accounts and memberships. Every function that reads account-owned data takes
 * the aid and filters by it. All functions are thread safe. */
#ifndef RUNOSD_DB_ACCOUNTS_STORE_H
#define RUNOSD_DB_ACCOUNTS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/credential_types.h"
#include "db/audit_store.h"
#include "db/db.h"
#include "idalloc/ids.h"
#include "util/text.h"

struct account {
	char aid[IDALLOC_SHORT_ID_LEN + 1];
	char name[TEXT_BUF(NAME_MAX_CHARS)];
	char company_name[TEXT_BUF(NAME_MAX_CHARS)];
	char website[TEXT_BUF(WEBSITE_MAX_CHARS)];
	char base_domain[256];
	int version; /* ETag */
	int64_t created_us;
};

struct account_membership {
	struct account account;
	enum role role;
	bool is_default;
	int64_t joined_us;
};

struct account_input {
	const char *name;
	const char *company_name; /* NULL: "" (create) or unchanged (update) */
	const char *website;	  /* NULL: "" (create) or unchanged (update) */
	const char *base_domain;  /* create only */
};

/* Creates an account with a fresh aid and makes uid its owner. */
enum db_result db_accounts_create(struct db_pool *db, const char *uid,
				  const struct account_input *in, const struct audit_actor *actor,
				  struct account *out) __attribute__((warn_unused_result));

/* The accounts uid belongs to, ordered by joining time, after the cursor
 * (after_us = 0: from the start), at most limit. only_aid restricts the list
 * to one account (a personal access token sees only its own). *out is an array
 * of *n entries to free(). */
enum db_result db_accounts_list_for_user(struct db_pool *db, const char *uid, const char *only_aid,
					 int64_t after_us, const char *after_aid, int limit,
					 struct account_membership **out, size_t *n)
	__attribute__((warn_unused_result));

enum db_result db_accounts_get(struct db_pool *db, const char *aid, struct account *out)
	__attribute__((warn_unused_result));

/* Changes the non-NULL fields of in. if_version != 0: only when the account is
 * at that version, else DB_CONFLICT. */
enum db_result db_accounts_update(struct db_pool *db, const char *aid,
				  const struct account_input *in, int if_version,
				  const struct audit_actor *actor, struct account *out)
	__attribute__((warn_unused_result));

#endif
