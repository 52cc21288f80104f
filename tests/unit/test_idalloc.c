/* Cluster id and index allocation (API.md §2). */
#include "idalloc/clusters.h"
#include "testlib.h"

TEST(cid_shape)
{
	CHECK(idalloc_is_cid("i4y"));
	CHECK(idalloc_is_cid("a00"));
	CHECK(!idalloc_is_cid("4iy"));
	CHECK(!idalloc_is_cid("I4Y"));
	CHECK(!idalloc_is_cid("i4"));
	CHECK(!idalloc_is_cid("i4yy"));
	CHECK(!idalloc_is_cid("i-y"));
	int valid = 0;
	for (int i = 0; i < 1000; i++) {
		char cid[IDALLOC_CID_LEN + 1];
		valid += idalloc_cid(NULL, 0, cid) && idalloc_is_cid(cid);
	}
	CHECK_INT_EQ(valid, 1000);
}

TEST(cid_avoids_used)
{
	/* With all but one cid starting with 'a'..'z' + "00" taken, draws still
	 * never return a used one. */
	static char used[26][IDALLOC_CID_LEN + 1];
	for (int i = 0; i < 26; i++) {
		used[i][0] = (char)('a' + i);
		used[i][1] = '0';
		used[i][2] = '0';
	}
	int clashes = 0;
	for (int i = 0; i < 2000; i++) {
		char cid[IDALLOC_CID_LEN + 1];
		if (!idalloc_cid((const char(*)[IDALLOC_CID_LEN + 1]) used, 26, cid))
			clashes++;
		else
			clashes += cid[1] == '0' && cid[2] == '0';
	}
	CHECK_INT_EQ(clashes, 0);
}

TEST(smallest_index_skips_vpn_devices)
{
	bool used[IDALLOC_CLUSTER_INDEXES] = { false };
	CHECK_INT_EQ(idalloc_cluster_index(used), 0);
	used[0] = used[1] = true;
	CHECK_INT_EQ(idalloc_cluster_index(used), 2);
	used[1] = false;
	CHECK_INT_EQ(idalloc_cluster_index(used), 1);
	for (int i = 0; i < 200; i++)
		used[i] = true;
	CHECK_INT_EQ(idalloc_cluster_index(used), 208);
	int allocated = 200;
	while (idalloc_cluster_index(used) >= 0) {
		int i = idalloc_cluster_index(used);
		CHECK_MSG(i < 200 || i > 207, "index %d is reserved", i);
		used[i] = true;
		allocated++;
	}
	CHECK_INT_EQ(allocated, IDALLOC_MAX_CLUSTERS);
	CHECK_INT_EQ(idalloc_cluster_index(used), -1);
}

TEST(vpn_hosts)
{
	bool used[256] = { false };
	CHECK_INT_EQ(idalloc_vpn_host(used), 1);
	used[0] = true; /* the network address is never handed out anyway */
	used[1] = used[2] = true;
	CHECK_INT_EQ(idalloc_vpn_host(used), 3);
	used[1] = false;
	CHECK_INT_EQ(idalloc_vpn_host(used), 1);
	for (int h = 1; h <= 253; h++)
		used[h] = true;
	CHECK_INT_EQ(idalloc_vpn_host(used), -1); /* .254 (VIP) and .255 are never used */
}

TEST(device_addresses)
{
	char ip[16];
	idalloc_device_ip(1, ip, sizeof(ip));
	CHECK_STR_EQ(ip, IDALLOC_VPN_PREFIX "200.1");
	idalloc_device_ip(256, ip, sizeof(ip));
	CHECK_STR_EQ(ip, IDALLOC_VPN_PREFIX "201.0");
	idalloc_device_ip(IDALLOC_DEVICE_HOSTS, ip, sizeof(ip));
	CHECK_STR_EQ(ip, IDALLOC_VPN_PREFIX "207.254");
}

int main(void)
{
	RUN(cid_shape);
	RUN(cid_avoids_used);
	RUN(smallest_index_skips_vpn_devices);
	RUN(vpn_hosts);
	RUN(device_addresses);
	return test_summary("unit/idalloc");
}
