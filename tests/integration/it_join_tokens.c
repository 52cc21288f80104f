/* Join tokens, the installer and the agent CA they pin (API.md §4, AGENT.md
 * §1-2), against the real server and database:
 *  - create: defaults, bounds, the secret shown once and stored only hashed,
 *    caPin equal to the SHA-256 of the stored CA certificate, installCommand;
 *  - list (no secrets, paging), revoke, audit entries, cluster delete;
 *  - the consume step raced by 20 threads on one connection each: a
 *    single-use token has exactly one winner, a 3-use token exactly three;
 *  - GET /install.sh: 404 for unknown, malformed, revoked, expired and used
 *    tokens; a script that sh accepts, which refuses a CA that does not match
 *    --ca-pin and, with the right pin, gets as far as registering;
 *  - the install command run as printed: it installs; a used token, the
 *    same machine again (node.exists) and an unreachable server each say
 *    why and exit non-zero;
 *  - the agent CA: created once by servers starting together on a new
 *    database, its key sealed, and a server with another master key refuses
 *    to start. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/token.h"
#include "db/join_tokens_store.h"
#include "agents.h"
#include "harness.h"

static struct it_server *srv;
static struct it_user owner;
static PGconn *pg;
static char cid[8];

/* Creates a join token with body; its response (caller frees). */
static struct it_resp create_token(const char *body)
{
	return it_call(srv, "POST", owner.token, body, "/%s/%s/join-tokens", owner.aid, cid);
}

/* sha256:<hex> of the DER of a PEM certificate, or "" when it does not parse. */
static const char *pin_of_pem(const char *pem)
{
	static char pin[80];
	pin[0] = '\0';
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int len = cert ? i2d_X509(cert, &der) : 0;
	unsigned char digest[32];
	unsigned int dlen = 0;
	if (len > 0 && EVP_Digest(der, (size_t)len, digest, &dlen, EVP_sha256(), NULL) == 1) {
		strcpy(pin, "sha256:");
		for (unsigned i = 0; i < dlen; i++)
			sprintf(pin + 7 + 2 * i, "%02x", digest[i]);
	}
	OPENSSL_free(der);
	X509_free(cert);
	BIO_free(bio);
	return pin;
}

/* The stored CA certificate (caller frees), or NULL. */
static char *stored_ca_pem(PGconn *db)
{
	PGresult *res = PQexec(db, "SELECT cert_pem FROM agent_ca WHERE id = 1");
	char *pem = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
			    ? strdup(PQgetvalue(res, 0, 0))
			    : NULL;
	PQclear(res);
	return pem;
}

TEST(create_defaults_and_secret_handling)
{
	double before = (double)time(NULL);
	struct it_resp r = create_token("{\"role\":\"worker\"}");
	CHECK_STATUS(r, 201);
	REQUIRE(it_json_str(r.json, "token") != NULL);
	char token[64];
	snprintf(token, sizeof(token), "%s", it_json_str(r.json, "token"));
	it_secret_add(token);
	CHECK_INT_EQ(strlen(token), 53);
	CHECK(strncmp(token, "rnj_", 4) == 0);
	CHECK(it_is_uuid(it_json_str(r.json, "id")));
	CHECK_STR_EQ(it_json_str(r.json, "role"), "worker");
	CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "maxUses")), 1);
	time_t expires = 0;
	CHECK(it_parse_time(it_json_str(r.json, "expiresAt"), &expires));
	CHECK_MSG((double)expires >= before + 1800 - 5 && (double)expires <= before + 1800 + 5,
		  "expiresAt %s is not now + 1800 s", it_json_str(r.json, "expiresAt"));

	/* caPin: the SHA-256 of the CA certificate the database holds. */
	char *pem = stored_ca_pem(pg);
	REQUIRE(pem != NULL);
	const char *pin = it_json_str(r.json, "caPin");
	CHECK_STR_EQ(pin, pin_of_pem(pem));
	CHECK_INT_EQ(strlen(pin ? pin : ""), 71);
	free(pem);

	/* The install command fetches the installer for this token and passes the pin. */
	const char *command = it_json_str(r.json, "installCommand");
	REQUIRE(command != NULL);
	CHECK_MSG(strstr(command, it_fmt("http://127.0.0.1:%d/install.sh?token=%s",
					 it_server_port(srv), token)) != NULL,
		  "installCommand: %s", command);
	CHECK(strstr(command, it_fmt("--ca-pin %s", pin)) != NULL);
	/* Not curl -f, which hid the installer's refusals (install_command_failures). */
	CHECK_MSG(strncmp(command, "(curl -sSL ", 11) == 0, "installCommand: %s", command);

	/* Stored as its SHA-256 only. */
	const char *p[] = { token };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM join_tokens WHERE token_hash ="
				 " sha256(convert_to($1, 'UTF8'))",
				 1, p),
		     1);
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM join_tokens j"
				 " WHERE strpos(row_to_json(j)::text, $1) > 0",
				 1, p),
		     0);
	const char *q[] = { token + 4 };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM audit_events a"
				 " WHERE strpos(row_to_json(a)::text, $1) > 0",
				 1, q),
		     0);
	it_resp_free(&r);

	/* Lists never show it. */
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/join-tokens", owner.aid, cid);
	CHECK_STATUS(r, 200);
	CHECK(r.body && strstr(r.body, token + 4) == NULL);
	CHECK(r.body && strstr(r.body, "\"prefix\"") != NULL);
	it_resp_free(&r);
}

