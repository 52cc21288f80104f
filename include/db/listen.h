/* A PostgreSQL LISTEN on one channel, on a connection of its own, in a
 * thread of its own: every notification's payload goes to a callback. The
 * connection is re-opened by itself after a failure; notifications sent
 * while it was down are lost, so callers also poll (queue/sweeper.c sweeps
 * every half second). */
#ifndef RUNOSD_DB_LISTEN_H
#define RUNOSD_DB_LISTEN_H

struct db_listener;

struct db_listener *db_listen_start(const char *conninfo, const char *channel,
				    void (*fn)(void *arg, const char *payload), void *arg);
void db_listen_stop(struct db_listener *l);

#endif
