/* Custom domains of apps (docs/apps.md "Custom domains") against a real DNS
 * server: dnsmasq (Debian's dnsmasq-base) on a free port of 127.0.0.1 with
 * no upstream and no hosts file, serving only the records this test gives
 * it, and runosd started with RUNOS_DNS_SERVER pointing at it. The test
 * fails (it does not skip) when dnsmasq is not installed.
 *  - a domain whose CNAME is the app's generated domain is verified by the
 *    background verifier alone; the app runs (a succeeded deployment), so an
 *    app.configure job applies its Ingress rule and a cert-manager
 *    Certificate, which tests/k8s/validate.mjs checks against cert-manager's
 *    schema (the Ingress against Kubernetes');
 *  - one whose TXT _runos-challenge record holds the token is verified at
 *    POST …/verify once the record exists (before: still pending);
 *  - a CNAME to somewhere else stays pending, checked with backoff;
 *  - a fqdn of another app (another tenant's) is 409 without naming it; bad
 *    names are 400; another tenant gets 404; a viewer reads but cannot add. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define DNSMASQ "/usr/sbin/dnsmasq"
#define APP_ID "dmapp"
#define OTHER_APP "dmoth"
#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct it_server *srv;
static struct it_user owner, other;
static PGconn *pg;
static int dns_port;
static pid_t dns_pid;
static char cid[8], other_cid[8], generated[300];

static void dns_stop(void)
{
	if (dns_pid > 0) {
		kill(dns_pid, SIGKILL);
		waitpid(dns_pid, NULL, 0);
	}
	dns_pid = 0;
}

/* (Re)starts dnsmasq with these record options (NULL-terminated); waits
 * until it answers. */
static bool dns_start(const char *const *records)
{
	dns_stop();
	const char *argv[32] = { DNSMASQ,
				 "--keep-in-foreground",
				 "--conf-file=/dev/null",
				 "--no-resolv",
				 "--no-hosts",
				 "--bind-interfaces",
				 "--listen-address=127.0.0.1",
				 "--user=root",
				 "--pid-file=",
				 it_fmt("--port=%d", dns_port) };
	size_t n = 10;
	for (size_t i = 0; records[i] && n < 31; i++)
		argv[n++] = records[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		execv(DNSMASQ, (char *const *)argv);
		_exit(127);
	}
	dns_pid = pid;
	/* It binds at once (before it answers anything): alive after a
	 * moment means listening, as it exits when it cannot bind. */
	it_sleep_ms(300);
	int status;
	if (waitpid(pid, &status, WNOHANG) == pid) {
		dns_pid = 0;
		fprintf(stderr, "dnsmasq exited (status %d)\n", status);
		return false;
	}
	return true;
}

static const char *base(void)
{
	return it_fmt("/%s/%s/apps/%s/domains", owner.aid, cid, APP_ID);
}

/* A cluster of u (active, as agents would leave it), with app id. */
static bool cluster_and_app(const struct it_user *u, char out_cid[8], const char *id)
{
	struct it_resp r =
		it_call(srv, "POST", u->token, "{\"name\":\"domains\"}", "/%s/clusters", u->aid);
	bool ok = r.status == 201;
	snprintf(out_cid, 8, "%s", it_json_str(r.json, "cid") ?: "");
	it_resp_free(&r);
	const char *p[] = { u->aid, out_cid, id };
	return ok &&
	       it_db_exec(pg,
			  "UPDATE clusters SET status = 'active', configured = true"
			  " WHERE aid = $1 AND cid = $2",
			  2, p) &&
	       it_db_exec(pg,
			  "INSERT INTO apps (aid, cid, id, name, dns_name, repo_provider, repo_url,"
			  " repo_branch, ports, webhook_secret) VALUES ($1, $2, $3, 'Shop', 'shop',"
			  " 'github', 'https://github.com/runos/shop', 'main', '{8080,9090}',"
			  " 'sealed-fixture')",
			  3, p);
}

