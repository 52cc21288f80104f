/* The instructions that services use (AGENT.md §5), as a node agent with
 * kubectl and helm would take them, without a cluster:
 *   APPLY_CR{crB64}: crB64 must be standard base64 of one JSON Kubernetes
 *     object with apiVersion, kind and metadata.name (else ERROR). With
 *     --cr-dir (or SIM_CR_DIR) each decoded object is also written, as it
 *     came, to <dir>/<tag>-<n>.json (n counts the objects of this process
 *     from 1), for a test to validate against the Kubernetes schemas later.
 *     An app's Deployment (namespace app-*) is remembered (sim_apps.c).
 *   DELETE_CR{type, id}: both must be there. A Namespace's deletion forgets
 *     the chart installed there and the app of that namespace, as deleting
 *     a namespace removes everything in it.
 *   INSTALL_HELM_CHART{repoUrl, chartName, namespace, values, version}: the
 *     namespace (the service's osid) is remembered as installed, with its
 *     desired replicas: values.replicaCount, else values.replicas, else 1; an
 *     install again (helm upgrade) replaces them. With --fail-helm S (or
 *     SIM_FAIL_HELM=S) a namespace containing S fails, as helm would.
 *   UNINSTALL_HELM_CHART{chartName, namespace}: the namespace is forgotten
 *     (also when it was not installed: a redelivered uninstall succeeds).
 * Success is a NO_CONTENT reply, like the agent's; failure ERROR{error}. What
 * an agent has installed is kept in its line of the state file
 * ("services": {osid: desired}; its apps in "apps"), and a control-plane
 * agent reports it to POST /agent/v1/service-status (sim_work.c) as healthy,
 * every replica ready (the apps as sim_apps.c says). */
#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long objects_written;

bool sim_services_handles(const char *type)
{
	return !strcmp(type, "APPLY_CR") || !strcmp(type, "DELETE_CR") ||
	       !strcmp(type, "INSTALL_HELM_CHART") || !strcmp(type, "UNINSTALL_HELM_CHART");
}

static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard, padded base64 (RFC 4648 §4) into a NUL-terminated buffer (to
 * free), its length in *len; NULL when text is not that. */
static char *base64_decode(const char *text, size_t *len)
{
	size_t n = strlen(text);
	if (n == 0 || n % 4 != 0)
		return NULL;
	char *out = xmalloc(n / 4 * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)text[i + k];
			if (c == '=' && last && k >= 2 && (k == 3 || text[i + 3] == '=')) {
				v[k] = 0;
				pad++;
				continue;
			}
			v[k] = base64_value(c);
			if (v[k] < 0 || pad > 0) {
				free(out);
				return NULL;
			}
		}
		unsigned bits = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
				(unsigned)v[3];
		out[o++] = (char)(bits >> 16);
		if (pad < 2)
			out[o++] = (char)(bits >> 8 & 0xff);
		if (pad < 1)
			out[o++] = (char)(bits & 0xff);
	}
	out[o] = '\0';
	*len = o;
	return out;
}

/* A non-empty string member of obj, or NULL. */
static const char *member(const json_t *obj, const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));
	return s && *s ? s : NULL;
}