TEST(create_with_choices_and_bad_input)
{
	struct it_resp r = create_token("{\"role\":\"controlplane\",\"ttlSeconds\":86400,"
					"\"maxUses\":5}");
	CHECK_STATUS(r, 201);
	CHECK_STR_EQ(it_json_str(r.json, "role"), "controlplane");
	CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "maxUses")), 5);
	time_t expires = 0;
	CHECK(it_parse_time(it_json_str(r.json, "expiresAt"), &expires));
	CHECK((double)expires > (double)time(NULL) + 86400 - 10);
	it_resp_free(&r);

	static const struct {
		const char *body, *code, *field;
	} bad[] = {
		{ "{}", "validation.required", "role" },
		{ "{\"role\":\"boss\"}", "validation.invalid", "role" },
		{ "{\"role\":\"worker\",\"ttlSeconds\":86401}", "validation.range", "ttlSeconds" },
		{ "{\"role\":\"worker\",\"ttlSeconds\":59}", "validation.range", "ttlSeconds" },
		{ "{\"role\":\"worker\",\"ttlSeconds\":-1}", "validation.range", "ttlSeconds" },
		{ "{\"role\":\"worker\",\"ttlSeconds\":\"600\"}", "validation.type", "ttlSeconds" },
		{ "{\"role\":\"worker\",\"ttlSeconds\":1e3}", "validation.type", "ttlSeconds" },
		{ "{\"role\":\"worker\",\"maxUses\":0}", "validation.range", "maxUses" },
		{ "{\"role\":\"worker\",\"maxUses\":99999999999}", "validation.range", "maxUses" },
		{ "{\"role\":\"worker\",\"aid\":\"other\"}", "validation.unknown_field", "aid" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = create_token(bad[i].body);
		CHECK_ERROR(r, 400, bad[i].code);
		CHECK_STR_EQ(it_json_str(r.json, "field"), bad[i].field);
		it_resp_free(&r);
	}

	/* Unknown and malformed clusters. */
	r = it_call(srv, "POST", owner.token, "{\"role\":\"worker\"}", "/%s/zzz/join-tokens",
		    owner.aid);
	CHECK_ERROR(r, 404, "cluster.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/1ab/join-tokens", owner.aid);
	CHECK_ERROR(r, 404, "cluster.not_found");
	it_resp_free(&r);
}

