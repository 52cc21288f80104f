/* Users' VPN devices on wg1 (docs/vpn.md): a member's WireGuard public key
 * with an address of wg1 (IDALLOC_DEVICE_CIDR) and the clusters it reaches. Every
 * function takes the aid and filters by it, and an owner uid: non-NULL, only
 * that member's devices exist for the call (a member's view), NULL: every
 * device of the account (an admin's). Changes are recorded in the audit
 * trail (actor) and queue, in the same transaction, one coalesced wg1 peer
 * update (job vpn.devices) for each cluster whose peer set changed. Thread
 * safe. */
#ifndef RUNOSD_DB_VPN_DEVICES_STORE_H
#define RUNOSD_DB_VPN_DEVICES_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "db/audit_store.h"
#include "db/db.h"
#include "idalloc/ids.h"
#include "util/text.h"

#define VPN_DEVICE_MAX_CLUSTERS 64
#define VPN_KEY_LEN 44 /* base64 of 32 bytes */

struct vpn_device {
	char aid[IDALLOC_SHORT_ID_LEN + 1];
	char id[IDALLOC_SHORT_ID_LEN + 1];
	char owner_uid[IDALLOC_UUID_LEN + 1];
	char name[TEXT_BUF(NAME_MAX_CHARS)];
	char public_key[VPN_KEY_LEN + 1];
	int host; /* 1-2046: idalloc_device_ip */
	int version;
	int64_t created_us, updated_us;
	/* The clusters it reaches, by cid (db_vpn_devices_get and the writes
	 * fill them; lists too). */
	char cids[VPN_DEVICE_MAX_CLUSTERS][8];
	size_t ncids;
};

/* Why a write was refused (with DB_CONFLICT, or DB_OK for a bad cid). */
enum vpn_device_refusal {
	VPN_DEVICE_OK = 0,
	VPN_DEVICE_KEY_TAKEN,  /* another device of the account has this public key */
	VPN_DEVICE_EXHAUSTED,  /* all 2,046 addresses are in use */
	VPN_DEVICE_BAD_CLUSTER /* a cid is not an active cluster of the account */
};

/* Enrols dev (its aid, id, owner_uid, name and public_key are read) at the
 * smallest free host of the account, chosen under the account's row lock so
 * that instances never hand one out twice; fills host, version and times.
 * DB_CONFLICT: *why says (a unique id taken is VPN_DEVICE_OK: draw another). */
enum db_result db_vpn_devices_create(struct db_pool *db, struct vpn_device *dev,
				     const struct audit_actor *actor, enum vpn_device_refusal *why)
	__attribute__((warn_unused_result));

/* A page of devices in enrolment order after (after_us, after_id); free *out. */
enum db_result db_vpn_devices_list(struct db_pool *db, const char *aid, const char *owner,
				   int64_t after_us, const char *after_id, int limit,
				   struct vpn_device **out, size_t *n)
	__attribute__((warn_unused_result));

enum db_result db_vpn_devices_get(struct db_pool *db, const char *aid, const char *owner,
				  const char *id, struct vpn_device *out)
	__attribute__((warn_unused_result));

/* if_version != 0: only at that version, else DB_CONFLICT. */
enum db_result db_vpn_devices_rename(struct db_pool *db, const char *aid, const char *owner,
				     const char *id, const char *name, int if_version,
				     const struct audit_actor *actor, struct vpn_device *out)
	__attribute__((warn_unused_result));

/* Revokes (deletes) the device: its address is free again, and each of its
 * clusters' peer sets is sent without it. */
enum db_result db_vpn_devices_delete(struct db_pool *db, const char *aid, const char *owner,
				     const char *id, int if_version,
				     const struct audit_actor *actor)
	__attribute__((warn_unused_result));

/* The device reaches exactly cids (n of them, distinct): each must be an
 * active cluster of the account, else DB_OK with *why
 * VPN_DEVICE_BAD_CLUSTER and *bad the first that is not (nothing changed).
 * The clusters added or removed get a peer update. */
enum db_result db_vpn_devices_set_clusters(struct db_pool *db, const char *aid, const char *owner,
					   const char *id, const char (*cids)[8], size_t n,
					   int if_version, const struct audit_actor *actor,
					   struct vpn_device *out, enum vpn_device_refusal *why,
					   size_t *bad) __attribute__((warn_unused_result));

/* What a device needs to reach one of its clusters: the cluster's wg0
 * index and domain, and the wg1 server (a control-plane node that reported
 * its wg1 key, an online one first); pub_key "" when none has. */
struct vpn_device_cluster {
	char cid[8];
	int cluster_index;
	char domain[256];
	char pub_key[VPN_KEY_LEN + 1];
	char endpoint[TEXT_BUF(64)];
};

/* The device's clusters as above, by cid; free *out. */
enum db_result db_vpn_devices_clusters(struct db_pool *db, const char *aid, const char *owner,
				       const char *id, struct vpn_device_cluster **out, size_t *n)
	__attribute__((warn_unused_result));

#endif
