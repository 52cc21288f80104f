/* The route table tells the truth about what each route answers.
 *
 * Every route of server/api/routes.c is called once on its happy path, in an
 * order where each call has what it needs (a session, an API key to show,
 * rename and revoke), and the top-level members of its JSON answer must be
 * exactly the route's declared output fields: none missing, none extra (an
 * extra member is how a secret would leak into a response). A route added to
 * the table without a step here fails this program. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "http/route.h"

static struct it_server *srv;
static struct it_user user;
static char key_id[40];
static bool called[64];

static const struct route *find_route(const char *method, const char *pattern)
{
	for (size_t i = 0; i < api_routes_count; i++)
		if (strcmp(api_routes[i].method, method) == 0 &&
		    strcmp(api_routes[i].pattern, pattern) == 0) {
			called[i] = true;
			return &api_routes[i];
		}
	return NULL;
}

/* The members of body must be the declared fields, no more and no fewer. */
static void check_fields(const struct route *route, const struct it_resp *r)
{
	const char *const *fields = route->output->fields;
	if (!fields) {
		CHECK_MSG(r->body_len == 0, "%s: declared no body, got %.80s", r->what, r->body);
		return;
	}
	CHECK_MSG(json_is_object(r->json), "%s: not a JSON object: %.80s", r->what, r->body);
	if (!json_is_object(r->json))
		return;
	size_t declared = 0;
	for (const char *const *f = fields; *f; f++, declared++)
		CHECK_MSG(json_object_get(r->json, *f) != NULL, "%s: declared field %s missing",
			  r->what, *f);
	const char *key;
	json_t *value;
	json_object_foreach (r->json, key, value) {
		bool known = false;
		for (const char *const *f = fields; *f; f++)
			known |= strcmp(*f, key) == 0;
		CHECK_MSG(known, "%s: member %s is not in the route's output", r->what, key);
	}
	CHECK_INT_EQ(json_object_size(r->json), declared);
}

/* Calls one route (path with :aid and :id filled in) and checks its answer. */
static struct it_resp step(const char *method, const char *pattern, const char *token,
			   const char *body, long status)
{
	const struct route *route = find_route(method, pattern);
	CHECK_MSG(route != NULL, "no route %s %s in the table", method, pattern);
	char path[256] = "";
	for (const char *p = pattern; *p;) {
		if (strncmp(p, ":aid", 4) == 0) {
			strcat(path, user.aid);
			p += 4;
		} else if (strncmp(p, ":id", 3) == 0) {
			strcat(path, key_id);
			p += 3;
		} else {
			strncat(path, p, 1);
			p++;
		}
	}
	struct it_resp r = it_call(srv, method, token, body, "%s", path);
	CHECK_STATUS(r, status);
	if (route && r.status == status)
		check_fields(route, &r);
	return r;
}

TEST(every_route_answers_its_declared_fields)
{
	struct it_resp r;
	r = step("GET", "/healthz", NULL, NULL, 200);
	it_resp_free(&r);
	r = step("GET", "/readyz", NULL, NULL, 200);
	it_resp_free(&r);

	const char *email = it_fmt("contract-%d-%ld@example.test", (int)getpid(), (long)time(NULL));
	snprintf(user.email, sizeof(user.email), "%s", email);
	snprintf(user.password, sizeof(user.password), "contract-password-1");
	r = step("POST", "/auth/signup", NULL,
		 it_fmt("{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"C\"}", user.email,
			user.password),
		 201);
	snprintf(user.aid, sizeof(user.aid), "%s", it_json_str(r.json, "account.aid") ?: "");
	snprintf(user.token, sizeof(user.token), "%s", it_json_str(r.json, "token") ?: "");
	it_resp_free(&r);

	r = step("POST", "/auth/login", NULL,
		 it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", user.email, user.password), 200);
	it_resp_free(&r);
	r = step("GET", "/user", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("PATCH", "/user", user.token, "{\"name\":\"Contract\"}", 200);
	it_resp_free(&r);
	r = step("GET", "/user/accounts", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("POST", "/user/accounts", user.token, "{\"name\":\"Second\"}", 201);
	it_resp_free(&r);
	r = step("GET", "/:aid/account/profile", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("PATCH", "/:aid/account/profile", user.token, "{\"website\":\"https://x.test\"}",
		 200);
	it_resp_free(&r);
	r = step("POST", "/:aid/api-keys", user.token, "{\"name\":\"contract\"}", 201);
	snprintf(key_id, sizeof(key_id), "%s", it_json_str(r.json, "id") ?: "");
	it_resp_free(&r);
	r = step("GET", "/:aid/api-keys", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("GET", "/:aid/api-keys/:id", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("PATCH", "/:aid/api-keys/:id", user.token, "{\"name\":\"renamed\"}", 200);
	it_resp_free(&r);
	r = step("DELETE", "/:aid/api-keys/:id", user.token, NULL, 204);
	it_resp_free(&r);
	r = step("GET", "/:aid/modules", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("POST", "/auth/logout", user.token, NULL, 204);
	it_resp_free(&r);
}

TEST(no_route_left_out)
{
	for (size_t i = 0; i < api_routes_count; i++)
		CHECK_MSG(called[i], "route %s %s has no step in it_contract.c",
			  api_routes[i].method, api_routes[i].pattern);
}

TEST(clean_stop)
{
	CHECK_INT_EQ(it_server_stop(srv), 0);
}

int main(void)
{
	if (!it_init("it_contract")) {
		test_failed++;
		return it_finish("it_contract");
	}
	srv = it_server_start("contract", NULL);
	if (!srv) {
		test_failed++;
		fprintf(stderr, "FAIL it_contract: no server\n");
		return it_finish("it_contract");
	}
	RUN(every_route_answers_its_declared_fields);
	RUN(no_route_left_out);
	RUN(clean_stop);
	return it_finish("it_contract");
}
