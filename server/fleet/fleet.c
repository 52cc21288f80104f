/* The fleet's memory (see include/fleet/fleet.h): two sharded maps, of
 * certificates by serial and of heartbeats by "aid/nid", and one background
 * thread that writes beats, polls revocations and finds silent nodes. */
#include "fleet/fleet.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/fleet_store.h"
#include "runosd.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define SHARDS 64
#define TICK_MS 500
/* Revocations are polled with an overlap: revoked_at is the revoking
 * transaction's start, which may commit after later ones. */
#define REVOCATION_OVERLAP_US (60LL * 1000000)

struct cert_entry {
	enum http_peer_state state; /* GOOD or REVOKED */
	char aid[IDALLOC_SHORT_ID_LEN + 1];
	char nid[IDALLOC_SHORT_ID_LEN + 1];
	char cid[4];
	char role[16];
};

struct beat_entry {
	struct heartbeat beat;
	bool dirty;  /* not written yet */
	bool online; /* known online in the database */
};

struct shard {
	pthread_mutex_t lock;
	struct strmap *certs; /* serial → cert_entry */
	struct strmap *beats; /* "aid/nid" → beat_entry */
};

struct fleet {
	struct server *srv;
	struct shard shards[SHARDS];
	pthread_t thread;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
	int64_t revoked_until_us; /* the newest revocation seen */
};

static struct shard *shard_of(struct fleet *f, const char *key)
{
	return &f->shards[strmap_hash(key) % SHARDS];
}

static void node_key(const char *aid, const char *nid, char out[16])
{
	snprintf(out, 16, "%s/%s", aid, nid);
}

/* ---- certificates ------------------------------------------------------- */

static void put_cert(struct fleet *f, const char *serial, enum http_peer_state state,
		     const char *aid, const char *nid, const char *cid, const char *role)
{
	struct shard *s = shard_of(f, serial);
	struct cert_entry *e = xcalloc(1, sizeof(*e));
	e->state = state;
	snprintf(e->aid, sizeof(e->aid), "%s", aid);
	snprintf(e->nid, sizeof(e->nid), "%s", nid);
	snprintf(e->cid, sizeof(e->cid), "%s", cid);
	snprintf(e->role, sizeof(e->role), "%s", role);
	pthread_mutex_lock(&s->lock);
	struct cert_entry *old = strmap_put(s->certs, serial, e);
	/* A revocation learnt meanwhile wins over a lookup that raced it. */
	if (old && old->state == HTTP_PEER_REVOKED)
		e->state = HTTP_PEER_REVOKED;
	pthread_mutex_unlock(&s->lock);
	free(old);
}

enum http_peer_state fleet_check_cert(struct fleet *f, const struct pki_peer *peer,
				      struct agent_identity *out)
{
	memset(out, 0, sizeof(*out));
	struct shard *s = shard_of(f, peer->serial);
	struct cert_entry e;
	pthread_mutex_lock(&s->lock);
	struct cert_entry *cached = strmap_get(s->certs, peer->serial);
	if (cached)
		e = *cached;
	pthread_mutex_unlock(&s->lock);
	if (!cached) {
		struct cert_record rec;
		enum db_result r =
			db_fleet_cert_lookup(f->srv->db, peer->serial, peer->aid, peer->nid, &rec);
		if (r == DB_NOT_FOUND)
			return HTTP_PEER_UNKNOWN;
		if (r != DB_OK)
			return HTTP_PEER_UNAVAILABLE;
		put_cert(f, peer->serial, rec.revoked ? HTTP_PEER_REVOKED : HTTP_PEER_GOOD,
			 peer->aid, peer->nid, rec.cid, rec.role);
		return fleet_check_cert(f, peer, out);
	}
	/* The database's record must name the certificate's own node. */
	if (strcmp(e.aid, peer->aid) != 0 || strcmp(e.nid, peer->nid) != 0)
		return HTTP_PEER_UNKNOWN;
	if (e.state != HTTP_PEER_GOOD)
		return e.state;
	memcpy(out->aid, e.aid, sizeof(out->aid));
	memcpy(out->nid, e.nid, sizeof(out->nid));
	memcpy(out->cid, e.cid, sizeof(out->cid));
	memcpy(out->role, e.role, sizeof(out->role));
	memcpy(out->serial, peer->serial, sizeof(out->serial));
	out->not_before_us = peer->not_before_us;
	out->not_after_us = peer->not_after_us;
	return HTTP_PEER_GOOD;
}

void fleet_note_cert(struct fleet *f, const char *serial, const char *aid, const char *nid,
		     const char *cid, const char *role)
{
	put_cert(f, serial, HTTP_PEER_GOOD, aid, nid, cid, role);
}

struct revoke_match {
	const char *aid, *nid;
};

static void revoke_if_node(void *arg, const char *key, void *value)
{
	const struct revoke_match *m = arg;
	struct cert_entry *e = value;
	(void)key;
	if (strcmp(e->aid, m->aid) == 0 && strcmp(e->nid, m->nid) == 0)
		e->state = HTTP_PEER_REVOKED;
}

void fleet_revoke_node(struct fleet *f, const char *aid, const char *nid)
{
	struct revoke_match m = { aid, nid };
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&f->shards[i].lock);
		strmap_foreach(f->shards[i].certs, revoke_if_node, &m);
		pthread_mutex_unlock(&f->shards[i].lock);
	}
	char key[16];
	node_key(aid, nid, key);
	struct shard *s = shard_of(f, key);
	pthread_mutex_lock(&s->lock);
	free(strmap_remove(s->beats, key));
	pthread_mutex_unlock(&s->lock);
}

