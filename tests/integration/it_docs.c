/* GET /docs: the API document for people. In Debian's headless chromium
 * (tests/integration/docs_browser.mjs drives it over the DevTools protocol)
 * the page shows the operations' summaries, with no console error, no
 * Content-Security-Policy violation and no request to another host; every
 * request it makes is to runosd (its files and /openapi.json). Over HTTP the
 * page and its files carry the strict CSP, their content types, nosniff and a
 * strong ETag; other names under /docs are 404. The browser check is shown to
 * fail on a page that reaches another host. Without chromium (or node) the
 * program fails: scripts/dev.sh packages installs it.
 *
 * RUNOS_DOCS_SCREENSHOT=path.png saves what the browser showed (how
 * docs/images/docs-page.png is made). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct it_server *srv;

static const char csp[] = "default-src 'none'; script-src 'self'; "
			  "style-src 'self'; img-src 'self' data:; "
			  "connect-src 'self'; font-src 'self'; base-uri 'none'; "
			  "form-action 'none'; frame-ancestors 'none'";

static const char *origin(void)
{
	static char out[64];
	snprintf(out, sizeof(out), "http://127.0.0.1:%d", it_server_port(srv));
	return out;
}

/* Runs docs_browser.mjs on url; its report, or NULL (a failure counted) when
 * it could not drive the browser. */
static json_t *browse(const char *url, const char *site, const char *want, const char *screenshot)
{
	char *out = NULL;
	const char *cmd =
		it_fmt("node '%s/tests/integration/docs_browser.mjs' '%s' '%s' '%s' %s%s%s",
		       it_env.source_root, url, site, want, screenshot ? "'" : "",
		       screenshot ? screenshot : "", screenshot ? "'" : "");
	int rc = it_shell_output(cmd, &out);
	CHECK_MSG(rc == 0,
		  "docs_browser.mjs exit %d (is chromium installed? scripts/dev.sh "
		  "packages installs it)",
		  rc);
	json_error_t err;
	json_t *report = rc == 0 ? json_loads(out ? out : "", 0, &err) : NULL;
	CHECK_MSG(rc != 0 || report != NULL, "docs_browser.mjs printed no report: %.300s",
		  out ? out : "");
	free(out);
	return report;
}

/* The strings of report[key], on stderr; how many there are. */
static size_t list(const json_t *report, const char *key)
{
	json_t *items = json_object_get(report, key);
	size_t i;
	json_t *item;
	json_array_foreach (items, i, item)
		fprintf(stderr, "  %s: %s\n", key, json_string_value(item));
	return json_array_size(items);
}

static bool requested(const json_t *report, const char *path)
{
	const char *url = it_fmt("%s%s", origin(), path);
	size_t i;
	json_t *item;
	json_array_foreach (json_object_get(report, "requests"), i, item)
		if (strcmp(json_string_value(item), url) == 0)
			return true;
	return false;
}

