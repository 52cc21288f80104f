/* Handlers of /:aid/clusters and /:aid/cluster-domains. The derived names
 * (VPN subnet, VIP, Kubernetes API URL) are computed here from the stored
 * index and domain, so they can never disagree with them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/apps.h"
#include "api/common.h"
#include "api/handlers.h"
#include "crypto/hash.h"
#include "crypto/seal.h"
#include "db/agent_store.h"
#include "db/clusters_store.h"
#include "idalloc/clusters.h"
#include "util/xmalloc.h"
#include "runosd.h"

static json_t *cluster_to_json(const struct cluster *c)
{
	char cidr[32], vip[32], k8s[340];
	idalloc_vpn_subnet(c->cluster_index, cidr, sizeof(cidr));
	idalloc_vpn_ip(c->cluster_index, IDALLOC_VIP_HOST, vip, sizeof(vip));
	snprintf(k8s, sizeof(k8s), "https://k8s.%s:6446", c->domain);
	json_t *counts = json_pack("{s:i, s:i, s:i}", "total", c->nodes_total, "online",
				   c->nodes_online, "offline", c->nodes_offline);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:s, s:s, s:s, s:o, s:o, s:o, s:o}",
			 "cid", c->cid, "name", c->name, "description", c->description, "domain",
			 c->domain, "status", c->status, "configured", c->configured,
			 "clusterIndex", c->cluster_index, "vpnCidr", cidr, "vip", vip, "k8sApiUrl",
			 k8s, "nodeCounts", counts, "conditions",
			 api_conditions_json(c->conditions), "createdAt",
			 http_json_time(c->created_us), "updatedAt", http_json_time(c->updated_us));
}

void api_clusters_create(struct request *req)
{
	const char *aid = request_param(req, "aid");
	struct cluster c;
	struct audit_actor actor = api_actor(req);
	enum clusters_full full;
	enum db_result r =
		db_clusters_create(req->server->db, aid, &actor, request_body_string(req, "name"),
				   request_body_string(req, "description"), &c, &full);
	if (r == DB_CONFLICT && full == CLUSTERS_NO_INDEX) {
		request_error(req, 409, "cluster.limit", NULL, "An account has at most %d clusters",
			      IDALLOC_MAX_CLUSTERS);
		return;
	}
	if (r == DB_CONFLICT && full == CLUSTERS_NO_CID) {
		request_error(req, 409, "cluster.cid_exhausted", NULL,
			      "Every cluster id of this account is in use");
		return;
	}
	if (r != DB_OK) {
		request_db_error(req, r, "cluster", NULL);
		return;
	}
	api_set_etag(req, c.version);
	request_reply(req, 201, cluster_to_json(&c));
}

/* Lists clusters as cluster objects, or (domains) as cluster domains. */
static void list(struct request *req, bool domains)
{
	int limit;
	struct api_cursor cursor;
	if (!api_list_params(req, idalloc_is_cid, &limit, &cursor))
		return;
	const char *status = domains ? NULL : request_query(req, "status");
	const char *only_cid = domains ? request_query(req, "cid") : NULL;
	struct cluster *rows;
	size_t n;
	enum db_result r =
		db_clusters_list(req->server->db, request_param(req, "aid"), status, only_cid,
				 cursor.after_us, cursor.after_id, limit + 1, &rows, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "cluster", NULL);
		return;
	}
	bool more = api_page_trim(&n, limit);
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		if (domains)
			json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:b}", "id",
							       "runos", "cid", rows[i].cid, "fqdn",
							       rows[i].domain, "wildcard", true));
		else
			json_array_append_new(items, cluster_to_json(&rows[i]));
	}
	char next[API_CURSOR_MAX];
	if (more)
		api_next_cursor(rows[n - 1].created_us, rows[n - 1].cid, next);
	free(rows);
	api_reply_page(req, json_pack("{s:o}", domains ? "clusterDomains" : "clusters", items),
		       "cursor", more ? next : NULL);
}

void api_clusters_list(struct request *req)
{
	list(req, false);
}

void api_cluster_domains_list(struct request *req)
{
	list(req, true);
}

void api_clusters_get(struct request *req)
{
	struct cluster c;
	if (!api_load_cluster(req, &c))
		return;
	api_set_etag(req, c.version);
	request_reply(req, 200, cluster_to_json(&c));
}

void api_clusters_update(struct request *req)
{
	const char *cid = api_path_cid(req);
	int if_version;
	if (!cid || !api_if_match(req, &if_version))
		return;
	struct cluster c;
	struct audit_actor actor = api_actor(req);
	enum db_result r =
		db_clusters_update(req->server->db, request_param(req, "aid"), cid, &actor,
				   request_body_string(req, "name"),
				   request_body_string(req, "description"), if_version, &c);
	if (r != DB_OK) {
		api_reply_write_error(req, r, "cluster", cid);
		return;
	}
	api_set_etag(req, c.version);
	request_reply(req, 200, cluster_to_json(&c));
}

