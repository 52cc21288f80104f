/* Clusters through the API, against the contract of API.md §2 and §4:
 *  - create (every field: cid shape, index, and the names derived from them),
 *    show, list, rename/describe with ETag and If-Match, delete (If-Match,
 *    then 404), a deleted cluster's index taken again by the next create;
 *  - bad input: bodies, unknown and malformed cids, another account's cid,
 *    roles, list parameters; the server still serving afterwards;
 *  - allocation under concurrency across two server processes on one
 *    database: 200 simultaneous creates in one account get 200 distinct cids
 *    and exactly the 200 smallest allowed indexes; filling to 248 uses
 *    208-255 and never 200-207; the 249th is 409 cluster.limit; a freed
 *    index is found again, also when several creates race for few of them;
 *  - pagination of the 248 clusters, status filters, cluster domains. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define BASE_DOMAIN "runos.xyz" /* RUNOS_BASE_DOMAIN's default: the harness does not set it */
#define MAX_CLUSTERS 248	/* 256 indexes minus the 8 of user VPN devices */

static struct it_server *srv, *srv2; /* two instances, one database */
static struct it_user owner, stranger;
static struct it_key viewer, member, admin; /* PATs of the owner's personal account */
static PGconn *db;
static char big[8];		 /* the account filled to the limit */
static struct it_key big_viewer; /* a viewer's PAT of big */

static const char *const cluster_fields[] = { "cid",	      "name",	    "description",
					      "domain",	      "status",	    "configured",
					      "clusterIndex", "vpnCidr",    "vip",
					      "k8sApiUrl",    "nodeCounts", "conditions",
					      "createdAt",    "updatedAt",  NULL };
static const char *const count_fields[] = { "total", "online", "offline", NULL };
static const char *const domain_fields[] = { "id", "cid", "fqdn", "wildcard", NULL };
static const char *const ready_fields[] = { "ready", "harbor", "minio", "buildkit", NULL };

/* ---- shapes ------------------------------------------------------------ */

