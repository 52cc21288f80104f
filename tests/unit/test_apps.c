/* Apps (server/apps/): the DNS-safe name and generated domains, custom domain
 * checks, the create and PATCH body rules, env var sets and requires, and
 * the shapes of the Kubernetes objects of a deploy, webhook secrets and
 * signatures, and what sealed values are bound to. */
#include <stdlib.h>
#include <string.h>

#include "apps/domains.h"
#include "apps/manifests.h"
#include "apps/secrets.h"
#include "apps/validate.h"
#include "crypto/seal.h"
#include "testlib.h"
#include "util/mask.h"

static const char *const reserved[] = { "runos.xyz", "runos.io" };

TEST(dns_name)
{
	char out[APP_DNS_NAME_MAX + 1];
	app_dns_name("MyApp", out);
	CHECK_STR_EQ(out, "myapp");
	app_dns_name("  My  Cool_App!! ", out);
	CHECK_STR_EQ(out, "my-cool-app");
	app_dns_name("--x--", out);
	CHECK_STR_EQ(out, "x");
	app_dns_name("Ünïcødé", out);
	CHECK_STR_EQ(out, "n-c-d"); /* non-ASCII letters separate */
	app_dns_name("日本", out);
	CHECK_STR_EQ(out, "app");
	app_dns_name("", out);
	CHECK_STR_EQ(out, "app");
	app_dns_name("3d printer", out);
	CHECK_STR_EQ(out, "app-3d-printer");
	char long_name[200];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	long_name[50] = ' '; /* a separator right where the name is cut */
	app_dns_name(long_name, out);
	CHECK_INT_EQ(strlen(out), 50);
	CHECK(out[strlen(out) - 1] != '-');
	long_name[50] = 'a';
	app_dns_name(long_name, out);
	CHECK_INT_EQ(strlen(out), APP_DNS_NAME_MAX);
	char digits[120];
	memset(digits, '7', sizeof(digits) - 1);
	digits[sizeof(digits) - 1] = '\0';
	app_dns_name(digits, out);
	CHECK_INT_EQ(strlen(out), APP_DNS_NAME_MAX);
	CHECK(strncmp(out, "app-7", 5) == 0);
}

TEST(generated_domains)
{
	char out[APP_FQDN_MAX + 1];
	CHECK(app_generated_domain("myapp", "t7r4s", 0, 8080, "i4y.rjwrn.runos.xyz", out,
				   sizeof(out)));
	CHECK_STR_EQ(out, "myapp-t7r4s.i4y.rjwrn.runos.xyz");
	CHECK(app_generated_domain("myapp", "t7r4s", 1, 9090, "i4y.rjwrn.runos.xyz", out,
				   sizeof(out)));
	CHECK_STR_EQ(out, "myapp-t7r4s-9090.i4y.rjwrn.runos.xyz");
	/* the longest DNS-safe name with the longest port is one 63-character label */
	char name[APP_DNS_NAME_MAX + 1];
	memset(name, 'n', APP_DNS_NAME_MAX);
	name[APP_DNS_NAME_MAX] = '\0';
	CHECK(app_generated_domain(name, "t7r4s", 3, 65535, "i4y.rjwrn.runos.xyz", out,
				   sizeof(out)));
	CHECK_INT_EQ(strchr(out, '.') - out, APP_LABEL_MAX);
	/* a label over 63 or a name over 253 is refused */
	char longer[APP_DNS_NAME_MAX + 2];
	memset(longer, 'n', APP_DNS_NAME_MAX + 1);
	longer[APP_DNS_NAME_MAX + 1] = '\0';
	CHECK(!app_generated_domain(longer, "t7r4s", 3, 65535, "i4y.rjwrn.runos.xyz", out,
				    sizeof(out)));
	CHECK_STR_EQ(out, "");
	char domain[245];
	memset(domain, 'd', sizeof(domain) - 1);
	domain[sizeof(domain) - 1] = '\0';
	CHECK(!app_generated_domain("myapp", "t7r4s", 0, 80, domain, out, sizeof(out)));
}

static bool custom(const char *fqdn, char *out, struct app_problem *p)
{
	return app_custom_domain(fqdn, reserved, 2, "fqdn", out, APP_FQDN_MAX + 1, p);
}

TEST(custom_domains)
{
	char out[APP_FQDN_MAX + 1];
	struct app_problem p;
	CHECK(custom("WWW.Example.COM.", out, &p));
	CHECK_STR_EQ(out, "www.example.com");
	CHECK(custom("a-b.example.co.uk", out, &p));
	CHECK(custom("xn--bcher-kva.example", out, &p));
	CHECK(custom("shop.runos.xyz.example.com", out, &p)); /* only a suffix is reserved */
	const char *bad[] = { "",
			      "localhost",
			      "example",
			      "192.168.1.10",
			      "10.0.0.1.",
			      "::1",
			      "[2001:db8::1]",
			      "-a.example.com",
			      "a-.example.com",
			      "a..example.com",
			      ".example.com",
			      "ex ample.com",
			      "exa_mple.com",
			      "https://example.com",
			      "example.com/path",
			      "myapp-t7r4s.i4y.rjwrn.runos.xyz",
			      "runos.xyz",
			      "x.RUNOS.IO",
			      NULL };
	for (const char **b = bad; *b; b++) {
		memset(&p, 0, sizeof(p));
		CHECK_MSG(!custom(*b, out, &p), "%s was accepted", *b);
		CHECK_MSG(p.code && strncmp(p.code, "validation.", 11) == 0, "%s: no code", *b);
		CHECK_STR_EQ(p.field, "fqdn");
		CHECK(p.message[0] != '\0');
	}
	char label[80];
	memset(label, 'l', 64);
	strcpy(label + 64, ".example.com");
	CHECK(!custom(label, out, &p));
	label[1] = '.'; /* 62-character label */
	CHECK(custom(label, out, &p));
	char name[300] = "";
	while (strlen(name) < 260)
		strcat(name, "abcdefghi.");
	strcat(name, "com");
	CHECK(!custom(name, out, &p));
	CHECK_STR_EQ(p.code, "validation.length");
	char tls[300];
	app_domain_tls_secret("www.example.com", tls, sizeof(tls));
	CHECK_STR_EQ(tls, "www.example.com-tls");
}

