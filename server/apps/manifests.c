/* The built-in Kubernetes objects of an app's deploy (include/apps/manifests.h),
 * as their upstream OpenAPI schemas have them. TLS for the generated domains
 * is the cluster's wildcard certificate, which Traefik serves as its default
 * certificate (as for services: router.tls with no secret of the app's own);
 * a verified custom domain names the Secret its cert-manager Certificate
 * writes. Everything is built from the spec; nothing is kept. */
#include "apps/manifests.h"

#include <stdio.h>
#include <string.h>

#include "services/manifests.h"

#define CONTAINER "app"

void app_image_repository(const char *cluster_domain, const char *osid, char *out, size_t cap)
{
	snprintf(out, cap, "harbor.%s/%s/app", cluster_domain, osid);
}

void app_image_tag(const char *cluster_domain, const char *osid, const char *sha, char *out,
		   size_t cap)
{
	char repo[320];
	app_image_repository(cluster_domain, osid, repo, sizeof(repo));
	snprintf(out, cap, "%s:%s", repo, sha);
}

void app_configmap_name(const char *osid, char *out, size_t cap)
{
	snprintf(out, cap, "%s-env", osid);
}

void app_secret_name(const char *osid, char *out, size_t cap)
{
	snprintf(out, cap, "%s-secret-env", osid);
}

/* What selects the app's pods. */
static json_t *selector(const struct app_deploy_spec *s)
{
	return json_pack("{s:s}", "runos.io/osid", s->osid);
}

/* Labels every object of an app carries, so one selector finds them. */
static json_t *labels(const struct app_deploy_spec *s)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "runos.io/osid", s->osid, "runos.io/aid",
			 s->aid, "runos.io/cid", s->cid, "runos.io/type", "app",
			 "app.kubernetes.io/managed-by", "runosd");
}

static json_t *metadata(const struct app_deploy_spec *s, const char *name, bool namespaced)
{
	json_t *m = json_pack("{s:s, s:o}", "name", name, "labels", labels(s));
	if (namespaced)
		json_object_set_new(m, "namespace", json_string(s->osid));
	return m;
}

json_t *app_manifest_namespace(const struct app_deploy_spec *s)
{
	json_t *m = metadata(s, s->osid, false);
	json_t *l = json_object_get(m, "labels");
	/* An app is built from the user's Dockerfile, which may well run as
	 * root: baseline is enforced, restricted only warned about. */
	json_object_set_new(l, "pod-security.kubernetes.io/enforce", json_string("baseline"));
	json_object_set_new(l, "pod-security.kubernetes.io/enforce-version", json_string("latest"));
	json_object_set_new(l, "pod-security.kubernetes.io/warn", json_string("restricted"));
	json_object_set_new(l, "pod-security.kubernetes.io/audit", json_string("restricted"));
	/* The NetworkPolicy of each required service lets in the namespaces
	 * with its label (services/manifests.c). */
	for (size_t i = 0; i < s->nrequired; i++) {
		char key[96];
		service_requires_label(s->required_osids[i], key, sizeof(key));
		json_object_set_new(l, key, json_string("true"));
	}
	return json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind", "Namespace", "metadata", m);
}

json_t *app_manifest_network_policy(const struct app_deploy_spec *s)
{
	/* Its own pods and the ingress controller's namespace; nothing else. */
	json_t *ingress =
		json_pack("[{s:[{s:{}}]}, {s:[{s:{s:{s:s}}}]}]", "from", "podSelector", "from",
			  "namespaceSelector", "matchLabels", "runos.io/type", "traefik");
	return json_pack("{s:s, s:s, s:o, s:{s:{}, s:[s], s:o}}", "apiVersion",
			 "networking.k8s.io/v1", "kind", "NetworkPolicy", "metadata",
			 metadata(s, "runos-default", true), "spec", "podSelector", "policyTypes",
			 "Ingress", "ingress", ingress);
}

/* A copy of the string members of vars (NULL: none). */
static json_t *string_map(const json_t *vars)
{
	json_t *out = json_object();
	const char *key;
	json_t *value;
	json_object_foreach ((json_t *)vars, key, value) {
		if (json_is_string(value))
			json_object_set_new(out, key, json_string(json_string_value(value)));
	}
	return out;
}

json_t *app_manifest_configmap(const struct app_deploy_spec *s)
{
	char name[96];
	app_configmap_name(s->osid, name, sizeof(name));
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "ConfigMap",
			 "metadata", metadata(s, name, true), "data", string_map(s->env));
}

json_t *app_manifest_secret(const struct app_deploy_spec *s)
{
	char name[96];
	app_secret_name(s->osid, name, sizeof(name));
	return json_pack("{s:s, s:s, s:o, s:s, s:o}", "apiVersion", "v1", "kind", "Secret",
			 "metadata", metadata(s, name, true), "type", "Opaque", "stringData",
			 string_map(s->secret_env));
}