static char *write_object(const char *dir, const char *tag, const char *data, size_t len)
{
	char *path = xasprintf("%s/%s-%ld.json", dir, tag, ++objects_written);
	FILE *f = fopen(path, "w");
	bool ok = f && fwrite(data, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = false;
	char *error =
		ok ? NULL : xasprintf("agent-sim: cannot write %s: %s", path, strerror(errno));
	free(path);
	return error;
}

static char *apply_cr(struct sim_agent *a, const struct sim_opts *o, const char *tag,
		      const json_t *payload, bool *changed)
{
	const char *b64 = member(payload, "crB64");
	if (!b64)
		return xstrdup("APPLY_CR: crB64 is missing");
	size_t len;
	char *data = base64_decode(b64, &len);
	if (!data)
		return xstrdup("APPLY_CR: crB64 is not base64");
	char *error = o->cr_dir ? write_object(o->cr_dir, tag, data, len) : NULL;
	json_error_t jerr;
	json_t *obj = error ? NULL : json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (error)
		return error;
	if (!json_is_object(obj))
		error = obj ? xstrdup("APPLY_CR: the object is not a JSON object")
			    : xasprintf("APPLY_CR: the object is not JSON: %s", jerr.text);
	else if (!member(obj, "apiVersion") || !member(obj, "kind"))
		error = xstrdup("APPLY_CR: the object has no apiVersion or kind");
	else if (!member(json_object_get(obj, "metadata"), "name"))
		error = xasprintf("APPLY_CR: the %s has no metadata.name", member(obj, "kind"));
	else
		sim_apps_applied(a, obj, changed);
	json_decref(obj);
	return error;
}

/* values.replicaCount, values.replicas, or 1. */
static json_int_t desired_replicas(const json_t *values)
{
	json_t *n = json_object_get(values, "replicaCount");
	if (!json_is_integer(n))
		n = json_object_get(values, "replicas");
	json_int_t v = json_is_integer(n) ? json_integer_value(n) : 1;
	return v < 0 ? 0 : v > SIM_REPLICAS_MAX ? SIM_REPLICAS_MAX : v;
}

static char *install_chart(struct sim_agent *a, const struct sim_opts *o, const json_t *payload,
			   bool *changed)
{
	const char *chart = member(payload, "chartName");
	const char *ns = member(payload, "namespace");
	json_t *values = json_object_get(payload, "values");
	if (!chart || !ns || !member(payload, "repoUrl"))
		return xstrdup("INSTALL_HELM_CHART: repoUrl, chartName and namespace are needed");
	if (values && !json_is_object(values))
		return xstrdup("INSTALL_HELM_CHART: values must be an object");
	if (o->fail_helm && strstr(ns, o->fail_helm))
		return xasprintf("helm: install of %s into namespace %s failed (agent-sim "
				 "--fail-helm %s)",
				 chart, ns, o->fail_helm);
	if (!a->services)
		a->services = json_object();
	json_object_set_new(a->services, ns, json_integer(desired_replicas(values)));
	*changed = true;
	return NULL;
}

static char *uninstall_chart(struct sim_agent *a, const json_t *payload, bool *changed)
{
	const char *ns = member(payload, "namespace");
	if (!member(payload, "chartName") || !ns)
		return xstrdup("UNINSTALL_HELM_CHART: chartName and namespace are needed");
	if (json_object_del(a->services, ns) == 0)
		*changed = true;
	return NULL;
}

static char *delete_cr(struct sim_agent *a, const json_t *payload, bool *changed)
{
	const char *type = member(payload, "type");
	const char *id = member(payload, "id");
	if (!type || !id)
		return xstrdup("DELETE_CR: type and id are needed");
	if (!strcmp(type, "Namespace")) {
		if (json_object_del(a->services, id) == 0)
			*changed = true;
		sim_apps_deleted(a, id, changed);
	}
	return NULL;
}

char *sim_services_act(struct sim_agent *a, const struct sim_opts *o, const char *tag,
		       const char *type, const json_t *payload, bool *changed)
{
	*changed = false;
	if (!json_is_object(payload))
		return xasprintf("%s: the payload is not an object", type);
	if (!strcmp(type, "APPLY_CR"))
		return apply_cr(a, o, tag, payload, changed);
	if (!strcmp(type, "DELETE_CR"))
		return delete_cr(a, payload, changed);
	if (!strcmp(type, "INSTALL_HELM_CHART"))
		return install_chart(a, o, payload, changed);
	if (!strcmp(type, "UNINSTALL_HELM_CHART"))
		return uninstall_chart(a, payload, changed);
	return xasprintf("%s: not a service instruction", type);
}

bool sim_agent_has_workloads(const struct sim_agent *a)
{
	return json_object_size(a->services) > 0 || json_object_size(a->apps) > 0;
}

char *sim_services_report(const struct sim_agent *a, const struct sim_opts *o)
{
	if (!sim_agent_has_workloads(a))
		return NULL;
	json_t *list = json_array();
	const char *osid;
	json_t *desired;
	json_object_foreach (a->services, osid, desired) {
		if (json_array_size(list) == SIM_REPORT_MAX)
			break;
		json_array_append_new(list, json_pack("{s:s, s:s, s:{s:O, s:O}, s:s}", "osid", osid,
						      "state", "healthy", "replicas", "desired",
						      desired, "ready", desired, "message",
						      "agent-sim: every replica ready"));
	}
	sim_apps_report(a, o, list);
	json_t *body = json_pack("{s:o}", "services", list);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return text;
}
