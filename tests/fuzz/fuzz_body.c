/* Fuzzes what the request path does with a body: strict JSON parsing (as
 * server/http/server.c calls jansson) and validation against the input schema
 * of every route in the table. */
#include <jansson.h>

#include "fuzz.h"
#include "http/route.h"
#include "http/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t err;
	json_t *body = json_loadb((const char *)data, size,
				  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (!json_is_object(body)) {
		json_decref(body);
		return 0;
	}
	size_t accepted = 0;
	for (size_t i = 0; i < api_routes_count; i++) {
		struct validation_error verr;
		accepted += http_validate_body(api_routes[i].input, body, &verr);
	}
	(void)accepted;
	json_decref(body);
	return 0;
}