TEST(list_pages_and_revoke)
{
	char fresh[8];
	struct it_resp r = it_call(srv, "POST", owner.token, "{\"name\":\"paging\"}",
				   "/%s/clusters", owner.aid);
	REQUIRE(r.status == 201);
	snprintf(fresh, sizeof(fresh), "%s", it_json_str(r.json, "cid"));
	it_resp_free(&r);
	char ids[3][40];
	for (int i = 0; i < 3; i++) {
		r = it_call(srv, "POST", owner.token, "{\"role\":\"hybrid\"}", "/%s/%s/join-tokens",
			    owner.aid, fresh);
		REQUIRE(r.status == 201);
		snprintf(ids[i], sizeof(ids[i]), "%s", it_json_str(r.json, "id"));
		it_resp_free(&r);
	}
	/* Two pages of two, in creation order. */
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/join-tokens?limit=2", owner.aid, fresh);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "joinTokens")), 2);
	CHECK_STR_EQ(it_json_str(r.json, "joinTokens.0.id"), ids[0]);
	CHECK_STR_EQ(it_json_str(r.json, "joinTokens.0.role"), "hybrid");
	CHECK_INT_EQ(json_integer_value(it_json_get(r.json, "joinTokens.0.uses")), 0);
	CHECK_STR_EQ(it_json_str(r.json, "joinTokens.0.createdBy"), owner.uid);
	const char *next = it_json_str(r.json, "nextCursor");
	REQUIRE(next != NULL);
	struct it_resp r2 = it_call(srv, "GET", owner.token, NULL,
				    "/%s/%s/join-tokens?limit=2&cursor=%s", owner.aid, fresh, next);
	CHECK_STATUS(r2, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r2.json, "joinTokens")), 1);
	CHECK_STR_EQ(it_json_str(r2.json, "joinTokens.0.id"), ids[2]);
	CHECK(json_object_get(r2.json, "nextCursor") == NULL && it_header(&r2, "Link") == NULL);
	it_resp_free(&r2);
	it_resp_free(&r);

	/* Revoke: gone from the list, a second revoke is 404, and so are an
	 * unknown id, a malformed one, and a token of another cluster. */
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/join-tokens/%s", owner.aid, fresh,
		    ids[1]);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/join-tokens/%s", owner.aid, fresh,
		    ids[1]);
	CHECK_ERROR(r, 404, "join_token.not_found");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/join-tokens/not-a-uuid", owner.aid,
		    fresh);
	CHECK_ERROR(r, 404, "join_token.not_found");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/join-tokens/%s", owner.aid, cid,
		    ids[0]);
	CHECK_ERROR(r, 404, "join_token.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/join-tokens", owner.aid, fresh);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "joinTokens")), 2);
	CHECK(r.body && strstr(r.body, ids[1]) == NULL);
	it_resp_free(&r);

	/* The audit trail has the creates and the revoke. */
	const char *p[] = { owner.aid, ids[1] };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM audit_events WHERE aid = $1 AND"
				 " target_type = 'join_token' AND target_id = $2 AND action IN"
				 " ('join_token.create', 'join_token.revoke') AND actor_id <> ''",
				 2, p),
		     2);

	/* Deleting the cluster deletes its tokens. */
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/clusters/%s", owner.aid, fresh);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	const char *q[] = { owner.aid, fresh };
	CHECK_INT_EQ(it_db_count(pg, "SELECT count(*) FROM join_tokens WHERE aid = $1 AND cid = $2",
				 2, q),
		     0);
}

/* ---- the consume step, raced ---------------------------------------------- */

#define RACERS 20

struct race {
	struct db_pool *pool;
	uint8_t hash[32];
	pthread_barrier_t start;
	int wins, losses, errors;
	pthread_mutex_t lock;
};

static void *racer(void *arg)
{
	struct race *race = arg;
	struct join_token tok;
	pthread_barrier_wait(&race->start);
	enum db_result r = db_join_tokens_consume(race->pool, race->hash, &tok);
	pthread_mutex_lock(&race->lock);
	if (r == DB_OK)
		race->wins++;
	else if (r == DB_NOT_FOUND)
		race->losses++;
	else
		race->errors++;
	pthread_mutex_unlock(&race->lock);
	return NULL;
}

/* RACERS threads, each on its own connection, consume token at once. */
static void run_race(struct db_pool *pool, const char *token, struct race *race)
{
	memset(race, 0, sizeof(*race));
	race->pool = pool;
	auth_token_hash(token, race->hash);
	pthread_barrier_init(&race->start, NULL, RACERS);
	pthread_mutex_init(&race->lock, NULL);
	pthread_t threads[RACERS];
	for (int i = 0; i < RACERS; i++)
		pthread_create(&threads[i], NULL, racer, race);
	for (int i = 0; i < RACERS; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&race->start);
	pthread_mutex_destroy(&race->lock);
}