static bool is_cid(const char *s)
{
	if (!s || strlen(s) != 3 || s[0] < 'a' || s[0] > 'z')
		return false;
	for (int i = 1; i < 3; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static bool index_allowed(long long i)
{
	return i >= 0 && i <= 255 && !(i >= 200 && i <= 207);
}

/* The n-th smallest allowed index (from 0): 0..199, then 208..255. */
static int nth_index(int n)
{
	return n < 200 ? n : n + 8;
}

/* Shape checks count one check per object: each problem is printed, and
 * the check fails when there was any. */
struct shape {
	const char *what;
	int problems;
};

static void problem(struct shape *sh, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(struct shape *sh, bool ok, const char *fmt, ...)
{
	if (ok)
		return;
	sh->problems++;
	fprintf(stderr, "  %s: ", sh->what);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* obj is an object whose members are exactly fields. */
static void members(struct shape *sh, const json_t *obj, const char *const *fields)
{
	problem(sh, json_is_object(obj), "not an object");
	if (!json_is_object(obj))
		return;
	for (const char *const *f = fields; *f; f++)
		problem(sh, json_object_get(obj, *f) != NULL, "no member %s", *f);
	const char *key;
	json_t *value;
	json_object_foreach ((json_t *)obj, key, value) {
		bool known = false;
		for (const char *const *f = fields; *f; f++)
			known |= strcmp(*f, key) == 0;
		problem(sh, known, "unexpected member %s", key);
	}
}

static void check_members_at(const json_t *obj, const char *const *fields, const char *what,
			     const char *file, int line)
{
	struct shape sh = { what, 0 };
	members(&sh, obj, fields);
	test_record(sh.problems == 0, file, line, "%s: members differ (above)", what);
}
#define CHECK_MEMBERS(obj, fields, what)                                                           \
	check_members_at((obj), (fields), (what), __FILE__, __LINE__)

static void str_is(struct shape *sh, const json_t *c, const char *key, const char *want)
{
	const char *got = json_string_value(json_object_get(c, key));
	problem(sh, test_str_eq(got, want), "%s \"%s\", want \"%s\"", key, test_str_shown(got),
		want);
}

/* c is a cluster of account aid as the contract has it: its members, a cid
 * of the right shape, an allowed index, the names derived from cid, aid and
 * index, a new cluster's status, configuration and node counts, and times.
 * name and description are compared when not NULL. One check. */
static void check_cluster_at(const json_t *c, const char *aid, const char *name,
			     const char *description, const char *file, int line)
{
	const char *cid = json_string_value(json_object_get(c, "cid"));
	char what[64];
	snprintf(what, sizeof(what), "cluster %s of %s", test_str_shown(cid), aid);
	struct shape sh = { what, 0 };
	members(&sh, c, cluster_fields);
	problem(&sh, is_cid(cid), "cid is not [a-z][a-z0-9]{2}");
	if (json_is_object(c) && cid) {
		if (name)
			str_is(&sh, c, "name", name);
		if (description)
			str_is(&sh, c, "description", description);
		else
			problem(&sh, json_is_string(json_object_get(c, "description")),
				"description is not a string");
		json_t *index = json_object_get(c, "clusterIndex");
		int i = (int)json_integer_value(index);
		problem(&sh, json_is_integer(index) && index_allowed(json_integer_value(index)),
			"clusterIndex %d is not in 0-255 without 200-207", i);
		char domain[64];
		snprintf(domain, sizeof(domain), "%s.%s." BASE_DOMAIN, cid, aid);
		str_is(&sh, c, "domain", domain);
		str_is(&sh, c, "vpnCidr", it_fmt("172.24.%d.0/24", i));
		str_is(&sh, c, "vip", it_fmt("172.24.%d.254", i));
		str_is(&sh, c, "k8sApiUrl", it_fmt("https://k8s.%s:6446", domain));
		str_is(&sh, c, "status", "pending");
		problem(&sh, json_is_false(json_object_get(c, "configured")),
			"configured is not false");
		json_t *conditions = json_object_get(c, "conditions");
		problem(&sh, json_is_array(conditions) && json_array_size(conditions) == 0,
			"conditions is not []");
		json_t *counts = json_object_get(c, "nodeCounts");
		members(&sh, counts, count_fields);
		for (const char *const *f = count_fields; *f; f++) {
			json_t *v = json_object_get(counts, *f);
			problem(&sh, json_is_integer(v) && json_integer_value(v) == 0,
				"nodeCounts.%s is not 0", *f);
		}
		time_t created = 0, updated = 0, now = time(NULL);
		bool times = it_parse_time(it_json_str(c, "createdAt"), &created) &&
			     it_parse_time(it_json_str(c, "updatedAt"), &updated);
		problem(&sh, times, "createdAt/updatedAt are not RFC 3339 UTC");
		if (times) {
			problem(&sh, created > now - 600 && created <= now + 5,
				"createdAt %s is not about now", it_format_time(created));
			problem(&sh, updated >= created && updated <= now + 5,
				"updatedAt %s, createdAt %s", it_format_time(updated),
				it_format_time(created));
		}
	}
	test_record(sh.problems == 0, file, line, "%s: %d problem(s), listed above", what,
		    sh.problems);
}
#define CHECK_CLUSTER(c, aid, name, description)                                                   \
	check_cluster_at((c), (aid), (name), (description), __FILE__, __LINE__)

static int index_of(const json_t *c)
{
	json_t *v = json_object_get(c, "clusterIndex");
	return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

/* ---- requests ---------------------------------------------------------- */

static struct it_resp create(const char *token, const char *aid, const char *body)
{
	return it_call(srv, "POST", token, body, "/%s/clusters", aid);
}

/* Creates a cluster named name in aid as the owner; its cid (and index). */
static bool create_ok(const char *aid, const char *name, char cid[8], int *index)
{
	struct it_resp r = create(owner.token, aid, it_fmt("{\"name\":\"%s\"}", name));
	bool ok = CHECK_STATUS(r, 201) && is_cid(it_json_str(r.json, "cid"));
	if (ok) {
		snprintf(cid, 8, "%s", it_json_str(r.json, "cid"));
		if (index)
			*index = index_of(r.json);
	}
	it_resp_free(&r);
	return ok;
}

/* method on /:aid/clusters/:cid as the owner, with If-Match when if_match is not NULL. */
static struct it_resp on_cluster(const char *method, const char *if_match, const char *body,
				 const char *aid, const char *cid)
{
	const char *headers[] = { if_match ? it_fmt("If-Match: %s", if_match) : NULL, NULL };
	struct it_req req = { .method = method,
			      .path = it_fmt("/%s/clusters/%s", aid, cid),
			      .token = owner.token,
			      .body = body,
			      .headers = headers };
	struct it_resp r;
	it_request(srv, &req, &r);
	return r;
}

/* A new account of the owner (cheaper than a signup: no argon2). */
static bool new_account(const char *name, char aid[8])
{
	struct it_resp r = it_call(srv, "POST", owner.token, it_fmt("{\"name\":\"%s\"}", name),
				   "/user/accounts");
	bool ok = CHECK_STATUS(r, 201) && it_is_aid(it_json_str(r.json, "aid"));
	if (ok)
		snprintf(aid, 8, "%s", it_json_str(r.json, "aid"));
	it_resp_free(&r);
	return ok;
}

static long long clusters_in_db(const char *aid)
{
	const char *p[] = { aid };
	return it_db_count(db, "SELECT count(*) FROM clusters WHERE aid = $1", 1, p);
}

/* The cids of aid in the database, sorted; their number (at most cap). */
static size_t db_cids(const char *aid, char (*out)[8], size_t cap)
{
	const char *p[] = { aid };
	PGresult *res = PQexecParams(db, "SELECT cid FROM clusters WHERE aid = $1 ORDER BY cid", 1,
				     NULL, p, NULL, NULL, 0);
	size_t n = 0;
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		for (int i = 0; i < PQntuples(res) && n < cap; i++)
			snprintf(out[n++], 8, "%s", PQgetvalue(res, i, 0));
	else
		fprintf(stderr, "db_cids: %s", PQerrorMessage(db));
	PQclear(res);
	return n;
}

/* The query parameters of want ("a=1&b=2&", may end with &) are each in
 * the query of the URL path got. */
static bool keeps_params(const char *got, const char *want)
{
	const char *q = strchr(got, '?');
	if (!q)
		return *want == '\0';
	char params[1024];
	snprintf(params, sizeof(params), "&%s&", q + 1);
	char copy[640];
	snprintf(copy, sizeof(copy), "%s", want);
	for (char *save, *p = strtok_r(copy, "&", &save); p; p = strtok_r(NULL, "&", &save))
		if (!strstr(params, it_fmt("&%s&", p)))
			return false;
	return true;
}

/* Pages through GET path?<query>limit=<limit> (limit 0: none sent) by the
 * Link rel=next of each page, until a page has none. A page with a next has
 * exactly {key, nextCursor} and a Link whose URL keeps query and limit and
 * sets cursor to nextCursor, and that URL fetched as it is answers what
 * ?cursor=<nextCursor> does; the last page is exactly {key}, without Link.
 * Returns every item (a new array); sizes gets each page's length. */
static json_t *list_pages(const char *token, const char *path, const char *query, int limit,
			  const char *key, int *sizes, int max_pages, int *npages)
{
	json_t *all = json_array();
	const char *const envelope[] = { key, "nextCursor", NULL };
	const char *const last_envelope[] = { key, NULL };
	char lim[32] = "";
	if (limit)
		snprintf(lim, sizeof(lim), "limit=%d&", limit);
	char page[1024];
	snprintf(page, sizeof(page), "%s?%s%s", path, query, lim);
	*npages = 0;
	for (;;) {
		struct it_resp r = it_call(srv, "GET", token, NULL, "%s", page);
		if (!CHECK_STATUS(r, 200)) {
			it_resp_free(&r);
			break;
		}
		json_t *items = json_object_get(r.json, key);
		CHECK_MSG(json_is_array(items), "%s: %s is not an array", r.what, key);
		if (*npages < max_pages)
			sizes[*npages] = (int)json_array_size(items);
		(*npages)++;
		json_array_extend(all, items);
		const char *next = it_json_str(r.json, "nextCursor");
		if (!next) {
			CHECK_MEMBERS(r.json, last_envelope, r.what);
			CHECK_MSG(it_header(&r, "Link") == NULL, "%s: last page with Link %s",
				  r.what, it_header(&r, "Link"));
			it_resp_free(&r);
			break;
		}
		CHECK_MEMBERS(r.json, envelope, r.what);
		CHECK_MSG(*next != '\0', "%s: empty nextCursor", r.what);
		char link[1024];
		bool linked = it_link_next(srv, &r, link, sizeof(link));
		CHECK_MSG(linked, "%s: %s", r.what, link);
		if (!linked) {
			it_resp_free(&r);
			break;
		}
		char want[640];
		snprintf(want, sizeof(want), "%s%scursor=%s", query, lim, next);
		CHECK_MSG(strncmp(link, it_fmt("%s?", path), strlen(path) + 1) == 0 &&
				  keeps_params(link, want),
			  "%s: Link %s, want %s?%s", r.what, link, path, want);
		struct it_resp by_cursor = it_call(srv, "GET", token, NULL, "%s?%s%scursor=%s",
						   path, query, lim, next);
		struct it_resp by_link = it_call(srv, "GET", token, NULL, "%s", link);
		CHECK_MSG(by_link.status == 200 && json_equal(by_link.json, by_cursor.json),
			  "%s: the Link's page differs from ?cursor=: %.200s", r.what,
			  by_link.body ? by_link.body : "");
		it_resp_free(&by_cursor);
		it_resp_free(&by_link);
		snprintf(page, sizeof(page), "%s", link);
		it_resp_free(&r);
		if (*npages >= max_pages) {
			CHECK_MSG(false, "%s: more than %d pages", path, max_pages);
			break;
		}
	}
	return all;
}

/* The element of a list of objects whose member key is value, or NULL. */
static json_t *find_by(const json_t *list, const char *key, const char *value)
{
	size_t i;
	json_t *item;
	json_array_foreach (list, i, item)
		if (test_str_eq(json_string_value(json_object_get(item, key)), value))
			return item;
	return NULL;
}

/* ---- create, show, list, update, delete -------------------------------- */

static char cid_a[8], cid_b[8], cid_c[8]; /* of the owner's personal account */

TEST(create_and_show)
{
	struct it_resp r =
		create(owner.token, owner.aid, "{\"name\":\"web\",\"description\":\"first one\"}");
	REQUIRE(CHECK_STATUS(r, 201));
	CHECK_CLUSTER(r.json, owner.aid, "web", "first one");
	CHECK_INT_EQ(index_of(r.json), 0);
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v1\"");
	CHECK(test_str_eq(it_header(&r, "Content-Type"), "application/json"));
	snprintf(cid_a, sizeof(cid_a), "%s", it_json_str(r.json, "cid") ?: "");
	json_t *created_a = json_incref(r.json);
	it_resp_free(&r);

	/* No description: an empty one. */
	r = create(owner.token, owner.aid, "{\"name\":\"db\"}");
	REQUIRE(CHECK_STATUS(r, 201));
	CHECK_CLUSTER(r.json, owner.aid, "db", "");
	CHECK_INT_EQ(index_of(r.json), 1);
	snprintf(cid_b, sizeof(cid_b), "%s", it_json_str(r.json, "cid") ?: "");
	it_resp_free(&r);

	/* An admin's PAT creates too. */
	r = create(admin.token, owner.aid, "{\"name\":\"by admin\",\"description\":\"\"}");
	REQUIRE(CHECK_STATUS(r, 201));
	CHECK_CLUSTER(r.json, owner.aid, "by admin", "");
	CHECK_INT_EQ(index_of(r.json), 2);
	snprintf(cid_c, sizeof(cid_c), "%s", it_json_str(r.json, "cid") ?: "");
	it_resp_free(&r);
	CHECK(strcmp(cid_a, cid_b) != 0 && strcmp(cid_a, cid_c) != 0 && strcmp(cid_b, cid_c) != 0);

	/* Show: what create answered, with its ETag; a viewer may read. */
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid_a);
	CHECK_STATUS(r, 200);
	CHECK_MSG(json_equal(r.json, created_a), "GET differs from the create answer: %.300s",
		  r.body);
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v1\"");
	it_resp_free(&r);
	r = it_call(srv2, "GET", viewer.token, NULL, "/%s/clusters/%s", owner.aid, cid_a);
	CHECK_STATUS(r, 200);
	CHECK_MSG(json_equal(r.json, created_a), "GET (viewer, 2nd server) differs: %.300s",
		  r.body);
	it_resp_free(&r);

	/* List: the three, each as GET shows it; nothing else. */
	r = it_call(srv, "GET", viewer.token, NULL, "/%s/clusters", owner.aid);
	CHECK_STATUS(r, 200);
	/* The only page: exactly {clusters}, no Link. */
	const char *const envelope[] = { "clusters", NULL };
	CHECK_MEMBERS(r.json, envelope, r.what);
	CHECK(it_header(&r, "Link") == NULL);
	json_t *list = json_object_get(r.json, "clusters");
	CHECK_INT_EQ(json_array_size(list), 3);
	const char *cids[] = { cid_a, cid_b, cid_c };
	for (int i = 0; i < 3; i++) {
		json_t *item = find_by(list, "cid", cids[i]);
		CHECK_MSG(item != NULL, "cluster %s not listed", cids[i]);
		if (!item)
			continue;
		CHECK_CLUSTER(item, owner.aid, NULL, NULL);
		struct it_resp one = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s",
					     owner.aid, cids[i]);
		CHECK_MSG(json_equal(one.json, item), "list item %s differs from GET", cids[i]);
		it_resp_free(&one);
	}
	it_resp_free(&r);
	CHECK_INT_EQ(clusters_in_db(owner.aid), 3);

	/* Deployment readiness: nothing is installed, so nothing is ready. */
	r = it_call(srv, "GET", viewer.token, NULL, "/%s/clusters/%s/is-app-deployment-ready",
		    owner.aid, cid_a);
	CHECK_STATUS(r, 200);
	CHECK_MEMBERS(r.json, ready_fields, r.what);
	for (const char *const *f = ready_fields; *f; f++)
		CHECK_MSG(json_is_false(json_object_get(r.json, *f)), "%s is not false", *f);
	it_resp_free(&r);

	/* Kubeconfig: admin and above get 409 until the cluster is active;
	 * below admin, 403 (it is a credential). */
	const char *tokens[] = { admin.token, owner.token };
	for (int i = 0; i < 2; i++) {
		r = it_call(srv, "GET", tokens[i], NULL, "/%s/clusters/%s/kubeconfig", owner.aid,
			    cid_a);
		CHECK_ERROR(r, 409, "cluster.not_active");
		it_resp_free(&r);
	}
	const char *low[] = { viewer.token, member.token };
	for (int i = 0; i < 2; i++) {
		r = it_call(srv, "GET", low[i], NULL, "/%s/clusters/%s/kubeconfig", owner.aid,
			    cid_a);
		CHECK_ERROR(r, 403, "auth.forbidden");
		it_resp_free(&r);
	}
	json_decref(created_a);
}

static bool etag_is(const char *aid, const char *cid, const char *want)
{
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", aid, cid);
	bool ok = r.status == 200 && test_str_eq(it_header(&r, "ETag"), want);
	if (!ok)
		fprintf(stderr, "  ETag of %s: %s (%ld), want %s\n", cid,
			test_str_shown(it_header(&r, "ETag")), r.status, want);
	it_resp_free(&r);
	return ok;
}

TEST(update)
{
	struct it_resp r =
		it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid_a);
	REQUIRE(CHECK_STATUS(r, 200));
	json_t *before = json_incref(r.json);
	it_resp_free(&r);
	it_sleep_ms(1100); /* times have whole seconds */

	/* Rename: the description stays, the version and updatedAt move, the
	 * allocation does not. */
	r = on_cluster("PATCH", NULL, "{\"name\":\"web-renamed\"}", owner.aid, cid_a);
	CHECK_STATUS(r, 200);
	CHECK_CLUSTER(r.json, owner.aid, "web-renamed", "first one");
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v2\"");
	static const char *const kept[] = { "cid", "domain",	"vpnCidr",
					    "vip", "k8sApiUrl", "createdAt" };
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		CHECK_MSG(json_equal(json_object_get(r.json, kept[i]),
				     json_object_get(before, kept[i])),
			  "%s changed on rename", kept[i]);
	CHECK_INT_EQ(index_of(r.json), index_of(before));
	time_t t0 = 0, t1 = 0;
	CHECK(it_parse_time(it_json_str(before, "updatedAt"), &t0) &&
	      it_parse_time(it_json_str(r.json, "updatedAt"), &t1) && t1 > t0);
	it_resp_free(&r);

	r = on_cluster("PATCH", NULL, "{\"description\":\"now described\"}", owner.aid, cid_a);
	CHECK_STATUS(r, 200);
	CHECK_CLUSTER(r.json, owner.aid, "web-renamed", "now described");
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v3\"");
	it_resp_free(&r);

	r = on_cluster("PATCH", "\"v3\"", "{\"name\":\"web\",\"description\":\"\"}", owner.aid,
		       cid_a);
	CHECK_STATUS(r, 200);
	CHECK_CLUSTER(r.json, owner.aid, "web", "");
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v4\"");
	json_t *v4 = json_incref(r.json);
	it_resp_free(&r);
	r = it_call(srv2, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid_a);
	CHECK_MSG(json_equal(r.json, v4), "GET after PATCH differs: %.300s", r.body);
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v4\"");
	it_resp_free(&r);

	/* If-Match: stale and weak → 412, malformed → 400; none changes anything. */
	/* (A quoted tag of another form is well-formed, and never matches.) */
	static const char *const stale[] = { "\"v1\"", "\"v3\"", "\"v5\"", "W/\"v4\"", "\"x4\"" };
	for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		r = on_cluster("PATCH", stale[i], "{\"name\":\"stale\"}", owner.aid, cid_a);
		CHECK_ERROR(r, 412, "precondition.failed");
		it_resp_free(&r);
	}
	static const char *const malformed[] = { "abc", "v4", "\"v4" };
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		r = on_cluster("PATCH", malformed[i], "{\"name\":\"malformed\"}", owner.aid, cid_a);
		CHECK_ERROR(r, 400, "validation.if_match");
		it_resp_free(&r);
	}
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid_a);
	CHECK_MSG(json_equal(r.json, v4), "refused PATCHes changed the cluster: %.300s", r.body);
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v4\"");
	it_resp_free(&r);
	json_decref(v4);

	r = on_cluster("PATCH", "*", "{\"description\":\"any version\"}", owner.aid, cid_a);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v5\"");
	it_resp_free(&r);
	r = on_cluster("PATCH", "\"v5\"", "{\"description\":\"current version\"}", owner.aid,
		       cid_a);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v6\"");
	CHECK_STR_EQ(it_json_str(r.json, "description"), "current version");
	it_resp_free(&r);

	/* Roles: viewer and member may not; an admin's PAT may. */
	const char *low[] = { viewer.token, member.token };
	for (int i = 0; i < 2; i++) {
		r = it_call(srv, "PATCH", low[i], "{\"name\":\"by a low role\"}", "/%s/clusters/%s",
			    owner.aid, cid_a);
		CHECK_ERROR(r, 403, "auth.forbidden");
		it_resp_free(&r);
	}
	CHECK(etag_is(owner.aid, cid_a, "\"v6\""));
	r = it_call(srv, "PATCH", admin.token, "{\"name\":\"by admin\"}", "/%s/clusters/%s",
		    owner.aid, cid_a);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "by admin");
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v7\"");
	it_resp_free(&r);

	/* Bodies the schema refuses, each naming its field; nothing changes. */
	static char long_name[256], long_desc[1200];
	snprintf(long_name, sizeof(long_name), "{\"name\":\"%0101d\"}", 0);
	snprintf(long_desc, sizeof(long_desc), "{\"description\":\"%01001d\"}", 0);
	const struct {
		const char *body, *code, *field;
	} bad[] = {
		{ "{\"name\":\"   \"}", "validation.invalid", "name" },
		{ long_name, "validation.length", "name" },
		{ "{\"name\":7}", "validation.type", "name" },
		{ long_desc, "validation.length", "description" },
		{ "{\"description\":false}", "validation.type", "description" },
		{ "{\"cid\":\"abc\"}", "validation.unknown_field", "cid" },
		{ "{\"name\":\"x\",\"clusterIndex\":9}", "validation.unknown_field",
		  "clusterIndex" },
		{ "{\"status\":\"active\"}", "validation.unknown_field", "status" },
		{ "{\"domain\":\"evil.example\"}", "validation.unknown_field", "domain" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = on_cluster("PATCH", NULL, bad[i].body, owner.aid, cid_a);
		CHECK_ERROR(r, 400, bad[i].code);
		CHECK_STR_EQ(it_json_str(r.json, "field"), bad[i].field);
		if (r.status != 400)
			fprintf(stderr, "  (PATCH body #%zu: %.60s)\n", i, bad[i].body);
		it_resp_free(&r);
	}
	CHECK(etag_is(owner.aid, cid_a, "\"v7\""));

	/* The limits themselves are allowed: 100 characters (of two bytes
	 * each), 1000 of description. */
	static char name100[256], desc1000[1100], body[1400];
	for (int i = 0; i < 100; i++)
		memcpy(name100 + 2 * i, "\xc3\xa9", 2); /* é */
	memset(desc1000, 'd', 1000);
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"description\":\"%s\"}", name100, desc1000);
	r = on_cluster("PATCH", "\"v7\"", body, owner.aid, cid_a);
	CHECK_STATUS(r, 200);
	CHECK_CLUSTER(r.json, owner.aid, name100, desc1000);
	it_resp_free(&r);
	json_decref(before);
}

