/* The one server object: built in main, reached from every request through
 * request->server. Everything in it is created before the listeners start and
 * destroyed after they stop; the members are thread safe objects. */
#ifndef RUNOSD_RUNOSD_H
#define RUNOSD_RUNOSD_H

#include <stdint.h>

#include "config.h"

struct db_pool;
struct auth;
struct http_server;
struct http_metrics;
struct seal_keyring;
struct pki_ca;
struct fleet;
struct queue_sweeper;
struct queue_wakeups;
struct ratelimiter;
struct domain_verifier;

struct server {
	struct config cfg;
	struct db_pool *db;
	struct auth *auth;
	struct seal_keyring *keys; /* seals secrets (ARCHITECTURE §5) */
	struct pki_ca *ca;	   /* the agent CA */
	struct http_server *http;
	struct http_server *agent_http; /* the agent listener */
	struct http_metrics *metrics;	/* both listeners' request metrics */
	struct fleet *fleet;
	struct queue_sweeper *work;
	struct queue_wakeups *wakeups;
	struct ratelimiter *limits;	 /* API.md §1 rate limits */
	struct domain_verifier *domains; /* checks apps' custom domains */
	int64_t started_us;
};

#endif
