/* The background verifier of custom domains (include/api/domain_verifier.h).
 * Every DOMAIN_SWEEP_MS it claims up to DOMAIN_BATCH due domains for
 * DOMAIN_LEASE_S seconds and checks each in a request of its own making
 * (the app's path parameters, no connection), whose reply it only logs.
 * A check asks the resolver at most twice with a 1 s timeout each. */
#include "api/domain_verifier.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "api/apps.h"
#include "db/app_domains_store.h"
#include "http/request.h"
#include "runosd.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define DOMAIN_SWEEP_MS 1000
#define DOMAIN_BATCH 16
#define DOMAIN_LEASE_S 60

struct domain_verifier {
	struct server *srv;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
};

static void check_one(struct domain_verifier *v, struct app_domain *d)
{
	struct request req = { .server = v->srv, .method = "POST", .path = "" };
	snprintf(req.trace_id, sizeof(req.trace_id), "domain-verifier");
	snprintf(req.client_ip, sizeof(req.client_ip), "127.0.0.1");
	req.params[0].name = "aid";
	req.params[0].value = d->aid;
	req.params[1].name = "cid";
	req.params[1].value = d->cid;
	req.params[2].name = "id";
	req.params[2].value = d->app_id;
	req.nparams = 3;
	struct audit_actor actor = {
		.type = "system", .id = "domain-verifier", .trace_id = req.trace_id, .ip = NULL
	};
	struct cluster c;
	struct app a;
	if (api_load_app(&req, &c, &a) && api_app_domain_check(&req, &c, &a, d, &actor))
		req.status = 200;
	if (req.status != 200 && req.reply)
		log_warn("domain %s of %s/%s: %s", d->fqdn, d->aid, d->app_id,
			 json_string_value(json_object_get(req.reply, "error")));
	json_decref(req.reply);
	free(req.reply_text);
	for (int i = 0; i < req.nheaders; i++)
		free(req.headers[i].value);
}

static void *verify_loop(void *arg)
{
	struct domain_verifier *v = arg;
	pthread_mutex_lock(&v->lock);
	while (!v->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += DOMAIN_SWEEP_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&v->cond, &v->lock, &until);
		if (v->stopping)
			break;
		pthread_mutex_unlock(&v->lock);
		struct app_domain *due = NULL;
		size_t n = 0;
		enum db_result r =
			db_app_domains_claim(v->srv->db, DOMAIN_BATCH, DOMAIN_LEASE_S, &due, &n);
		if (r != DB_OK && r != DB_UNAVAILABLE)
			log_warn("claiming custom domains to check failed; trying again");
		for (size_t i = 0; i < n; i++)
			check_one(v, &due[i]);
		free(due);
		pthread_mutex_lock(&v->lock);
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

struct domain_verifier *domain_verifier_start(struct server *srv)
{
	struct domain_verifier *v = xcalloc(1, sizeof(*v));
	v->srv = srv;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	if (pthread_create(&v->thread, NULL, verify_loop, v) != 0)
		abort();
	return v;
}

void domain_verifier_stop(struct domain_verifier *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&v->lock);
	v->stopping = true;
	pthread_cond_signal(&v->cond);
	pthread_mutex_unlock(&v->lock);
	pthread_join(v->thread, NULL);
	pthread_mutex_destroy(&v->lock);
	pthread_cond_destroy(&v->cond);
	free(v);
}