TEST(delete_and_index_reuse)
{
	/* cid_b (index 1): a stale or malformed If-Match and low roles are
	 * refused, and it is still there. */
	struct it_resp r = on_cluster("DELETE", "\"v9\"", NULL, owner.aid, cid_b);
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	r = on_cluster("DELETE", "abc", NULL, owner.aid, cid_b);
	CHECK_ERROR(r, 400, "validation.if_match");
	it_resp_free(&r);
	const char *low[] = { viewer.token, member.token };
	for (int i = 0; i < 2; i++) {
		r = it_call(srv, "DELETE", low[i], NULL, "/%s/clusters/%s", owner.aid, cid_b);
		CHECK_ERROR(r, 403, "auth.forbidden");
		it_resp_free(&r);
	}
	CHECK(etag_is(owner.aid, cid_b, "\"v1\""));

	r = on_cluster("DELETE", "\"v1\"", NULL, owner.aid, cid_b);
	CHECK_STATUS(r, 204);
	CHECK_INT_EQ(r.body_len, 0);
	it_resp_free(&r);

	/* Gone from everything, on both servers. */
	const struct it_server *servers[] = { srv, srv2 };
	for (int s = 0; s < 2; s++) {
		r = it_call(servers[s], "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid,
			    cid_b);
		CHECK_ERROR(r, 404, "cluster.not_found");
		it_resp_free(&r);
	}
	r = on_cluster("DELETE", NULL, NULL, owner.aid, cid_b);
	CHECK_ERROR(r, 404, "cluster.not_found");
	it_resp_free(&r);
	r = on_cluster("DELETE", "*", NULL, owner.aid, cid_b);
	CHECK_ERROR(r, 404, "cluster.not_found");
	it_resp_free(&r);
	r = on_cluster("PATCH", NULL, "{\"name\":\"ghost\"}", owner.aid, cid_b);
	CHECK_ERROR(r, 404, "cluster.not_found");
	it_resp_free(&r);
	static const char *const subs[] = { "kubeconfig", "is-app-deployment-ready" };
	for (int i = 0; i < 2; i++) {
		r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s/%s", owner.aid, cid_b,
			    subs[i]);
		CHECK_ERROR(r, 404, "cluster.not_found");
		it_resp_free(&r);
	}
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters", owner.aid);
	CHECK_INT_EQ(json_array_size(it_json_get(r.json, "clusters")), 2);
	CHECK(find_by(it_json_get(r.json, "clusters"), "cid", cid_b) == NULL);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/cluster-domains", owner.aid);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(it_json_get(r.json, "clusterDomains")), 2);
	CHECK(find_by(it_json_get(r.json, "clusterDomains"), "cid", cid_b) == NULL);
	it_resp_free(&r);
	CHECK_INT_EQ(clusters_in_db(owner.aid), 2);

	/* Index 1 is free again: the next create takes it. */
	char cid[8];
	int index = -1;
	REQUIRE(create_ok(owner.aid, "takes 1", cid, &index));
	CHECK_INT_EQ(index, 1);
	/* Delete index 0 (cid_a, by an admin's PAT, without If-Match): the
	 * next create gets 0, the one after it 3. */
	r = it_call(srv, "DELETE", admin.token, NULL, "/%s/clusters/%s", owner.aid, cid_a);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	REQUIRE(create_ok(owner.aid, "takes 0", cid, &index));
	CHECK_INT_EQ(index, 0);
	REQUIRE(create_ok(owner.aid, "takes 3", cid, &index));
	CHECK_INT_EQ(index, 3);
	snprintf(cid_a, sizeof(cid_a), "%s", cid);
	CHECK_INT_EQ(clusters_in_db(owner.aid), 4);
}

