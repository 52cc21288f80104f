/* Field specs of the route table as JSON Schemas (OpenAPI 3.1 uses JSON
 * Schema 2020-12): a request body is an object with additionalProperties
 * false (the validator refuses an undeclared member too), an answer is one
 * with every always-present member required and none other allowed, so the
 * response validation of the tests notices a member a handler adds. */
#include "api/openapi.h"

/* The bounds of field_spec: characters for strings, the range for
 * integers, items for arrays (server/http/validate.c reads them so). */
json_t *api_openapi_input_schema(const struct field_spec *f)
{
	json_t *s = json_object();
	switch (f->type) {
	case FIELD_STRING:
	case FIELD_TEXT:
	case FIELD_ENUM:
	case FIELD_TIME:
		json_object_set_new(s, "type", json_string("string"));
		if (f->min_len > 0)
			json_object_set_new(s, "minLength", json_integer(f->min_len));
		if (f->max_len > 0)
			json_object_set_new(s, "maxLength", json_integer(f->max_len));
		break;
	case FIELD_INTEGER:
		json_object_set_new(s, "type", json_string("integer"));
		if (f->max_len > 0) {
			json_object_set_new(s, "minimum", json_integer(f->min_len));
			json_object_set_new(s, "maximum", json_integer(f->max_len));
		}
		break;
	case FIELD_BOOLEAN:
		json_object_set_new(s, "type", json_string("boolean"));
		break;
	case FIELD_STRINGS:
		json_object_set_new(s, "type", json_string("array"));
		json_object_set_new(s, "items",
				    json_pack("{s:s, s:i}", "type", "string", "maxLength", 256));
		if (f->max_len > 0)
			json_object_set_new(s, "maxItems", json_integer(f->max_len));
		break;
	case FIELD_OBJECT: /* the handler checks its members */
		json_object_set_new(s, "type", json_string("object"));
		break;
	case FIELD_OBJECTS:
		json_object_set_new(s, "type", json_string("array"));
		json_object_set_new(s, "items", json_pack("{s:s}", "type", "object"));
		break;
	case FIELD_INTEGERS:
		json_object_set_new(s, "type", json_string("array"));
		json_object_set_new(s, "items", json_pack("{s:s}", "type", "integer"));
		break;
	case FIELD_JSON:
		break;
	}
	if (f->type == FIELD_TIME)
		json_object_set_new(s, "format", json_string("date-time"));
	if (f->type == FIELD_ENUM && f->choices) {
		json_t *e = json_array();
		for (const char *const *c = f->choices; *c; c++)
			json_array_append_new(e, json_string(*c));
		json_object_set_new(s, "enum", e);
	}
	if (f->description)
		json_object_set_new(s, "description", json_string(f->description));
	return s;
}

json_t *api_openapi_body_schema(const struct field_spec *fields)
{
	json_t *props = json_object(), *required = json_array();
	for (const struct field_spec *f = fields; f->name; f++) {
		json_object_set_new(props, f->name, api_openapi_input_schema(f));
		if (f->required)
			json_array_append_new(required, json_string(f->name));
	}
	json_t *s = json_pack("{s:s, s:o, s:b}", "type", "object", "properties", props,
			      "additionalProperties", false);
	if (json_array_size(required) > 0)
		json_object_set_new(s, "required", required);
	else
		json_decref(required);
	return s;
}

static const char *schema_type(enum field_type t)
{
	switch (t) {
	case FIELD_STRING:
	case FIELD_TEXT:
	case FIELD_ENUM:
	case FIELD_TIME:
		return "string";
	case FIELD_INTEGER:
		return "integer";
	case FIELD_BOOLEAN:
		return "boolean";
	case FIELD_STRINGS:
	case FIELD_OBJECTS:
	case FIELD_INTEGERS:
		return "array";
	case FIELD_OBJECT:
		return "object";
	case FIELD_JSON:
		break;
	}
	return NULL;
}

static json_t *member_schema(const struct output_field *f)
{
	json_t *s = json_object();
	const char *type = schema_type(f->type);
	if (type)
		json_object_set_new(s, "type",
				    f->nullable ? json_pack("[s, s]", type, "null")
						: json_string(type));
	if (f->type == FIELD_TIME)
		json_object_set_new(s, "format", json_string("date-time"));
	if (f->type == FIELD_ENUM && f->choices) {
		json_t *e = json_array();
		for (const char *const *c = f->choices; *c; c++)
			json_array_append_new(e, json_string(*c));
		if (f->nullable)
			json_array_append_new(e, json_null());
		json_object_set_new(s, "enum", e);
	}
	if (f->type == FIELD_STRINGS)
		json_object_set_new(s, "items", json_pack("{s:s}", "type", "string"));
	if (f->type == FIELD_INTEGERS)
		json_object_set_new(s, "items", json_pack("{s:s}", "type", "integer"));
	if (f->type == FIELD_OBJECTS)
		json_object_set_new(s, "items",
				    f->members ? api_openapi_output_schema(f->members)
					       : json_pack("{s:s}", "type", "object"));
	if (f->type == FIELD_OBJECT && f->members) {
		json_t *o = api_openapi_output_schema(f->members);
		json_object_update(s, o);
		json_decref(o);
		if (f->nullable)
			json_object_set_new(s, "type", json_pack("[s, s]", "object", "null"));
	}
	if (f->description)
		json_object_set_new(s, "description", json_string(f->description));
	return s;
}

json_t *api_openapi_output_schema(const struct output_field *fields)
{
	json_t *props = json_object(), *required = json_array();
	for (const struct output_field *f = fields; f->name; f++) {
		json_object_set_new(props, f->name, member_schema(f));
		if (!f->optional)
			json_array_append_new(required, json_string(f->name));
	}
	json_t *s = json_pack("{s:s, s:o, s:b}", "type", "object", "properties", props,
			      "additionalProperties", false);
	if (json_array_size(required) > 0)
		json_object_set_new(s, "required", required);
	else
		json_decref(required);
	return s;
}
