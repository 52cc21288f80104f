/* Wake-ups of parked polls across instances (AGENT.md §5). The transaction
 * that queues a step's instructions names the step's nodes once; every
 * instance wakes the polls of those nodes that it holds parked.
 *   - With RUNOS_REDIS_URL: the names are published on the Redis channel
 *     runos:work after the transaction commits (never for one rolled back),
 *     and each instance subscribes to it. While Redis does not answer, the
 *     publisher falls back to a NOTIFY; after its subscription was lost, an
 *     instance wakes all its parked polls once (they look for work again).
 *   - Without Redis: a NOTIFY on runos_work inside the transaction.
 * Every instance also LISTENs on runos_work, so the fallback reaches it. */
#ifndef RUNOSD_QUEUE_WAKEUPS_H
#define RUNOSD_QUEUE_WAKEUPS_H

struct server;
struct queue_wakeups;

/* Sets up publishing (before the database pool is used for work). */
struct queue_wakeups *queue_wakeups_create(struct server *srv);

/* Starts listening (LISTEN, and the Redis subscription): once the agent
 * listener exists. */
void queue_wakeups_listen(struct queue_wakeups *w);

/* Stops listening: before the agent listener stops (what is woken). */
void queue_wakeups_stop_listening(struct queue_wakeups *w);

/* After every user of the database pool has stopped (each commit may
 * publish). */
void queue_wakeups_destroy(struct queue_wakeups *w);

#endif
