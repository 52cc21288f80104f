/* it_apps_store: the apps store (server/db/apps_store.c) against the real
 * schema, before the routes that will call it: ids, names and custom domains
 * that collide, a cluster that is not active, tenant filtering, version
 * checks, the env var sets' shared key space, the supersede rule, rollbacks,
 * deployment moves that cannot go backwards, a required service kept by its
 * foreign key, and delete; custom domains one app's in the whole system and
 * their checks; GitHub deliveries claimed once among 20 racing requests.
 * The server runs only to migrate the database and
 * make the account and clusters. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/app_domains_store.h"
#include "db/apps_store.h"
#include "db/github_deliveries_store.h"
#include "db/services_store.h"
#include "agents.h"
#include "harness.h"

static struct it_server *srv;
static struct it_user owner, other;
static char cid[8], idle_cid[8];
static PGconn *pg;
static struct db_pool *pool;
static struct audit_actor actor = { "user", "u-1", "trace-1", "127.0.0.1" };

static const int two_ports[] = { 3000, 9090 };
static const struct app_requirement db_requirement = { "db", "svcaa",
						       "{\"url\": \"DATABASE_URL\"}" };

static struct app_create app_input(const char *aid, const char *in_cid, const char *id,
				   const char *name)
{
	return (struct app_create){
		.aid = aid,
		.cid = in_cid,
		.id = id,
		.fields = { .name = name,
			    .dns_name = "shop",
			    .repo_url = "https://github.com/acme/shop",
			    .repo_branch = "main",
			    .ports = two_ports,
			    .nports = 2,
			    .replicas = 2,
			    .build_method = "buildkit",
			    .dockerfile = "Dockerfile",
			    .source_dir = ".",
			    .health_check_path = "/healthz",
			    .health_check_port = 9090,
			    .cpu_request_mc = 250,
			    .cpu_limit_mc = 1000,
			    .deployment_strategy = "rolling" },
		.sealed_webhook_secret = "v1.sealed-webhook-secret",
		.job = { .action = "app.create", .actor = &actor, .trigger = "api" },
	};
}

static long long count(const char *sql, const char *a1, const char *a2)
{
	const char *params[] = { a1, a2 };
	return it_db_count(pg, sql, a2 ? 2 : 1, params);
}

TEST(create_and_read_back)
{
	struct app_domain_input domain = { "shop.example.com", 3000, "tok-1" };
	struct app_create in = app_input(owner.aid, cid, "shopa", "Shop");
	in.requires = &db_requirement;
	in.nrequires = 1;
	in.domains = &domain;
	in.ndomains = 1;
	in.sealed_access_token = "v1.sealed-token";
	in.job.deployment_id = "00000000-0000-4000-8000-000000000001";
	struct app a;
	struct app_write_result res;
	CHECK_INT_EQ(db_apps_create(pool, &in, &a, &res), DB_OK);
	CHECK_INT_EQ(res.outcome, APP_WRITTEN);
	CHECK_STR_EQ(a.osid, "app-shopa");
	CHECK_STR_EQ(a.name, "Shop");
	CHECK_INT_EQ(a.nports, 2);
	CHECK_INT_EQ(a.ports[1], 9090);
	CHECK_INT_EQ(a.replicas, 2);
	CHECK_STR_EQ(a.health_check_path, "/healthz");
	CHECK_INT_EQ(a.cpu_limit_mc, 1000);
	CHECK_INT_EQ(a.memory_limit_mb, 0);
	CHECK(a.has_access_token);
	CHECK_STR_EQ(a.lifecycle, "active");
	CHECK_INT_EQ(a.version_n, 1);
	CHECK_INT_EQ(count("SELECT count(*) FROM app_deployments WHERE app_id = $1", "shopa", NULL),
		     1);
	CHECK_INT_EQ(count("SELECT count(*) FROM audit_events WHERE action = 'app.create'"
			   " AND target_id = $1",
			   "shopa", NULL),
		     1);

	struct app_require_row *rows;
	size_t n;
	CHECK_INT_EQ(db_apps_requires(pool, owner.aid, cid, "shopa", &rows, &n), DB_OK);
	CHECK_INT_EQ(n, 1);
	if (n == 1) {
		CHECK_STR_EQ(rows[0].alias, "db");
		CHECK_STR_EQ(rows[0].service_osid, "postgresql-svcaa");
		CHECK(strstr(rows[0].env_json, "DATABASE_URL") != NULL);
	}
	free(rows);

	char *token;
	CHECK_INT_EQ(db_apps_access_token(pool, owner.aid, cid, "shopa", &token), DB_OK);
	CHECK_STR_EQ(token, "v1.sealed-token");
	free(token);

	/* the webhook finds it by id alone */
	char aid[8], found_cid[8], *secret;
	CHECK_INT_EQ(db_apps_webhook_lookup(pool, "shopa", aid, found_cid, &a, &secret), DB_OK);
	CHECK_STR_EQ(aid, owner.aid);
	CHECK_STR_EQ(found_cid, cid);
	CHECK_STR_EQ(secret, "v1.sealed-webhook-secret");
	free(secret);
	CHECK_INT_EQ(db_apps_webhook_rotate(pool, owner.aid, cid, "shopa", "v1.rotated", &actor),
		     DB_OK);
	CHECK_INT_EQ(db_apps_webhook_lookup(pool, "shopa", aid, found_cid, &a, &secret), DB_OK);
	CHECK_STR_EQ(secret, "v1.rotated");
	free(secret);
	CHECK_INT_EQ(db_apps_webhook_lookup(pool, "nobdy", aid, found_cid, &a, &secret),
		     DB_NOT_FOUND);
}