static void revoke_serial(void *arg, const char *serial)
{
	struct fleet *f = arg;
	struct shard *s = shard_of(f, serial);
	pthread_mutex_lock(&s->lock);
	struct cert_entry *e = strmap_get(s->certs, serial);
	if (e)
		e->state = HTTP_PEER_REVOKED;
	pthread_mutex_unlock(&s->lock);
}

static void poll_revocations(struct fleet *f)
{
	int64_t since = f->revoked_until_us - REVOCATION_OVERLAP_US;
	enum db_result r =
		db_fleet_revoked_since(f->srv->db, since, revoke_serial, f, &f->revoked_until_us);
	if (r != DB_OK && r != DB_UNAVAILABLE)
		log_warn("could not poll certificate revocations");
}

/* ---- heartbeats --------------------------------------------------------- */

enum db_result fleet_heartbeat(struct fleet *f, const struct agent_identity *node,
			       const char *external_ip, const char *version)
{
	char key[16];
	node_key(node->aid, node->nid, key);
	struct shard *s = shard_of(f, key);
	pthread_mutex_lock(&s->lock);
	struct beat_entry *e = strmap_get(s->beats, key);
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		memcpy(e->beat.aid, node->aid, sizeof(e->beat.aid));
		memcpy(e->beat.nid, node->nid, sizeof(e->beat.nid));
		strmap_put(s->beats, key, e);
	}
	e->beat.at_us = time_now_us();
	snprintf(e->beat.external_ip, sizeof(e->beat.external_ip), "%s", external_ip);
	snprintf(e->beat.version, sizeof(e->beat.version), "%s", version);
	e->dirty = true;
	bool online = e->online;
	struct heartbeat beat = e->beat;
	pthread_mutex_unlock(&s->lock);
	if (online)
		return DB_OK;

	bool changed;
	enum db_result r = db_fleet_mark_online(f->srv->db, &beat, &changed);
	if (r != DB_OK)
		return r;
	if (changed)
		log_info("node %s/%s is online", node->aid, node->nid);
	pthread_mutex_lock(&s->lock);
	e = strmap_get(s->beats, key);
	if (e)
		e->online = true;
	pthread_mutex_unlock(&s->lock);
	return DB_OK;
}

struct batch {
	struct heartbeat *beats;
	size_t n, cap;
};

static void collect_dirty(void *arg, const char *key, void *value)
{
	struct batch *b = arg;
	struct beat_entry *e = value;
	(void)key;
	if (!e->dirty)
		return;
	e->dirty = false;
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 256;
		b->beats = xrealloc(b->beats, b->cap * sizeof(*b->beats));
	}
	b->beats[b->n++] = e->beat;
}

static void write_beats(struct fleet *f)
{
	struct batch b = { 0 };
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&f->shards[i].lock);
		strmap_foreach(f->shards[i].beats, collect_dirty, &b);
		pthread_mutex_unlock(&f->shards[i].lock);
	}
	if (b.n > 0 && db_fleet_write_beats(f->srv->db, b.beats, b.n) != DB_OK)
		log_warn("could not write %zu heartbeats; the next ones will carry them", b.n);
	free(b.beats);
}

static void forget_online(void *arg, const char *aid, const char *nid)
{
	struct fleet *f = arg;
	char key[16];
	node_key(aid, nid, key);
	struct shard *s = shard_of(f, key);
	pthread_mutex_lock(&s->lock);
	struct beat_entry *e = strmap_get(s->beats, key);
	if (e)
		e->online = false;
	pthread_mutex_unlock(&s->lock);
	log_info("node %s/%s is offline (no heartbeat)", aid, nid);
}

static void find_silent_nodes(struct fleet *f)
{
	int offline_after = f->srv->cfg.node_offline_after_seconds;
	/* The grace period: nodes could not beat while this server was down. */
	if (time_now_us() - f->srv->started_us < offline_after * 1000000LL)
		return;
	int count;
	if (db_fleet_mark_offline(f->srv->db, offline_after, forget_online, f, &count) != DB_OK)
		log_warn("could not check for silent nodes");
}

/* ---- the background thread --------------------------------------------- */

static void *run(void *arg)
{
	struct fleet *f = arg;
	pthread_mutex_lock(&f->stop_lock);
	while (!f->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&f->stop_cond, &f->stop_lock, &until);
		pthread_mutex_unlock(&f->stop_lock);
		write_beats(f);
		poll_revocations(f);
		find_silent_nodes(f);
		pthread_mutex_lock(&f->stop_lock);
	}
	pthread_mutex_unlock(&f->stop_lock);
	write_beats(f);
	return NULL;
}

struct fleet *fleet_start(struct server *srv)
{
	struct fleet *f = xcalloc(1, sizeof(*f));
	f->srv = srv;
	f->revoked_until_us = time_now_us();
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&f->shards[i].lock, NULL);
		f->shards[i].certs = strmap_create();
		f->shards[i].beats = strmap_create();
	}
	pthread_mutex_init(&f->stop_lock, NULL);
	pthread_cond_init(&f->stop_cond, NULL);
	if (pthread_create(&f->thread, NULL, run, f) != 0)
		abort();
	return f;
}

void fleet_stop(struct fleet *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->stop_lock);
	f->stopping = true;
	pthread_cond_signal(&f->stop_cond);
	pthread_mutex_unlock(&f->stop_lock);
	pthread_join(f->thread, NULL);
	for (int i = 0; i < SHARDS; i++) {
		strmap_destroy(f->shards[i].certs, free);
		strmap_destroy(f->shards[i].beats, free);
		pthread_mutex_destroy(&f->shards[i].lock);
	}
	pthread_mutex_destroy(&f->stop_lock);
	pthread_cond_destroy(&f->stop_cond);
	free(f);
}