/* GET the list until fqdn has status (or 8 s pass); that domain's status. */
static const char *await_status(const char *fqdn, const char *status)
{
	static char seen[16];
	double deadline = it_now_ms() + 8000;
	for (;;) {
		struct it_resp r = it_call(srv, "GET", owner.token, NULL, "%s", base());
		seen[0] = '\0';
		json_t *list = it_json_get(r.json, "domains");
		size_t i;
		json_t *d;
		json_array_foreach (list, i, d)
			if (strcmp(it_json_str(d, "fqdn") ?: "", fqdn) == 0)
				snprintf(seen, sizeof(seen), "%s", it_json_str(d, "status") ?: "");
		it_resp_free(&r);
		if (strcmp(seen, status) == 0 || it_now_ms() > deadline)
			return seen;
		it_sleep_ms(200);
	}
}

/* The APPLY_CR objects of the app's newest app.configure job into dir (one
 * file each), waiting up to 5 s for it to be there; how many, -1 when there
 * is no such job. */
static int configure_objects_try(const char *dir, char job[40], int attempt)
{
	const char *p[] = { owner.aid, APP_ID };
	PGresult *res = PQexecParams(
		pg,
		"SELECT j.id::text, convert_from(decode(si.payload->>'crB64', 'base64'), 'UTF8')"
		" FROM jobs j JOIN job_steps s ON s.job_id = j.id JOIN step_instructions si"
		" ON si.step_id = s.id WHERE j.aid = $1 AND j.target_id = $2"
		" AND j.type = 'app.configure' AND si.type = 'APPLY_CR' AND si.payload ? 'crB64'"
		" AND j.created_at = (SELECT max(created_at) FROM jobs WHERE aid = $1"
		" AND target_id = $2 AND type = 'app.configure') ORDER BY si.ord",
		2, NULL, p, NULL, NULL, 0);
	int n = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : -1;
	if (n <= 0 && attempt < 25) { /* the job follows the verification */
		PQclear(res);
		it_sleep_ms(200);
		return configure_objects_try(dir, job, attempt + 1);
	}
	if (n <= 0) {
		fprintf(stderr, "no configure job: %s\n", PQerrorMessage(pg));
		PQclear(res);
		return -1;
	}
	snprintf(job, 40, "%s", PQgetvalue(res, 0, 0));
	mkdir(dir, 0700);
	for (int i = 0; i < n; i++) {
		FILE *f = fopen(it_fmt("%s/%02d.json", dir, i), "w");
		if (f) {
			fputs(PQgetvalue(res, i, 1), f);
			fclose(f);
		}
	}
	PQclear(res);
	return n;
}

static int configure_objects(const char *dir, char job[40])
{
	return configure_objects_try(dir, job, 0);
}

TEST(dnsmasq_is_installed)
{
	CHECK_MSG(access(DNSMASQ, X_OK) == 0,
		  "%s is missing: install dnsmasq-base (scripts/dev.sh packages)", DNSMASQ);
}