TEST(collisions_write_nothing)
{
	struct app a;
	struct app_write_result res;
	long long apps = count("SELECT count(*) FROM apps WHERE aid = $1", owner.aid, NULL);
	/* the id is taken in the whole system, not only in its cluster */
	struct app_create in = app_input(owner.aid, idle_cid, "shopa", "Other");
	it_db_exec(pg, "UPDATE clusters SET status = 'active' WHERE aid = $1 AND cid = $2", 2,
		   (const char *[]){ owner.aid, idle_cid });
	CHECK_INT_EQ(db_apps_create(pool, &in, &a, &res), DB_CONFLICT);
	CHECK_INT_EQ(res.outcome, APP_ID_TAKEN);
	it_db_exec(pg, "UPDATE clusters SET status = 'provisioning' WHERE aid = $1 AND cid = $2", 2,
		   (const char *[]){ owner.aid, idle_cid });
	/* the name, whatever its case, in the cluster */
	in = app_input(owner.aid, cid, "shopb", "SHOP");
	CHECK_INT_EQ(db_apps_create(pool, &in, &a, &res), DB_CONFLICT);
	CHECK_INT_EQ(res.outcome, APP_NAME_TAKEN);
	/* a custom domain of another app */
	struct app_domain_input domains[] = { { "new.example.com", 3000, "t2" },
					      { "shop.example.com", 9090, "t3" } };
	in = app_input(owner.aid, cid, "shopb", "Shop B");
	in.domains = domains;
	in.ndomains = 2;
	CHECK_INT_EQ(db_apps_create(pool, &in, &a, &res), DB_CONFLICT);
	CHECK_INT_EQ(res.outcome, APP_DOMAIN_TAKEN);
	CHECK_STR_EQ(res.taken, "shop.example.com");
	CHECK_INT_EQ(
		count("SELECT count(*) FROM app_domains WHERE fqdn = $1", "new.example.com", NULL),
		0);
	/* a cluster that is not active */
	in = app_input(owner.aid, idle_cid, "shopc", "Shop C");
	CHECK_INT_EQ(db_apps_create(pool, &in, &a, &res), DB_OK);
	CHECK_INT_EQ(res.outcome, APP_CLUSTER_NOT_ACTIVE);
	CHECK_STR_EQ(res.cluster_status, "provisioning");
	/* a required service that is gone */
	struct app_requirement gone = { "db", "nosvc", "{\"url\": \"U\"}" };
	in = app_input(owner.aid, cid, "shopd", "Shop D");
	in.requires = &gone;
	in.nrequires = 1;
	CHECK_INT_EQ(db_apps_create(pool, &in, &a, &res), DB_OK);
	CHECK_INT_EQ(res.outcome, APP_REQUIRED_GONE);
	CHECK_STR_EQ(res.gone_alias, "db");
	CHECK_INT_EQ(count("SELECT count(*) FROM apps WHERE aid = $1", owner.aid, NULL), apps);
}