void api_clusters_delete(struct request *req)
{
	const char *cid = api_path_cid(req);
	int if_version;
	if (!cid || !api_if_match(req, &if_version))
		return;
	struct audit_actor actor = api_actor(req);
	char job_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	enum cluster_delete_outcome outcome;
	enum db_result r = db_clusters_delete(req->server->db, request_param(req, "aid"), cid,
					      &actor, if_version, job_id, &outcome);
	if (r != DB_OK) {
		api_reply_write_error(req, r, "cluster", cid);
		return;
	}
	switch (outcome) {
	case CLUSTER_DELETED:
		request_reply(req, 204, NULL);
		return;
	case CLUSTER_BEING_DELETED:
		request_error(req, 409, "cluster.deleting", json_pack("{s:s}", "jobId", job_id),
			      "Cluster %s is being deleted by job %s: wait for it to finish "
			      "(GET /jobs/%s), or cancel it (POST /jobs/%s/cancel) to keep the "
			      "cluster",
			      cid, job_id, job_id, job_id);
		return;
	case CLUSTER_TEARDOWN_STARTED:
		break;
	}
	request_reply(req, 202, json_pack("{s:s}", "jobId", job_id));
}

/* The kubeconfig YAML of the cluster's admin credentials (a JSON object
 * {caCert, adminCert, adminKey}), to free(); NULL when a member is missing. */
static char *kubeconfig_yaml(const struct cluster *c, const char *credentials)
{
	json_t *creds = json_loads(credentials, 0, NULL);
	const char *ca = json_string_value(json_object_get(creds, "caCert"));
	const char *cert = json_string_value(json_object_get(creds, "adminCert"));
	const char *key = json_string_value(json_object_get(creds, "adminKey"));
	char *yaml = NULL;
	if (ca && cert && key) {
		char *ca64 = crypto_base64(ca, strlen(ca)),
		     *cert64 = crypto_base64(cert, strlen(cert)),
		     *key64 = crypto_base64(key, strlen(key));
		/* Named after the cluster's domain, unique across accounts: the
		 * kubeconfigs of two accounts' clusters merge without clashing
		 * (KUBECONFIG=a:b), which the cid alone did not. */
		yaml = xasprintf("apiVersion: v1\n"
				 "kind: Config\n"
				 "clusters:\n"
				 "- name: %s\n"
				 "  cluster:\n"
				 "    server: https://k8s.%s:6446\n"
				 "    certificate-authority-data: %s\n"
				 "users:\n"
				 "- name: admin@%s\n"
				 "  user:\n"
				 "    client-certificate-data: %s\n"
				 "    client-key-data: %s\n"
				 "contexts:\n"
				 "- name: %s\n"
				 "  context:\n"
				 "    cluster: %s\n"
				 "    user: admin@%s\n"
				 "current-context: %s\n",
				 c->domain, c->domain, ca64, c->domain, cert64, key64, c->domain,
				 c->domain, c->domain, c->domain);
		free(ca64);
		free(cert64);
		crypto_free_secret(key64, strlen(key64));
	}
	json_decref(creds);
	return yaml;
}

void api_clusters_kubeconfig(struct request *req)
{
	struct cluster c;
	if (!api_load_cluster(req, &c))
		return;
	const char *aid = request_param(req, "aid");
	char *sealed;
	enum db_result r = db_agent_credentials_get(req->server->db, aid, c.cid, &sealed);
	if (r == DB_NOT_FOUND) {
		request_error(req, 409, "cluster.not_active", NULL,
			      "Cluster %s has no credentials yet: no control-plane node has "
			      "reported them",
			      c.cid);
		return;
	}
	if (r != DB_OK) {
		request_db_error(req, r, "cluster", c.cid);
		return;
	}
	char aad[64];
	snprintf(aad, sizeof(aad), "%s/cluster_credentials/%s", aid, c.cid);
	size_t len = 0;
	uint8_t *plain = crypto_unseal(req->server->keys, sealed, aad, &len);
	free(sealed);
	char *yaml = plain ? kubeconfig_yaml(&c, (const char *)plain) : NULL;
	if (plain)
		crypto_free_secret(plain, len);
	if (!yaml) {
		request_error(req, 500, "internal", NULL,
			      "The stored credentials of cluster %s cannot be opened", c.cid);
		return;
	}
	request_reply_text(req, 200, "text/yaml; charset=utf-8", yaml);
	crypto_free_secret(yaml, strlen(yaml));
}

void api_clusters_deployment_ready(struct request *req)
{
	struct cluster c;
	json_t *readiness;
	if (api_load_cluster(req, &c) && (readiness = api_app_deployment_readiness(req, &c)))
		request_reply(req, 200, readiness);
}
