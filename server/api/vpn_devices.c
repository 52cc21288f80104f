/* Handlers of /:aid/vpn/devices (docs/vpn.md): users' WireGuard devices on
 * wg1. A member sees and manages only the devices they enrolled (another
 * member's is 404, as if it did not exist); an admin or owner every device
 * of the account. Only the public key is ever sent here: the private key
 * stays on the device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/vpn.h"
#include "crypto/hash.h"
#include "db/vpn_devices_store.h"
#include "idalloc/clusters.h"
#include "idalloc/ids.h"
#include "runosd.h"

/* A random id that is taken is drawn again this many times. */
#define ID_ATTEMPTS 3

const char *api_vpn_owner(const struct request *req)
{
	return req->principal.role_in_aid >= ROLE_ADMIN ? NULL : req->principal.uid;
}

const char *api_vpn_device_id(struct request *req)
{
	const char *id = request_param(req, "id");
	if (!idalloc_is_short_id(id)) {
		request_error(req, 404, "vpn_device.not_found", NULL, "VPN device %s not found",
			      id);
		return NULL;
	}
	return id;
}

void api_vpn_address(const struct vpn_device *d, char out[16])
{
	idalloc_device_ip(d->host, out, 16);
}

static json_t *device_to_json(const struct vpn_device *d)
{
	char address[16];
	api_vpn_address(d, address);
	json_t *cids = json_array();
	for (size_t i = 0; i < d->ncids; i++)
		json_array_append_new(cids, json_string(d->cids[i]));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", d->id, "name", d->name,
			 "address", address, "publicKey", d->public_key, "ownerUid", d->owner_uid,
			 "cids", cids, "createdAt", http_json_time(d->created_us), "updatedAt",
			 http_json_time(d->updated_us));
}

static bool valid_key(struct request *req, const char *key)
{
	if (crypto_is_wg_key(key))
		return true;
	request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", "publicKey"),
		      "publicKey must be a WireGuard public key: base64 of 32 bytes (wg pubkey)");
	return false;
}

void api_vpn_devices_create(struct request *req)
{
	struct vpn_device dev = { 0 };
	const char *key = request_body_string(req, "publicKey");
	if (!valid_key(req, key))
		return;
	snprintf(dev.aid, sizeof(dev.aid), "%s", request_param(req, "aid"));
	snprintf(dev.owner_uid, sizeof(dev.owner_uid), "%s", req->principal.uid);
	snprintf(dev.name, sizeof(dev.name), "%s", request_body_string(req, "name"));
	snprintf(dev.public_key, sizeof(dev.public_key), "%s", key);
	struct audit_actor actor = api_actor(req);
	enum vpn_device_refusal why = VPN_DEVICE_OK;
	enum db_result r = DB_CONFLICT;
	for (int i = 0; i < ID_ATTEMPTS && r == DB_CONFLICT && why == VPN_DEVICE_OK; i++) {
		idalloc_short_id(dev.id);
		r = db_vpn_devices_create(req->server->db, &dev, &actor, &why);
	}
	if (why == VPN_DEVICE_KEY_TAKEN) {
		request_error(req, 409, "vpn.key_taken", json_pack("{s:s}", "field", "publicKey"),
			      "Another device of this account has this public key");
		return;
	}
	if (why == VPN_DEVICE_EXHAUSTED) {
		request_error(req, 409, "vpn.addresses_exhausted", NULL,
			      "All %d addresses of " IDALLOC_DEVICE_CIDR
			      " are in use in this account: delete a device first",
			      IDALLOC_DEVICE_HOSTS);
		return;
	}
	if (r != DB_OK) {
		request_db_error(req, r, "vpn_device", NULL);
		return;
	}
	char address[16];
	api_vpn_address(&dev, address);
	api_set_etag(req, dev.version);
	request_reply(req, 201,
		      json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", dev.id, "name", dev.name,
				"address", address, "publicKey", dev.public_key, "createdAt",
				http_json_time(dev.created_us)));
}

void api_vpn_devices_list(struct request *req)
{
	const char *aid = request_param(req, "aid");
	int limit;
	struct api_cursor cursor;
	if (!api_list_params(req, idalloc_is_short_id, &limit, &cursor))
		return;
	struct vpn_device *devices;
	size_t n;
	enum db_result r =
		db_vpn_devices_list(req->server->db, aid, api_vpn_owner(req), cursor.after_us,
				    cursor.after_id, limit + 1, &devices, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "vpn_device", NULL);
		return;
	}
	bool more = api_page_trim(&n, limit);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, device_to_json(&devices[i]));
	char next[API_CURSOR_MAX];
	if (more)
		api_next_cursor(devices[n - 1].created_us, devices[n - 1].id, next);
	free(devices);
	api_reply_page(req, json_pack("{s:o}", "devices", list), "cursor", more ? next : NULL);
}

