/* The Kubernetes objects of an app's deploy (AGENT.md §6 "app deploy",
 * docs/apps.md), each a new jansson reference, all built-in GA kinds that
 * tests/k8s validates. In namespace <osid>: the Deployment <osid> (its image
 * pinned by digest), the Service <osid> (one port per mapping), the Ingress
 * <osid> (class traefik, one rule per domain), the ConfigMap <osid>-env (the
 * env vars), the Secret <osid>-secret-env (the secret env vars and what
 * requires injects) and a NetworkPolicy letting in the ingress controller
 * and the namespace's own pods. Pure functions, thread safe. */
#ifndef RUNOSD_APPS_MANIFESTS_H
#define RUNOSD_APPS_MANIFESTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "apps/validate.h"

/* A verified custom domain routed to a port; its certificate is in
 * app_domain_tls_secret(fqdn) (a cert-manager Certificate writes it). */
struct app_custom_route {
	const char *fqdn;
	int port;
};

struct app_deploy_spec {
	const char *aid, *cid, *id, *osid;
	const char *cluster_domain;
	const struct app_settings *settings; /* dns_name, ports, replicas, probes, ... */
	const char *image_digest;	     /* "sha256:<64 hex>" */
	const char *sha;		     /* the commit, for an annotation; may be NULL */
	const char *deployment_id;	     /* for an annotation */
	/* Changes whenever the env var sets do, so the pods restart to read
	 * them (the pod template's runos.io/config-version); never derived
	 * from the values. */
	const char *config_version;
	const json_t *env;	  /* {KEY: "value"}, may be NULL */
	const json_t *secret_env; /* {KEY: "value"} opened, with requires' keys; may be NULL */
	const char *const *required_osids; /* services required: their policies let us in */
	size_t nrequired;
	const struct app_custom_route *custom;
	size_t ncustom;
};

/* What one requires entry injects: its env ({field: KEY}) and the required
 * service's credentials as GET …/credentials shows them ({username,
 * password, host, port, database, url}). */
struct app_injection {
	const json_t *env;
	const json_t *credentials;
};

/* The Secret's values (a new object): the opened secret env vars and, for
 * each injection, KEY: the credential field (a port as text). A field the
 * service does not have is left out. */
json_t *app_secret_values(const json_t *secret_vars, const struct app_injection *inj, size_t n);

/* "harbor.<cluster domain>/<osid>/app", the repository builds push to. */
void app_image_repository(const char *cluster_domain, const char *osid, char *out, size_t cap);
/* What BUILD_IMAGE pushes: "<repository>:<sha>". */
void app_image_tag(const char *cluster_domain, const char *osid, const char *sha, char *out,
		   size_t cap);

void app_configmap_name(const char *osid, char *out, size_t cap);
void app_secret_name(const char *osid, char *out, size_t cap);

json_t *app_manifest_namespace(const struct app_deploy_spec *s);
json_t *app_manifest_network_policy(const struct app_deploy_spec *s);
json_t *app_manifest_configmap(const struct app_deploy_spec *s);
json_t *app_manifest_secret(const struct app_deploy_spec *s);
json_t *app_manifest_deployment(const struct app_deploy_spec *s);
json_t *app_manifest_service(const struct app_deploy_spec *s);
/* NULL when a generated domain does not fit in a DNS name (the app's name
 * and the cluster domain are too long together). */
json_t *app_manifest_ingress(const struct app_deploy_spec *s);

/* The ClusterIssuer (cert-manager) that the Certificates of custom domains
 * name: the cluster has it (docs/apps.md). */
#define APP_CERT_ISSUER "letsencrypt"

/* The cert-manager Certificate (cert-manager.io/v1, a custom resource) of
 * a verified custom domain: named after the fqdn in the app's namespace,
 * writing app_domain_tls_secret(fqdn), issued by the ClusterIssuer
 * APP_CERT_ISSUER. */
json_t *app_manifest_certificate(const struct app_deploy_spec *s, const struct app_custom_route *r);

/* Every object of a deploy in the order they are applied: Namespace,
 * NetworkPolicy, ConfigMap, Secret, Deployment, Service, Ingress, then a
 * Certificate per custom route. NULL with a message in err when one cannot
 * be made. */
json_t *app_manifests(const struct app_deploy_spec *s, char *err, size_t errcap);

#endif