TEST(cname_verified_in_background_and_routed)
{
	REQUIRE(dns_start((const char *const[]){ it_fmt("--host-record=%s,127.0.0.1", generated),
						 "--host-record=elsewhere.example.net,127.0.0.2",
						 it_fmt("--cname=shop.example.com,%s", generated),
						 "--cname=wrong.example.com,elsewhere.example.net",
						 NULL }));
	struct it_resp r =
		it_call(srv, "POST", owner.token, "{\"fqdn\":\"Shop.Example.com.\"}", "%s", base());
	CHECK_STATUS(r, 201);
	CHECK_STR_EQ(it_json_str(r.json, "fqdn"), "shop.example.com");
	CHECK_STR_EQ(it_json_str(r.json, "status"), "pending");
	CHECK_STR_EQ(it_json_str(r.json, "verification.type"), "CNAME");
	CHECK_STR_EQ(it_json_str(r.json, "verification.name"), "shop.example.com");
	CHECK_STR_EQ(it_json_str(r.json, "verification.value"), generated);
	CHECK_STR_EQ(it_json_str(r.json, "verification.txt.name"),
		     "_runos-challenge.shop.example.com");
	CHECK(strncmp(it_json_str(r.json, "verification.txt.value") ?: "", "rnv_", 4) == 0);
	CHECK_STR_EQ(it_json_str(r.json, "certificate.status"), "none");
	it_resp_free(&r);
	/* No call verifies it: the background verifier does. */
	CHECK_STR_EQ(await_status("shop.example.com", "verified"), "verified");
	r = it_call(srv, "GET", owner.token, NULL, "%s", base());
	CHECK_STR_EQ(it_json_str(r.json, "domains.0.certificate.status"), "pending");
	CHECK(it_json_str(r.json, "domains.0.checkedAt") != NULL);
	it_resp_free(&r);

	/* The app runs: its objects went again with the domain's rule and a
	 * Certificate, valid by the schemas. */
	const char *dir = it_fmt("%s/domains-configure", getenv("RUNOS_TEST_TMPDIR") ?: "/tmp");
	char job[40] = "";
	CHECK(configure_objects(dir, job) >= 7); /* the Secret is sealed */
	char *ingress = NULL, *cert = NULL;
	it_shell_output(it_fmt("cat %s/*.json | grep -o '\"host\":\"shop.example.com\"'", dir),
			&ingress);
	it_shell_output(it_fmt("grep -l '\"kind\":\"Certificate\"' %s/*.json | xargs cat", dir),
			&cert);
	CHECK(ingress && strstr(ingress, "shop.example.com") != NULL);
	CHECK(cert && strstr(cert, "\"secretName\":\"shop.example.com-tls\"") != NULL);
	CHECK(cert && strstr(cert, "\"name\":\"letsencrypt\"") != NULL);
	CHECK(cert && strstr(cert, "\"kind\":\"ClusterIssuer\"") != NULL);
	free(ingress);
	free(cert);
	CHECK_INT_EQ(it_k8s_validate_dir(dir), 0);
}

TEST(wrong_cname_stays_pending_with_backoff)
{
	struct it_resp r = it_call(srv, "POST", owner.token,
				   "{\"fqdn\":\"wrong.example.com\",\"port\":9090}", "%s", base());
	CHECK_STATUS(r, 201);
	CHECK_STR_EQ(it_json_str(r.json, "verification.value"),
		     it_fmt("shop-%s-9090.%s", APP_ID, strchr(generated, '.') + 1));
	it_resp_free(&r);
	r = it_call(srv, "POST", owner.token, NULL, "%s/wrong.example.com/verify", base());
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "status"), "pending");
	CHECK(it_json_str(r.json, "checkedAt") != NULL);
	it_resp_free(&r);
	/* Each failed check puts the next further off (30 s and more). */
	const char *p[] = { "wrong.example.com" };
	CHECK(it_db_count(pg, "SELECT attempts FROM app_domains WHERE fqdn = $1", 1, p) >= 1);
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM app_domains WHERE fqdn = $1 AND"
				 " next_check_at > now() + interval '20 seconds'",
				 1, p),
		     1);
	/* Given up (as after two days of checks): POST verify tries again. */
	CHECK(it_db_exec(pg, "UPDATE app_domains SET status = 'failed' WHERE fqdn = $1", 1, p));
	r = it_call(srv, "POST", owner.token, NULL, "%s/wrong.example.com/verify", base());
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "status"), "pending");
	it_resp_free(&r);
}