/* The token of a new join token with maxUses uses. */
static bool new_token(int max_uses, char out[64])
{
	struct it_resp r = create_token(it_fmt("{\"role\":\"worker\",\"maxUses\":%d}", max_uses));
	bool ok = r.status == 201 && it_json_str(r.json, "token");
	if (ok)
		snprintf(out, 64, "%s", it_json_str(r.json, "token"));
	it_resp_free(&r);
	return ok;
}

TEST(consume_is_atomic)
{
	struct db_pool *pool = db_pool_create(it_env.database_url, RACERS);
	REQUIRE(pool != NULL);
	/* Open every connection first, so the race is between statements. */
	REQUIRE(db_pool_wait_ready(pool, 5));

	char single[64], triple[64];
	REQUIRE(new_token(1, single));
	REQUIRE(new_token(3, triple));
	struct race race;
	run_race(pool, single, &race);
	CHECK_INT_EQ(race.wins, 1);
	CHECK_INT_EQ(race.losses, RACERS - 1);
	CHECK_INT_EQ(race.errors, 0);
	run_race(pool, triple, &race);
	CHECK_INT_EQ(race.wins, 3);
	CHECK_INT_EQ(race.losses, RACERS - 3);
	CHECK_INT_EQ(race.errors, 0);

	const char *p[] = { single, triple };
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT sum(uses) FROM join_tokens WHERE token_hash IN"
			    " (sha256(convert_to($1, 'UTF8')), sha256(convert_to($2, 'UTF8')))",
			    2, p),
		4);

	/* A used-up token has no installer any more. */
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/install.sh?token=%s", single);
	CHECK_STATUS(r, 404);
	it_resp_free(&r);

	/* Revoked and expired tokens are not consumed either. */
	char revoked[64], expired[64];
	REQUIRE(new_token(5, revoked));
	REQUIRE(new_token(5, expired));
	const char *rp[] = { revoked };
	const char *ep[] = { expired };
	CHECK(it_db_exec(pg,
			 "UPDATE join_tokens SET revoked_at = now()"
			 " WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
			 1, rp));
	CHECK(it_db_exec(pg,
			 "UPDATE join_tokens SET expires_at = now() - interval '1 second'"
			 " WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
			 1, ep));
	struct join_token tok;
	uint8_t hash[32];
	auth_token_hash(revoked, hash);
	CHECK_INT_EQ(db_join_tokens_consume(pool, hash, &tok), DB_NOT_FOUND);
	auth_token_hash(expired, hash);
	CHECK_INT_EQ(db_join_tokens_consume(pool, hash, &tok), DB_NOT_FOUND);
	/* A good one tells whose it is. */
	REQUIRE(new_token(1, single));
	auth_token_hash(single, hash);
	CHECK_INT_EQ(db_join_tokens_consume(pool, hash, &tok), DB_OK);
	CHECK_STR_EQ(tok.aid, owner.aid);
	CHECK_STR_EQ(tok.cid, cid);
	CHECK_STR_EQ(tok.role, "worker");
	db_pool_destroy(pool);
}

/* ---- the installer ---------------------------------------------------------- */

