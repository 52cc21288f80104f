/* Bearer token authentication with a sharded in-memory cache (see
 * include/auth/auth.h). Each shard has its own mutex held only for lookups and
 * inserts, never across a database call; a stale or missing entry is read from
 * the database outside the lock and then stored. Entries are keyed by the
 * token's SHA-256, so the cache never holds a token itself. */
#include "auth/auth.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/credentials_store.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define SHARDS 64
#define BUCKETS_PER_SHARD 256
#define MAX_ENTRIES_PER_SHARD 4096

struct entry {
	struct entry *next;
	uint8_t hash[CRYPTO_SHA256_LEN];
	int64_t fetched_ms;
	struct credential cred;
};

struct shard {
	pthread_mutex_t lock;
	struct entry *buckets[BUCKETS_PER_SHARD];
	size_t count;
};

struct auth {
	struct db_pool *db;
	struct shard shards[SHARDS];
};

struct auth *auth_create(struct db_pool *db)
{
	struct auth *a = xcalloc(1, sizeof(*a));
	a->db = db;
	for (int i = 0; i < SHARDS; i++)
		pthread_mutex_init(&a->shards[i].lock, NULL);
	return a;
}

static void entry_destroy(struct entry *e)
{
	db_credential_finish(&e->cred);
	free(e);
}

void auth_destroy(struct auth *a)
{
	if (!a)
		return;
	for (int i = 0; i < SHARDS; i++) {
		for (int b = 0; b < BUCKETS_PER_SHARD; b++) {
			struct entry *e = a->shards[i].buckets[b];
			while (e) {
				struct entry *next = e->next;
				entry_destroy(e);
				e = next;
			}
		}
		pthread_mutex_destroy(&a->shards[i].lock);
	}
	free(a);
}

static struct shard *shard_of(struct auth *a, const uint8_t *hash, struct entry ***bucket)
{
	struct shard *s = &a->shards[hash[0] % SHARDS];
	*bucket = &s->buckets[(hash[1] | (hash[2] << 8)) % BUCKETS_PER_SHARD];
	return s;
}

static void fill_principal(const struct credential *c, const char *aid, struct principal *out)
{
	out->kind = c->kind;
	memcpy(out->token_id, c->id, sizeof(out->token_id));
	memcpy(out->uid, c->uid, sizeof(out->uid));
	memcpy(out->key_aid, c->key_aid, sizeof(out->key_aid));
	out->expires_us = c->expires_us;
	out->revoked_us = c->revoked_us;
	out->role_in_aid = ROLE_NONE;
	if (!aid)
		return;
	if (c->kind == TOKEN_PAT && strcmp(aid, c->key_aid) != 0)
		return;
	for (size_t i = 0; i < c->nmemberships; i++) {
		if (strcmp(c->memberships[i].aid, aid) == 0) {
			out->role_in_aid = c->memberships[i].role;
			break;
		}
	}
	if (c->kind == TOKEN_PAT)
		out->role_in_aid = auth_role_min(out->role_in_aid, c->key_role);
}