TEST(tenants_see_only_their_own)
{
	struct app a;
	CHECK_INT_EQ(db_apps_get(pool, other.aid, cid, "shopa", &a), DB_NOT_FOUND);
	CHECK_INT_EQ(db_apps_get(pool, owner.aid, idle_cid, "shopa", &a), DB_NOT_FOUND);
	struct app *list;
	size_t n;
	CHECK_INT_EQ(db_apps_list(pool, other.aid, cid, 0, "", 50, &list, &n), DB_OK);
	CHECK_INT_EQ(n, 0);
	free(list);
	CHECK_INT_EQ(db_apps_list(pool, owner.aid, cid, 0, "", 50, &list, &n), DB_OK);
	CHECK_INT_EQ(n, 1);
	free(list);
	struct app_env_row *rows;
	CHECK_INT_EQ(db_apps_env_list(pool, other.aid, cid, "shopa", false, &rows, &n), DB_OK);
	CHECK_INT_EQ(n, 0);
	db_app_env_free(rows, n);
	struct app_write_result res;
	struct app_job job = { .action = "app.deploy", .actor = &actor };
	CHECK_INT_EQ(db_apps_deploy(pool, other.aid, cid, "shopa", &job, &res), DB_NOT_FOUND);
	struct app_env_var v = { "A", "1" };
	CHECK_INT_EQ(db_apps_env_replace(pool, other.aid, cid, "shopa", false, &v, 1, &job, &res),
		     DB_NOT_FOUND);
}

TEST(update_checks_the_version)
{
	struct app a;
	struct app_write_result res;
	CHECK_INT_EQ(db_apps_get(pool, owner.aid, cid, "shopa", &a), DB_OK);
	static const int one_port[] = { 8080 };
	struct app_create base = app_input(owner.aid, cid, "shopa", "Shop Renamed");
	struct app_change change = { .aid = owner.aid,
				     .cid = cid,
				     .id = "shopa",
				     .if_version = a.version_n + 1,
				     .fields = base.fields,
				     .job = { .action = "app.update", .actor = &actor } };
	change.fields.ports = one_port;
	change.fields.nports = 1;
	change.fields.health_check_path = NULL;
	change.fields.health_check_port = 0;
	CHECK_INT_EQ(db_apps_update(pool, &change, &a, &res), DB_CONFLICT);
	change.if_version = a.version_n;
	struct app after;
	CHECK_INT_EQ(db_apps_update(pool, &change, &after, &res), DB_OK);
	CHECK_STR_EQ(after.name, "Shop Renamed");
	CHECK_INT_EQ(after.nports, 1);
	CHECK_INT_EQ(after.ports[0], 8080);
	CHECK_STR_EQ(after.health_check_path, "");
	CHECK_INT_EQ(after.version_n, a.version_n + 1);
	CHECK(after.has_access_token); /* kept: none given */
}

