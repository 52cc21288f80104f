/* Parked long polls (see include/queue/parking.h). One mutex guards the
 * lot: parking and waking are a few pointer moves, and the timer thread takes
 * it once per tick for one bucket of the wheel. */
#include "queue/parking.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "util/strmap.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define TICK_MS 100
#define BUCKETS 1024 /* 102 s of ticks: more than the longest wait (60 s) */

struct park_slot {
	uint64_t wakes;
	struct parked *head;
};

struct parking_lot {
	pthread_mutex_t lock;
	struct strmap *slots; /* key → park_slot; kept, a few bytes per node */
	struct parked *wheel[BUCKETS];
	int64_t next_tick_ms; /* the tick the timer handles next */
	int count;
	bool stopping;
	pthread_t timer;
	pthread_cond_t stop_cond;
	void (*resume)(void *arg, struct parked *p);
	void *resume_arg;
};

static struct park_slot *slot_of(struct parking_lot *lot, const char *key)
{
	struct park_slot *slot = strmap_get(lot->slots, key);
	if (!slot) {
		slot = xcalloc(1, sizeof(*slot));
		strmap_put(lot->slots, key, slot);
	}
	return slot;
}

static int bucket_of(int64_t ms)
{
	return (int)((ms / TICK_MS) % BUCKETS);
}

/* Unlinks p from its key and its bucket (lock held). */
static void unlink_parked(struct parking_lot *lot, struct parked *p)
{
	if (p->key_prev)
		p->key_prev->key_next = p->key_next;
	else
		p->slot->head = p->key_next;
	if (p->key_next)
		p->key_next->key_prev = p->key_prev;
	if (p->wheel_prev)
		p->wheel_prev->wheel_next = p->wheel_next;
	else
		lot->wheel[p->bucket] = p->wheel_next;
	if (p->wheel_next)
		p->wheel_next->wheel_prev = p->wheel_prev;
	p->key_prev = p->key_next = p->wheel_prev = p->wheel_next = NULL;
	p->in_lot = false;
	lot->count--;
}

/* Takes p out and resumes its connection (lock held). */
static void resume(struct parking_lot *lot, struct parked *p)
{
	unlink_parked(lot, p);
	lot->resume(lot->resume_arg, p);
}

uint64_t queue_parking_wakes(struct parking_lot *lot, const char *key)
{
	pthread_mutex_lock(&lot->lock);
	uint64_t wakes = slot_of(lot, key)->wakes;
	pthread_mutex_unlock(&lot->lock);
	return wakes;
}

void queue_parking_park(struct parking_lot *lot, struct parked *p, const char *key,
			uint64_t wakes_seen, int64_t deadline_ms)
{
	pthread_mutex_lock(&lot->lock);
	struct park_slot *slot = slot_of(lot, key);
	p->slot = slot;
	p->deadline_ms = deadline_ms;
	/* A deadline already due (or within this tick) goes to the next tick. */
	int64_t due = deadline_ms < lot->next_tick_ms ? lot->next_tick_ms : deadline_ms;
	p->bucket = bucket_of(due);
	p->key_prev = NULL;
	p->key_next = slot->head;
	if (slot->head)
		slot->head->key_prev = p;
	slot->head = p;
	p->wheel_prev = NULL;
	p->wheel_next = lot->wheel[p->bucket];
	if (p->wheel_next)
		p->wheel_next->wheel_prev = p;
	lot->wheel[p->bucket] = p;
	p->in_lot = true;
	lot->count++;
	/* Woken between looking for work and parking, or stopping: at once. */
	if (slot->wakes != wakes_seen || lot->stopping)
		resume(lot, p);
	pthread_mutex_unlock(&lot->lock);
}

void queue_parking_wake(struct parking_lot *lot, const char *key)
{
	pthread_mutex_lock(&lot->lock);
	struct park_slot *slot = slot_of(lot, key);
	slot->wakes++;
	while (slot->head)
		resume(lot, slot->head);
	pthread_mutex_unlock(&lot->lock);
}

void queue_parking_forget(struct parking_lot *lot, struct parked *p)
{
	pthread_mutex_lock(&lot->lock);
	if (p->in_lot)
		unlink_parked(lot, p);
	pthread_mutex_unlock(&lot->lock);
}

int queue_parking_count(struct parking_lot *lot)
{
	pthread_mutex_lock(&lot->lock);
	int n = lot->count;
	pthread_mutex_unlock(&lot->lock);
	return n;
}

/* Resumes the polls of every tick up to now whose deadline has come. */
static void expire(struct parking_lot *lot)
{
	int64_t now = time_mono_ms();
	pthread_mutex_lock(&lot->lock);
	while (lot->next_tick_ms <= now) {
		int bucket = bucket_of(lot->next_tick_ms);
		for (struct parked *p = lot->wheel[bucket], *next; p; p = next) {
			next = p->wheel_next;
			/* Later rounds of the wheel stay. */
			if (p->deadline_ms < lot->next_tick_ms + TICK_MS)
				resume(lot, p);
		}
		lot->next_tick_ms += TICK_MS;
	}
	pthread_mutex_unlock(&lot->lock);
}

static void *run_timer(void *arg)
{
	struct parking_lot *lot = arg;
	pthread_mutex_lock(&lot->lock);
	while (!lot->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&lot->stop_cond, &lot->lock, &until);
		pthread_mutex_unlock(&lot->lock);
		expire(lot);
		pthread_mutex_lock(&lot->lock);
	}
	pthread_mutex_unlock(&lot->lock);
	return NULL;
}

struct parking_lot *queue_parking_create(void (*resume_fn)(void *arg, struct parked *p), void *arg)
{
	struct parking_lot *lot = xcalloc(1, sizeof(*lot));
	lot->resume = resume_fn;
	lot->resume_arg = arg;
	pthread_mutex_init(&lot->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&lot->stop_cond, &attr);
	pthread_condattr_destroy(&attr);
	lot->slots = strmap_create();
	lot->next_tick_ms = time_mono_ms() / TICK_MS * TICK_MS;
	if (pthread_create(&lot->timer, NULL, run_timer, lot) != 0)
		abort();
	return lot;
}

void queue_parking_wake_all(struct parking_lot *lot)
{
	pthread_mutex_lock(&lot->lock);
	for (int b = 0; b < BUCKETS; b++)
		while (lot->wheel[b])
			resume(lot, lot->wheel[b]);
	pthread_mutex_unlock(&lot->lock);
}

/* Resumes everything: the listener is stopping (its handlers answer). */
void queue_parking_release_all(struct parking_lot *lot)
{
	pthread_mutex_lock(&lot->lock);
	lot->stopping = true;
	pthread_cond_signal(&lot->stop_cond);
	for (int b = 0; b < BUCKETS; b++)
		while (lot->wheel[b])
			resume(lot, lot->wheel[b]);
	pthread_mutex_unlock(&lot->lock);
}

void queue_parking_destroy(struct parking_lot *lot)
{
	if (!lot)
		return;
	queue_parking_release_all(lot);
	pthread_join(lot->timer, NULL);
	strmap_destroy(lot->slots, free);
	pthread_mutex_destroy(&lot->lock);
	pthread_cond_destroy(&lot->stop_cond);
	free(lot);
}
