/* What the handlers of /:aid/:cid/services (server/api/services*.c) share:
 * the service of the path, its JSON form and state, and the spec its jobs
 * are rendered from. */
#ifndef RUNOSD_API_SERVICES_H
#define RUNOSD_API_SERVICES_H

#include <jansson.h>
#include <stdbool.h>

#include "db/clusters_store.h"
#include "db/services_store.h"
#include "http/request.h"
#include "services/catalog.h"
#include "services/render.h"

/* The catalog type of the path's :type; an unknown one replies 404
 * service_type.not_found. */
const struct service_type *api_service_type(struct request *req)
	__attribute__((warn_unused_result));

/* The service of the path (:aid, :cid, :type, :id) into *out, with its type
 * and cluster: anything unknown, or a service of another type, replies 404. */
bool api_load_service(struct request *req, const struct service_type **type,
		      struct cluster *cluster, struct service *out)
	__attribute__((warn_unused_result));

/* {state, replicas:{desired, ready}, reason, message, reportedAt} */
json_t *api_service_status(const struct service *s);
json_t *api_service_to_json(const struct service_type *t, const struct cluster *c,
			    const struct service *s);
/* https://<osid>.<cluster domain> for a type with a public endpoint, else
 * its in-cluster address <scheme>://<host>:<port>. */
json_t *api_service_endpoint(const struct service_type *t, const char *osid,
			     const char *cluster_domain);

/* The spec of a stored service for its next job: its credentials opened,
 * what it requires resolved and their credentials opened. On failure
 * replies (500/503) and returns false. Free with api_service_spec_free. */
struct api_service_spec {
	struct service_spec spec;
	struct service_dependency deps[SERVICE_MAX_REQUIRES];
	struct service required[SERVICE_MAX_REQUIRES];
	char fields[SERVICE_MAX_REQUIRES][64];
};
bool api_service_spec_load(struct request *req, const struct service_type *t,
			   const struct cluster *c, const struct service *s, const char *job_id,
			   struct api_service_spec *out) __attribute__((warn_unused_result));
void api_service_spec_free(struct api_service_spec *spec);

/* Opens sealed credentials of osid (NULL when they do not open). */
json_t *api_service_credentials_open(struct request *req, const char *cid, const char *osid,
				     const char *sealed);
/* Seals credentials for osid (to free). */
char *api_service_credentials_seal(struct request *req, const char *cid, const char *osid,
				   const json_t *credentials);
/* Frees credentials JSON after zeroing its strings. */
void api_service_credentials_free(json_t *credentials);

#endif