/* Looks the hash up; fills out and returns true when a fresh entry exists. */
static bool cache_get(struct auth *a, const uint8_t *hash, const char *aid, int64_t now_ms,
		      struct principal *out)
{
	struct entry **bucket;
	struct shard *s = shard_of(a, hash, &bucket);
	bool hit = false;
	pthread_mutex_lock(&s->lock);
	for (struct entry *e = *bucket; e; e = e->next) {
		if (memcmp(e->hash, hash, CRYPTO_SHA256_LEN) == 0) {
			if (now_ms - e->fetched_ms < AUTH_CACHE_TTL_MS) {
				fill_principal(&e->cred, aid, out);
				hit = true;
			}
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return hit;
}

/* Drops entries too old to be used; called with the shard locked when full. */
static void shard_sweep(struct shard *s, int64_t now_ms)
{
	for (int b = 0; b < BUCKETS_PER_SHARD; b++) {
		struct entry **pp = &s->buckets[b];
		while (*pp) {
			struct entry *e = *pp;
			if (now_ms - e->fetched_ms >= AUTH_CACHE_TTL_MS ||
			    s->count > MAX_ENTRIES_PER_SHARD) {
				*pp = e->next;
				entry_destroy(e);
				s->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/* Stores cred (taken over) as the entry for hash, replacing an older one. */
static void cache_put(struct auth *a, const uint8_t *hash, struct credential *cred, int64_t now_ms)
{
	struct entry *fresh = xcalloc(1, sizeof(*fresh));
	memcpy(fresh->hash, hash, CRYPTO_SHA256_LEN);
	fresh->fetched_ms = now_ms;
	fresh->cred = *cred;
	memset(cred, 0, sizeof(*cred));

	struct entry **bucket;
	struct shard *s = shard_of(a, hash, &bucket);
	pthread_mutex_lock(&s->lock);
	for (struct entry **pp = bucket; *pp; pp = &(*pp)->next) {
		if (memcmp((*pp)->hash, hash, CRYPTO_SHA256_LEN) == 0) {
			struct entry *old = *pp;
			*pp = old->next;
			entry_destroy(old);
			s->count--;
			break;
		}
	}
	if (s->count >= MAX_ENTRIES_PER_SHARD)
		shard_sweep(s, now_ms);
	fresh->next = *bucket;
	*bucket = fresh;
	s->count++;
	pthread_mutex_unlock(&s->lock);
}

void auth_forget(struct auth *a, const uint8_t hash[CRYPTO_SHA256_LEN])
{
	struct entry **bucket;
	struct shard *s = shard_of(a, hash, &bucket);
	pthread_mutex_lock(&s->lock);
	for (struct entry **pp = bucket; *pp; pp = &(*pp)->next) {
		if (memcmp((*pp)->hash, hash, CRYPTO_SHA256_LEN) == 0) {
			struct entry *old = *pp;
			*pp = old->next;
			entry_destroy(old);
			s->count--;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

void auth_forget_user(struct auth *a, const char *uid)
{
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &a->shards[i];
		pthread_mutex_lock(&s->lock);
		for (int b = 0; b < BUCKETS_PER_SHARD; b++) {
			struct entry **pp = &s->buckets[b];
			while (*pp) {
				struct entry *e = *pp;
				if (strcmp(e->cred.uid, uid) == 0) {
					*pp = e->next;
					entry_destroy(e);
					s->count--;
				} else {
					pp = &e->next;
				}
			}
		}
		pthread_mutex_unlock(&s->lock);
	}
}

/* "Bearer <token>", the scheme case-insensitive (RFC 7235). */
static const char *bearer_token(const char *authorization)
{
	if (strncasecmp(authorization, "Bearer ", 7) != 0)
		return NULL;
	const char *t = authorization + 7;
	while (*t == ' ')
		t++;
	return t;
}

static enum auth_result verdict(const struct principal *p)
{
	if (p->revoked_us)
		return AUTH_REVOKED;
	if (p->expires_us <= time_now_us())
		return AUTH_EXPIRED;
	return AUTH_OK;
}

enum auth_result auth_authenticate(struct auth *a, const char *authorization, const char *aid,
				   struct principal *out)
{
	memset(out, 0, sizeof(*out));
	if (!authorization || !*authorization)
		return AUTH_MISSING;
	const char *token = bearer_token(authorization);
	if (!token)
		return AUTH_MALFORMED;
	enum token_kind kind = auth_token_parse(token);
	if (kind != TOKEN_SESSION && kind != TOKEN_PAT)
		return AUTH_MALFORMED;

	auth_token_hash(token, out->token_hash);
	int64_t now_ms = time_mono_ms();
	/* A session asking for an account its cached memberships lack is read
	 * again: a membership added on another instance (a new account, an
	 * accepted invitation) then works at once, not after the cache TTL. */
	if (cache_get(a, out->token_hash, aid, now_ms, out) &&
	    !(aid && out->kind == TOKEN_SESSION && out->role_in_aid == ROLE_NONE))
		return verdict(out);

	struct credential cred;
	enum db_result r = db_credentials_lookup(a->db, kind, out->token_hash, &cred);
	if (r == DB_NOT_FOUND)
		return AUTH_UNKNOWN;
	if (r != DB_OK)
		return AUTH_UNAVAILABLE;
	fill_principal(&cred, aid, out);
	cache_put(a, out->token_hash, &cred, now_ms);
	return verdict(out);
}
