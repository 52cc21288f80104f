/* The Kubernetes objects of a service (server/services/manifests.c), each a
 * new reference. Names: the namespace is the osid; the credentials Secret
 * "<osid>-credentials"; a Longhorn instance's StorageClass
 * "longhorn-<osid>"; nodes chosen by tag carry the label
 * "tags.runos.io/<tag>". */
#ifndef RUNOSD_SERVICES_MANIFESTS_H
#define RUNOSD_SERVICES_MANIFESTS_H

#include <jansson.h>

#include "services/render.h"

json_t *manifest_namespace(const struct service_spec *s);
json_t *manifest_quota(const struct service_spec *s);
json_t *manifest_network_policy(const struct service_spec *s);
json_t *manifest_secret(const struct service_spec *s);
/* The Secret's keys (manifest_secret's stringData): username, password,
 * admin-password, database, host, port, url, and <type>-<key> of each
 * required service. */
json_t *manifest_secret_data(const struct service_spec *s);
json_t *manifest_storage_class(const struct service_spec *s);
/* A required node affinity for every tag, or NULL for none. */
json_t *manifest_affinity(const json_t *tags);

void service_secret_name(const char *osid, char *out, size_t cap);
void service_longhorn_class(const char *osid, char *out, size_t cap);
/* The namespace label that lets a dependent in to the service osid. */
void service_requires_label(const char *osid, char *out, size_t cap);

#endif