TEST(env_sets_share_one_key_space)
{
	struct app_write_result res;
	struct app_job job = { .action = "app.env_vars.replace", .actor = &actor };
	struct app_env_var plain[] = { { "PORT", "3000" }, { "SHARED", "x" } };
	CHECK_INT_EQ(
		db_apps_env_replace(pool, owner.aid, cid, "shopa", false, plain, 2, &job, &res),
		DB_OK);
	CHECK_INT_EQ(res.outcome, APP_WRITTEN);
	struct app_env_var secret[] = { { "API_KEY", "v1.sealed-a" }, { "SHARED", "v1.sealed-b" } };
	CHECK_INT_EQ(
		db_apps_env_replace(pool, owner.aid, cid, "shopa", true, secret, 2, &job, &res),
		DB_OK);
	CHECK_INT_EQ(res.outcome, APP_KEY_TAKEN);
	CHECK_STR_EQ(res.taken, "SHARED");
	CHECK_STR_EQ(res.taken_by, "envVars");
	struct app_env_var injected[] = { { "DATABASE_URL", "v1.sealed-c" } };
	CHECK_INT_EQ(
		db_apps_env_replace(pool, owner.aid, cid, "shopa", true, injected, 1, &job, &res),
		DB_OK);
	CHECK_INT_EQ(res.outcome, APP_KEY_TAKEN);
	CHECK_STR_EQ(res.taken_by, "requires.db");
	CHECK_INT_EQ(
		db_apps_env_replace(pool, owner.aid, cid, "shopa", true, secret, 1, &job, &res),
		DB_OK);
	CHECK_INT_EQ(res.outcome, APP_WRITTEN);
	/* the plain set replaced: SHARED goes, so the secret set may take it */
	CHECK_INT_EQ(
		db_apps_env_replace(pool, owner.aid, cid, "shopa", false, plain, 1, &job, &res),
		DB_OK);
	CHECK_INT_EQ(
		db_apps_env_replace(pool, owner.aid, cid, "shopa", true, secret, 2, &job, &res),
		DB_OK);
	CHECK_INT_EQ(res.outcome, APP_WRITTEN);
	struct app_env_row *rows;
	size_t n;
	CHECK_INT_EQ(db_apps_env_list(pool, owner.aid, cid, "shopa", true, &rows, &n), DB_OK);
	CHECK_INT_EQ(n, 2);
	if (n == 2) {
		CHECK_STR_EQ(rows[0].key, "API_KEY");
		CHECK_STR_EQ(rows[0].value, "v1.sealed-a");
	}
	db_app_env_free(rows, n);
	CHECK_INT_EQ(db_apps_env_list(pool, owner.aid, cid, "shopa", false, &rows, &n), DB_OK);
	CHECK_INT_EQ(n, 1);
	db_app_env_free(rows, n);
	/* an empty set clears */
	CHECK_INT_EQ(db_apps_env_replace(pool, owner.aid, cid, "shopa", false, NULL, 0, &job, &res),
		     DB_OK);
	CHECK_INT_EQ(count("SELECT count(*) FROM app_env_vars WHERE app_id = $1", "shopa", NULL),
		     0);
}

static const char *status_of(const char *id)
{
	static char status[16];
	struct app_deployment d;
	if (db_app_deployments_get(pool, owner.aid, cid, "shopa", id, &d) != DB_OK)
		return "(none)";
	snprintf(status, sizeof(status), "%s", d.status);
	return status;
}

static enum db_result deploy(const char *id, const char *rollback_of, struct app_write_result *res)
{
	struct app_job job = { .action = "app.deploy",
			       .actor = &actor,
			       .deployment_id = id,
			       .trigger = rollback_of ? "rollback" : "api",
			       .rollback_of = rollback_of };
	return db_apps_deploy(pool, owner.aid, cid, "shopa", &job, res);
}

static enum db_result move(const char *id, const char *status, const char *digest)
{
	struct app_deployment_move m = { .status = status, .image_digest = digest };
	return db_app_deployments_move(pool, owner.aid, cid, "shopa", id, &m);
}