/* A whole file (to free), or NULL. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *text = calloc(1, 65536);
	if (text)
		fread(text, 1, 65535, f);
	fclose(f);
	return text;
}

static const char *write_file(const char *name, const char *text)
{
	const char *path = it_fmt("%s/%s-%d", it_env.tmpdir, name, (int)getpid());
	FILE *f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

TEST(installer)
{
	struct it_resp r = create_token("{\"role\":\"worker\"}");
	REQUIRE(r.status == 201);
	char token[64], pin[80];
	snprintf(token, sizeof(token), "%s", it_json_str(r.json, "token"));
	snprintf(pin, sizeof(pin), "%s", it_json_str(r.json, "caPin"));
	it_resp_free(&r);

	r = it_call(srv, "GET", NULL, NULL, "/install.sh?token=%s", token);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_header(&r, "Content-Type"), "text/x-shellscript; charset=utf-8");
	REQUIRE(r.body != NULL);
	char *script = strdup(r.body);
	it_resp_free(&r);
	CHECK(strncmp(script, "#!/bin/sh\n", 10) == 0);
	CHECK(strstr(script, it_fmt("JOIN_TOKEN='%s'", token)) != NULL);
	CHECK(strstr(script, it_fmt("CA_PIN='%s'", pin)) != NULL);
	CHECK(strstr(script, "AGENT_URL='https://127.0.0.1:") != NULL);
	char *pem_copy = stored_ca_pem(pg);
	REQUIRE(pem_copy != NULL);
	CHECK(strstr(script, pem_copy) != NULL);
	/* Showing the installer does not use the token. */
	const char *p[] = { token };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT uses FROM join_tokens WHERE token_hash ="
				 " sha256(convert_to($1, 'UTF8'))",
				 1, p),
		     0);

	const char *path = write_file("install.sh", script);
	free(script);
	REQUIRE(path != NULL);
	CHECK_INT_EQ(it_shell(it_fmt("sh -n %s", path)), 0);

	/* A pin other than the CA's: refused before anything is sent. */
	const char *dir = it_fmt("%s/installer-%d", it_env.tmpdir, (int)getpid());
	char dir_copy[512];
	snprintf(dir_copy, sizeof(dir_copy), "%s", dir);
	const char *out = it_fmt("%s/installer-%d.out", it_env.tmpdir, (int)getpid());
	char out_copy[512];
	snprintf(out_copy, sizeof(out_copy), "%s", out);
	int code = it_shell(it_fmt("sh %s --config-dir %s --ca-pin sha256:%064d >%s 2>&1", path,
				   dir_copy, 0, out_copy));
	CHECK_MSG(code == 1, "installer with a wrong pin exited %d", code);
	struct stat st;
	CHECK(stat(it_fmt("%s/node.key", dir_copy), &st) != 0);
	CHECK(stat(it_fmt("%s/registration.json", dir_copy), &st) != 0);

	/* The right pin: the CA checks out, a key and a CSR are made, the
	 * machine registers over TLS trusting that CA alone, and the agent's
	 * files are written. */
	code = it_shell(it_fmt("sh %s --config-dir %s --ca-pin %s >%s 2>&1", path, dir_copy, pin,
			       out_copy));
	char *said = read_text(out_copy);
	CHECK_MSG(code == 0, "installer exited %d: %s", code, said ? said : "");
	CHECK(said && strstr(said, "runos: registered as node ") != NULL);
	free(said);
	CHECK(stat(it_fmt("%s/node.key", dir_copy), &st) == 0 && (st.st_mode & 077) == 0);
	char *conf = read_text(it_fmt("%s/agent.conf", dir_copy));
	char *cert = read_text(it_fmt("%s/node.crt", dir_copy));
	char *key = read_text(it_fmt("%s/node.key", dir_copy));
	REQUIRE(conf && cert && key);
	CHECK(strstr(conf, it_fmt("agent_url=https://127.0.0.1:%d\n", it_server_agent_port(srv))));
	CHECK(strstr(conf, it_fmt("aid=%s\ncid=%s\n", owner.aid, cid)) != NULL);
	CHECK(strstr(conf, "role=worker\n") != NULL);
	char nid[8] = "";
	const char *at = strstr(conf, "nid=");
	if (at)
		snprintf(nid, sizeof(nid), "%.5s", at + 4);
	const char *np[] = { owner.aid, cid, nid };
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT count(*) FROM nodes WHERE aid = $1 AND cid = $2 AND nid = $3"
			    " AND os <> '' AND hostname <> ''",
			    3, np),
		1);
	/* The files it wrote are a working agent identity. */
	struct it_req beat = { .method = "POST",
			       .path = "/agent/v1/heartbeat",
			       .body = "{}",
			       .agent = true,
			       .ca_pem = pem_copy,
			       .cert_pem = cert,
			       .key_pem = key };
	it_request(srv, &beat, &r);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	free(conf);
	free(cert);
	free(key);
	/* The token was single use: a second machine is refused. */
	code = it_shell(it_fmt("sh %s --config-dir %s-again --ca-pin %s >%s 2>&1", path, dir_copy,
			       pin, out_copy));
	CHECK_INT_EQ(code, 1);

	/* Unknown, malformed, revoked and expired tokens: 404 with a script that
	 * says so. */
	char unknown[54];
	it_make_token("rnj_", unknown);
	const char *queries[] = { it_fmt("?token=%s", unknown), "?token=rnj_short", "", "?token=" };
	for (size_t i = 0; i < 4; i++) {
		r = it_call(srv, "GET", NULL, NULL, "/install.sh%s", queries[i]);
		CHECK_STATUS(r, 404);
		CHECK(r.body && strstr(r.body, "exit 1") != NULL);
		it_resp_free(&r);
	}
	/* Used up (above), then an expired one. */
	r = it_call(srv, "GET", NULL, NULL, "/install.sh?token=%s", token);
	CHECK_STATUS(r, 404);
	it_resp_free(&r);
	char expiring[64];
	REQUIRE(new_token(1, expiring));
	r = it_call(srv, "GET", NULL, NULL, "/install.sh?token=%s", expiring);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	const char *ep[] = { expiring };
	CHECK(it_db_exec(pg,
			 "UPDATE join_tokens SET expires_at = now() - interval '1 second'"
			 " WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
			 1, ep));
	r = it_call(srv, "GET", NULL, NULL, "/install.sh?token=%s", expiring);
	CHECK_STATUS(r, 404);
	it_resp_free(&r);
	free(pem_copy);
}

