/* The files of the /docs page, compiled into runosd at build time by
 * server/docs_ui/embed.py (a generated C table in the build directory):
 * index.html and docs.js of server/docs_ui, and Swagger UI's swagger-ui.css
 * and swagger-ui-bundle.js from npm. Read-only, so any thread may read it. */
#ifndef RUNOSD_API_DOCS_UI_H
#define RUNOSD_API_DOCS_UI_H

#include <stddef.h>

struct api_docs_asset {
	const char *name; /* "swagger-ui.css" */
	const char *body; /* NUL-terminated (embed.py refuses files holding a NUL) */
	size_t len;
	const char *etag; /* strong, quoted: a digest of body */
};

/* { NULL } terminated; empty when Swagger UI was not installed at build time
 * (server/docs_ui/install.sh). */
extern const struct api_docs_asset api_docs_assets[];

#endif
