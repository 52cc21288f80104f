/* it_k8s_validate_dir, the integration tests' check that the Kubernetes
 * objects runosd sends are valid objects of the built-in API: it passes the
 * good fixtures of tests/k8s, counts each bad one, fails a directory without
 * objects, and judges files written the way agent-sim writes APPLY_CR's
 * objects ($SIM_CR_DIR/<tag>-<n>.json), and passes every object of an app's
 * deploy as server/apps/manifests.c renders it (fails it once broken). No
 * server: tests/k8s/selftest.sh checks the validator's reasons, this its C
 * entry point. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/manifests.h"
#include "apps/validate.h"
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

/* Each object of the array as <dir>/<prefix>-<n>.json; the number written. */
static int write_objects(const char *dir, const char *prefix, json_t *objects)
{
	size_t i;
	json_t *o;
	json_array_foreach (objects, i, o) {
		char *text = json_dumps(o, JSON_INDENT(1));
		write_file(it_fmt("%s/%s-%zu.json", dir, prefix, i), text);
		free(text);
	}
	return (int)json_array_size(objects);
}

static void remove_objects(const char *dir, const char *prefix, int n)
{
	for (int i = 0; i < n; i++)
		unlink(it_fmt("%s/%s-%d.json", dir, prefix, i));
}

TEST(app_deploy_objects)
{
	/* two ports, probes, resources, env, secrets, a custom domain and a
	 * required service: every object a deploy sends */
	json_t *body = json_loads(
		"{\"name\":\"My Shop\",\"repo\":{\"provider\":\"github\",\"url\":"
		"\"https://github.com/acme/shop\",\"branch\":\"main\"},\"servicePortMappings\":"
		"[{\"port\":3000},{\"port\":9090}],\"replicas\":2,\"healthCheckPath\":"
		"\"/healthz\",\"healthCheckPort\":9090,\"cpuRequestMc\":250,\"cpuLimitMc\":1000,"
		"\"memoryRequestMb\":256,\"memoryLimitMb\":512,\"deploymentStrategy\":\"rolling\"}",
		0, NULL);
	REQUIRE(body != NULL);
	struct app_settings a;
	app_settings_defaults(&a);
	struct app_problem p;
	const char *reserved[] = { "runos.xyz" };
	REQUIRE(app_settings_apply(&a, body, reserved, 1, &p));
	json_t *env = json_pack("{s:s, s:s}", "PORT", "3000", "LOG_LEVEL", "debug");
	json_t *secret = json_pack("{s:s, s:s}", "API_KEY", "k-123", "DATABASE_URL",
				   "postgresql://app:pw@postgresql-d6ekr:5432/app");
	const char *required[] = { "postgresql-d6ekr" };
	struct app_custom_route custom[] = { { "shop.example.com", 3000 } };
	struct app_deploy_spec spec = {
		.aid = "rjwrn",
		.cid = "i4y",
		.id = "t7r4s",
		.osid = "app-t7r4s",
		.cluster_domain = "i4y.rjwrn.runos.xyz",
		.settings = &a,
		.image_digest = "sha256:"
				"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		.sha = "0123456789abcdef0123456789abcdef01234567",
		.deployment_id = "5b0c7d3e-8f6a-4c2b-9d1e-0a1b2c3d4e5f",
		.config_version = "1",
		.env = env,
		.secret_env = secret,
		.required_osids = required,
		.nrequired = 1,
		.custom = custom,
		.ncustom = 1,
	};
	char err[256] = "";
	json_t *objects = app_manifests(&spec, err, sizeof(err));
	REQUIRE(objects != NULL);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/k8s-app-XXXXXX", it_env.tmpdir);
	REQUIRE(mkdtemp(dir) != NULL);
	int n = write_objects(dir, "deploy", objects);
	CHECK_INT_EQ(n, 8); /* and the custom domain's Certificate (cert-manager) */
	CHECK_INT_EQ(it_k8s_validate_dir(dir), 0);
	remove_objects(dir, "deploy", n);

	/* the same with a recreate strategy and one port, no probes */
	json_t *patch = json_loads("{\"deploymentStrategy\":\"recreate\",\"port\":8080}", 0, NULL);
	REQUIRE(app_settings_apply(&a, patch, reserved, 1, &p));
	a.health_check_path = NULL;
	a.health_check_port = 0;
	spec.ncustom = 0;
	json_t *again = app_manifests(&spec, err, sizeof(err));
	REQUIRE(again != NULL);
	n = write_objects(dir, "recreate", again);
	CHECK_INT_EQ(it_k8s_validate_dir(dir), 0);
	remove_objects(dir, "recreate", n);

	/* a broken Deployment (a container port as text) fails, and only it */
	json_t *d = json_array_get(objects, 4);
	json_t *c = json_array_get(
		json_object_get(
			json_object_get(json_object_get(json_object_get(d, "spec"), "template"),
					"spec"),
			"containers"),
		0);
	json_object_set_new(json_array_get(json_object_get(c, "ports"), 0), "containerPort",
			    json_string("3000"));
	n = write_objects(dir, "broken", objects);
	CHECK_INT_EQ(it_k8s_validate_dir(dir), 1);
	remove_objects(dir, "broken", n);
	rmdir(dir);
	json_decref(again);
	json_decref(patch);
	json_decref(objects);
	json_decref(env);
	json_decref(secret);
	json_decref(body);
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
	RUN(app_deploy_objects);
	return it_finish("it_k8s_validate");
}
