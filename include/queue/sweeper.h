/* What keeps agent work moving without a request to drive it: a sweep every
 * half second that redelivers or fails expired leases, moves stalled jobs
 * on, and wakes nodes whose redeliveries became due. (Wake-ups when work is
 * queued: work_wakeups.h.) Thread safe. */
#ifndef RUNOSD_AGENT_WORK_RUNNER_H
#define RUNOSD_AGENT_WORK_RUNNER_H

struct server;
struct work_runner;

struct work_runner *work_runner_start(struct server *srv);
void work_runner_stop(struct work_runner *w);

#endif