#define D(n) "00000000-0000-4000-8000-00000000001" #n
#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(deploys_supersede_and_roll_back)
{
	struct app_write_result res;
	/* the create's deployment is still pending: a deploy supersedes it */
	CHECK_INT_EQ(deploy(D(1), NULL, &res), DB_OK);
	CHECK_INT_EQ(res.superseded, 1);
	CHECK_STR_EQ(status_of("00000000-0000-4000-8000-000000000001"), "superseded");
	CHECK_INT_EQ(move(D(1), "building", NULL), DB_OK);
	CHECK_INT_EQ(deploy(D(2), NULL, &res), DB_OK);
	CHECK_INT_EQ(res.superseded, 1); /* building has not started its rollout */
	CHECK_STR_EQ(status_of(D(1)), "superseded");
	/* a late report does not revive it */
	CHECK_INT_EQ(move(D(1), "deploying", NULL), DB_CONFLICT);
	CHECK_INT_EQ(move(D(2), "building", NULL), DB_OK);
	CHECK_INT_EQ(move(D(2), "succeeded", DIGEST), DB_CONFLICT); /* not rolled out */
	CHECK_INT_EQ(move(D(2), "deploying", DIGEST), DB_OK);
	CHECK_INT_EQ(move(D(2), "building", NULL), DB_CONFLICT); /* backwards */
	CHECK_INT_EQ(move(D(2), "succeeded", NULL), DB_OK);
	CHECK_INT_EQ(move(D(2), "failed", NULL), DB_CONFLICT);
	struct app_deployment d;
	CHECK_INT_EQ(db_app_deployments_get(pool, owner.aid, cid, "shopa", D(2), &d), DB_OK);
	CHECK_STR_EQ(d.image_digest, DIGEST);
	CHECK(d.rollout_us > 0 && d.finished_us >= d.rollout_us);

	/* one rolling out is not superseded */
	CHECK_INT_EQ(deploy(D(3), NULL, &res), DB_OK);
	CHECK_INT_EQ(move(D(3), "deploying", NULL), DB_OK);
	CHECK_INT_EQ(deploy(D(4), NULL, &res), DB_OK);
	CHECK_INT_EQ(res.superseded, 0);
	CHECK_STR_EQ(status_of(D(3)), "deploying");
	CHECK_INT_EQ(move(D(3), "failed", NULL), DB_OK);

	/* rollbacks: only to one that succeeded, with its image */
	CHECK_INT_EQ(deploy(D(5), D(1), &res), DB_OK);
	CHECK_INT_EQ(res.outcome, APP_NOT_SUCCEEDED);
	CHECK_INT_EQ(deploy(D(5), "00000000-0000-4000-8000-0000000000ff", &res), DB_NOT_FOUND);
	CHECK_INT_EQ(deploy(D(5), D(2), &res), DB_OK);
	CHECK_INT_EQ(res.outcome, APP_WRITTEN);
	CHECK_INT_EQ(db_app_deployments_get(pool, owner.aid, cid, "shopa", D(5), &d), DB_OK);
	CHECK_STR_EQ(d.trigger, "rollback");
	CHECK_STR_EQ(d.rollback_of, D(2));
	CHECK_STR_EQ(d.image_digest, DIGEST);
	CHECK_STR_EQ(status_of(D(4)), "superseded");

	/* newest first, in pages */
	struct app_deployment *list;
	size_t n;
	CHECK_INT_EQ(db_app_deployments_list(pool, owner.aid, cid, "shopa", 0, "", 2, &list, &n),
		     DB_OK);
	CHECK_INT_EQ(n, 2);
	if (n == 2) {
		CHECK_STR_EQ(list[0].id, D(5));
		CHECK_STR_EQ(list[1].id, D(4));
		struct app_deployment *next;
		size_t m;
		CHECK_INT_EQ(db_app_deployments_list(pool, owner.aid, cid, "shopa",
						     list[1].created_us, list[1].id, 50, &next, &m),
			     DB_OK);
		CHECK_INT_EQ(m, 4);
		free(next);
	}
	free(list);
	CHECK_INT_EQ(db_app_deployments_list(pool, other.aid, cid, "shopa", 0, "", 50, &list, &n),
		     DB_OK);
	CHECK_INT_EQ(n, 0);
	free(list);
}

TEST(custom_domains_belong_to_one_app)
{
	struct app_domain d;
	CHECK_INT_EQ(db_app_domains_add(pool, owner.aid, cid, "shopa", "www.example.org", 8080,
					"tok-2", &actor, &d),
		     DB_OK);
	CHECK_STR_EQ(d.status, "pending");
	CHECK_STR_EQ(d.certificate_status, "none");
	CHECK_INT_EQ(d.port, 8080);
	/* the first app's domain from the create, and this one */
	CHECK_INT_EQ(db_app_domains_add(pool, owner.aid, cid, "shopa", "shop.example.com", 8080,
					"tok-3", &actor, &d),
		     DB_CONFLICT);
	CHECK_INT_EQ(db_app_domains_add(pool, other.aid, cid, "shopa", "x.example.org", 8080,
					"tok-4", &actor, &d),
		     DB_NOT_FOUND);
	struct app_domain *list;
	size_t n;
	CHECK_INT_EQ(db_app_domains_list(pool, owner.aid, cid, "shopa", &list, &n), DB_OK);
	CHECK_INT_EQ(n, 2);
	free(list);
	CHECK_INT_EQ(db_app_domains_list(pool, other.aid, cid, "shopa", &list, &n), DB_OK);
	CHECK_INT_EQ(n, 0);
	free(list);
	/* checks: one more attempt later, then verified, then nothing to check */
	CHECK_INT_EQ(db_app_domains_due(pool, 100, &list, &n), DB_OK);
	CHECK_INT_EQ(n, 2);
	free(list);
	CHECK_INT_EQ(db_app_domains_checked(pool, owner.aid, cid, "shopa", "www.example.org", false,
					    false, 3600),
		     DB_OK);
	CHECK_INT_EQ(db_app_domains_due(pool, 100, &list, &n), DB_OK);
	CHECK_INT_EQ(n, 1);
	if (n == 1)
		CHECK_STR_EQ(list[0].fqdn, "shop.example.com");
	free(list);
	CHECK_INT_EQ(db_app_domains_checked(pool, owner.aid, cid, "shopa", "www.example.org", true,
					    false, 0),
		     DB_OK);
	CHECK_INT_EQ(db_app_domains_checked(pool, owner.aid, cid, "shopa", "www.example.org", true,
					    false, 0),
		     DB_NOT_FOUND);
	CHECK_INT_EQ(db_app_domains_list(pool, owner.aid, cid, "shopa", &list, &n), DB_OK);
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].fqdn, "www.example.org") == 0) {
			CHECK_STR_EQ(list[i].status, "verified");
			CHECK_INT_EQ(list[i].attempts, 2);
			CHECK(list[i].verified_us > 0);
		}
	free(list);
	CHECK_INT_EQ(
		db_app_domains_delete(pool, other.aid, cid, "shopa", "www.example.org", &actor),
		DB_NOT_FOUND);
	CHECK_INT_EQ(
		db_app_domains_delete(pool, owner.aid, cid, "shopa", "www.example.org", &actor),
		DB_OK);
	CHECK_INT_EQ(
		db_app_domains_delete(pool, owner.aid, cid, "shopa", "www.example.org", &actor),
		DB_NOT_FOUND);
	CHECK_INT_EQ(count("SELECT count(*) FROM audit_events WHERE action LIKE 'app.domain.%'"
			   " AND target_id = $1",
			   "shopa", NULL),
		     2);
}