/* ---- bad input --------------------------------------------------------- */

/* A cid of the right shape that aid does not have. */
static void missing_cid(const char *aid, char out[8])
{
	static const char *const tries[] = { "zzz", "zzy", "zzx", "zzw" };
	for (size_t i = 0; i < 4; i++) {
		const char *p[] = { aid, tries[i] };
		snprintf(out, 8, "%s", tries[i]);
		if (it_db_count(db, "SELECT count(*) FROM clusters WHERE aid = $1 AND cid = $2", 2,
				p) == 0)
			return;
	}
}

/* Every route of one cluster, by the owner: 404 with code. */
static void all_not_found(const char *aid, const char *cid, const char *code, const char *why)
{
	const struct {
		const char *method, *suffix, *body;
	} routes[] = {
		{ "GET", "", NULL },
		{ "PATCH", "", "{\"name\":\"found?\"}" },
		{ "DELETE", "", NULL },
		{ "GET", "/kubeconfig", NULL },
		{ "GET", "/is-app-deployment-ready", NULL },
	};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		struct it_resp r = it_call(srv, routes[i].method, owner.token, routes[i].body,
					   "/%s/clusters/%s%s", aid, cid, routes[i].suffix);
		CHECK_ERROR(r, 404, code);
		if (r.status != 404 || !test_str_eq(it_json_str(r.json, "code"), code))
			fprintf(stderr, "  (%s)\n", why);
		it_resp_free(&r);
	}
}