TEST(repo_urls)
{
	char out[APP_REPO_URL_MAX];
	struct app_problem p;
	CHECK(app_repo_url("https://github.com/acme/shop", out, "repo.url", &p));
	CHECK_STR_EQ(out, "https://github.com/acme/shop");
	CHECK(app_repo_url("https://github.com/acme/shop.git", out, "repo.url", &p));
	CHECK_STR_EQ(out, "https://github.com/acme/shop");
	CHECK(app_repo_url("https://GitHub.com/Acme-Inc/my.repo_1/", out, "repo.url", &p));
	CHECK_STR_EQ(out, "https://github.com/Acme-Inc/my.repo_1");
	const char *unsupported[] = { "https://gitlab.com/acme/shop", "git@gitlab.com:acme/shop",
				      "https://bitbucket.org/acme/shop", NULL };
	for (const char **u = unsupported; *u; u++) {
		CHECK_MSG(!app_repo_url(*u, out, "repo.url", &p), "%s was accepted", *u);
		CHECK_STR_EQ(p.code, "validation.unsupported");
		CHECK(strstr(p.message, "not supported yet") != NULL);
		CHECK_STR_EQ(p.field, "repo.url");
	}
	const char *bad[] = { "http://github.com/acme/shop",
			      "https://github.com/acme",
			      "https://github.com/acme/",
			      "https://github.com/acme/shop/tree/main",
			      "https://github.com/acme/shop?x=1",
			      "https://github.com/acme/shop#readme",
			      "https://github.com/-acme/shop",
			      "https://github.com/ac--me/shop",
			      "https://github.com/acme/..",
			      "https://github.com/acme/.git",
			      "https://github.com.evil.com/acme/shop",
			      "https://user:pw@github.com/acme/shop",
			      "https://example.com/acme/shop",
			      "github.com/acme/shop",
			      NULL };
	for (const char **u = bad; *u; u++) {
		CHECK_MSG(!app_repo_url(*u, out, "repo.url", &p), "%s was accepted", *u);
		CHECK_STR_EQ(p.code, "validation.invalid");
	}
}

TEST(branches_and_shas)
{
	const char *good[] = { "main", "release/1.2", "feature/x-y_z", "v1.0", "a@b", NULL };
	for (const char **b = good; *b; b++)
		CHECK_MSG(app_branch_valid(*b), "%s refused", *b);
	const char *bad[] = { "",	   "-x",   "/x",   "x/",     "x.",	 "a..b",
			      "a b",	   "a~b",  "a^b",  "a:b",    "a?b",	 "a*b",
			      "a[b",	   "a\\b", "a//b", "x.lock", "x.lock/y", ".hidden",
			      "a/.hidden", "@",	   "a@{b", "a\tb",   NULL };
	for (const char **b = bad; *b; b++)
		CHECK_MSG(!app_branch_valid(*b), "%s accepted", *b);
	char long_branch[300];
	memset(long_branch, 'b', 256);
	long_branch[256] = '\0';
	CHECK(!app_branch_valid(long_branch));
	CHECK(app_sha_valid("0123456789abcdef0123456789abcdef01234567"));
	CHECK(!app_sha_valid("0123456789ABCDEF0123456789abcdef01234567"));
	CHECK(!app_sha_valid("0123456789abcdef0123456789abcdef0123456"));
	CHECK(!app_sha_valid("0123456789abcdef0123456789abcdef012345678"));
	CHECK(!app_sha_valid("g123456789abcdef0123456789abcdef01234567"));
	CHECK(!app_sha_valid(NULL));
}

/* A create body applied to the defaults. */
static bool create(const char *body_text, struct app_settings *s, struct app_problem *p,
		   json_t **body)
{
	*body = json_loads(body_text, 0, NULL);
	CHECK_MSG(*body != NULL, "bad test JSON %s", body_text);
	app_settings_defaults(s);
	memset(p, 0, sizeof(*p));
	return *body && app_settings_apply(s, *body, reserved, 2, p);
}

#define REPO                                                                                       \
	"\"repo\":{\"provider\":\"github\",\"url\":\"https://github.com/acme/shop.git\","          \
	"\"branch\":\"main\"}"