json_t *app_secret_values(const json_t *secret_vars, const struct app_injection *inj, size_t n)
{
	json_t *out = string_map(secret_vars);
	for (size_t i = 0; i < n; i++) {
		const char *field;
		json_t *key;
		json_object_foreach ((json_t *)inj[i].env, field, key) {
			json_t *v = json_object_get(inj[i].credentials, field);
			if (!json_is_string(key))
				continue;
			if (json_is_string(v)) {
				json_object_set_new(out, json_string_value(key),
						    json_string(json_string_value(v)));
			} else if (json_is_integer(v)) {
				char text[24];
				snprintf(text, sizeof(text), "%lld",
					 (long long)json_integer_value(v));
				json_object_set_new(out, json_string_value(key), json_string(text));
			}
		}
	}
	return out;
}

static void port_name(int port, char out[16])
{
	snprintf(out, 16, "p-%d", port);
}

/* requests and limits of what was asked for; NULL when nothing was. */
static json_t *resources(const struct app_settings *a)
{
	json_t *requests = json_object(), *limits = json_object();
	char q[32];
	if (a->cpu_request_mc) {
		snprintf(q, sizeof(q), "%dm", a->cpu_request_mc);
		json_object_set_new(requests, "cpu", json_string(q));
	}
	if (a->memory_request_mb) {
		snprintf(q, sizeof(q), "%dMi", a->memory_request_mb);
		json_object_set_new(requests, "memory", json_string(q));
	}
	if (a->cpu_limit_mc) {
		snprintf(q, sizeof(q), "%dm", a->cpu_limit_mc);
		json_object_set_new(limits, "cpu", json_string(q));
	}
	if (a->memory_limit_mb) {
		snprintf(q, sizeof(q), "%dMi", a->memory_limit_mb);
		json_object_set_new(limits, "memory", json_string(q));
	}
	json_t *out = json_object();
	if (json_object_size(requests))
		json_object_set(out, "requests", requests);
	if (json_object_size(limits))
		json_object_set(out, "limits", limits);
	json_decref(requests);
	json_decref(limits);
	if (json_object_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* An HTTP GET of the health check path; the liveness probe gives a slow
 * start more time before it restarts the container. */
static json_t *probe(const struct app_settings *a, bool liveness)
{
	int port = a->health_check_port ? a->health_check_port : a->ports[0].port;
	return json_pack("{s:{s:s, s:i}, s:i, s:i, s:i, s:i}", "httpGet", "path",
			 a->health_check_path, "port", port, "initialDelaySeconds",
			 liveness ? 30 : 5, "periodSeconds", 10, "timeoutSeconds", 5,
			 "failureThreshold", liveness ? 6 : 3);
}

static json_t *container(const struct app_deploy_spec *s)
{
	const struct app_settings *a = s->settings;
	char repo[320], image[420], cm[96], secret[96];
	app_image_repository(s->cluster_domain, s->osid, repo, sizeof(repo));
	snprintf(image, sizeof(image), "%s@%s", repo, s->image_digest);
	app_configmap_name(s->osid, cm, sizeof(cm));
	app_secret_name(s->osid, secret, sizeof(secret));
	json_t *ports = json_array();
	for (size_t i = 0; i < a->nports; i++) {
		char name[16];
		port_name(a->ports[i].port, name);
		json_array_append_new(ports,
				      json_pack("{s:s, s:i, s:s}", "name", name, "containerPort",
						a->ports[i].port, "protocol", "TCP"));
	}
	json_t *c = json_pack("{s:s, s:s, s:s, s:o, s:[{s:{s:s}}, {s:{s:s}}], s:{s:b, s:{s:[s]}}}",
			      "name", CONTAINER, "image", image, "imagePullPolicy", "IfNotPresent",
			      "ports", ports, "envFrom", "configMapRef", "name", cm, "secretRef",
			      "name", secret, "securityContext", "allowPrivilegeEscalation", false,
			      "capabilities", "drop", "NET_RAW");
	json_t *r = resources(a);
	if (r)
		json_object_set_new(c, "resources", r);
	if (a->health_check_path) {
		json_object_set_new(c, "readinessProbe", probe(a, false));
		json_object_set_new(c, "livenessProbe", probe(a, true));
	}
	return c;
}

json_t *app_manifest_deployment(const struct app_deploy_spec *s)
{
	const struct app_settings *a = s->settings;
	json_t *strategy = strcmp(a->deployment_strategy, "recreate") == 0
				   ? json_pack("{s:s}", "type", "Recreate")
				   :
				   /* a new pod is ready before an old one goes */
				   json_pack("{s:s, s:{s:i, s:i}}", "type", "RollingUpdate",
					     "rollingUpdate", "maxSurge", 1, "maxUnavailable", 0);
	json_t *annotations = json_pack("{s:s}", "runos.io/config-version",
					s->config_version ? s->config_version : "0");
	if (s->deployment_id)
		json_object_set_new(annotations, "runos.io/deployment-id",
				    json_string(s->deployment_id));
	if (s->sha)
		json_object_set_new(annotations, "runos.io/sha", json_string(s->sha));
	json_t *template_meta =
		json_pack("{s:o, s:o}", "labels", labels(s), "annotations", annotations);
	json_t *pod = json_pack("{s:b, s:{s:{s:s}}, s:[o]}", "automountServiceAccountToken", false,
				"securityContext", "seccompProfile", "type", "RuntimeDefault",
				"containers", container(s));
	return json_pack("{s:s, s:s, s:o, s:{s:i, s:i, s:{s:o}, s:o, s:{s:o, s:o}}}", "apiVersion",
			 "apps/v1", "kind", "Deployment", "metadata", metadata(s, s->osid, true),
			 "spec", "replicas", a->replicas, "revisionHistoryLimit", 5, "selector",
			 "matchLabels", selector(s), "strategy", strategy, "template", "metadata",
			 template_meta, "spec", pod);
}

json_t *app_manifest_service(const struct app_deploy_spec *s)
{
	const struct app_settings *a = s->settings;
	json_t *ports = json_array();
	for (size_t i = 0; i < a->nports; i++) {
		char name[16];
		port_name(a->ports[i].port, name);
		json_array_append_new(ports, json_pack("{s:s, s:i, s:i, s:s}", "name", name, "port",
						       a->ports[i].port, "targetPort",
						       a->ports[i].port, "protocol", "TCP"));
	}
	return json_pack("{s:s, s:s, s:o, s:{s:s, s:o, s:o}}", "apiVersion", "v1", "kind",
			 "Service", "metadata", metadata(s, s->osid, true), "spec", "type",
			 "ClusterIP", "selector", selector(s), "ports", ports);
}

static json_t *rule(const char *host, const char *service, int port)
{
	return json_pack("{s:s, s:{s:[{s:s, s:s, s:{s:{s:s, s:{s:i}}}}]}}", "host", host, "http",
			 "paths", "path", "/", "pathType", "Prefix", "backend", "service", "name",
			 service, "port", "number", port);
}

json_t *app_manifest_ingress(const struct app_deploy_spec *s)
{
	const struct app_settings *a = s->settings;
	json_t *rules = json_array(), *generated = json_array();
	for (size_t i = 0; i < a->nports; i++) {
		char host[APP_FQDN_MAX + 1];
		if (!app_generated_domain(a->dns_name, s->id, i, a->ports[i].port,
					  s->cluster_domain, host, sizeof(host))) {
			json_decref(rules);
			json_decref(generated);
			return NULL;
		}
		json_array_append_new(rules, rule(host, s->osid, a->ports[i].port));
		json_array_append_new(generated, json_string(host));
	}
	/* The generated hosts: the cluster's wildcard certificate, Traefik's
	 * default one, so no secret is named. */
	json_t *tls = json_pack("[{s:o}]", "hosts", generated);
	for (size_t i = 0; i < s->ncustom; i++) {
		char secret[APP_FQDN_MAX + 16];
		app_domain_tls_secret(s->custom[i].fqdn, secret, sizeof(secret));
		json_array_append_new(rules, rule(s->custom[i].fqdn, s->osid, s->custom[i].port));
		json_array_append_new(tls, json_pack("{s:[s], s:s}", "hosts", s->custom[i].fqdn,
						     "secretName", secret));
	}
	json_t *m = metadata(s, s->osid, true);
	/* Traefik's own annotations, as every http service has them. */
	json_object_set_new(
		m, "annotations",
		json_pack("{s:s, s:s}", "traefik.ingress.kubernetes.io/router.entrypoints",
			  "websecure", "traefik.ingress.kubernetes.io/router.tls", "true"));
	return json_pack("{s:s, s:s, s:o, s:{s:s, s:o, s:o}}", "apiVersion", "networking.k8s.io/v1",
			 "kind", "Ingress", "metadata", m, "spec", "ingressClassName", "traefik",
			 "tls", tls, "rules", rules);
}

json_t *app_manifests(const struct app_deploy_spec *s, char *err, size_t errcap)
{
	json_t *ingress = app_manifest_ingress(s);
	if (!ingress) {
		snprintf(err, errcap,
			 "The generated domains of %s do not fit in a DNS name: choose a "
			 "shorter name (cluster domain %.80s)",
			 s->osid, s->cluster_domain);
		return NULL;
	}
	json_t *list = json_pack("[o, o, o, o, o, o, o]", app_manifest_namespace(s),
				 app_manifest_network_policy(s), app_manifest_configmap(s),
				 app_manifest_secret(s), app_manifest_deployment(s),
				 app_manifest_service(s), ingress);
	for (size_t i = 0; i < s->ncustom; i++)
		json_array_append_new(list, app_manifest_certificate(s, &s->custom[i]));
	return list;
}

json_t *app_manifest_certificate(const struct app_deploy_spec *s, const struct app_custom_route *r)
{
	char secret[APP_FQDN_MAX + 16];
	app_domain_tls_secret(r->fqdn, secret, sizeof(secret));
	return json_pack("{s:s, s:s, s:o, s:{s:s, s:[s], s:{s:s, s:s, s:s}}}", "apiVersion",
			 "cert-manager.io/v1", "kind", "Certificate", "metadata",
			 metadata(s, r->fqdn, true), "spec", "secretName", secret, "dnsNames",
			 r->fqdn, "issuerRef", "name", APP_CERT_ISSUER, "kind", "ClusterIssuer",
			 "group", "cert-manager.io");
}
