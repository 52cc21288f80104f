/* Router: matching, specificity, 404/405, parameters, and the checks that
 * refuse a bad route table (deny by default). */
#include "http/router.h"
#include "testlib.h"

static void handler(struct request *req)
{
	(void)req;
}

static const struct field_spec in[] = { { 0 } };
static const struct output_spec out = { .type = "none", .status = 204, .fields = NULL };

static const struct route table[] = {
	{ "GET", "/user", handler, ROUTE_USER, ROLE_NONE, false, in, &out, NULL, NULL, NULL },
	{ "PATCH", "/user", handler, ROUTE_SESSION, ROLE_NONE, false, in, &out, NULL, NULL, NULL },
	{ "GET", "/user/accounts", handler, ROUTE_USER, ROLE_NONE, false, in, &out, NULL, NULL,
	  NULL },
	{ "GET", "/:aid/account/profile", handler, ROUTE_ACCOUNT, ROLE_VIEWER, false, in, &out,
	  NULL, NULL, NULL },
	{ "GET", "/:aid/api-keys/:id", handler, ROUTE_ACCOUNT, ROLE_ADMIN, false, in, &out, NULL,
	  NULL, NULL },
	{ "DELETE", "/:aid/api-keys/:id", handler, ROUTE_ACCOUNT, ROLE_ADMIN, false, in, &out, NULL,
	  NULL, NULL },
	{ "GET", "/:aid/:cid", handler, ROUTE_ACCOUNT, ROLE_VIEWER, false, in, &out, NULL, NULL,
	  NULL },
	{ "GET", "/jobs/:id", handler, ROUTE_USER, ROLE_NONE, false, in, &out, NULL, NULL, NULL },
	{ "GET", "/", handler, ROUTE_PUBLIC, ROLE_NONE, false, in, &out, NULL, NULL, NULL },
};

static struct http_router *make(void)
{
	char err[256];
	return http_router_create(table, sizeof(table) / sizeof(table[0]), err, sizeof(err));
}

TEST(static_and_params)
{
	struct http_router *r = make();
	struct router_match m;
	CHECK(r != NULL);
	CHECK_INT_EQ(http_router_match(r, "GET", "/user", &m), ROUTER_FOUND);
	CHECK_STR_EQ(m.route->pattern, "/user");
	CHECK_INT_EQ(http_router_match(r, "GET", "/abcde/api-keys/k1", &m), ROUTER_FOUND);
	CHECK_INT_EQ(m.nparams, 2);
	CHECK_STR_EQ(m.params[0].name, "aid");
	CHECK_STR_EQ(m.params[0].value, "abcde");
	CHECK_STR_EQ(m.params[1].name, "id");
	CHECK_STR_EQ(m.params[1].value, "k1");
	CHECK_INT_EQ(http_router_match(r, "GET", "/", &m), ROUTER_FOUND);
	CHECK_STR_EQ(m.route->pattern, "/");
	http_router_destroy(r);
}

TEST(static_segments_win)
{
	struct http_router *r = make();
	struct router_match m;
	/* "/user/accounts" also fits "/:aid/:cid"; the static pattern wins. */
	CHECK_INT_EQ(http_router_match(r, "GET", "/user/accounts", &m), ROUTER_FOUND);
	CHECK_STR_EQ(m.route->pattern, "/user/accounts");
	CHECK_INT_EQ(http_router_match(r, "GET", "/jobs/x1", &m), ROUTER_FOUND);
	CHECK_STR_EQ(m.route->pattern, "/jobs/:id");
	CHECK_INT_EQ(http_router_match(r, "GET", "/abcde/i4y", &m), ROUTER_FOUND);
	CHECK_STR_EQ(m.route->pattern, "/:aid/:cid");
	http_router_destroy(r);
}

TEST(not_found_and_method)
{
	struct http_router *r = make();
	struct router_match m;
	CHECK_INT_EQ(http_router_match(r, "GET", "/nope/x/y/z", &m), ROUTER_NOT_FOUND);
	CHECK_INT_EQ(http_router_match(r, "GET", "/user/", &m), ROUTER_NOT_FOUND);
	CHECK_INT_EQ(http_router_match(r, "GET", "//user", &m), ROUTER_NOT_FOUND);
	CHECK_INT_EQ(http_router_match(r, "GET", "user", &m), ROUTER_NOT_FOUND);
	CHECK_INT_EQ(http_router_match(r, "GET", "/a/b/c/d/e/f/g/h/i", &m), ROUTER_NOT_FOUND);
	CHECK_INT_EQ(http_router_match(r, "PUT", "/user", &m), ROUTER_METHOD_NOT_ALLOWED);
	CHECK_STR_EQ(m.allow, "GET, HEAD, PATCH");
	CHECK_INT_EQ(http_router_match(r, "POST", "/abcde/api-keys/k1", &m),
		     ROUTER_METHOD_NOT_ALLOWED);
	CHECK_STR_EQ(m.allow, "GET, HEAD, DELETE");
	CHECK_INT_EQ(http_router_match(r, "HEAD", "/user", &m), ROUTER_FOUND);
	http_router_destroy(r);
}

