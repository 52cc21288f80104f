/* server/api/docs.c without Swagger UI: a runosd built before
 * server/docs_ui/install.sh ran has an empty file table (embed.py), and every
 * /docs route answers 503 docs.not_built saying how to build the files. This
 * program defines that empty table itself, so the linker leaves the built one
 * (docs_ui_embedded.c, which holds nothing else) out of the library. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/docs_ui.h"
#include "api/handlers.h"
#include "http/request.h"
#include "testlib.h"

const struct api_docs_asset api_docs_assets[] = { { NULL, NULL, 0, NULL } };

TEST(not_built_is_503)
{
	static const char *const patterns[] = { "/docs", "/docs/docs.js", "/docs/swagger-ui.css",
						"/docs/swagger-ui-bundle.js" };
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		struct route route = { .method = "GET", .pattern = patterns[i] };
		struct request req = { .route = &route, .method = "GET", .path = patterns[i] };
		api_docs(&req);
		CHECK_INT_EQ(req.status, 503);
		CHECK_STR_EQ(json_string_value(json_object_get(req.reply, "code")),
			     "docs.not_built");
		const char *message = json_string_value(json_object_get(req.reply, "error"));
		CHECK(message && strstr(message, "server/docs_ui/install.sh"));
		CHECK(req.reply_text == NULL);
		json_decref(req.reply);
		for (int h = 0; h < req.nheaders; h++)
			free(req.headers[h].value);
	}
}

int main(void)
{
	RUN(not_built_is_503);
	return test_summary("unit/docs");
}