/* The installCommand of a new token of cluster in_cid (to free), or NULL. */
static char *install_command_of(const char *in_cid)
{
	struct it_resp r = it_call(srv, "POST", owner.token, "{\"role\":\"worker\"}",
				   "/%s/%s/join-tokens", owner.aid, in_cid);
	const char *command = r.status == 201 ? it_json_str(r.json, "installCommand") : NULL;
	char *copy = command ? strdup(command) : NULL;
	it_resp_free(&r);
	return copy;
}

/* Runs command (the install command as the console shows it) with sh, the
 * installer writing to dir; its exit code, and what it printed in *said (to
 * free). */
static int run_install(const char *command, const char *dir, char **said)
{
	const char *out = it_fmt("%s/install-command-%d.out", it_env.tmpdir, (int)getpid());
	char out_copy[512];
	snprintf(out_copy, sizeof(out_copy), "%s", out);
	char *script = NULL;
	if (asprintf(&script, "%s --config-dir %s", command, dir) < 0)
		return -1;
	const char *path = write_file("install-command.sh", script);
	free(script);
	if (!path)
		return -1;
	int code = it_shell(it_fmt("sh %s >%s 2>&1", path, out_copy));
	*said = read_text(out_copy);
	return code;
}

/* The install command, run as printed: each failure says why and exits
 * non-zero, before it changes anything. */
TEST(install_command_failures)
{
	char own_cid[8];
	REQUIRE(it_new_cluster(srv, &owner, "install-command", own_cid));
	char *first = install_command_of(own_cid);
	char *second = install_command_of(own_cid);
	REQUIRE(first && second);
	const char *d = it_fmt("%s/install-command-%d", it_env.tmpdir, (int)getpid());
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", d);

	/* As printed, it installs. */
	char *said = NULL;
	int code = run_install(first, dir, &said);
	CHECK_MSG(code == 0 && said && strstr(said, "runos: registered as node "), "exit %d: %s",
		  code, said ? said : "");
	free(said);

	/* The same (single-use) token again: the server's reason, exit 1. */
	code = run_install(first, it_fmt("%s-used", dir), &said);
	CHECK_MSG(code == 1 && said && strstr(said, "used up"), "exit %d: %s", code,
		  said ? said : "");
	free(said);

	/* A new token on the same machine: node.exists and what it means, not
	 * "the token was used or expired". */
	code = run_install(second, dir, &said);
	CHECK_MSG(code == 1 && said && strstr(said, "node.exists") &&
			  strstr(said, "already a node of the cluster") && !strstr(said, "expired"),
		  "exit %d: %s", code, said ? said : "");
	free(said);
	const char *p[] = { owner.aid, own_cid };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM nodes WHERE aid = $1 AND cid = $2"
				 " AND deleted_at IS NULL",
				 2, p),
		     1);

	/* The control plane unreachable: curl's reason, exit non-zero. */
	char *unreachable = strdup(second);
	REQUIRE(unreachable != NULL);
	char *port = strstr(unreachable, it_fmt("127.0.0.1:%d/", it_server_port(srv)));
	REQUIRE(port != NULL);
	char *rest = strchr(port, '/');
	char *moved = NULL;
	REQUIRE(asprintf(&moved, "%.*s127.0.0.1:1%s", (int)(port - unreachable), unreachable,
			 rest) > 0);
	code = run_install(moved, it_fmt("%s-unreachable", dir), &said);
	CHECK_MSG(code != 0 && said && strstr(said, "curl"), "exit %d: %s", code, said ? said : "");
	free(said);
	free(moved);
	free(unreachable);
	free(first);
	free(second);
}

