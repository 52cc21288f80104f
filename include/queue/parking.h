/* Private to server/http/: parked long polls (AGENT.md §5). A handler that
 * has nothing to answer yet parks its request under a key ("aid/nid") until
 * a deadline; the connection is suspended in libmicrohttpd, so a parked poll
 * holds no thread and no database connection. A wake-up for the key, its
 * deadline (a timing wheel of 100 ms ticks), or the listener's stop resumes
 * it, and the handler runs again. Thread safe. */
#ifndef RUNOSD_HTTP_PARKING_H
#define RUNOSD_HTTP_PARKING_H

#include <stdbool.h>
#include <stdint.h>

struct exchange;
struct parking_lot;
struct park_slot;

/* Embedded in each exchange. */
struct parked {
	struct parked *key_prev, *key_next;	/* the exchanges parked under one key */
	struct parked *wheel_prev, *wheel_next; /* one bucket of the timing wheel */
	struct park_slot *slot;
	int64_t deadline_ms; /* monotonic */
	int bucket;
	bool in_lot;
};

struct parking_lot *parking_create(void);
/* Resumes every parked exchange (their handlers see the listener stopping)
 * and frees the lot. */
void parking_destroy(struct parking_lot *lot);

/* The number of wake-ups of key so far: taken before looking for work, and
 * passed to parking_park, it closes the window between "found nothing" and
 * "parked" (a wake-up in between resumes at once). */
uint64_t parking_wakes(struct parking_lot *lot, const char *key);

/* Suspends ex's connection under key until deadline_ms (monotonic) or a
 * wake-up. Call from the access handler, then return without a reply. */
void parking_park(struct parking_lot *lot, struct exchange *ex, const char *key,
		  uint64_t wakes_seen, int64_t deadline_ms);

/* Resumes every parked exchange, now and from now on: the listener stops. */
void parking_release_all(struct parking_lot *lot);

/* Resumes every exchange parked under key. */
void parking_wake(struct parking_lot *lot, const char *key);

/* Resumes every parked exchange (wake-ups may have been missed). */
void parking_wake_all(struct parking_lot *lot);

/* Takes ex out of the lot if it is there (its connection ended). */
void parking_forget(struct parking_lot *lot, struct exchange *ex);

/* Exchanges parked now. */
int parking_count(struct parking_lot *lot);

#endif
