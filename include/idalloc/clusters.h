/* Cluster identifiers and indexes (API.md §2). These functions choose among
 * values the caller read from the database inside the transaction that
 * inserts the cluster; they hold no state. Thread safe. */
#ifndef RUNOSD_IDALLOC_CLUSTERS_H
#define RUNOSD_IDALLOC_CLUSTERS_H

#include <stdbool.h>
#include <stddef.h>

#define IDALLOC_CID_LEN 3
#define IDALLOC_CLUSTER_INDEXES 256
/* 256 indexes less 200-207, which belong to user VPN devices. */
#define IDALLOC_MAX_CLUSTERS 248

/* 3 characters: [a-z] then [a-z0-9]{2}. */
bool idalloc_is_cid(const char *s);
/* What idalloc_is_cid accepts, as a regular expression (OpenAPI). */
#define IDALLOC_CID_PATTERN "^[a-z][a-z0-9]{2}$"

/* A random cid not among the n in used; false when every cid is taken. */
bool idalloc_cid(const char (*used)[IDALLOC_CID_LEN + 1], size_t n, char out[IDALLOC_CID_LEN + 1])
	__attribute__((warn_unused_result));

/* The smallest index outside 200-207 for which used[index] is false, or -1. */
int idalloc_cluster_index(const bool used[IDALLOC_CLUSTER_INDEXES]);

/* Node VPN addresses are 172.24.<cluster index>.<host>; .254 is the control
 * plane's VIP. The smallest host in 1-253 for which used[host] is false, or
 * -1 when the cluster's subnet is full. Registration calls it inside the
 * transaction that locks the cluster and inserts the node. */
int idalloc_vpn_host(const bool used[256]);

/* The one spelling of the VPN addresses, for C and for SQL. */
#define IDALLOC_VPN_PREFIX "172.24."
#define IDALLOC_VIP_HOST 254
/* SQL: the address of a host of a cluster index, both integer expressions. */
#define IDALLOC_VPN_IP_SQL(index, host) "('" IDALLOC_VPN_PREFIX "' || " index " || '.' || " host ")"

/* "172.24.<cluster index>.<host>" into out (cap bytes; 16 always fit). */
void idalloc_vpn_ip(int cluster_index, int host, char *out, size_t cap);

/* The cluster's subnet, "172.24.<cluster index>.0/24". */
void idalloc_vpn_subnet(int cluster_index, char *out, size_t cap);

/* Users' VPN devices (wg1): 172.24.200.0/21 without its first and last
 * address, so host 1-2046 is 172.24.200.1-172.24.207.254 (host 256 is
 * 172.24.201.0, an ordinary address inside a /21). */
#define IDALLOC_DEVICE_CIDR IDALLOC_VPN_PREFIX "200.0/21"
#define IDALLOC_DEVICE_HOSTS 2046
/* SQL: the address of a device's host (an integer expression). */
#define IDALLOC_DEVICE_IP_SQL(host)                                                                \
	"('" IDALLOC_VPN_PREFIX "' || (200 + (" host ") / 256) || '.' || (" host ") % 256)"

/* "172.24.<200 + host / 256>.<host % 256>" into out (cap bytes; 16 always fit). */
void idalloc_device_ip(int host, char *out, size_t cap);

#endif
