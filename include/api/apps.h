/* What the handlers of /:aid/:cid/apps (server/api/apps*.c) share: the app
 * of the path, its JSON forms and state, and the rendering of its jobs from
 * what is stored (its settings, env var sets opened, what it requires with
 * those services' credentials opened). */
#ifndef RUNOSD_API_APPS_H
#define RUNOSD_API_APPS_H

#include <jansson.h>
#include <stdbool.h>

#include "apps/render.h"
#include "apps/validate.h"
#include "db/app_domains_store.h"
#include "db/apps_store.h"
#include "db/clusters_store.h"
#include "http/request.h"

/* The app of the path (:aid, :cid, :id) into *out with its cluster; an
 * unknown one replies 404 app.not_found. */
bool api_load_app(struct request *req, struct cluster *cluster, struct app *out)
	__attribute__((warn_unused_result));

/* The row's settings as apps/validate.h checks them (strings point into a). */
void api_app_settings_of(const struct app *a, struct app_settings *out);
/* The settings as the store writes them (pointing into s and ports). */
struct app_fields api_app_fields_of(const struct app_settings *s, int ports[APP_MAX_PORTS]);

/* The app as GET answers it; status as GET …/status. */
json_t *api_app_to_json(const struct request *req, const struct cluster *c, const struct app *a,
			const struct app_require_row *requires, size_t nrequires);
json_t *api_app_status(const struct app *a);
json_t *api_deployment_to_json(const struct app_deployment *d);

/* https://<public url>/webhooks/github/<id> */
void api_app_webhook_url(const struct request *req, const char *id, char *out, size_t cap);

/* Replies 400 with what p says. Returns false. */
bool api_app_problem(struct request *req, const struct app_problem *p);

/* What a job of the app is rendered from. */
struct api_app_job {
	const char *type;	   /* app.deploy, app.build, app.rollback, app.configure, ... */
	const char *job_id;	   /* a new id */
	const char *deployment_id; /* for an annotation; NULL */
	const char *sha;	   /* app.deploy / app.build: NULL for the branch head */
	const char *access_token;  /* plain; NULL: the stored one (if any) */
	const char *digest;	   /* rollback, configure: the image rolled out */
	const json_t *env;	   /* the env vars to render; NULL: the stored ones */
	const json_t *secret_env;  /* the secret env vars (plain); NULL: the stored ones */
	/* What the app requires (create: not stored yet); NULL: the stored. */
	const struct app_require_row *requires;
	size_t nrequires;
};

/* The most custom domains an app has (POST …/domains refuses more). */
#define API_APP_MAX_DOMAINS 32

/* Renders job j of app a (settings s, in cluster c) into out, with the
 * Ingress rules and Certificates of the app's verified custom domains. On failure
 * replies (400 for a requires input whose service is gone, 500, 503) and
 * returns false; free out with rendered_job_free either way. */
bool api_app_render(struct request *req, const struct cluster *c, const struct app *a,
		    const struct app_settings *s, const struct api_app_job *j,
		    struct rendered_job *out) __attribute__((warn_unused_result));

/* The digest of the app's newest succeeded deployment into out ("" when it
 * has none); false when it replied (503). */
bool api_app_live_digest(struct request *req, const struct app *a, const char *cid,
			 char out[APP_ROW_DIGEST_MAX]) __attribute__((warn_unused_result));

/* {ready, harbor, minio, buildkit}: what builds need in cluster c. Harbor
 * (the registry builds push to) and MinIO (its storage) are services of the
 * cluster, ready when installed and reported healthy; BuildKit runs in the
 * agent of the building node, ready when a node of the cluster is online.
 * NULL when it replied (503). */
json_t *api_app_deployment_readiness(struct request *req, const struct cluster *c);

/* Renders job j of app a (in cluster c) and starts it with a new deployment
 * (j->deployment_id) of trigger ("api", "webhook", "rollback"; rollback_of:
 * the deployment whose image it applies, else NULL), older ones superseded
 * as docs/apps.md says, audited as actor: replies 202 {jobId, deploymentId}
 * or the refusal (404 for an unknown rollback_of, 409, 503, ...). */
void api_app_start_deploy(struct request *req, const struct cluster *c, const struct app *a,
			  const struct api_app_job *j, const char *trigger, const char *rollback_of,
			  const struct audit_actor *actor);

/* Replies for a store outcome other than APP_WRITTEN (or a db error). */
void api_app_write_error(struct request *req, enum db_result r, const struct app_write_result *w,
			 const char *cid, const char *id);

/* Checks custom domain d of app a through DNS now and records the outcome
 * (with backoff: api_domain_retry_after_s); once verified, starts the
 * app.configure job that routes it when the app runs (by actor). d is read
 * again after. False when it replied (a store error). */
bool api_app_domain_check(struct request *req, const struct cluster *c, const struct app *a,
			  struct app_domain *d, const struct audit_actor *actor)
	__attribute__((warn_unused_result));

/* Seconds to the next check of a domain after attempts failed ones. */
int api_domain_retry_after_s(int attempts);

#endif