TEST(refuses_bad_tables)
{
	char err[256];
	static const struct route no_access[] = {
		{ "GET", "/x", handler, ROUTE_ACCESS_UNSET, ROLE_NONE, false, in, &out, NULL, NULL,
		  NULL },
	};
	CHECK(http_router_create(no_access, 1, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "deny by default") != NULL);

	static const struct route no_role[] = {
		{ "GET", "/:aid/x", handler, ROUTE_ACCOUNT, ROLE_NONE, false, in, &out, NULL, NULL,
		  NULL },
	};
	CHECK(http_router_create(no_role, 1, err, sizeof(err)) == NULL);

	static const struct route no_aid[] = {
		{ "GET", "/x", handler, ROUTE_ACCOUNT, ROLE_ADMIN, false, in, &out, NULL, NULL,
		  NULL },
	};
	CHECK(http_router_create(no_aid, 1, err, sizeof(err)) == NULL);

	static const struct route twice[] = {
		{ "GET", "/x", handler, ROUTE_PUBLIC, ROLE_NONE, false, in, &out, NULL, NULL,
		  NULL },
		{ "GET", "/x", handler, ROUTE_PUBLIC, ROLE_NONE, false, in, &out, NULL, NULL,
		  NULL },
	};
	CHECK(http_router_create(twice, 2, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "twice") != NULL);

	static const struct route no_output[] = {
		{ "GET", "/x", handler, ROUTE_PUBLIC, ROLE_NONE, false, in, NULL, NULL, NULL,
		  NULL },
	};
	CHECK(http_router_create(no_output, 1, err, sizeof(err)) == NULL);

	static const struct route bad_method[] = {
		{ "FETCH", "/x", handler, ROUTE_PUBLIC, ROLE_NONE, false, in, &out, NULL, NULL,
		  NULL },
	};
	CHECK(http_router_create(bad_method, 1, err, sizeof(err)) == NULL);
}

/* A request holds ROUTE_MAX_PARAMS path parameters: a pattern with more is
 * refused when the router is built (the server does not start), one with as
 * many matches and hands every one over. */
TEST(param_limit)
{
	char err[256] = "";
	static const struct route too_many[] = {
		{ "GET", "/:aid/:b/:c/:d/:e/:f/:g", handler, ROUTE_ACCOUNT, ROLE_VIEWER, false, in,
		  &out, NULL, NULL, NULL },
	};
	CHECK(ROUTE_MAX_PARAMS < 7);
	CHECK(http_router_create(too_many, 1, err, sizeof(err)) == NULL);
	CHECK_MSG(strstr(err, "ROUTE_MAX_PARAMS") != NULL, "%s", err);
	CHECK(strstr(err, "/:aid/:b/:c/:d/:e/:f/:g") != NULL);

	static const struct route too_deep[] = {
		{ "GET", "/a/b/c/d/e/f/g/h/i", handler, ROUTE_PUBLIC, ROLE_NONE, false, in, &out,
		  NULL, NULL, NULL },
	};
	CHECK(http_router_create(too_deep, 1, err, sizeof(err)) == NULL);
	CHECK_MSG(strstr(err, "segments") != NULL, "%s", err);

	static const struct route deep[] = {
		{ "GET", "/:aid/:cid/services/:type/:id/credentials", handler, ROUTE_ACCOUNT,
		  ROLE_VIEWER, false, in, &out, NULL, NULL, NULL },
		{ "GET", "/:aid/:b/:c/:d/:e/:f", handler, ROUTE_ACCOUNT, ROLE_VIEWER, false, in,
		  &out, NULL, NULL, NULL },
	};
	struct http_router *r = http_router_create(deep, 2, err, sizeof(err));
	CHECK_MSG(r != NULL, "%s", err);
	struct router_match m;
	CHECK_INT_EQ(http_router_match(r, "GET", "/a1/c2/services/pg/s3/credentials", &m),
		     ROUTER_FOUND);
	CHECK_INT_EQ(m.nparams, 4);
	CHECK_STR_EQ(m.params[2].name, "type");
	CHECK_STR_EQ(m.params[3].value, "s3");
	CHECK_INT_EQ(http_router_match(r, "GET", "/1/2/3/4/5/6", &m), ROUTER_FOUND);
	CHECK_INT_EQ(m.nparams, ROUTE_MAX_PARAMS);
	CHECK_STR_EQ(m.params[ROUTE_MAX_PARAMS - 1].name, "f");
	CHECK_STR_EQ(m.params[ROUTE_MAX_PARAMS - 1].value, "6");
	http_router_destroy(r);
}

TEST(real_table_is_valid)
{
	char err[256] = "";
	struct http_router *r = http_router_create(api_routes, api_routes_count, err, sizeof(err));
	CHECK_MSG(r != NULL, "%s", err);
	http_router_destroy(r);
}

int main(void)
{
	RUN(static_and_params);
	RUN(static_segments_win);
	RUN(not_found_and_method);
	RUN(refuses_bad_tables);
	RUN(param_limit);
	RUN(real_table_is_valid);
	return test_summary("unit/router");
}
