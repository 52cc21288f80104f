/* The built-in Kubernetes objects of a service (core/v1 Namespace, Secret,
 * ResourceQuota; networking.k8s.io/v1 NetworkPolicy; storage.k8s.io/v1
 * StorageClass), as their upstream OpenAPI schemas have them. Custom
 * resources are never made here: an operator's come with its chart. */
#include "services/manifests.h"

#include <stdio.h>
#include <string.h>

/* Labels every object of a service carries, so one selector finds them. */
static json_t *service_labels(const struct service_spec *s)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "runos.io/osid", s->osid, "runos.io/aid",
			 s->aid, "runos.io/cid", s->cid, "runos.io/type", s->type->type,
			 "app.kubernetes.io/managed-by", "runosd");
}

static json_t *metadata(const struct service_spec *s, const char *name, bool namespaced)
{
	json_t *m = json_pack("{s:s, s:o}", "name", name, "labels", service_labels(s));
	if (namespaced)
		json_object_set_new(m, "namespace", json_string(s->osid));
	return m;
}

void service_requires_label(const char *osid, char *out, size_t cap)
{
	snprintf(out, cap, "requires.runos.io/%s", osid);
}

json_t *manifest_namespace(const struct service_spec *s)
{
	json_t *m = metadata(s, s->osid, false);
	json_t *labels = json_object_get(m, "labels");
	const char *level = s->type->pod_security ? s->type->pod_security : "restricted";
	json_object_set_new(labels, "pod-security.kubernetes.io/enforce", json_string(level));
	json_object_set_new(labels, "pod-security.kubernetes.io/enforce-version",
			    json_string("latest"));
	json_object_set_new(labels, "pod-security.kubernetes.io/warn", json_string(level));
	json_object_set_new(labels, "pod-security.kubernetes.io/audit", json_string(level));
	/* The namespaces of what this service requires let it in by this label
	 * (their NetworkPolicy allows it), so they need no change of their own
	 * when a dependent comes or goes. */
	for (size_t i = 0; i < s->nrequires; i++) {
		char key[96];
		service_requires_label(s->requires[i].osid, key, sizeof(key));
		json_object_set_new(labels, key, json_string("true"));
	}
	return json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind", "Namespace", "metadata", m);
}

json_t *manifest_quota(const struct service_spec *s)
{
	int replicas = s->replicas > 0 ? s->replicas : 1;
	char pods[24], claims[24];
	snprintf(pods, sizeof(pods), "%d", replicas * 5 + 10);
	snprintf(claims, sizeof(claims), "%d", replicas * 3 + 2);
	json_t *hard = json_pack("{s:s}", "pods", pods);
	if (s->storage_mb > 0) {
		/* Twice what the replicas ask for: charts add volumes of their own
		 * (write-ahead logs, backups) beside the data volume. */
		char storage[32];
		snprintf(storage, sizeof(storage), "%lldMi", 2LL * replicas * s->storage_mb);
		json_object_set_new(hard, "requests.storage", json_string(storage));
		json_object_set_new(hard, "persistentvolumeclaims", json_string(claims));
	}
	/* Only the ingress controller is reached from outside the cluster. */
	if (!s->type->platform) {
		json_object_set_new(hard, "services.loadbalancers", json_string("0"));
		json_object_set_new(hard, "services.nodeports", json_string("0"));
	}
	return json_pack("{s:s, s:s, s:o, s:{s:o}}", "apiVersion", "v1", "kind", "ResourceQuota",
			 "metadata", metadata(s, "runos-quota", true), "spec", "hard", hard);
}

static json_t *from_namespaces(const char *key, const char *value)
{
	return json_pack("{s:[{s:{s:{s:s}}}]}", "from", "namespaceSelector", "matchLabels", key,
			 value);
}

json_t *manifest_network_policy(const struct service_spec *s)
{
	json_t *ingress = json_array();
	/* Platform services are reached from outside and by the API server
	 * and kubelets on the host network, which no selector matches; Longhorn
	 * (privileged) by the CSI plugin on every node: they allow all. */
	bool open = s->type->platform ||
		    (s->type->pod_security && strcmp(s->type->pod_security, "privileged") == 0);
	if (open) {
		json_array_append_new(ingress, json_object());
	} else {
		json_array_append_new(ingress, json_pack("{s:[{s:{}}]}", "from", "podSelector"));
		char key[96];
		service_requires_label(s->osid, key, sizeof(key));
		json_array_append_new(ingress, from_namespaces(key, "true"));
		if (s->type->http)
			json_array_append_new(ingress, from_namespaces("runos.io/type", "traefik"));
	}
	return json_pack("{s:s, s:s, s:o, s:{s:{}, s:[s], s:o}}", "apiVersion",
			 "networking.k8s.io/v1", "kind", "NetworkPolicy", "metadata",
			 metadata(s, "runos-default", true), "spec", "podSelector", "policyTypes",
			 "Ingress", "ingress", ingress);
}

