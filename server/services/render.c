/* The instructions of each service job, step by step, in the form AGENT.md
 * §5 gives them: APPLY_CR{crB64} (one object each), INSTALL_HELM_CHART
 * {repoUrl, chartName, namespace, values, version}, UNINSTALL_HELM_CHART
 * {chartName, namespace}, DELETE_CR{type, id}, RUN_KUBECTL_COMMAND[argv].
 * The Secret's instruction is sealed for the queue (JOB_SEALED_AAD_FMT). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/rendered.h"
#include "services/manifests.h"
#include "services/render.h"

static void add_secret(struct rendered_job *out, int step, const struct service_spec *s)
{
	rendered_add_sealed(out, step, "APPLY_CR", rendered_apply_payload(manifest_secret(s)),
			    s->keys, s->aid, s->job_id);
}

static bool add_chart(struct rendered_job *out, int step, const struct service_spec *s, char *err,
		      size_t errcap)
{
	const struct service_type *t = s->type;
	char secret[96], host[320];
	service_secret_name(s->osid, secret, sizeof(secret));
	snprintf(host, sizeof(host), "%s.%s", s->osid, s->cluster_domain);
	json_t *requires = json_object();
	for (size_t i = 0; i < s->nrequires; i++) {
		char in_cluster[160];
		service_host(s->requires[i].osid, in_cluster, sizeof(in_cluster));
		json_object_set_new(requires, s->requires[i].field,
				    json_pack("{s:s, s:s, s:i}", "osid", s->requires[i].osid,
					      "host", in_cluster, "port",
					      s->requires[i].type->credentials.port));
	}
	json_t *affinity = manifest_affinity(s->affinity_tags);
	bool carries = catalog_values_carry_secrets(t);
	json_t *secrets = carries ? manifest_secret_data(s) : NULL;
	struct catalog_values_input in = {
		.osid = s->osid,
		.version = s->version,
		.replicas = s->replicas,
		.storage_mb = s->storage_mb,
		.storage_class = s->storage_class,
		.secret_name = secret,
		.domain = host,
		.flags = s->flags,
		.affinity = affinity,
		.requires = requires,
		.secrets = secrets,
	};
	json_t *values = catalog_values(t, &in, err, errcap);
	json_decref(affinity);
	json_decref(requires);
	json_decref(secrets);
	if (!values)
		return false;
	json_t *payload = json_pack("{s:s, s:s, s:s, s:o, s:s}", "repoUrl", t->chart.repo_url,
				    "chartName", t->chart.chart_name, "namespace", s->osid,
				    "values", values, "version", t->chart.version);
	/* A chart that takes a password only in its values gets it sealed. */
	if (carries)
		rendered_add_sealed(out, step, "INSTALL_HELM_CHART", payload, s->keys, s->aid,
				    s->job_id);
	else
		rendered_add(out, step, "INSTALL_HELM_CHART", payload);
	return true;
}

static bool is_longhorn(const struct service_spec *s)
{
	return strcmp(s->type->type, "longhorn") == 0;
}

bool service_render_create(const struct service_spec *s, struct rendered_job *out, char *err,
			   size_t errcap)
{
	memset(out, 0, sizeof(*out));
	rendered_add_apply(out, 1, manifest_namespace(s));
	rendered_add_apply(out, 1, manifest_quota(s));
	rendered_add_apply(out, 1, manifest_network_policy(s));
	add_secret(out, 1, s);
	if (!add_chart(out, 2, s, err, errcap))
		return false;
	if (is_longhorn(s))
		rendered_add_apply(out, 3, manifest_storage_class(s));
	return true;
}

bool service_render_update(const struct service_spec *s, struct rendered_job *out, char *err,
			   size_t errcap)
{
	memset(out, 0, sizeof(*out));
	rendered_add_apply(out, 1, manifest_quota(s)); /* replicas and storage size it */
	return add_chart(out, 1, s, err, errcap);
}

void service_render_delete(const struct service_spec *s, struct rendered_job *out)
{
	memset(out, 0, sizeof(*out));
	rendered_add(out, 1, "UNINSTALL_HELM_CHART",
		     json_pack("{s:s, s:s}", "chartName", s->type->chart.chart_name, "namespace",
			       s->osid));
	rendered_add(out, 2, "DELETE_CR",
		     json_pack("{s:s, s:s}", "type", "Namespace", "id", s->osid));
	if (is_longhorn(s)) {
		char name[96];
		service_longhorn_class(s->osid, name, sizeof(name));
		rendered_add(out, 2, "DELETE_CR",
			     json_pack("{s:s, s:s}", "type", "StorageClass", "id", name));
	}
}

void service_render_rotate(const struct service_spec *s, struct rendered_job *out)
{
	memset(out, 0, sizeof(*out));
	add_secret(out, 1, s);
	/* Everything of the namespace is the service's: its workloads restart
	 * and read the new Secret. */
	rendered_add(out, 2, "RUN_KUBECTL_COMMAND",
		     json_pack("[s, s, s, s, s]", "rollout", "restart", "deployment,statefulset",
			       "-n", s->osid));
}
