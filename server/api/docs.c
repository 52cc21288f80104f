/* GET /docs and its files: a page that renders /openapi.json for people with
 * Swagger UI, served from the copies compiled into the binary
 * (include/api/docs_ui.h), so nothing is fetched from another host at run
 * time. The Content-Security-Policy allows the page only its own scripts,
 * styles, images and requests: no inline script or style (Swagger UI sets
 * styles through the DOM, which CSP does not govern, and it_docs shows it
 * needs no 'unsafe-inline'), data: images (its icons) and requests to this
 * origin (/openapi.json, "Try it out"). The files are immutable for one
 * binary: a strong ETag and "no-cache" let a browser keep them and ask again
 * after an upgrade. */
#include <string.h>

#include "api/common.h"
#include "api/docs_ui.h"
#include "api/handlers.h"
#include "http/request.h"

static const char csp[] = "default-src 'none'; script-src 'self'; "
			  "style-src 'self'; img-src 'self' data:; "
			  "connect-src 'self'; font-src 'self'; base-uri 'none'; "
			  "form-action 'none'; frame-ancestors 'none'";

/* The route of each file, and the type it is served as. */
static const struct {
	const char *pattern;
	const char *name;
	const char *content_type;
} files[] = {
	{ "/docs", "index.html", "text/html; charset=utf-8" },
	{ "/docs/docs.js", "docs.js", "text/javascript; charset=utf-8" },
	{ "/docs/swagger-ui.css", "swagger-ui.css", "text/css; charset=utf-8" },
	{ "/docs/swagger-ui-bundle.js", "swagger-ui-bundle.js", "text/javascript; charset=utf-8" },
};

static const struct api_docs_asset *asset(const char *name)
{
	for (const struct api_docs_asset *a = api_docs_assets; a->name; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

void api_docs(struct request *req)
{
	const char *name = NULL, *type = NULL;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(files[i].pattern, req->route->pattern) == 0) {
			name = files[i].name;
			type = files[i].content_type;
		}
	const struct api_docs_asset *a = name ? asset(name) : NULL;
	if (!a) {
		request_error(req, 503, "docs.not_built", NULL,
			      "The /docs page was built without Swagger UI: run "
			      "server/docs_ui/install.sh (scripts/dev.sh build does) and build "
			      "runosd again");
		return;
	}
	request_set_header(req, "Content-Security-Policy", csp);
	request_set_header(req, "Cache-Control", "no-cache");
	request_set_header(req, "ETag", a->etag);
	if (api_not_modified(req, a->etag)) {
		request_reply(req, 304, NULL);
		return;
	}
	request_reply_text(req, 200, type, a->body);
}