TEST(create_body)
{
	struct app_settings s;
	struct app_problem p;
	json_t *body;
	CHECK(create("{\"name\":\"My Shop\"," REPO ",\"port\":8080}", &s, &p, &body));
	CHECK_STR_EQ(s.dns_name, "my-shop");
	CHECK_STR_EQ(s.repo_url, "https://github.com/acme/shop");
	CHECK_STR_EQ(s.branch, "main");
	CHECK_INT_EQ(s.nports, 1);
	CHECK_INT_EQ(s.ports[0].port, 8080);
	CHECK_INT_EQ(s.replicas, 1);
	CHECK_STR_EQ(s.build_method, "buildkit");
	CHECK_STR_EQ(s.dockerfile, "Dockerfile");
	CHECK_STR_EQ(s.source_dir, ".");
	CHECK_STR_EQ(s.deployment_strategy, "rolling");
	CHECK(s.health_check_path == NULL);
	CHECK(s.access_token == NULL);
	json_decref(body);

	CHECK(create("{\"name\":\"api\"," REPO ",\"servicePortMappings\":[{\"port\":3000,"
		     "\"domains\":[\"API.example.com\"]},{\"port\":9090}],\"replicas\":3,"
		     "\"buildMethod\":\"arc\",\"dockerfile\":\"docker/Dockerfile.prod\","
		     "\"sourceDir\":\"services/api\",\"healthCheckPath\":\"/healthz\","
		     "\"healthCheckPort\":9090,\"cpuRequestMc\":250,\"cpuLimitMc\":1000,"
		     "\"memoryRequestMb\":256,\"memoryLimitMb\":512,"
		     "\"deploymentStrategy\":\"recreate\",\"accessToken\":\"ghp_abc\"}",
		     &s, &p, &body));
	CHECK_INT_EQ(s.nports, 2);
	CHECK_INT_EQ(s.ports[1].port, 9090);
	CHECK_INT_EQ(s.ports[0].ndomains, 1);
	CHECK_STR_EQ(s.ports[0].domains[0], "api.example.com");
	CHECK_INT_EQ(s.replicas, 3);
	CHECK_STR_EQ(s.build_method, "arc");
	CHECK_STR_EQ(s.health_check_path, "/healthz");
	CHECK_INT_EQ(s.health_check_port, 9090);
	CHECK_INT_EQ(s.cpu_limit_mc, 1000);
	CHECK_STR_EQ(s.deployment_strategy, "recreate");
	CHECK_STR_EQ(s.access_token, "ghp_abc");
	json_decref(body);
}