void api_vpn_devices_get(struct request *req)
{
	const char *id = api_vpn_device_id(req);
	if (!id)
		return;
	struct vpn_device dev;
	enum db_result r = db_vpn_devices_get(req->server->db, request_param(req, "aid"),
					      api_vpn_owner(req), id, &dev);
	if (r != DB_OK) {
		request_db_error(req, r, "vpn_device", id);
		return;
	}
	api_set_etag(req, dev.version);
	request_reply(req, 200, device_to_json(&dev));
}

void api_vpn_devices_update(struct request *req)
{
	const char *aid = request_param(req, "aid");
	const char *id = api_vpn_device_id(req);
	int if_version;
	if (!id || !api_if_match(req, &if_version))
		return;
	const char *name = request_body_string(req, "name");
	struct vpn_device dev;
	enum db_result r;
	if (!name) {
		/* Nothing to change: answer with the device as it is. */
		r = db_vpn_devices_get(req->server->db, aid, api_vpn_owner(req), id, &dev);
		if (r == DB_OK && if_version != 0 && if_version != dev.version)
			r = DB_CONFLICT;
	} else {
		struct audit_actor actor = api_actor(req);
		r = db_vpn_devices_rename(req->server->db, aid, api_vpn_owner(req), id, name,
					  if_version, &actor, &dev);
	}
	if (r != DB_OK) {
		api_reply_write_error(req, r, "vpn_device", id);
		return;
	}
	api_set_etag(req, dev.version);
	request_reply(req, 200, device_to_json(&dev));
}

void api_vpn_devices_delete(struct request *req)
{
	const char *id = api_vpn_device_id(req);
	int if_version;
	if (!id || !api_if_match(req, &if_version))
		return;
	struct audit_actor actor = api_actor(req);
	enum db_result r = db_vpn_devices_delete(req->server->db, request_param(req, "aid"),
						 api_vpn_owner(req), id, if_version, &actor);
	if (r != DB_OK) {
		api_reply_write_error(req, r, "vpn_device", id);
		return;
	}
	request_reply(req, 204, NULL);
}

/* The same answer for a cid that is malformed, of no cluster, of another
 * account's, or of a cluster that is not active: existence is not revealed. */
static void bad_cluster(struct request *req, const char *cid)
{
	request_error(req, 400, "vpn.cluster_invalid",
		      json_pack("{s:s, s:s}", "field", "cids", "cid", cid),
		      "%s is not an active cluster of this account", cid);
}

void api_vpn_devices_clusters(struct request *req)
{
	const char *id = api_vpn_device_id(req);
	int if_version;
	if (!id || !api_if_match(req, &if_version))
		return;
	json_t *list = json_object_get(req->body, "cids");
	char cids[VPN_DEVICE_MAX_CLUSTERS][8];
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *cid = json_string_value(json_array_get(list, i));
		if (!cid || !idalloc_is_cid(cid)) {
			/* Another account's (or no) device is 404 whatever the
			 * body says; only one's own hears about its cids. */
			struct vpn_device dev;
			enum db_result r =
				db_vpn_devices_get(req->server->db, request_param(req, "aid"),
						   api_vpn_owner(req), id, &dev);
			if (r != DB_OK)
				request_db_error(req, r, "vpn_device", id);
			else
				bad_cluster(req, cid ? cid : "");
			return;
		}
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = strcmp(cids[k], cid) == 0;
		if (!seen)
			snprintf(cids[n++], sizeof(cids[0]), "%s", cid);
	}
	struct audit_actor actor = api_actor(req);
	struct vpn_device dev;
	enum vpn_device_refusal why;
	size_t bad = 0;
	enum db_result r = db_vpn_devices_set_clusters(
		req->server->db, request_param(req, "aid"), api_vpn_owner(req), id,
		(const char(*)[8])cids, n, if_version, &actor, &dev, &why, &bad);
	if (r != DB_OK) {
		api_reply_write_error(req, r, "vpn_device", id);
		return;
	}
	if (why == VPN_DEVICE_BAD_CLUSTER) {
		bad_cluster(req, cids[bad]);
		return;
	}
	api_set_etag(req, dev.version);
	request_reply(req, 200, device_to_json(&dev));
}