#define RACERS 20

struct racer {
	pthread_barrier_t *start;
	enum delivery_claim claim;
	enum db_result r;
};

static void *claim_racer(void *arg)
{
	struct racer *me = arg;
	int status;
	char *body;
	pthread_barrier_wait(me->start);
	me->r = db_github_delivery_claim(pool, owner.aid, cid, "shopa", "delivery-race", &me->claim,
					 &status, &body);
	free(body);
	return NULL;
}

struct claim_run {
	struct app_domain *list;
	size_t n;
	enum db_result r;
};

static void *claim_three(void *arg)
{
	struct claim_run *c = arg;
	c->r = db_app_domains_claim(pool, 3, 60, &c->list, &c->n);
	return NULL;
}

/* Verifiers of two instances claiming at once get different domains, and
 * a claimed domain is not due again until its lease ends; a failed one is
 * reopened, a verified one has its certificate pending. */
TEST(domain_claims_do_not_overlap)
{
	for (int i = 0; i < 6; i++) {
		struct app_domain d;
		CHECK_INT_EQ(db_app_domains_add(pool, owner.aid, cid, "shopa",
						it_fmt("claim-%d.example.net", i), 8080, "tok",
						&actor, &d),
			     DB_OK);
	}
	struct claim_run runs[2] = { 0 };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, claim_three, &runs[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK_INT_EQ(runs[0].r, DB_OK);
	CHECK_INT_EQ(runs[1].r, DB_OK);
	CHECK(runs[0].n + runs[1].n >= 3);
	for (size_t a = 0; a < runs[0].n; a++)
		for (size_t b = 0; b < runs[1].n; b++)
			CHECK_MSG(strcmp(runs[0].list[a].fqdn, runs[1].list[b].fqdn) != 0,
				  "%s claimed twice", runs[0].list[a].fqdn);
	struct app_domain *list;
	size_t n;
	CHECK_INT_EQ(db_app_domains_claim(pool, 100, 60, &list, &n), DB_OK);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 2; k++)
			for (size_t j = 0; j < runs[k].n; j++)
				CHECK_MSG(strcmp(list[i].fqdn, runs[k].list[j].fqdn) != 0,
					  "%s due again within its lease", list[i].fqdn);
	free(list);
	free(runs[0].list);
	free(runs[1].list);
	CHECK_INT_EQ(db_app_domains_checked(pool, owner.aid, cid, "shopa", "claim-0.example.net",
					    false, true, 0),
		     DB_OK);
	CHECK_INT_EQ(db_app_domains_reopen(pool, owner.aid, cid, "shopa", "claim-1.example.net"),
		     DB_NOT_FOUND);
	CHECK_INT_EQ(db_app_domains_reopen(pool, other.aid, cid, "shopa", "claim-0.example.net"),
		     DB_NOT_FOUND);
	CHECK_INT_EQ(db_app_domains_reopen(pool, owner.aid, cid, "shopa", "claim-0.example.net"),
		     DB_OK);
	CHECK_INT_EQ(db_app_domains_checked(pool, owner.aid, cid, "shopa", "claim-0.example.net",
					    true, false, 0),
		     DB_OK);
	CHECK_INT_EQ(db_app_domains_list(pool, owner.aid, cid, "shopa", &list, &n), DB_OK);
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].fqdn, "claim-0.example.net") == 0) {
			CHECK_STR_EQ(list[i].status, "verified");
			CHECK_STR_EQ(list[i].certificate_status, "pending");
			CHECK_INT_EQ(list[i].attempts, 1);
		}
	free(list);
}