TEST(create_body_refusals)
{
	static const struct {
		const char *body, *code, *field;
	} cases[] = {
		{ "{" REPO ",\"port\":80}", "validation.required", "name" },
		{ "{\"name\":\"a\",\"port\":80}", "validation.required", "repo.url" },
		{ "{\"name\":\"a\",\"repo\":{\"url\":\"https://github.com/a/b\"},\"port\":80}",
		  "validation.required", "repo.branch" },
		{ "{\"name\":\"a\"," REPO "}", "validation.required", "port" },
		{ "{\"name\":\"\"," REPO ",\"port\":80}", "validation.length", "name" },
		{ "{\"name\":\"a\",\"repo\":{\"provider\":\"gitlab\",\"url\":"
		  "\"https://gitlab.com/a/b\",\"branch\":\"main\"},\"port\":80}",
		  "validation.unsupported", "repo.provider" },
		{ "{\"name\":\"a\",\"repo\":{\"provider\":\"github\",\"url\":"
		  "\"https://bitbucket.org/a/b\",\"branch\":\"main\"},\"port\":80}",
		  "validation.unsupported", "repo.url" },
		{ "{\"name\":\"a\",\"repo\":{\"url\":\"https://github.com/a/b\",\"branch\":"
		  "\"a..b\"},\"port\":80}",
		  "validation.invalid", "repo.branch" },
		{ "{\"name\":\"a\"," REPO ",\"port\":0}", "validation.range", "port" },
		{ "{\"name\":\"a\"," REPO ",\"port\":65536}", "validation.range", "port" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"servicePortMappings\":[{\"port\":81}]}",
		  "validation.invalid", "port" },
		{ "{\"name\":\"a\"," REPO ",\"servicePortMappings\":[]}", "validation.length",
		  "servicePortMappings" },
		{ "{\"name\":\"a\"," REPO ",\"servicePortMappings\":[{\"port\":80},{\"port\":80}]}",
		  "validation.invalid", "servicePortMappings[1].port" },
		{ "{\"name\":\"a\"," REPO ",\"servicePortMappings\":[{}]}", "validation.required",
		  "servicePortMappings[0].port" },
		{ "{\"name\":\"a\"," REPO ",\"servicePortMappings\":[{\"port\":80,\"domains\":"
		  "[\"ok.example.com\",\"1.2.3.4\"]}]}",
		  "validation.invalid", "servicePortMappings[0].domains[1]" },
		{ "{\"name\":\"a\"," REPO ",\"servicePortMappings\":[{\"port\":80,\"domains\":"
		  "[\"a.example.com\"]},{\"port\":81,\"domains\":[\"A.example.com\"]}]}",
		  "validation.invalid", "servicePortMappings[1].domains[0]" },
		{ "{\"name\":\"a\"," REPO ",\"servicePortMappings\":[{\"port\":80,\"domains\":"
		  "[\"b.example.com\",\"B.example.com.\"]}]}",
		  "validation.invalid", "servicePortMappings[0].domains[1]" },
		{ "{\"name\":\"a\"," REPO ",\"servicePortMappings\":[{\"port\":80,\"domains\":"
		  "[\"x.i4y.rjwrn.runos.xyz\"]}]}",
		  "validation.invalid", "servicePortMappings[0].domains[0]" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"replicas\":21}", "validation.range",
		  "replicas" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"replicas\":-1}", "validation.range",
		  "replicas" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"buildMethod\":\"docker\"}",
		  "validation.invalid", "buildMethod" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"deploymentStrategy\":\"blue-green\"}",
		  "validation.invalid", "deploymentStrategy" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"dockerfile\":\"../Dockerfile\"}",
		  "validation.invalid", "dockerfile" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"dockerfile\":\"/etc/passwd\"}",
		  "validation.invalid", "dockerfile" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"sourceDir\":\"a/../../b\"}",
		  "validation.invalid", "sourceDir" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"sourceDir\":\"a//b\"}",
		  "validation.invalid", "sourceDir" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"healthCheckPath\":\"healthz\"}",
		  "validation.invalid", "healthCheckPath" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"healthCheckPath\":\"/a b\"}",
		  "validation.invalid", "healthCheckPath" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"healthCheckPort\":8081}",
		  "validation.invalid", "healthCheckPort" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"cpuRequestMc\":5}", "validation.range",
		  "cpuRequestMc" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"cpuLimitMc\":64001}", "validation.range",
		  "cpuLimitMc" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"memoryLimitMb\":8}", "validation.range",
		  "memoryLimitMb" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"cpuRequestMc\":500,\"cpuLimitMc\":100}",
		  "validation.range", "cpuRequestMc" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"memoryRequestMb\":512,"
		  "\"memoryLimitMb\":256}",
		  "validation.range", "memoryRequestMb" },
		{ "{\"name\":\"a\"," REPO ",\"port\":80,\"accessToken\":\"has space\"}",
		  "validation.invalid", "accessToken" },
		{ "{\"name\":\"a\"," REPO ",\"port\":\"80\"}", "validation.type", "port" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct app_settings s;
		struct app_problem p;
		json_t *body;
		CHECK_MSG(!create(cases[i].body, &s, &p, &body), "accepted: %s", cases[i].body);
		CHECK_MSG(p.code && strcmp(p.code, cases[i].code) == 0, "%s: code %s, want %s",
			  cases[i].body, p.code ? p.code : "(none)", cases[i].code);
		CHECK_MSG(strcmp(p.field, cases[i].field) == 0, "%s: field %s, want %s",
			  cases[i].body, p.field, cases[i].field);
		CHECK(p.message[0] != '\0');
		json_decref(body);
	}
	/* a refused access token is never quoted */
	struct app_settings s;
	struct app_problem p;
	json_t *body;
	CHECK(!create("{\"name\":\"a\"," REPO ",\"port\":80,\"accessToken\":\"ghp_se cret\"}", &s,
		      &p, &body));
	CHECK(strstr(p.message, "se cret") == NULL);
	json_decref(body);
}

TEST(patch_merges_onto_the_app)
{
	struct app_settings s;
	struct app_problem p;
	json_t *body;
	CHECK(create("{\"name\":\"shop\"," REPO ",\"servicePortMappings\":[{\"port\":80},"
		     "{\"port\":81}],\"replicas\":2,\"healthCheckPath\":\"/up\"}",
		     &s, &p, &body));
	/* ?merge=true: only what is sent changes */
	json_t *patch = json_loads("{\"replicas\":4,\"repo\":{\"branch\":\"prod\"}}", 0, NULL);
	CHECK(app_settings_apply(&s, patch, reserved, 2, &p));
	CHECK_INT_EQ(s.replicas, 4);
	CHECK_STR_EQ(s.branch, "prod");
	CHECK_STR_EQ(s.repo_url, "https://github.com/acme/shop");
	CHECK_INT_EQ(s.nports, 2);
	CHECK_STR_EQ(s.health_check_path, "/up");
	json_t *bad = json_loads("{\"cpuRequestMc\":900,\"cpuLimitMc\":100}", 0, NULL);
	CHECK(!app_settings_apply(&s, bad, reserved, 2, &p));
	CHECK_STR_EQ(p.field, "cpuRequestMc");
	/* a port replaces the mappings */
	json_t *port = json_loads("{\"port\":3000}", 0, NULL);
	CHECK(app_settings_apply(&s, port, reserved, 2, &p));
	CHECK_INT_EQ(s.nports, 1);
	CHECK_INT_EQ(s.ports[0].port, 3000);
	json_decref(port);
	json_decref(bad);
	json_decref(patch);
	json_decref(body);
}

static bool env_set(const char *text, struct app_problem *p)
{
	json_t *vars = json_loads(text, JSON_ALLOW_NUL, NULL);
	CHECK_MSG(vars != NULL, "bad test JSON %s", text);
	bool ok = vars && app_env_set_check(vars, "envVars", p);
	json_decref(vars);
	return ok;
}

TEST(env_var_sets)
{
	struct app_problem p;
	CHECK(env_set("{}", &p));
	CHECK(env_set("{\"A\":\"1\",\"_b\":\"\",\"DATABASE_URL_2\":\"x\"}", &p));
	CHECK(!env_set("{\"1A\":\"x\"}", &p));
	CHECK_STR_EQ(p.field, "envVars.1A");
	CHECK_STR_EQ(p.code, "validation.invalid");
	CHECK(!env_set("{\"A-B\":\"x\"}", &p));
	CHECK(!env_set("{\"\":\"x\"}", &p));
	CHECK(!env_set("{\"A\":1}", &p));
	CHECK_STR_EQ(p.code, "validation.type");
	CHECK(!env_set("{\"A\":\"a\\u0000b\"}", &p));
	CHECK(!env_set("[]", &p));
	/* count, value size and total */
	json_t *many = json_object();
	for (int i = 0; i <= APP_ENV_MAX_VARS; i++) {
		char key[16];
		snprintf(key, sizeof(key), "K%d", i);
		json_object_set_new(many, key, json_string("v"));
	}
	CHECK(!app_env_set_check(many, "envVars", &p));
	CHECK_STR_EQ(p.code, "validation.length");
	json_object_del(many, "K0");
	CHECK(app_env_set_check(many, "envVars", &p));
	json_decref(many);
	char *big = malloc(APP_ENV_VALUE_MAX + 2);
	memset(big, 'v', APP_ENV_VALUE_MAX + 1);
	big[APP_ENV_VALUE_MAX + 1] = '\0';
	json_t *one = json_pack("{s:s}", "BIG", big);
	CHECK(!app_env_set_check(one, "envVars", &p));
	CHECK_STR_EQ(p.field, "envVars.BIG");
	big[APP_ENV_VALUE_MAX] = '\0';
	json_t *total = json_object();
	for (int i = 0; i < 5; i++) {
		char key[16];
		snprintf(key, sizeof(key), "BIG%d", i);
		json_object_set_new(total, key, json_string(big));
	}
	CHECK(!app_env_set_check(total, "envVars", &p));
	CHECK_STR_EQ(p.field, "envVars");
	json_decref(total);
	json_decref(one);
	free(big);
	char key[300];
	memset(key, 'K', 256);
	key[256] = '\0';
	CHECK(!app_env_key_valid(key));
	key[255] = '\0';
	CHECK(app_env_key_valid(key));
}

TEST(requires_and_disjoint_sets)
{
	struct app_problem p;
	json_t *req = json_loads("{\"db\":{\"type\":\"postgresql\",\"id\":\"d6ekr\",\"env\":"
				 "{\"url\":\"DATABASE_URL\",\"password\":\"DB_PASSWORD\"}},"
				 "\"cache\":{\"type\":\"valkey\",\"id\":\"k3v9z\",\"env\":"
				 "{\"url\":\"REDIS_URL\"}}}",
				 0, NULL);
	json_t *injected = NULL;
	CHECK(app_requires_check(req, &injected, &p));
	CHECK_INT_EQ(json_object_size(injected), 3);
	CHECK_STR_EQ(json_string_value(json_object_get(injected, "DATABASE_URL")), "requires.db");

	json_t *plain = json_pack("{s:s, s:s}", "PORT", "8080", "SHARED", "x");
	json_t *secret = json_pack("{s:s, s:s}", "API_KEY", "k", "SHARED", "y");
	CHECK(!app_env_disjoint(secret, "envVars", plain, "envVars", &p));
	CHECK_STR_EQ(p.field, "envVars.SHARED");
	CHECK(strstr(p.message, "SHARED") != NULL);
	json_object_del(secret, "SHARED");
	CHECK(app_env_disjoint(secret, "envVars", plain, "envVars", &p));
	json_object_set_new(plain, "DB_PASSWORD", json_string("x"));
	CHECK(!app_env_disjoint(plain, "envVars", injected, "requires", &p));
	CHECK_STR_EQ(p.field, "envVars.DB_PASSWORD");
	CHECK(strstr(p.message, "requires.db") != NULL);
	json_decref(plain);
	json_decref(secret);
	json_decref(injected);
	json_decref(req);

	static const struct {
		const char *requires, *field;
	} bad[] = {
		{ "{\"1db\":{\"type\":\"postgresql\",\"id\":\"d6ekr\",\"env\":{\"url\":\"U\"}}}",
		  "requires.1db" },
		{ "{\"db\":{\"type\":\"oracle\",\"id\":\"d6ekr\",\"env\":{\"url\":\"U\"}}}",
		  "requires.db.type" },
		{ "{\"db\":{\"type\":\"postgresql\",\"id\":\"D6EKR\",\"env\":{\"url\":\"U\"}}}",
		  "requires.db.id" },
		{ "{\"db\":{\"type\":\"postgresql\",\"id\":\"d6ekr\",\"env\":{}}}",
		  "requires.db.env" },
		{ "{\"db\":{\"type\":\"postgresql\",\"id\":\"d6ekr\",\"env\":{\"secret\":\"U\"}}}",
		  "requires.db.env.secret" },
		{ "{\"db\":{\"type\":\"postgresql\",\"id\":\"d6ekr\",\"env\":{\"url\":\"1U\"}}}",
		  "requires.db.env.url" },
		{ "{\"db\":{\"type\":\"postgresql\",\"id\":\"d6ekr\",\"env\":{\"url\":\"U\"},"
		  "\"extra\":1}}",
		  "requires.db" },
		{ "{\"a\":{\"type\":\"postgresql\",\"id\":\"d6ekr\",\"env\":{\"url\":\"U\"}},"
		  "\"b\":{\"type\":\"valkey\",\"id\":\"k3v9z\",\"env\":{\"url\":\"U\"}}}",
		  "requires.b.env.url" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *r = json_loads(bad[i].requires, 0, NULL);
		CHECK_MSG(r != NULL, "bad test JSON %s", bad[i].requires);
		memset(&p, 0, sizeof(p));
		CHECK_MSG(!app_requires_check(r, NULL, &p), "accepted: %s", bad[i].requires);
		CHECK_MSG(strcmp(p.field, bad[i].field) == 0, "%s: field %s, want %s",
			  bad[i].requires, p.field, bad[i].field);
		json_decref(r);
	}
}

/* An app with two ports (a custom domain on the first), probes on the
 * second, resources, env and secret env, and a required service. */
static const struct app_custom_route custom_routes[] = { { "shop.example.com", 3000 } };
static const char *const required[] = { "postgresql-d6ekr" };

static bool deploy_spec(struct app_settings *a, json_t **body, json_t **env, json_t **secret,
			struct app_deploy_spec *s)
{
	struct app_problem p;
	bool ok = create("{\"name\":\"My Shop\"," REPO ",\"servicePortMappings\":[{\"port\":3000},"
			 "{\"port\":9090}],\"replicas\":2,\"healthCheckPath\":\"/healthz\","
			 "\"healthCheckPort\":9090,\"cpuRequestMc\":250,\"cpuLimitMc\":1000,"
			 "\"memoryRequestMb\":256,\"memoryLimitMb\":512}",
			 a, &p, body);
	CHECK_MSG(ok, "%s", p.message);
	*env = json_pack("{s:s, s:s}", "PORT", "3000", "LOG_LEVEL", "debug");
	*secret = json_pack("{s:s, s:s}", "API_KEY", "canary-secret-value", "DATABASE_URL",
			    "postgresql://app:pw@postgresql-d6ekr:5432/app");
	*s = (struct app_deploy_spec){
		.aid = "rjwrn",
		.cid = "i4y",
		.id = "t7r4s",
		.osid = "app-t7r4s",
		.cluster_domain = "i4y.rjwrn.runos.xyz",
		.settings = a,
		.image_digest = "sha256:"
				"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		.sha = "0123456789abcdef0123456789abcdef01234567",
		.deployment_id = "5b0c7d3e-8f6a-4c2b-9d1e-0a1b2c3d4e5f",
		.config_version = "3",
		.env = *env,
		.secret_env = *secret,
		.required_osids = required,
		.nrequired = 1,
		.custom = custom_routes,
		.ncustom = 1,
	};
	return ok;
}

static const char *str_at(json_t *obj, const char *path)
{
	json_t *cur = obj;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save = NULL, *part = strtok_r(buf, ".", &save); part && cur;
	     part = strtok_r(NULL, ".", &save)) {
		char *end;
		long index = strtol(part, &end, 10);
		cur = *end == '\0' ? json_array_get(cur, (size_t)index)
				   : json_object_get(cur, part);
	}
	return json_is_string(cur) ? json_string_value(cur) : NULL;
}

static long long int_at(json_t *obj, const char *path)
{
	json_t *cur = obj;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save = NULL, *part = strtok_r(buf, ".", &save); part && cur;
	     part = strtok_r(NULL, ".", &save)) {
		char *end;
		long index = strtol(part, &end, 10);
		cur = *end == '\0' ? json_array_get(cur, (size_t)index)
				   : json_object_get(cur, part);
	}
	return json_is_integer(cur) ? (long long)json_integer_value(cur) : -1;
}