TEST(the_browser_shows_the_operations_cleanly)
{
	const char *shot = getenv("RUNOS_DOCS_SCREENSHOT");
	json_t *report = browse(it_fmt("%s/docs", origin()), origin(), "Create a cluster",
				shot && *shot ? shot : NULL);
	REQUIRE(report != NULL);
	const char *text = it_json_str(report, "text");
	CHECK_MSG(json_is_true(json_object_get(report, "found")),
		  "the page never showed \"Create a cluster\"; it showed: %.400s",
		  text ? text : "");
	CHECK_MSG(json_is_true(json_object_get(report, "opened")),
		  "the operation \"Create a cluster\" did not open to show its answers");
	CHECK_MSG(text && strstr(text, "Delete a node"), "no \"Delete a node\" in %.200s",
		  text ? text : "");
	CHECK_INT_EQ(list(report, "errors"), 0);
	CHECK_INT_EQ(list(report, "csp"), 0);
	CHECK_INT_EQ(list(report, "foreign"), 0);
	CHECK_INT_EQ(list(report, "failed"), 0);
	/* It drew them from this server: the document and the page's files. */
	static const char *const paths[] = { "/docs", "/docs/swagger-ui.css",
					     "/docs/swagger-ui-bundle.js", "/docs/docs.js",
					     "/openapi.json" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		CHECK_MSG(requested(report, paths[i]), "the page did not load %s", paths[i]);
	json_decref(report);
}

/* The check sees what it is there to see: a page that loads an image from
 * another host and has an inline style, both of which its CSP blocks, gives a
 * foreign request, both CSP violations and console errors. */
TEST(the_browser_check_can_fail)
{
	const char *page = it_fmt("%s/docs-bad-%d.html", it_env.tmpdir, (int)getpid());
	FILE *f = fopen(page, "w");
	REQUIRE(f != NULL);
	fputs("<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" "
	      "content=\"default-src 'none'\"></head><body><p style=\"color: red\">Create a "
	      "cluster</p>"
	      "<img src=\"http://198.51.100.7/logo.png\"></body></html>\n",
	      f);
	fclose(f);
	json_t *report = browse(it_fmt("file://%s", page), "file://", "Create a cluster", NULL);
	REQUIRE(report != NULL);
	CHECK(json_is_true(json_object_get(report, "found")));
	CHECK(json_array_size(json_object_get(report, "foreign")) == 1);
	/* the image, and the inline style that style-src 'self' refuses */
	bool image = false, style = false;
	size_t i;
	json_t *item;
	json_array_foreach (json_object_get(report, "csp"), i, item) {
		image |= strstr(json_string_value(item), "Loading the image") != NULL;
		style |= strstr(json_string_value(item), "inline style") != NULL;
	}
	CHECK_MSG(image && style, "CSP violations seen: image %d, inline style %d", image, style);
	CHECK(json_array_size(json_object_get(report, "errors")) > 0);
	json_decref(report);
	unlink(page);
}

static void check_file(const char *path, const char *type)
{
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "%s", path);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_header(&r, "Content-Type"), type);
	CHECK_STR_EQ(it_header(&r, "Content-Security-Policy"), csp);
	CHECK_STR_EQ(it_header(&r, "X-Content-Type-Options"), "nosniff");
	CHECK_STR_EQ(it_header(&r, "Cache-Control"), "no-cache");
	CHECK_MSG(r.body_len > 0, "%s: empty", path);
	const char *etag = it_header(&r, "ETag");
	CHECK_MSG(etag && etag[0] == '"', "%s: ETag %s", path, etag ? etag : "(none)");
	if (etag && etag[0] == '"') {
		const char *inm = it_fmt("If-None-Match: %s", etag);
		const char *headers[] = { inm, NULL };
		struct it_resp again;
		it_request(srv, &(struct it_req){ .path = path, .headers = headers }, &again);
		CHECK_STATUS(again, 304);
		it_resp_free(&again);
	}
	it_resp_free(&r);
}

TEST(files_carry_their_types_and_the_policy)
{
	check_file("/docs", "text/html; charset=utf-8");
	check_file("/docs/docs.js", "text/javascript; charset=utf-8");
	check_file("/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8");
	check_file("/docs/swagger-ui.css", "text/css; charset=utf-8");

	/* The page has no inline script (script-src 'self') and names no other host. */
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/docs");
	CHECK(r.body && strstr(r.body, "<script src=\"/docs/swagger-ui-bundle.js\"></script>"));
	CHECK(r.body && strstr(r.body, "<script>") == NULL);
	CHECK(r.body && strstr(r.body, "//") == NULL);
	it_resp_free(&r);
	/* Swagger UI's validator badge (validator.swagger.io) is off. */
	r = it_call(srv, "GET", NULL, NULL, "/docs/docs.js");
	CHECK(r.body && strstr(r.body, "validatorUrl: null"));
	it_resp_free(&r);
	/* The bundle's source map is not served, nor named. */
	r = it_call(srv, "GET", NULL, NULL, "/docs/swagger-ui-bundle.js");
	CHECK(r.body && strstr(r.body, "sourceMappingURL=swagger-ui-bundle.js.map") == NULL);
	it_resp_free(&r);
}

TEST(other_names_are_not_found)
{
	static const char *const paths[] = { "/docs/swagger-ui-bundle.js.map", "/docs/index.html",
					     "/docs/swagger-ui.js", "/docs/" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct it_resp r = it_call(srv, "GET", NULL, NULL, "%s", paths[i]);
		CHECK_ERROR(r, 404, "route.not_found");
		it_resp_free(&r);
	}
}

int main(void)
{
	if (!it_init("it_docs")) {
		test_failed++;
		return it_finish("it_docs");
	}
	srv = it_server_start("docs", NULL);
	if (!srv) {
		test_failed++;
		fprintf(stderr, "FAIL it_docs: no server\n");
		return it_finish("it_docs");
	}
	RUN(files_carry_their_types_and_the_policy);
	RUN(other_names_are_not_found);
	RUN(the_browser_shows_the_operations_cleanly);
	RUN(the_browser_check_can_fail);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	return it_finish("it_docs");
}
