/* Cluster ids and indexes (see include/idalloc/clusters.h). Stateless. */
#include "idalloc/clusters.h"

#include <stdio.h>

#include <string.h>

#include "crypto/random.h"

#define CID_SPACE (26 * 36 * 36)

static const char letters_digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";

bool idalloc_is_cid(const char *s)
{
	if (strlen(s) != IDALLOC_CID_LEN || s[0] < 'a' || s[0] > 'z')
		return false;
	for (int i = 1; i < IDALLOC_CID_LEN; i++)
		if (!strchr(letters_digits, s[i]) || s[i] == '\0')
			return false;
	return true;
}

static bool taken(const char (*used)[IDALLOC_CID_LEN + 1], size_t n, const char *cid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(used[i], cid) == 0)
			return true;
	return false;
}

bool idalloc_cid(const char (*used)[IDALLOC_CID_LEN + 1], size_t n, char out[IDALLOC_CID_LEN + 1])
{
	if (n >= CID_SPACE)
		return false;
	/* An account has at most IDALLOC_MAX_CLUSTERS of 33,696 cids in use, so
	 * a random draw is free at least 99 % of the time; the bound only
	 * guards against a caller passing a nearly full set. */
	for (int attempt = 0; attempt < 1000; attempt++) {
		crypto_random_string(out, 1, "abcdefghijklmnopqrstuvwxyz");
		crypto_random_string(out + 1, 2, letters_digits);
		if (!taken(used, n, out))
			return true;
	}
	return false;
}

int idalloc_cluster_index(const bool used[IDALLOC_CLUSTER_INDEXES])
{
	for (int i = 0; i < IDALLOC_CLUSTER_INDEXES; i++) {
		if (i >= 200 && i <= 207)
			continue;
		if (!used[i])
			return i;
	}
	return -1;
}

int idalloc_vpn_host(const bool used[256])
{
	for (int host = 1; host <= 253; host++)
		if (!used[host])
			return host;
	return -1;
}

void idalloc_vpn_ip(int cluster_index, int host, char *out, size_t cap)
{
	snprintf(out, cap, IDALLOC_VPN_PREFIX "%d.%d", cluster_index, host);
}

void idalloc_vpn_subnet(int cluster_index, char *out, size_t cap)
{
	snprintf(out, cap, IDALLOC_VPN_PREFIX "%d.0/24", cluster_index);
}

void idalloc_device_ip(int host, char *out, size_t cap)
{
	snprintf(out, cap, IDALLOC_VPN_PREFIX "%d.%d", 200 + host / 256, host % 256);
}
