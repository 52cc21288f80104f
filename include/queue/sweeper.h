/* What keeps agent work moving without a request to drive it: a sweep every
 * half second that redelivers or fails expired leases, moves stalled jobs
 * on, and wakes nodes whose redeliveries became due. (Wake-ups when work is
 * queued: queue/wakeups.h.) Thread safe. */
#ifndef RUNOSD_QUEUE_SWEEPER_H
#define RUNOSD_QUEUE_SWEEPER_H

struct server;
struct queue_sweeper;

struct queue_sweeper *queue_sweeper_start(struct server *srv);
void queue_sweeper_stop(struct queue_sweeper *w);

#endif