TEST(deliveries_are_claimed_once)
{
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, RACERS);
	struct racer racers[RACERS];
	pthread_t threads[RACERS];
	for (int i = 0; i < RACERS; i++) {
		racers[i] = (struct racer){ &start, DELIVERY_ANSWERED, DB_ERROR };
		pthread_create(&threads[i], NULL, claim_racer, &racers[i]);
	}
	int claimed = 0, in_flight = 0;
	for (int i = 0; i < RACERS; i++) {
		pthread_join(threads[i], NULL);
		CHECK_INT_EQ(racers[i].r, DB_OK);
		claimed += racers[i].claim == DELIVERY_CLAIMED;
		in_flight += racers[i].claim == DELIVERY_IN_FLIGHT;
	}
	pthread_barrier_destroy(&start);
	CHECK_INT_EQ(claimed, 1);
	CHECK_INT_EQ(in_flight, RACERS - 1);

	CHECK_INT_EQ(db_github_delivery_answer(pool, owner.aid, cid, "shopa", "delivery-race", 202,
					       "{\"jobId\":\"j\"}"),
		     DB_OK);
	CHECK_INT_EQ(db_github_delivery_answer(pool, owner.aid, cid, "shopa", "delivery-race", 500,
					       "{}"),
		     DB_NOT_FOUND); /* the first answer stays */
	enum delivery_claim claim;
	int status;
	char *body;
	CHECK_INT_EQ(db_github_delivery_claim(pool, owner.aid, cid, "shopa", "delivery-race",
					      &claim, &status, &body),
		     DB_OK);
	CHECK_INT_EQ(claim, DELIVERY_ANSWERED);
	CHECK_INT_EQ(status, 202);
	CHECK_STR_EQ(body, "{\"jobId\":\"j\"}");
	free(body);
	CHECK_INT_EQ(db_github_delivery_release(pool, owner.aid, cid, "shopa", "delivery-race"),
		     DB_NOT_FOUND); /* answered: kept */

	/* a released claim, and a stale one, are claimed again */
	CHECK_INT_EQ(db_github_delivery_claim(pool, owner.aid, cid, "shopa", "d-2", &claim, &status,
					      &body),
		     DB_OK);
	CHECK_INT_EQ(claim, DELIVERY_CLAIMED);
	CHECK_INT_EQ(db_github_delivery_release(pool, owner.aid, cid, "shopa", "d-2"), DB_OK);
	CHECK_INT_EQ(db_github_delivery_claim(pool, owner.aid, cid, "shopa", "d-2", &claim, &status,
					      &body),
		     DB_OK);
	CHECK_INT_EQ(claim, DELIVERY_CLAIMED);
	CHECK_INT_EQ(db_github_delivery_claim(pool, owner.aid, cid, "shopa", "d-2", &claim, &status,
					      &body),
		     DB_OK);
	CHECK_INT_EQ(claim, DELIVERY_IN_FLIGHT);
	it_db_exec(pg,
		   "UPDATE github_deliveries SET created_at = now() - interval '2 minutes'"
		   " WHERE delivery_id = 'd-2'",
		   0, NULL);
	CHECK_INT_EQ(db_github_delivery_claim(pool, owner.aid, cid, "shopa", "d-2", &claim, &status,
					      &body),
		     DB_OK);
	CHECK_INT_EQ(claim, DELIVERY_CLAIMED);
}

