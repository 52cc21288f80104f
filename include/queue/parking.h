/* Parked long polls (AGENT.md §5). A handler that has nothing to answer yet
 * parks its request under a key ("aid/nid") until a deadline; its listener
 * (server/http/) suspends the connection first, so a parked poll holds no
 * thread and no database connection. A wake-up for the key, its deadline (a
 * timing wheel of 100 ms ticks), or the listener's stop resumes it through
 * the lot's resume callback, and the handler runs again. The lot knows
 * nothing of HTTP: a parked entry is a struct parked embedded in the
 * listener's own request state. Thread safe. */
#ifndef RUNOSD_QUEUE_PARKING_H
#define RUNOSD_QUEUE_PARKING_H

#include <stdbool.h>
#include <stdint.h>

struct parking_lot;
struct park_slot;

/* Embedded in each parkable request (the listener's exchange). */
struct parked {
	struct parked *key_prev, *key_next;	/* the exchanges parked under one key */
	struct parked *wheel_prev, *wheel_next; /* one bucket of the timing wheel */
	struct park_slot *slot;
	int64_t deadline_ms; /* monotonic */
	int bucket;
	bool in_lot;
};

/* resume(arg, p) resumes the connection p is embedded in; it is called with
 * the lot's lock held, after p has left the lot, and must not call back into
 * the lot. */
struct parking_lot *queue_parking_create(void (*resume)(void *arg, struct parked *p), void *arg);
/* Resumes every parked request (their handlers see the listener stopping)
 * and frees the lot. Accepts NULL. */
void queue_parking_destroy(struct parking_lot *lot);

/* The number of wake-ups of key so far: taken before looking for work, and
 * passed to parking_park, it closes the window between "found nothing" and
 * "parked" (a wake-up in between resumes at once). */
uint64_t queue_parking_wakes(struct parking_lot *lot, const char *key);

/* Parks p (its connection already suspended) under key until deadline_ms
 * (monotonic) or a wake-up; resumed at once when key was woken since
 * wakes_seen or the lot is stopping. */
void queue_parking_park(struct parking_lot *lot, struct parked *p, const char *key,
			uint64_t wakes_seen, int64_t deadline_ms);

/* Resumes every parked request, now and from now on: the listener stops. */
void queue_parking_release_all(struct parking_lot *lot);

/* Resumes every exchange parked under key. */
void queue_parking_wake(struct parking_lot *lot, const char *key);

/* Resumes every parked request (wake-ups may have been missed). */
void queue_parking_wake_all(struct parking_lot *lot);

/* Takes p out of the lot if it is there (its connection ended). */
void queue_parking_forget(struct parking_lot *lot, struct parked *p);

/* Requests parked now. */
int queue_parking_count(struct parking_lot *lot);

#endif