void service_secret_name(const char *osid, char *out, size_t cap)
{
	snprintf(out, cap, "%s-credentials", osid);
}

/* Sets key (prefix-key when prefix is not NULL) to a string member of from. */
static void put(json_t *data, const char *prefix, const char *key, const char *value)
{
	if (!value)
		return;
	char name[96];
	snprintf(name, sizeof(name), "%s%s%s", prefix ? prefix : "", prefix ? "-" : "", key);
	json_object_set_new(data, name, json_string(value));
}

/* The keys of one service's credentials, under prefix (NULL: its own). */
static void put_credentials(json_t *data, const char *prefix, const struct service_type *t,
			    const char *osid, const json_t *credentials)
{
	json_t *view = service_credentials_view(t, osid, credentials);
	put(data, prefix, "username", json_string_value(json_object_get(view, "username")));
	put(data, prefix, "password", json_string_value(json_object_get(view, "password")));
	put(data, prefix, "database", json_string_value(json_object_get(view, "database")));
	put(data, prefix, "host", json_string_value(json_object_get(view, "host")));
	char port[16];
	snprintf(port, sizeof(port), "%d", t->credentials.port);
	put(data, prefix, "port", port);
	put(data, prefix, "url", json_string_value(json_object_get(view, "url")));
	if (!prefix)
		put(data, NULL, "admin-password",
		    json_string_value(json_object_get(credentials, "adminPassword")));
	json_decref(view);
}

json_t *manifest_secret_data(const struct service_spec *s)
{
	json_t *data = json_object();
	put_credentials(data, NULL, s->type, s->osid, s->credentials);
	for (size_t i = 0; i < s->nrequires; i++)
		put_credentials(data, s->requires[i].type->type, s->requires[i].type,
				s->requires[i].osid, s->requires[i].credentials);
	return data;
}

json_t *manifest_secret(const struct service_spec *s)
{
	json_t *data = manifest_secret_data(s);
	char name[96];
	service_secret_name(s->osid, name, sizeof(name));
	return json_pack("{s:s, s:s, s:o, s:s, s:o}", "apiVersion", "v1", "kind", "Secret",
			 "metadata", metadata(s, name, true), "type", "Opaque", "stringData", data);
}

void service_longhorn_class(const char *osid, char *out, size_t cap)
{
	snprintf(out, cap, "longhorn-%s", osid);
}

json_t *manifest_storage_class(const struct service_spec *s)
{
	char name[96];
	service_longhorn_class(s->osid, name, sizeof(name));
	/* Longhorn's documented StorageClass parameters: each volume keeps as
	 * many replicas as the instance was given (the catalog's replicas of a
	 * Longhorn instance are its volumes' replica count, 3 by default). */
	char replicas[16];
	snprintf(replicas, sizeof(replicas), "%d", s->replicas > 0 ? s->replicas : 1);
	return json_pack("{s:s, s:s, s:o, s:s, s:b, s:s, s:s, s:{s:s, s:s, s:s}}", "apiVersion",
			 "storage.k8s.io/v1", "kind", "StorageClass", "metadata",
			 metadata(s, name, false), "provisioner", "driver.longhorn.io",
			 "allowVolumeExpansion", true, "reclaimPolicy", "Delete",
			 "volumeBindingMode", "Immediate", "parameters", "numberOfReplicas",
			 replicas, "staleReplicaTimeout", "30", "fsType", "ext4");
}

json_t *manifest_affinity(const json_t *tags)
{
	if (!json_is_array(tags) || json_array_size(tags) == 0)
		return NULL;
	json_t *expressions = json_array();
	size_t i;
	json_t *tag;
	json_array_foreach (tags, i, tag) {
		char key[96];
		snprintf(key, sizeof(key), "tags.runos.io/%s", json_string_value(tag));
		json_array_append_new(expressions,
				      json_pack("{s:s, s:s}", "key", key, "operator", "Exists"));
	}
	return json_pack("{s:{s:{s:[{s:o}]}}}", "nodeAffinity",
			 "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms",
			 "matchExpressions", expressions);
}