TEST(bad_input)
{
	long long before = clusters_in_db(owner.aid);
	static char long_name[256], long_desc[1200];
	snprintf(long_name, sizeof(long_name), "{\"name\":\"%0101d\"}", 0);
	snprintf(long_desc, sizeof(long_desc), "{\"name\":\"ok\",\"description\":\"%01001d\"}", 0);
	const struct {
		const char *body, *code, *field; /* code NULL: any validation.* */
	} bad[] = {
		{ "{}", "validation.required", "name" },
		{ "{\"name\":null}", "validation.required", "name" },
		{ "{\"description\":\"no name\"}", "validation.required", "name" },
		{ "{\"name\":\"\"}", NULL, "name" },
		{ "{\"name\":\"   \"}", "validation.invalid", "name" },
		{ "{\"name\":\"\\t\\n \"}", "validation.invalid", "name" },
		{ long_name, "validation.length", "name" },
		{ "{\"name\":5}", "validation.type", "name" },
		{ "{\"name\":true}", "validation.type", "name" },
		{ "{\"name\":[\"x\"]}", "validation.type", "name" },
		{ "{\"name\":{}}", "validation.type", "name" },
		{ "{\"name\":\"ok\",\"description\":5}", "validation.type", "description" },
		{ long_desc, "validation.length", "description" },
		{ "{\"name\":\"ok\",\"cid\":\"abc\"}", "validation.unknown_field", "cid" },
		{ "{\"name\":\"ok\",\"clusterIndex\":3}", "validation.unknown_field",
		  "clusterIndex" },
		{ "{\"name\":\"ok\",\"status\":\"active\"}", "validation.unknown_field", "status" },
		{ "{\"name\":\"ok\",\"configured\":true}", "validation.unknown_field",
		  "configured" },
		{ "{\"name\":\"ok\",\"domain\":\"x.example\"}", "validation.unknown_field",
		  "domain" },
		{ "{\"name\":\"ok\",\"aid\":\"abcde\"}", "validation.unknown_field", "aid" },
		{ "[]", "validation.not_object", NULL },
		{ "{\"name\":", "validation.malformed_json", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct it_resp r = create(owner.token, owner.aid, bad[i].body);
		if (bad[i].code) {
			CHECK_ERROR(r, 400, bad[i].code);
		} else {
			CHECK_STATUS(r, 400);
			const char *code = it_json_str(r.json, "code");
			CHECK_MSG(code && strncmp(code, "validation.", 11) == 0, "code %s",
				  test_str_shown(code));
		}
		if (bad[i].field)
			CHECK_STR_EQ(it_json_str(r.json, "field"), bad[i].field);
		if (r.status != 400)
			fprintf(stderr, "  (POST body #%zu: %.60s)\n", i, bad[i].body);
		it_resp_free(&r);
	}

	/* Below admin: 403, whatever the body. */
	const char *low[] = { viewer.token, member.token };
	for (int i = 0; i < 2; i++) {
		struct it_resp r = create(low[i], owner.aid, "{\"name\":\"by a low role\"}");
		CHECK_ERROR(r, 403, "auth.forbidden");
		it_resp_free(&r);
	}
	CHECK_INT_EQ(clusters_in_db(owner.aid), before);

	/* Unknown and malformed cids. */
	char missing[8];
	missing_cid(owner.aid, missing);
	all_not_found(owner.aid, missing, "cluster.not_found", "unknown cid");
	static const char *const malformed[] = { "ABC", "toolong", "1ab", "ab",
						 "Abc", "a-b",	   "a_b", "abcd" };
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		all_not_found(owner.aid, malformed[i], "cluster.not_found", malformed[i]);

	/* Another account's cluster: through the caller's own account it does
	 * not exist; through its account, the account does not. */
	char theirs[8];
	struct it_resp r = create(stranger.token, stranger.aid, "{\"name\":\"mine\"}");
	REQUIRE(CHECK_STATUS(r, 201));
	snprintf(theirs, sizeof(theirs), "%s", it_json_str(r.json, "cid") ?: "");
	it_resp_free(&r);
	const char *p[] = { owner.aid, theirs };
	if (it_db_count(db, "SELECT count(*) FROM clusters WHERE aid = $1 AND cid = $2", 2, p) == 0)
		all_not_found(owner.aid, theirs, "cluster.not_found", "another account's cid");
	all_not_found(stranger.aid, theirs, "account.not_found", "another account");
	r = create(owner.token, stranger.aid, "{\"name\":\"in their account\"}");
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", stranger.token, NULL, "/%s/clusters/%s", stranger.aid, theirs);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "mine");
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v1\"");
	it_resp_free(&r);
	CHECK_INT_EQ(clusters_in_db(stranger.aid), 1);

	/* List parameters. */
	static const char *const statuses[] = { "bogus",	  "PENDING", "Active",
						"pending,active", "all",     "pending%20" };
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		r = it_call(srv, "GET", viewer.token, NULL, "/%s/clusters?status=%s", owner.aid,
			    statuses[i]);
		CHECK_ERROR(r, 400, "validation.invalid");
		CHECK_STR_EQ(it_json_str(r.json, "field"), "status");
		it_resp_free(&r);
	}
	static const char *const params[] = { "limit=0", "limit=201", "limit=abc", "limit=-1",
					      "cursor=garbage!!" };
	static const char *const lists[] = { "clusters", "cluster-domains" };
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
			r = it_call(srv, "GET", viewer.token, NULL, "/%s/%s?%s", owner.aid,
				    lists[l], params[i]);
			bool is_limit = strncmp(params[i], "limit=", 6) == 0;
			CHECK_ERROR(r, 400, is_limit ? "validation.range" : "validation.invalid");
			CHECK_STR_EQ(it_json_str(r.json, "field"), is_limit ? "limit" : "cursor");
			it_resp_free(&r);
		}

	/* Still serving, both instances. */
	const struct it_server *servers[] = { srv, srv2 };
	for (int s = 0; s < 2; s++) {
		CHECK(it_server_alive((struct it_server *)servers[s]));
		r = it_call(servers[s], "GET", NULL, NULL, "/healthz");
		CHECK_STATUS(r, 200);
		it_resp_free(&r);
		r = it_call(servers[s], "GET", viewer.token, NULL, "/%s/clusters", owner.aid);
		CHECK_STATUS(r, 200);
		it_resp_free(&r);
	}
}

