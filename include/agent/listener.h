/* The agent listener (AGENT.md §3): HTTPS on RUNOS_AGENT_ADDR with a
 * certificate from the agent CA, asking clients for theirs. */
#ifndef RUNOSD_AGENT_LISTENER_H
#define RUNOSD_AGENT_LISTENER_H

#include <stddef.h>

#include "http/server.h"

/* Issues the listener's certificate (for the host of RUNOS_AGENT_URL) and
 * starts it. NULL with a message in err. */
struct http_server *agent_listener_start(struct server *srv, char *err, size_t errcap);

#endif