TEST(deploy_objects)
{
	struct app_settings a;
	json_t *body, *env, *secret;
	struct app_deploy_spec s;
	if (!deploy_spec(&a, &body, &env, &secret, &s))
		return;
	char err[256] = "";
	json_t *all = app_manifests(&s, err, sizeof(err));
	CHECK_MSG(all != NULL, "%s", err);
	if (!all)
		return;
	CHECK_INT_EQ(json_array_size(all), 8);
	const char *kinds[] = { "Namespace",  "NetworkPolicy", "ConfigMap", "Secret",
				"Deployment", "Service",       "Ingress",   "Certificate" };
	for (size_t i = 0; i < 8; i++) {
		json_t *o = json_array_get(all, i);
		CHECK_STR_EQ(str_at(o, "kind"), kinds[i]);
		CHECK_STR_EQ(json_string_value(json_object_get(
				     json_object_get(json_object_get(o, "metadata"), "labels"),
				     "runos.io/osid")),
			     "app-t7r4s");
		if (i > 0)
			CHECK_STR_EQ(str_at(o, "metadata.namespace"), "app-t7r4s");
	}
	json_t *ns = json_array_get(all, 0);
	CHECK_STR_EQ(str_at(ns, "metadata.name"), "app-t7r4s");
	CHECK(json_object_get(json_object_get(json_object_get(ns, "metadata"), "labels"),
			      "requires.runos.io/postgresql-d6ekr") != NULL);

	json_t *cm = json_array_get(all, 2);
	CHECK_STR_EQ(str_at(cm, "metadata.name"), "app-t7r4s-env");
	CHECK_STR_EQ(str_at(cm, "data.LOG_LEVEL"), "debug");
	json_t *sec = json_array_get(all, 3);
	CHECK_STR_EQ(str_at(sec, "metadata.name"), "app-t7r4s-secret-env");
	CHECK_STR_EQ(str_at(sec, "type"), "Opaque");
	CHECK_STR_EQ(str_at(sec, "stringData.API_KEY"), "canary-secret-value");
	/* the secret is in the Secret only */
	for (size_t i = 0; i < 7; i++) {
		if (i == 3)
			continue;
		char *text = json_dumps(json_array_get(all, i), 0);
		CHECK_MSG(strstr(text, "canary-secret-value") == NULL, "%s holds the secret",
			  kinds[i]);
		free(text);
	}

	json_t *d = json_array_get(all, 4);
	CHECK_STR_EQ(str_at(d, "metadata.name"), "app-t7r4s");
	CHECK_INT_EQ(int_at(d, "spec.replicas"), 2);
	CHECK_STR_EQ(str_at(d, "spec.strategy.type"), "RollingUpdate");
	CHECK_INT_EQ(int_at(d, "spec.strategy.rollingUpdate.maxUnavailable"), 0);
	CHECK_STR_EQ(str_at(d, "spec.template.spec.containers.0.image"),
		     "harbor.i4y.rjwrn.runos.xyz/app-t7r4s/app@sha256:"
		     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	CHECK_INT_EQ(int_at(d, "spec.template.spec.containers.0.ports.1.containerPort"), 9090);
	CHECK_STR_EQ(str_at(d, "spec.template.spec.containers.0.readinessProbe.httpGet.path"),
		     "/healthz");
	CHECK_INT_EQ(int_at(d, "spec.template.spec.containers.0.livenessProbe.httpGet.port"), 9090);
	CHECK_STR_EQ(str_at(d, "spec.template.spec.containers.0.resources.requests.cpu"), "250m");
	CHECK_STR_EQ(str_at(d, "spec.template.spec.containers.0.resources.limits.memory"), "512Mi");
	CHECK_STR_EQ(str_at(d, "spec.template.spec.containers.0.envFrom.0.configMapRef.name"),
		     "app-t7r4s-env");
	CHECK_STR_EQ(str_at(d, "spec.template.spec.containers.0.envFrom.1.secretRef.name"),
		     "app-t7r4s-secret-env");
	json_t *tmpl_ann = json_object_get(
		json_object_get(json_object_get(json_object_get(d, "spec"), "template"),
				"metadata"),
		"annotations");
	CHECK_STR_EQ(json_string_value(json_object_get(tmpl_ann, "runos.io/config-version")), "3");
	CHECK_STR_EQ(
		json_string_value(json_object_get(
			json_object_get(json_object_get(json_object_get(d, "spec"), "selector"),
					"matchLabels"),
			"runos.io/osid")),
		"app-t7r4s");

	json_t *svc = json_array_get(all, 5);
	CHECK_STR_EQ(str_at(svc, "spec.type"), "ClusterIP");
	CHECK_INT_EQ(json_array_size(json_object_get(json_object_get(svc, "spec"), "ports")), 2);
	CHECK_INT_EQ(int_at(svc, "spec.ports.1.port"), 9090);

	json_t *ing = json_array_get(all, 6);
	CHECK_STR_EQ(str_at(ing, "spec.ingressClassName"), "traefik");
	CHECK_INT_EQ(json_array_size(json_object_get(json_object_get(ing, "spec"), "rules")), 3);
	CHECK_STR_EQ(str_at(ing, "spec.rules.0.host"), "my-shop-t7r4s.i4y.rjwrn.runos.xyz");
	CHECK_STR_EQ(str_at(ing, "spec.rules.1.host"), "my-shop-t7r4s-9090.i4y.rjwrn.runos.xyz");
	CHECK_INT_EQ(int_at(ing, "spec.rules.1.http.paths.0.backend.service.port.number"), 9090);
	CHECK_STR_EQ(str_at(ing, "spec.rules.2.host"), "shop.example.com");
	CHECK_STR_EQ(str_at(ing, "spec.tls.0.hosts.1"), "my-shop-t7r4s-9090.i4y.rjwrn.runos.xyz");
	CHECK(json_object_get(
		      json_array_get(json_object_get(json_object_get(ing, "spec"), "tls"), 0),
		      "secretName") == NULL); /* the wildcard: Traefik's default */
	CHECK_STR_EQ(str_at(ing, "spec.tls.1.secretName"), "shop.example.com-tls");
	/* the custom domain's Certificate writes that secret (cert-manager) */
	json_t *cert = json_array_get(all, 7);
	CHECK_STR_EQ(str_at(cert, "apiVersion"), "cert-manager.io/v1");
	CHECK_STR_EQ(str_at(cert, "metadata.name"), "shop.example.com");
	CHECK_STR_EQ(str_at(cert, "spec.secretName"), "shop.example.com-tls");
	CHECK_STR_EQ(str_at(cert, "spec.dnsNames.0"), "shop.example.com");
	CHECK_STR_EQ(str_at(cert, "spec.issuerRef.name"), APP_CERT_ISSUER);
	CHECK_STR_EQ(str_at(cert, "spec.issuerRef.kind"), "ClusterIssuer");
	json_decref(all);

	/* recreate, no probes, no resources, one port */
	json_t *patch = json_loads("{\"deploymentStrategy\":\"recreate\",\"port\":80}", 0, NULL);
	struct app_problem p;
	CHECK(app_settings_apply(&a, patch, reserved, 2, &p));
	a.health_check_path = NULL;
	a.health_check_port = a.cpu_request_mc = a.cpu_limit_mc = 0;
	a.memory_request_mb = a.memory_limit_mb = 0;
	s.ncustom = 0;
	json_t *d2 = app_manifest_deployment(&s);
	CHECK_STR_EQ(str_at(d2, "spec.strategy.type"), "Recreate");
	json_t *c = json_array_get(
		json_object_get(
			json_object_get(json_object_get(json_object_get(d2, "spec"), "template"),
					"spec"),
			"containers"),
		0);
	CHECK(json_object_get(c, "readinessProbe") == NULL);
	CHECK(json_object_get(c, "resources") == NULL);
	json_decref(d2);
	json_decref(patch);

	/* generated domains that do not fit: no objects, a message */
	char domain[250];
	memset(domain, 'd', sizeof(domain) - 1);
	domain[sizeof(domain) - 1] = '\0';
	s.cluster_domain = domain;
	CHECK(app_manifests(&s, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "shorter name") != NULL);

	char tag[300];
	app_image_tag("i4y.rjwrn.runos.xyz", "app-t7r4s",
		      "0123456789abcdef0123456789abcdef01234567", tag, sizeof(tag));
	CHECK_STR_EQ(tag, "harbor.i4y.rjwrn.runos.xyz/app-t7r4s/app:"
			  "0123456789abcdef0123456789abcdef01234567");
	json_decref(env);
	json_decref(secret);
	json_decref(body);
}

TEST(webhook_signatures)
{
	/* GitHub's documented example ("Validating webhook deliveries") */
	const char *secret = "It's a Secret to Everybody", *body = "Hello, World!";
	const char *good =
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
	CHECK(app_webhook_signature_ok(secret, body, strlen(body), good));
	CHECK(!app_webhook_signature_ok("another secret", body, strlen(body), good));
	CHECK(!app_webhook_signature_ok(secret, "Hello, World?", 13, good));
	CHECK(!app_webhook_signature_ok(secret, body, strlen(body), NULL));
	CHECK(!app_webhook_signature_ok(secret, body, strlen(body), ""));
	CHECK(!app_webhook_signature_ok(secret, body, strlen(body), good + 7));
	CHECK(!app_webhook_signature_ok(
		secret, body, strlen(body),
		"sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
	char cut[80];
	snprintf(cut, sizeof(cut), "%.*s", (int)strlen(good) - 1, good);
	CHECK(!app_webhook_signature_ok(secret, body, strlen(body), cut));
	char longer[90];
	snprintf(longer, sizeof(longer), "%s0", good);
	CHECK(!app_webhook_signature_ok(secret, body, strlen(body), longer));
	/* a body with NUL bytes is signed whole */
	const char raw[] = { 'a', 0, 'b' };
	CHECK(!app_webhook_signature_ok(secret, raw, sizeof(raw), good));

	char a[APP_WEBHOOK_SECRET_LEN + 1], b[APP_WEBHOOK_SECRET_LEN + 1];
	app_webhook_secret_new(a);
	app_webhook_secret_new(b);
	CHECK_INT_EQ(strlen(a), APP_WEBHOOK_SECRET_LEN);
	CHECK(strncmp(a, "rnw_", 4) == 0);
	CHECK(strcmp(a, b) != 0);
	char *masked = mask_secrets(a);
	CHECK_MSG(strstr(masked, a + 4) == NULL, "not masked: %s", masked);
	free(masked);
}

TEST(sealed_values_are_bound)
{
	uint8_t key[1][SEAL_KEY_LEN];
	memset(key, 7, sizeof(key));
	struct seal_keyring *ring = crypto_keyring_create(key, 1);
	char aad_a[200], aad_b[200], aad_other[200], aad_token[200];
	app_env_aad("rjwrn", "i4y", "app-t7r4s", "API_KEY", aad_a, sizeof(aad_a));
	CHECK_STR_EQ(aad_a, "rjwrn/apps/i4y/app-t7r4s/env/API_KEY");
	app_env_aad("rjwrn", "i4y", "app-t7r4s", "OTHER", aad_b, sizeof(aad_b));
	app_env_aad("rjwrn", "i4y", "app-q1w2e", "API_KEY", aad_other, sizeof(aad_other));
	app_seal_aad("rjwrn", "i4y", "app-t7r4s", "access-token", aad_token, sizeof(aad_token));
	CHECK_STR_EQ(aad_token, "rjwrn/apps/i4y/app-t7r4s/access-token");
	char *sealed = crypto_seal(ring, "value", 5, aad_a);
	size_t len;
	uint8_t *plain = crypto_unseal(ring, sealed, aad_a, &len);
	CHECK(plain && len == 5 && memcmp(plain, "value", 5) == 0);
	if (plain)
		crypto_free_secret(plain, len);
	CHECK(crypto_unseal(ring, sealed, aad_b, &len) == NULL);
	CHECK(crypto_unseal(ring, sealed, aad_other, &len) == NULL);
	CHECK(crypto_unseal(ring, sealed, aad_token, &len) == NULL);
	free(sealed);
	crypto_keyring_destroy(ring);
}

TEST(secret_values_with_injections)
{
	json_t *secret = json_pack("{s:s}", "API_KEY", "k");
	json_t *env = json_pack("{s:s, s:s, s:s}", "url", "DATABASE_URL", "port", "DB_PORT",
				"database", "DB_NAME");
	json_t *creds = json_pack("{s:s, s:s, s:i, s:s}", "url", "postgresql://app:pw@h:5432/app",
				  "password", "pw", "port", 5432, "host", "h");
	struct app_injection inj = { env, creds };
	json_t *values = app_secret_values(secret, &inj, 1);
	CHECK_INT_EQ(json_object_size(values), 3);
	CHECK_STR_EQ(json_string_value(json_object_get(values, "API_KEY")), "k");
	CHECK_STR_EQ(json_string_value(json_object_get(values, "DATABASE_URL")),
		     "postgresql://app:pw@h:5432/app");
	CHECK_STR_EQ(json_string_value(json_object_get(values, "DB_PORT")), "5432");
	CHECK(json_object_get(values, "DB_NAME") == NULL); /* a valkey has no database */
	json_decref(values);
	values = app_secret_values(NULL, NULL, 0);
	CHECK_INT_EQ(json_object_size(values), 0);
	json_decref(values);
	json_decref(creds);
	json_decref(env);
	json_decref(secret);
}

int main(void)
{
	RUN(dns_name);
	RUN(generated_domains);
	RUN(custom_domains);
	RUN(repo_urls);
	RUN(branches_and_shas);
	RUN(create_body);
	RUN(create_body_refusals);
	RUN(patch_merges_onto_the_app);
	RUN(env_var_sets);
	RUN(requires_and_disjoint_sets);
	RUN(deploy_objects);
	RUN(secret_values_with_injections);
	RUN(webhook_signatures);
	RUN(sealed_values_are_bound);
	return test_summary("test_apps");
}