/* ---- allocation under concurrency -------------------------------------- */

enum {
	BURST_MAX = 256,
	THREADS = 16
};

struct burst {
	const char *aid;
	int total;
	atomic_int ready;
	atomic_bool go;
	struct {
		long status;
		json_t *json; /* the answer; the main thread checks and frees it */
		char body[200];
	} out[BURST_MAX];
};

struct worker {
	struct burst *b;
	int id;
};

/* Thread id sends creates id, id + THREADS, ... to server id % 2. Checks
 * happen on the main thread afterwards (testlib's counters are not atomic). */
static void *burst_worker(void *arg)
{
	struct worker *w = arg;
	struct burst *b = w->b;
	const struct it_server *s = w->id % 2 ? srv2 : srv;
	atomic_fetch_add(&b->ready, 1);
	while (!atomic_load(&b->go))
		it_sleep_ms(1);
	for (int j = w->id; j < b->total; j += THREADS) {
		struct it_resp r =
			it_call(s, "POST", owner.token, it_fmt("{\"name\":\"burst %d\"}", j),
				"/%s/clusters", b->aid);
		b->out[j].status = r.status;
		b->out[j].json = r.json ? json_incref(r.json) : NULL;
		snprintf(b->out[j].body, sizeof(b->out[j].body), "%.190s",
			 r.status ? (r.body ? r.body : "") : r.curl_error);
		it_resp_free(&r);
	}
	return NULL;
}

/* n creates at once into aid, half to each server; the number that got 201.
 * The first few other answers are shown (409s only when all should succeed). */
static int run_burst(struct burst *b, const char *aid, int n, bool all_should_succeed)
{
	memset(b, 0, sizeof(*b));
	atomic_init(&b->ready, 0);
	atomic_init(&b->go, false);
	b->aid = aid;
	b->total = n;
	pthread_t threads[THREADS];
	struct worker workers[THREADS];
	int started = 0;
	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){ b, i };
		if (pthread_create(&threads[i], NULL, burst_worker, &workers[i]) != 0)
			break;
		started++;
	}
	CHECK_INT_EQ(started, THREADS);
	while (atomic_load(&b->ready) < started)
		it_sleep_ms(1);
	double t0 = it_now_ms();
	atomic_store(&b->go, true);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	int created = 0, shown = 0;
	for (int j = 0; j < n; j++) {
		if (b->out[j].status == 201)
			created++;
		else if ((all_should_succeed || b->out[j].status != 409) && shown++ < 5)
			fprintf(stderr, "  create #%d: %ld %s\n", j, b->out[j].status,
				b->out[j].body);
	}
	fprintf(stderr, "burst: %d creates into %s over 2 servers in %.0f ms: %d got 201\n", n, aid,
		it_now_ms() - t0, created);
	return created;
}