TEST(txt_record_verifies_at_verify)
{
	struct it_resp r = it_call(srv, "POST", owner.token, "{\"fqdn\":\"www.shop.example.org\"}",
				   "%s", base());
	CHECK_STATUS(r, 201);
	char token[64];
	snprintf(token, sizeof(token), "%s", it_json_str(r.json, "verification.txt.value") ?: "");
	it_resp_free(&r);
	r = it_call(srv, "POST", owner.token, NULL, "%s/www.shop.example.org/verify", base());
	CHECK_STR_EQ(it_json_str(r.json, "status"), "pending");
	it_resp_free(&r);
	REQUIRE(dns_start((const char *const[]){
		it_fmt("--host-record=%s,127.0.0.1", generated),
		it_fmt("--cname=shop.example.com,%s", generated),
		"--txt-record=_runos-challenge.www.shop.example.org,not-the-token",
		it_fmt("--txt-record=_runos-challenge.www.shop.example.org,%s", token), NULL }));
	double started = it_now_ms();
	r = it_call(srv, "POST", owner.token, NULL, "%s/www.shop.example.org/verify", base());
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "status"), "verified");
	CHECK(it_now_ms() - started < 3000);
	it_resp_free(&r);
}

TEST(taken_and_bad_names)
{
	/* Another tenant's app cannot have it; the refusal names neither. */
	struct it_resp r = it_call(srv, "POST", other.token, "{\"fqdn\":\"shop.example.com\"}",
				   "/%s/%s/apps/%s/domains", other.aid, other_cid, OTHER_APP);
	CHECK_ERROR(r, 409, "domain.taken");
	CHECK(r.body && !strstr(r.body, owner.aid) && !strstr(r.body, APP_ID) &&
	      !strstr(r.body, cid));
	it_resp_free(&r);
	r = it_call(srv, "POST", owner.token, "{\"fqdn\":\"shop.example.com\"}", "%s", base());
	CHECK_ERROR(r, 409, "domain.exists");
	it_resp_free(&r);
	char longname[300];
	memset(longname, 'a', sizeof(longname));
	for (int i = 60; i < 280; i += 61)
		longname[i] = '.';
	snprintf(longname + 270, 30, ".example.com");
	const char *bad[] = { "1.2.3.4",
			      "[::1]",
			      "::1",
			      "localhost",
			      "a..b.com",
			      "-a.example.com",
			      "a_b.example.com",
			      longname,
			      it_fmt("x.%s", cid),
			      it_fmt("shop.%s", strchr(generated, '.') + 1),
			      "www.runos.xyz" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = it_call(srv, "POST", owner.token, it_fmt("{\"fqdn\":\"%s\"}", bad[i]), "%s",
			    base());
		CHECK_MSG(r.status == 400, "%s: %ld %s", bad[i], r.status, r.body);
		it_resp_free(&r);
	}
	r = it_call(srv, "POST", owner.token, "{\"fqdn\":\"p.example.com\",\"port\":1234}", "%s",
		    base());
	CHECK_ERROR(r, 400, "validation.invalid");
	it_resp_free(&r);
	r = it_call(srv, "POST", owner.token, NULL, "%s/none.example.com/verify", base());
	CHECK_ERROR(r, 404, "domain.not_found");
	it_resp_free(&r);
}

TEST(other_tenant_and_viewer)
{
	const char *one = it_fmt("%s/shop.example.com", base());
	struct it_resp r = it_call(srv, "GET", other.token, NULL, "%s", base());
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	r = it_call(srv, "POST", other.token, "{\"fqdn\":\"mine.example.com\"}", "%s", base());
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", other.token, NULL, "%s", one);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	r = it_call(srv, "POST", other.token, NULL, "%s/verify", one);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	/* The owner's app id in the other tenant's own account and cluster. */
	r = it_call(srv, "GET", other.token, NULL, "/%s/%s/apps/%s/domains", other.aid, other_cid,
		    APP_ID);
	CHECK_ERROR(r, 404, "app.not_found");
	it_resp_free(&r);

	struct it_key viewer;
	REQUIRE(it_create_pat(srv, owner.token, owner.aid, "viewer", &viewer));
	r = it_call(srv, "GET", viewer.token, NULL, "%s", base());
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "POST", viewer.token, "{\"fqdn\":\"viewer.example.com\"}", "%s", base());
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", viewer.token, NULL, "%s", one);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	r = it_call(srv, "POST", viewer.token, NULL, "%s/verify", one);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	const char *p[] = { "viewer.example.com", "mine.example.com" };
	CHECK_INT_EQ(
		it_db_count(pg, "SELECT count(*) FROM app_domains WHERE fqdn IN ($1, $2)", 2, p),
		0);
}