TEST(required_service_stays_and_delete)
{
	/* the service's delete is refused naming the app, and its foreign key
	 * keeps it all the same */
	struct service_write_result refused;
	CHECK_INT_EQ(db_services_delete(pool, owner.aid, cid, "svcaa", 0,
					"00000000-0000-4000-8000-0000000000aa", &actor, NULL, 0,
					&refused),
		     DB_OK);
	CHECK_INT_EQ(refused.outcome, SERVICE_HAS_DEPENDENTS);
	CHECK_MSG(strstr(refused.dependents, "\"type\" : \"app\", \"id\" : \"shopa\"") != NULL,
		  "dependents %s", refused.dependents);
	CHECK(!it_db_exec(pg, "DELETE FROM services WHERE aid = $1 AND id = 'svcaa'", 1,
			  (const char *[]){ owner.aid }));
	struct app_write_result res;
	struct app_job job = { .action = "app.delete", .actor = &actor };
	CHECK_INT_EQ(db_apps_delete(pool, owner.aid, cid, "shopa", 999, &job, &res), DB_CONFLICT);
	CHECK_INT_EQ(db_apps_delete(pool, owner.aid, cid, "shopa", 0, &job, &res), DB_OK);
	CHECK_INT_EQ(res.outcome, APP_WRITTEN);
	/* its open deployment ended with it */
	CHECK_STR_EQ(status_of(D(5)), "cancelled");
	CHECK_INT_EQ(db_apps_delete(pool, owner.aid, cid, "shopa", 0, &job, &res), DB_OK);
	CHECK_INT_EQ(res.outcome, APP_BUSY);
	CHECK_INT_EQ(deploy(D(6), NULL, &res), DB_OK);
	CHECK_INT_EQ(res.outcome, APP_BUSY);
	char aid[8], found_cid[8], *secret;
	struct app a;
	CHECK_INT_EQ(db_apps_webhook_lookup(pool, "shopa", aid, found_cid, &a, &secret),
		     DB_NOT_FOUND);
	CHECK_INT_EQ(db_apps_remove(pool, owner.aid, cid, "shopa"), DB_OK);
	CHECK_INT_EQ(db_apps_remove(pool, owner.aid, cid, "shopa"), DB_NOT_FOUND);
	const char *tables[] = { "app_secret_env_vars", "app_requires", "app_deployments",
				 "app_domains", "github_deliveries" };
	for (size_t i = 0; i < 5; i++)
		CHECK_INT_EQ(count(it_fmt("SELECT count(*) FROM %s WHERE app_id = $1", tables[i]),
				   "shopa", NULL),
			     0);
	/* and the service may go now */
	CHECK(it_db_exec(pg, "DELETE FROM services WHERE aid = $1 AND id = 'svcaa'", 1,
			 (const char *[]){ owner.aid }));
}

int main(void)
{
	if (!it_init("it_apps_store")) {
		test_failed++;
		return it_finish("it_apps_store");
	}
	srv = it_server_start("apps-store", NULL);
	pg = PQconnectdb(it_env.database_url);
	pool = db_pool_create(it_env.database_url, 8);
	bool ready =
		srv && PQstatus(pg) == CONNECTION_OK && pool && it_signup(srv, &owner) &&
		it_signup(srv, &other) && it_new_cluster(srv, &owner, "apps", cid) &&
		it_new_cluster(srv, &owner, "idle", idle_cid) &&
		it_db_exec(pg, "UPDATE clusters SET status = 'active' WHERE aid = $1 AND cid = $2",
			   2, (const char *[]){ owner.aid, cid }) &&
		it_db_exec(pg,
			   "INSERT INTO services (aid, cid, id, type, name, version, replicas,"
			   " credentials) VALUES ($1, $2, 'svcaa', 'postgresql', 'db', '18.4',"
			   " 1, 'v1.sealed')",
			   2, (const char *[]){ owner.aid, cid });
	CHECK(ready);
	if (ready) {
		RUN(create_and_read_back);
		RUN(collisions_write_nothing);
		RUN(tenants_see_only_their_own);
		RUN(update_checks_the_version);
		RUN(env_sets_share_one_key_space);
		RUN(deploys_supersede_and_roll_back);
		RUN(custom_domains_belong_to_one_app);
		RUN(domain_claims_do_not_overlap);
		RUN(deliveries_are_claimed_once);
		RUN(required_service_stays_and_delete);
	}
	db_pool_destroy(pool);
	PQfinish(pg);
	it_server_stop(srv);
	return it_finish("it_apps_store");
}