static void burst_free(struct burst *b)
{
	for (int j = 0; j < b->total; j++)
		json_decref(b->out[j].json);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static struct burst burst;
static char big_cid_at[256][8]; /* big's cid by index */

/* The 201s of the burst: each a full cluster of big, with a fresh cid and
 * index (recorded in big_cid_at); their indexes, sorted, go to indexes. */
static int collect(struct burst *b, int *indexes)
{
	int n = 0, dup_index = 0, dup_cid = 0;
	for (int j = 0; j < b->total; j++) {
		if (b->out[j].status != 201)
			continue;
		json_t *c = b->out[j].json;
		CHECK_CLUSTER(c, big, it_fmt("burst %d", j), "");
		int i = index_of(c);
		const char *cid = it_json_str(c, "cid");
		if (!index_allowed(i) || !cid)
			continue;
		if (big_cid_at[i][0] && dup_index++ < 3)
			fprintf(stderr, "  index %d given to %s and %s\n", i, big_cid_at[i], cid);
		for (int k = 0; k < 256; k++)
			if (strcmp(big_cid_at[k], cid) == 0 && dup_cid++ < 3)
				fprintf(stderr, "  cid %s given twice (index %d, %d)\n", cid, k, i);
		snprintf(big_cid_at[i], 8, "%s", cid);
		indexes[n++] = i;
	}
	CHECK_MSG(dup_index == 0, "%d indexes given twice", dup_index);
	CHECK_MSG(dup_cid == 0, "%d cids given twice", dup_cid);
	qsort(indexes, (size_t)n, sizeof(int), cmp_int);
	return n;
}

/* Waits until s answers GET path with 200: a membership made through one
 * instance reaches another's auth cache within its lifetime (1 s). */
static bool await_visible(const struct it_server *s, const char *path)
{
	double start = it_now_ms();
	for (;;) {
		struct it_resp r = it_call(s, "GET", owner.token, NULL, "%s", path);
		long status = r.status;
		it_resp_free(&r);
		if (status == 200 || it_now_ms() - start > 3000) {
			CHECK_MSG(status == 200, "%s: %ld after %.0f ms", path, status,
				  it_now_ms() - start);
			return status == 200;
		}
		it_sleep_ms(50);
	}
}

TEST(concurrent_creates_across_instances)
{
	REQUIRE(new_account("Big", big));
	REQUIRE(await_visible(srv2, it_fmt("/%s/clusters", big)));
	double t0 = it_now_ms();

	/* 200 at once: all created, 200 distinct cids, indexes exactly 0..199. */
	CHECK_INT_EQ(run_burst(&burst, big, 200, true), 200);
	int indexes[BURST_MAX];
	int n = collect(&burst, indexes);
	CHECK_INT_EQ(n, 200);
	for (int k = 0; k < n; k++)
		if (indexes[k] != nth_index(k)) {
			CHECK_MSG(false, "sorted index #%d is %d, want %d", k, indexes[k],
				  nth_index(k));
			break;
		}
	burst_free(&burst);
	CHECK_INT_EQ(clusters_in_db(big), 200);

	/* 48 more at once: 208..255, never 200-207. */
	CHECK_INT_EQ(run_burst(&burst, big, MAX_CLUSTERS - 200, true), MAX_CLUSTERS - 200);
	n = collect(&burst, indexes);
	CHECK_INT_EQ(n, MAX_CLUSTERS - 200);
	for (int k = 0; k < n; k++)
		if (indexes[k] != 208 + k) {
			CHECK_MSG(false, "sorted index #%d of the fill is %d, want %d", k,
				  indexes[k], 208 + k);
			break;
		}
	burst_free(&burst);
	for (int i = 200; i <= 207; i++)
		CHECK_MSG(big_cid_at[i][0] == '\0', "index %d was given", i);
	CHECK_INT_EQ(clusters_in_db(big), MAX_CLUSTERS);
	const char *p[] = { big };
	CHECK_INT_EQ(it_db_count(db,
				 "SELECT count(DISTINCT cluster_index) FROM clusters WHERE aid = $1"
				 " AND cluster_index NOT BETWEEN 200 AND 207",
				 1, p),
		     MAX_CLUSTERS);

	/* Full: the 249th is refused, by either server, also many at once. */
	const struct it_server *servers[] = { srv, srv2 };
	for (int s = 0; s < 2; s++) {
		struct it_resp r = it_call(servers[s], "POST", owner.token, "{\"name\":\"249th\"}",
					   "/%s/clusters", big);
		CHECK_ERROR(r, 409, "cluster.limit");
		it_resp_free(&r);
	}
	CHECK_INT_EQ(run_burst(&burst, big, 16, false), 0);
	for (int j = 0; j < 16; j++)
		CHECK_MSG(burst.out[j].status == 409 &&
				  test_str_eq(it_json_str(burst.out[j].json, "code"),
					      "cluster.limit"),
			  "over the limit #%d: %ld %s", j, burst.out[j].status, burst.out[j].body);
	burst_free(&burst);
	CHECK_INT_EQ(clusters_in_db(big), MAX_CLUSTERS);

	/* A middle index freed is the one the next create gets. */
	struct it_resp r =
		it_call(srv2, "DELETE", owner.token, NULL, "/%s/clusters/%s", big, big_cid_at[100]);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	big_cid_at[100][0] = '\0';
	char cid[8];
	int index = -1;
	REQUIRE(create_ok(big, "takes 100", cid, &index));
	CHECK_INT_EQ(index, 100);
	snprintf(big_cid_at[100], 8, "%s", cid);

	/* Three freed, twelve racing for them: three win those three, the
	 * others get cluster.limit. */
	static const int freed[] = { 5, 150, 230 };
	for (int k = 0; k < 3; k++) {
		r = it_call(k % 2 ? srv2 : srv, "DELETE", owner.token, NULL, "/%s/clusters/%s", big,
			    big_cid_at[freed[k]]);
		CHECK_STATUS(r, 204);
		it_resp_free(&r);
		big_cid_at[freed[k]][0] = '\0';
	}
	CHECK_INT_EQ(run_burst(&burst, big, 12, false), 3);
	n = collect(&burst, indexes);
	CHECK_INT_EQ(n, 3);
	for (int k = 0; k < n && k < 3; k++)
		CHECK_INT_EQ(indexes[k], freed[k]);
	for (int j = 0; j < 12; j++)
		if (burst.out[j].status != 201)
			CHECK_MSG(burst.out[j].status == 409 &&
					  test_str_eq(it_json_str(burst.out[j].json, "code"),
						      "cluster.limit"),
				  "race #%d: %ld %s", j, burst.out[j].status, burst.out[j].body);
	burst_free(&burst);
	CHECK_INT_EQ(clusters_in_db(big), MAX_CLUSTERS);

	int k = 0;
	for (int i = 0; i < 256; i++)
		k += big_cid_at[i][0] != '\0';
	CHECK_INT_EQ(k, MAX_CLUSTERS);
	double took = it_now_ms() - t0;
	CHECK_MSG(took < 60000, "the concurrency test took %.0f ms", took);
}

/* ---- pagination, filters, domains -------------------------------------- */

/* list holds each cid of big exactly once (and nothing else). */
static void check_all_of_big(const json_t *list, const char *what)
{
	static char cids[300][8];
	size_t n = db_cids(big, cids, 300);
	CHECK_INT_EQ(n, MAX_CLUSTERS);
	CHECK_MSG(json_array_size(list) == n, "%s: %zu listed, %zu in the database", what,
		  json_array_size(list), n);
	int missing = 0, twice = 0;
	for (size_t i = 0; i < n; i++) {
		int seen = 0;
		size_t k;
		json_t *item;
		json_array_foreach (list, k, item)
			seen += test_str_eq(json_string_value(json_object_get(item, "cid")),
					    cids[i]);
		missing += seen == 0;
		twice += seen > 1;
	}
	CHECK_MSG(missing == 0 && twice == 0, "%s: %d cids missing, %d listed twice", what, missing,
		  twice);
}

/* Names and descriptions at their limits in characters of several bytes
 * (4 bytes each: 400 and 4,000 bytes) come back whole, from the create, a
 * GET on either instance and the list. They used to be cut to the old
 * byte-sized buffers, in the middle of a character, and the answer was an
 * empty body. */
TEST(longest_texts_kept)
{
	char name[4 * 100 + 1] = "", description[4 * 1000 + 1] = "";
	for (int i = 0; i < 100; i++)
		strcat(name, "\xF0\x9F\x98\x80"); /* U+1F600 */
	for (int i = 0; i < 1000; i++)
		strcat(description, i % 2 ? "\xF0\x9F\x8C\x8D" : "\xC3\xA9"); /* U+1F30D, é */
	json_t *body = json_pack("{s:s, s:s}", "name", name, "description", description);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	struct it_resp r = it_call(srv, "POST", owner.token, text, "/%s/clusters", owner.aid);
	free(text);
	REQUIRE(CHECK_STATUS(r, 201));
	CHECK_STR_EQ(it_json_str(r.json, "name"), name);
	CHECK_STR_EQ(it_json_str(r.json, "description"), description);
	char cid[8];
	snprintf(cid, sizeof(cid), "%s", it_json_str(r.json, "cid"));
	it_resp_free(&r);
	for (int i = 0; i < 2; i++) {
		r = it_call(i ? srv2 : srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid,
			    cid);
		CHECK_STATUS(r, 200);
		CHECK_STR_EQ(it_json_str(r.json, "name"), name);
		CHECK_STR_EQ(it_json_str(r.json, "description"), description);
		it_resp_free(&r);
	}
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters?limit=100", owner.aid);
	CHECK_STATUS(r, 200);
	bool listed = false;
	json_t *items = json_object_get(r.json, "clusters"), *c;
	size_t i;
	json_array_foreach (items, i, c) {
		if (strcmp(it_json_str(c, "cid"), cid) == 0)
			listed = strcmp(it_json_str(c, "name"), name) == 0 &&
				 strcmp(it_json_str(c, "description"), description) == 0;
	}
	CHECK_MSG(listed, "the cluster is not listed whole");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
}

TEST(pagination)
{
	REQUIRE(big[0]);
	REQUIRE(it_create_pat(srv, owner.token, big, "viewer", &big_viewer));
	const char *path = it_fmt("/%s/clusters", big);
	char path_buf[64];
	snprintf(path_buf, sizeof(path_buf), "%s", path);
	int sizes[8], pages;

	json_t *all = list_pages(owner.token, path_buf, "", 100, "clusters", sizes, 8, &pages);
	CHECK_INT_EQ(pages, 3);
	if (pages == 3) {
		CHECK_INT_EQ(sizes[0], 100);
		CHECK_INT_EQ(sizes[1], 100);
		CHECK_INT_EQ(sizes[2], 48);
	}
	check_all_of_big(all, "limit=100");
	size_t i;
	json_t *c;
	json_array_foreach (all, i, c) {
		CHECK_CLUSTER(c, big, NULL, "");
		int index = index_of(c);
		if (index_allowed(index))
			CHECK_STR_EQ(json_string_value(json_object_get(c, "cid")),
				     big_cid_at[index]);
	}
	json_decref(all);

	/* The default limit is 50; the largest 200. */
	all = list_pages(big_viewer.token, path_buf, "", 0, "clusters", sizes, 8, &pages);
	CHECK_INT_EQ(pages, 5);
	if (pages == 5)
		CHECK(sizes[0] == 50 && sizes[3] == 50 && sizes[4] == 48);
	json_decref(all);
	all = list_pages(big_viewer.token, path_buf, "", 200, "clusters", sizes, 8, &pages);
	CHECK_INT_EQ(pages, 2);
	if (pages == 2)
		CHECK(sizes[0] == 200 && sizes[1] == 48);
	check_all_of_big(all, "limit=200");
	json_decref(all);

	/* Every cluster is pending. */
	all = list_pages(big_viewer.token, path_buf, "status=pending&", 100, "clusters", sizes, 8,
			 &pages);
	CHECK_INT_EQ(pages, 3);
	check_all_of_big(all, "status=pending");
	json_decref(all);
	static const char *const none[] = { "active", "provisioning", "degraded", "deleting" };
	for (int s = 0; s < 4; s++) {
		all = list_pages(big_viewer.token, path_buf, it_fmt("status=%s&", none[s]), 0,
				 "clusters", sizes, 8, &pages);
		CHECK_INT_EQ(pages, 1);
		CHECK_MSG(json_array_size(all) == 0, "status=%s: %zu listed", none[s],
			  json_array_size(all));
		json_decref(all);
	}
}

TEST(cluster_domains)
{
	REQUIRE(big[0] && big_viewer.token[0]);
	char path[64];
	snprintf(path, sizeof(path), "/%s/cluster-domains", big);
	int sizes[8], pages;
	json_t *all =
		list_pages(big_viewer.token, path, "", 100, "clusterDomains", sizes, 8, &pages);
	CHECK_INT_EQ(pages, 3);
	check_all_of_big(all, "cluster-domains");
	size_t i;
	json_t *d;
	json_array_foreach (all, i, d) {
		const char *cid = json_string_value(json_object_get(d, "cid"));
		struct shape sh = { it_fmt("domain of %s", test_str_shown(cid)), 0 };
		members(&sh, d, domain_fields);
		problem(&sh, is_cid(cid), "cid is not a cid");
		str_is(&sh, d, "id", "runos");
		problem(&sh, json_is_true(json_object_get(d, "wildcard")), "wildcard is not true");
		str_is(&sh, d, "fqdn", it_fmt("%s.%s." BASE_DOMAIN, cid, big));
		CHECK_MSG(sh.problems == 0, "%s: %d problem(s), listed above", sh.what,
			  sh.problems);
	}
	json_decref(all);
	all = list_pages(big_viewer.token, path, "", 0, "clusterDomains", sizes, 8, &pages);
	CHECK_INT_EQ(pages, 5);
	json_decref(all);

	/* ?cid= : exactly that cluster's domain, the one GET shows. */
	const char *cid = big_cid_at[nth_index(77)];
	struct it_resp r =
		it_call(srv, "GET", big_viewer.token, NULL, "/%s/cluster-domains?cid=%s", big, cid);
	CHECK_STATUS(r, 200);
	json_t *list = it_json_get(r.json, "clusterDomains");
	CHECK_INT_EQ(json_array_size(list), 1);
	CHECK(json_object_get(r.json, "nextCursor") == NULL && it_header(&r, "Link") == NULL);
	CHECK_STR_EQ(it_json_str(r.json, "clusterDomains.0.cid"), cid);
	CHECK_STR_EQ(it_json_str(r.json, "clusterDomains.0.id"), "runos");
	CHECK(json_is_true(it_json_get(r.json, "clusterDomains.0.wildcard")));
	struct it_resp one =
		it_call(srv, "GET", big_viewer.token, NULL, "/%s/clusters/%s", big, cid);
	CHECK_STR_EQ(it_json_str(r.json, "clusterDomains.0.fqdn"), it_json_str(one.json, "domain"));
	it_resp_free(&one);
	it_resp_free(&r);

	/* The owner's personal account: one domain per cluster, as listed. */
	r = it_call(srv, "GET", viewer.token, NULL, "/%s/cluster-domains", owner.aid);
	CHECK_STATUS(r, 200);
	struct it_resp clusters =
		it_call(srv, "GET", viewer.token, NULL, "/%s/clusters", owner.aid);
	json_t *domains = it_json_get(r.json, "clusterDomains");
	json_t *cl = it_json_get(clusters.json, "clusters");
	CHECK_INT_EQ(json_array_size(domains), json_array_size(cl));
	json_array_foreach (cl, i, d) {
		const char *c_cid = json_string_value(json_object_get(d, "cid"));
		json_t *e = find_by(domains, "cid", c_cid);
		CHECK_MSG(e && json_equal(json_object_get(e, "fqdn"), json_object_get(d, "domain")),
			  "domain of %s", test_str_shown(c_cid));
	}
	it_resp_free(&clusters);
	it_resp_free(&r);

	/* Another tenant: the account does not exist for it. */
	r = it_call(srv, "GET", stranger.token, NULL, "/%s/cluster-domains", owner.aid);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", stranger.token, NULL, "/%s/clusters", owner.aid);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
}

TEST(clean_stop)
{
	CHECK_INT_EQ(it_server_stop(srv2), 0);
	CHECK_INT_EQ(it_server_stop(srv), 0);
}

int main(void)
{
	if (!it_init("it_clusters")) {
		test_failed++;
		return it_finish("it_clusters");
	}
	srv = it_server_start("clusters-a", NULL);
	srv2 = srv ? it_server_start("clusters-b", NULL) : NULL;
	db = srv2 ? it_db_connect(it_env.database_url) : NULL;
	if (!srv || !srv2 || !db || !it_signup(srv, &owner) || !it_signup(srv2, &stranger) ||
	    !it_create_pat(srv, owner.token, owner.aid, "viewer", &viewer) ||
	    !it_create_pat(srv, owner.token, owner.aid, "member", &member) ||
	    !it_create_pat(srv, owner.token, owner.aid, "admin", &admin)) {
		test_failed++;
		fprintf(stderr, "FAIL it_clusters: no servers, database, users or keys\n");
		return it_finish("it_clusters");
	}
	RUN(create_and_show);
	RUN(update);
	RUN(delete_and_index_reuse);
	RUN(bad_input);
	RUN(concurrent_creates_across_instances);
	RUN(longest_texts_kept);
	RUN(pagination);
	RUN(cluster_domains);
	RUN(clean_stop);
	PQfinish(db);
	return it_finish("it_clusters");
}
