/* Authentication of bearer tokens, with a cache so that a request carrying a
 * known token costs neither an argon2 hash (tokens are random, so SHA-256 is
 * enough) nor, while the cache entry is fresh, a database round trip.
 *
 * Cache entries live AUTH_CACHE_TTL_MS: after that the token and the caller's
 * memberships are read again, so a revocation, expiry or role change made by
 * any server instance takes effect within that time; a revocation made by this
 * instance (auth_forget) takes effect at once. A session asking for an
 * account its cached entry has no membership in is read again at once, so a
 * new membership is never late. Thread safe. */
#ifndef RUNOSD_AUTH_AUTH_H
#define RUNOSD_AUTH_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/roles.h"
#include "auth/token.h"
#include "db/db.h"
#include "idalloc/ids.h"

#define AUTH_CACHE_TTL_MS 1000

enum auth_result {
	AUTH_OK,
	AUTH_MISSING,	/* no Authorization header */
	AUTH_MALFORMED, /* not "Bearer <token>" or a bad checksum */
	AUTH_UNKNOWN,	/* no such token */
	AUTH_EXPIRED,
	AUTH_REVOKED,
	AUTH_UNAVAILABLE, /* the database could not be asked */
};

/* Who is calling. For a PAT, aid is its account and role_in_aid is
 * min(key role, creator's current role); for a session, role_in_aid is the
 * user's role in the account asked about. */
struct principal {
	enum token_kind kind;
	char token_id[IDALLOC_UUID_LEN + 1];
	char uid[IDALLOC_UUID_LEN + 1];
	char key_aid[IDALLOC_SHORT_ID_LEN + 1]; /* PAT only */
	enum role role_in_aid;			/* ROLE_NONE: not a member (→ 404) */
	int64_t expires_us;
	int64_t revoked_us; /* set when the result is AUTH_REVOKED */
	uint8_t token_hash[CRYPTO_SHA256_LEN];
};

struct auth;

struct auth *auth_create(struct db_pool *db);
void auth_destroy(struct auth *auth);

/* Checks the value of an Authorization header (may be NULL) and fills *out.
 * aid is the account of the request path, or NULL for unscoped routes. */
enum auth_result auth_authenticate(struct auth *auth, const char *authorization, const char *aid,
				   struct principal *out) __attribute__((warn_unused_result));

/* Drops a token from this instance's cache (after revoking it). */
void auth_forget(struct auth *auth, const uint8_t token_hash[CRYPTO_SHA256_LEN]);

/* Drops every cached token of a user (after a password change or role change). */
void auth_forget_user(struct auth *auth, const char *uid);

#endif
