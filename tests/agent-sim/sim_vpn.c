/* The VPN of a simulated agent (work --vpn-dir DIR or SIM_VPN_DIR): after its
 * first heartbeat an agent syncs (POST /agent/v1/vpn/sync) with a wg0 key
 * and, when it is a control plane, its wg1 key and endpoint (the users' VPN
 * it serves); each SET_VPN_PEERS it receives is checked and its payload
 * written to DIR/<nid>-<interface>.json (the last one wins), so a test can
 * read the peer set the node was last given. The keys are the base64 of
 * SHA-256("<interface>:<nid>"): 32 bytes, stable for a node. */
#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"

bool sim_vpn_handles(const struct sim_opts *o, const char *type)
{
	return o->vpn_dir && !strcmp(type, "SET_VPN_PEERS");
}

static char *node_key(const struct sim_agent *a, const char *interface)
{
	char *seed = xasprintf("%s:%s", interface, a->nid);
	uint8_t digest[CRYPTO_SHA256_LEN];
	crypto_sha256(seed, strlen(seed), digest);
	free(seed);
	return crypto_base64(digest, sizeof(digest));
}

char *sim_vpn_sync_body(const struct sim_agent *a)
{
	char *wg0 = node_key(a, "wg0");
	json_t *obj = json_pack("{s:{s:s, s:s, s:s}, s:b}", "nodePeer", "pubKey", wg0, "endpointIp",
				"10.0.0.1", "ip", a->vpn_ip ? a->vpn_ip : "", "nodeIsReady", true);
	free(wg0);
	if (a->is_cp) {
		char *wg1 = node_key(a, "wg1");
		json_object_set_new(
			obj, "wg1",
			json_pack("{s:s, s:s}", "pubKey", wg1, "endpoint", "203.0.113.10:51821"));
		free(wg1);
	}
	char *body = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return body;
}

/* Every peer is {pubKey: a WireGuard key, vpnIp, endpointIp? (wg0)}. */
static const char *bad_peers(const json_t *peers)
{
	if (!json_is_array(peers))
		return "SET_VPN_PEERS: peers is not a list";
	for (size_t i = 0; i < json_array_size(peers); i++) {
		const json_t *p = json_array_get(peers, i);
		const char *key = json_string_value(json_object_get(p, "pubKey"));
		const char *ip = json_string_value(json_object_get(p, "vpnIp"));
		if (!key || !ip || !*ip)
			return "SET_VPN_PEERS: a peer lacks pubKey or vpnIp";
	}
	return NULL;
}

char *sim_vpn_act(const struct sim_agent *a, const struct sim_opts *o, const json_t *payload)
{
	const char *interface = json_string_value(json_object_get(payload, "interface"));
	if (!interface)
		interface = "wg0";
	if (strcmp(interface, "wg0") && strcmp(interface, "wg1"))
		return xasprintf("SET_VPN_PEERS: unknown interface %s", interface);
	if (!strcmp(interface, "wg1") && !a->is_cp)
		return xstrdup("SET_VPN_PEERS: wg1 is served by control-plane nodes only");
	const char *bad = bad_peers(json_object_get(payload, "peers"));
	if (bad)
		return xstrdup(bad);
	char *path = xasprintf("%s/%s-%s.json", o->vpn_dir, a->nid, interface);
	char *tmp = xasprintf("%s.tmp", path);
	char *error = NULL;
	if (json_dump_file(payload, tmp, JSON_COMPACT) != 0 || rename(tmp, path) != 0)
		error = xasprintf("agent-sim: cannot write %s: %s", path, strerror(errno));
	free(tmp);
	free(path);
	return error;
}
