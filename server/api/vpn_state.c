/* What a device's VPN client reads (docs/vpn.md): GET …/:id/state, every
 * cluster it reaches with its wg1 server, behind an ETag that is the state's
 * revision (a hash of the state itself, so it changes exactly when anything
 * in it does), and GET …/:id/config?cid=, a wg-quick file for one of them
 * whose private key the client fills in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/vpn.h"
#include "crypto/hash.h"
#include "db/vpn_devices_store.h"
#include "idalloc/clusters.h"
#include "runosd.h"
#include "util/xmalloc.h"

/* The line of the config the client fills with its private key (wg genkey). */
#define PRIVATE_KEY_PLACEHOLDER "{{privateKey}}"
#define KEEPALIVE_SECONDS 25
#define REVISION_HEX 16

/* The device and its clusters; false when it replied (404, 503). */
static bool load(struct request *req, struct vpn_device *dev, struct vpn_device_cluster **clusters,
		 size_t *n)
{
	const char *id = api_vpn_device_id(req);
	if (!id)
		return false;
	const char *aid = request_param(req, "aid");
	enum db_result r = db_vpn_devices_get(req->server->db, aid, api_vpn_owner(req), id, dev);
	if (r == DB_OK)
		r = db_vpn_devices_clusters(req->server->db, aid, api_vpn_owner(req), id, clusters,
					    n);
	if (r != DB_OK) {
		request_db_error(req, r, "vpn_device", id);
		return false;
	}
	return true;
}

static json_t *cluster_to_json(const struct vpn_device_cluster *c)
{
	char subnet[24], vip[16], vip_host[24];
	idalloc_vpn_subnet(c->cluster_index, subnet, sizeof(subnet));
	idalloc_vpn_ip(c->cluster_index, IDALLOC_VIP_HOST, vip, sizeof(vip));
	snprintf(vip_host, sizeof(vip_host), "%s/32", vip);
	bool connected = c->pub_key[0] != '\0';
	json_t *server = json_pack("{s:o, s:o}", "publicKey",
				   connected ? json_string(c->pub_key) : json_null(), "endpoint",
				   connected ? json_string(c->endpoint) : json_null());
	return json_pack("{s:s, s:b, s:o, s:[s, s], s:{s:s, s:[s]}}", "cid", c->cid, "connected",
			 connected, "server", server, "allowedIps", subnet, vip_host, "dns",
			 "resolver", vip, "zones", c->domain);
}

void api_vpn_devices_state(struct request *req)
{
	struct vpn_device dev;
	struct vpn_device_cluster *clusters;
	size_t n;
	if (!load(req, &dev, &clusters, &n))
		return;
	char address[16];
	api_vpn_address(&dev, address);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, cluster_to_json(&clusters[i]));
	free(clusters);
	json_t *state =
		json_pack("{s:{s:s, s:s, s:{s:s, s:s, s:o}}, s:o}", "device", "id", dev.id,
			  "address", address, "session", "ownerUid", dev.owner_uid, "name",
			  dev.name, "createdAt", http_json_time(dev.created_us), "clusters", list);

	char *text = json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS);
	uint8_t digest[CRYPTO_SHA256_LEN];
	crypto_sha256(text, strlen(text), digest);
	free(text);
	char hex[2 * CRYPTO_SHA256_LEN + 1], etag[2 * CRYPTO_SHA256_LEN + 3];
	crypto_hex(digest, CRYPTO_SHA256_LEN, hex);
	hex[REVISION_HEX] = '\0';
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	request_set_header(req, "ETag", etag);
	if (api_not_modified(req, etag)) {
		json_decref(state);
		request_reply(req, 304, NULL);
		return;
	}
	json_object_set_new(state, "revision", json_string(hex));
	request_reply(req, 200, state);
}

/* The wg-quick file of dev for cluster c (to free). */
static char *config_text(const struct vpn_device *dev, const struct vpn_device_cluster *c)
{
	char address[16], subnet[24], vip[16];
	api_vpn_address(dev, address);
	idalloc_vpn_subnet(c->cluster_index, subnet, sizeof(subnet));
	idalloc_vpn_ip(c->cluster_index, IDALLOC_VIP_HOST, vip, sizeof(vip));
	return xasprintf("# RunOS VPN: device %s (%s) to cluster %s (%s).\n"
			 "# Fill in PrivateKey: the key (wg genkey) whose public key the device "
			 "enrolled with.\n"
			 "[Interface]\n"
			 "PrivateKey = " PRIVATE_KEY_PLACEHOLDER "\n"
			 "Address = %s/32\n"
			 "DNS = %s, %s\n"
			 "\n"
			 "[Peer]\n"
			 "PublicKey = %s\n"
			 "Endpoint = %s\n"
			 "AllowedIPs = %s, %s/32\n"
			 "PersistentKeepalive = %d\n",
			 dev->id, dev->public_key, c->cid, c->domain, address, vip, c->domain,
			 c->pub_key, c->endpoint, subnet, vip, KEEPALIVE_SECONDS);
}

void api_vpn_devices_config(struct request *req)
{
	struct vpn_device dev;
	struct vpn_device_cluster *clusters;
	size_t n;
	const char *cid = request_query(req, "cid");
	if (!cid) {
		/* The query table says it is required; only bodies are checked so. */
		request_error(req, 400, "validation.required", json_pack("{s:s}", "field", "cid"),
			      "Query parameter cid is required: the cluster the config is for");
		return;
	}
	if (!load(req, &dev, &clusters, &n))
		return;
	const struct vpn_device_cluster *c = NULL;
	for (size_t i = 0; i < n && !c; i++)
		if (strcmp(clusters[i].cid, cid) == 0)
			c = &clusters[i];
	if (!c)
		request_error(req, 404, "cluster.not_found", json_pack("{s:s}", "field", "cid"),
			      "Cluster %s is not one that device %s reaches", cid, dev.id);
	else if (!c->pub_key[0])
		request_error(req, 409, "vpn.server_not_ready", NULL,
			      "No control-plane node of cluster %s has reported its wg1 key yet: "
			      "the device cannot connect until one has",
			      c->cid);
	else {
		char *text = config_text(&dev, c);
		request_reply_text(req, 200, "text/plain; charset=utf-8", text);
		free(text);
	}
	free(clusters);
}
