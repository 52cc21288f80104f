/* it_k8s_validate_dir, the integration tests' check that the Kubernetes
 * objects runosd sends are valid objects of the built-in API: it passes the
 * good fixtures of tests/k8s, counts each bad one, fails a directory without
 * objects, and judges files written the way agent-sim writes APPLY_CR's
 * objects ($SIM_CR_DIR/<tag>-<n>.json). No server: tests/k8s/selftest.sh
 * checks the validator's reasons, this its C entry point. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static const char *fixtures(const char *which)
{
	return it_fmt("%s/tests/k8s/fixtures/%s", it_env.source_root, which);
}

static int json_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		n += len > 5 && strcmp(e->d_name + len - 5, ".json") == 0;
	}
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(good_fixtures_pass)
{
	CHECK_INT_EQ(it_k8s_validate_dir(fixtures("good")), 0);
}

TEST(each_bad_fixture_counts)
{
	/* one failure per file: each holds one bad object (or a List with one) */
	int n = json_files(fixtures("bad"));
	CHECK(n >= 20);
	CHECK_INT_EQ(it_k8s_validate_dir(fixtures("bad")), n);
}

TEST(nothing_to_check_fails)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/k8s-empty-XXXXXX", it_env.tmpdir);
	REQUIRE(mkdtemp(dir) != NULL);
	CHECK_INT_EQ(it_k8s_validate_dir(dir), 1);
	CHECK_INT_EQ(it_k8s_validate_dir(it_fmt("%s/missing", dir)), 1);
	rmdir(dir);
}

TEST(objects_written_like_agent_sim)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/k8s-sim-XXXXXX", it_env.tmpdir);
	REQUIRE(mkdtemp(dir) != NULL);
	const char *ns = it_fmt("%s/create-1.json", dir);
	write_file(ns, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
		       "\"mysql-d6ekr\",\"labels\":{\"runos.io/osid\":\"mysql-d6ekr\"}}}");
	CHECK_INT_EQ(it_k8s_validate_dir(dir), 0);
	/* a quota whose hard limits are not quantities, and a policy with a typo */
	const char *quota = it_fmt("%s/create-2.json", dir);
	write_file(quota,
		   "{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":{\"name\":"
		   "\"q\",\"namespace\":\"mysql-d6ekr\"},\"spec\":{\"hard\":{\"pods\":"
		   "\"ten\"}}}");
	const char *policy = it_fmt("%s/create-3.json", dir);
	write_file(policy, "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
			   "\"metadata\":{\"name\":\"deny\",\"namespace\":\"mysql-d6ekr\"},"
			   "\"spec\":{\"podSelektor\":{}}}");
	CHECK_INT_EQ(it_k8s_validate_dir(dir), 2);
	unlink(ns);
	unlink(quota);
	unlink(policy);
	rmdir(dir);
}

int main(void)
{
	if (!it_init("it_k8s_validate")) {
		test_failed++;
		return it_finish("it_k8s_validate");
	}
	RUN(good_fixtures_pass);
	RUN(each_bad_fixture_counts);
	RUN(nothing_to_check_fails);
	RUN(objects_written_like_agent_sim);
	return it_finish("it_k8s_validate");
}