/* ---- the agent CA --------------------------------------------------------- */

TEST(ca_key_is_sealed)
{
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM agent_ca WHERE key_sealed LIKE 'v1.%'"
				 " AND key_sealed NOT LIKE '%PRIVATE%' AND cert_pem NOT LIKE"
				 " '%PRIVATE%'",
				 0, NULL),
		     1);
}

TEST(ca_created_once_and_bound_to_the_master_key)
{
	char *url = it_db_create("runosd_test_ca");
	REQUIRE(url != NULL);
	const char *db_var = it_fmt("RUNOS_DATABASE_URL=%s", url);
	char db_copy[1024];
	snprintf(db_copy, sizeof(db_copy), "%s", db_var);
	const char *extra[] = { db_copy, NULL };
	/* Two servers on a new database at once: one CA. */
	struct it_server *a = it_server_start("ca-a", extra);
	struct it_server *b = it_server_start("ca-b", extra);
	CHECK(a != NULL && b != NULL);
	PGconn *fresh = it_db_connect(url);
	if (fresh) {
		CHECK_INT_EQ(it_db_count(fresh, "SELECT count(*) FROM agent_ca", 0, NULL), 1);
		PQfinish(fresh);
	}
	if (a)
		CHECK_INT_EQ(it_server_stop(a), 0);
	if (b)
		CHECK_INT_EQ(it_server_stop(b), 0);

	/* Another master key cannot open it: the server says so and exits 1. */
	const char *other_key[] = {
		db_copy, "RUNOS_MASTER_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL
	};
	struct it_cmd cmd;
	it_run((const char *const[]){ "serve", NULL }, other_key, 15000, &cmd);
	CHECK_INT_EQ(cmd.code, 1);
	CHECK_MSG(cmd.output && strstr(cmd.output, "RUNOS_MASTER_KEY does not open the agent CA"),
		  "output: %s", cmd.output ? cmd.output : "");
	it_cmd_free(&cmd);
	free(url);
	it_db_drop("runosd_test_ca");
}

int main(void)
{
	if (!it_init("it_join_tokens")) {
		test_failed++;
		return it_finish("it_join_tokens");
	}
	srv = it_server_start("join-tokens", NULL);
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	bool ready = srv && pg && it_signup(srv, &owner);
	if (ready) {
		struct it_resp r = it_call(srv, "POST", owner.token, "{\"name\":\"joined\"}",
					   "/%s/clusters", owner.aid);
		ready = r.status == 201;
		if (ready)
			snprintf(cid, sizeof(cid), "%s", it_json_str(r.json, "cid"));
		it_resp_free(&r);
	}
	if (!ready) {
		test_failed++;
		fprintf(stderr, "FAIL it_join_tokens: no server, database, user or cluster\n");
		return it_finish("it_join_tokens");
	}
	RUN(create_defaults_and_secret_handling);
	RUN(create_with_choices_and_bad_input);
	RUN(list_pages_and_revoke);
	RUN(consume_is_atomic);
	RUN(installer);
	RUN(install_command_failures);
	RUN(ca_key_is_sealed);
	RUN(ca_created_once_and_bound_to_the_master_key);
	PQfinish(pg);
	return it_finish("it_join_tokens");
}