TEST(delete)
{
	/* A verified one is routed: its removal re-applies the app's objects. */
	struct it_resp r = it_call(srv, "DELETE", owner.token, NULL, "%s/shop.example.com", base());
	CHECK_STATUS(r, 202);
	CHECK(it_is_uuid(it_json_str(r.json, "jobId") ?: ""));
	it_resp_free(&r);
	const char *dir = it_fmt("%s/domains-unrouted", getenv("RUNOS_TEST_TMPDIR") ?: "/tmp");
	char job[40] = "";
	CHECK(configure_objects(dir, job) > 0);
	char *out = NULL;
	it_shell_output(it_fmt("cat %s/*.json", dir), &out);
	CHECK(out && !strstr(out, "\"shop.example.com\"") &&
	      strstr(out, "www.shop.example.org") != NULL);
	free(out);
	r = it_call(srv, "DELETE", owner.token, NULL, "%s/wrong.example.com", base());
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "%s/wrong.example.com", base());
	CHECK_ERROR(r, 404, "domain.not_found");
	it_resp_free(&r);
	/* Now free for the other tenant. */
	r = it_call(srv, "POST", other.token, "{\"fqdn\":\"shop.example.com\"}",
		    "/%s/%s/apps/%s/domains", other.aid, other_cid, OTHER_APP);
	CHECK_STATUS(r, 201);
	it_resp_free(&r);
}

TEST(clean_stop)
{
	CHECK_INT_EQ(it_server_stop(srv), 0);
}

int main(void)
{
	if (!it_init("it_domains")) {
		test_failed++;
		return it_finish("it_domains");
	}
	RUN(dnsmasq_is_installed);
	dns_port = it_closed_udp_port();
	const char *extra[] = { it_fmt("RUNOS_DNS_SERVER=127.0.0.1:%d", dns_port), NULL };
	srv = it_server_start("domains", extra);
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	if (!srv || !pg || !it_signup(srv, &owner) || !it_signup(srv, &other) ||
	    !cluster_and_app(&owner, cid, APP_ID) ||
	    !cluster_and_app(&other, other_cid, OTHER_APP)) {
		test_failed++;
		fprintf(stderr, "FAIL it_domains: no server, database, users or apps\n");
		return it_finish("it_domains");
	}
	/* The app runs: a deployment of it succeeded. */
	const char *p[] = { owner.aid, cid, APP_ID, DIGEST };
	const char *q[] = { owner.aid, cid };
	if (!it_db_exec(pg,
			"INSERT INTO app_deployments (id, aid, cid, app_id, image_digest, status,"
			" trigger, rollout_at, finished_at) VALUES (gen_random_uuid(), $1, $2, $3,"
			" $4, 'succeeded', 'api', now(), now())",
			4, p)) {
		test_failed++;
		return it_finish("it_domains");
	}
	PGresult *res = PQexecParams(pg, "SELECT domain FROM clusters WHERE aid = $1 AND cid = $2",
				     2, NULL, q, NULL, NULL, 0);
	snprintf(generated, sizeof(generated), "shop-%s.%s", APP_ID,
		 PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	RUN(cname_verified_in_background_and_routed);
	RUN(wrong_cname_stays_pending_with_backoff);
	RUN(txt_record_verifies_at_verify);
	RUN(taken_and_bad_names);
	RUN(other_tenant_and_viewer);
	RUN(delete);
	RUN(clean_stop);
	dns_stop();
	PQfinish(pg);
	return it_finish("it_domains");
}
