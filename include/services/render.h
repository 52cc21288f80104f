/* What the jobs of a service send to its cluster (AGENT.md §6), rendered
 * when the job is made: the namespace <osid> with its Pod Security labels, a
 * ResourceQuota, a default-deny NetworkPolicy with the allows the service
 * needs, the credentials Secret (sealed for the queue), the chart of the
 * catalog with its values, and, for a Longhorn instance, its StorageClass.
 * Every object is a built-in Kubernetes object (tests/k8s validates them).
 * Also the credentials themselves: generated, and shown as the API gives
 * them. */
#ifndef RUNOSD_SERVICES_RENDER_H
#define RUNOSD_SERVICES_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "crypto/seal.h"
#include "jobs/rendered.h"
#include "services/catalog.h"

/* A required service as the dependent's objects need it. */
struct service_dependency {
	const char *field; /* "postgresOsid" */
	const struct service_type *type;
	const char *osid;
	json_t *credentials; /* its credentials (service_credentials_new's form) */
};

struct service_spec {
	const struct service_type *type;
	const char *aid, *cid, *id, *osid;
	const char *cluster_domain;
	const char *version;
	int replicas, storage_mb;
	const char *storage_class; /* NULL: stateless */
	json_t *flags;		   /* every flag of the type, defaults applied */
	json_t *affinity_tags;	   /* array of node tags, may be empty */
	json_t *credentials;	   /* service_credentials_new's form */
	const struct service_dependency *requires;
	size_t nrequires;
	const char *job_id;
	const struct seal_keyring *keys;
};

/* false with a message in err when the catalog's values template does not
 * render (a defect of the catalog; the unit test renders every row). */
bool service_render_create(const struct service_spec *s, struct rendered_job *out, char *err,
			   size_t errcap) __attribute__((warn_unused_result));
bool service_render_update(const struct service_spec *s, struct rendered_job *out, char *err,
			   size_t errcap) __attribute__((warn_unused_result));
void service_render_delete(const struct service_spec *s, struct rendered_job *out);
/* The Secret with s->credentials (the new ones), then a restart of what
 * reads it. */
void service_render_rotate(const struct service_spec *s, struct rendered_job *out);

/* New credentials for a type (CSPRNG): {username?, password?,
 * adminPassword?, database?}, per its catalog row. Passwords start "rnc_"
 * so logs mask them (util/mask.h). */
json_t *service_credentials_new(const struct service_type *t);

/* The in-cluster host of a service: <osid>.<osid>.svc.cluster.local. */
void service_host(const char *osid, char *out, size_t cap);

/* The credentials as GET …/credentials answers: {username, password, host,
 * port, database, url}. */
json_t *service_credentials_view(const struct service_type *t, const char *osid,
				 const json_t *credentials);

/* The AAD a service's stored credentials are sealed with. */
void service_credentials_aad(const char *aid, const char *cid, const char *osid, char *out,
			     size_t cap);

#endif
