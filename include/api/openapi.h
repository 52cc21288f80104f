/* The OpenAPI 3.1 document of the public listener, generated from the route
 * table (server/api/routes.c): server/api/openapi.c assembles it,
 * server/api/openapi_schema.c turns field specs into JSON Schemas. */
#ifndef RUNOSD_API_OPENAPI_H
#define RUNOSD_API_OPENAPI_H

#include <jansson.h>

#include "http/route.h"

/* The document for routes (every row but the agent listener's), new. */
json_t *api_openapi_document(const struct route *routes, size_t count);

/* JSON Schemas: a request body or query parameter's, and an answer's. */
json_t *api_openapi_input_schema(const struct field_spec *f);
json_t *api_openapi_body_schema(const struct field_spec *fields);
json_t *api_openapi_output_schema(const struct output_field *fields);

#endif
