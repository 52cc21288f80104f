/* Body validation against field specs. */
#include "http/validate.h"
#include "testlib.h"

static const char *const colors[] = { "red", "blue", NULL };
static const struct field_spec spec[] = {
	{ "name", FIELD_STRING, true, 1, 5, NULL, NULL },
	{ "count", FIELD_INTEGER, false, 0, 0, NULL, NULL },
	{ "on", FIELD_BOOLEAN, false, 0, 0, NULL, NULL },
	{ "at", FIELD_TIME, false, 0, 0, NULL, NULL },
	{ "color", FIELD_ENUM, false, 0, 0, colors, NULL },
	{ 0 },
};

static const char *verdict(const char *text, struct validation_error *err)
{
	json_error_t jerr;
	json_t *body = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	bool ok = http_validate_body(spec, body, err);
	json_decref(body);
	return ok ? "ok" : err->code;
}

TEST(accepts)
{
	struct validation_error e;
	CHECK_STR_EQ(verdict("{\"name\":\"abc\"}", &e), "ok");
	CHECK_STR_EQ(verdict("{\"name\":\"ééééé\"}", &e), "ok"); /* 5 characters, 10 bytes */
	CHECK_STR_EQ(
		verdict("{\"name\":\"a\",\"count\":3,\"on\":true,\"at\":\"2026-01-02T03:04:05Z\","
			"\"color\":\"red\"}",
			&e),
		"ok");
	CHECK_STR_EQ(verdict("{\"name\":\"a\",\"count\":null}", &e), "ok");
}

TEST(refuses)
{
	struct validation_error e;
	CHECK_STR_EQ(verdict("{\"name\":\"a\",\"admin\":true}", &e), "validation.unknown_field");
	CHECK_STR_EQ(e.field, "admin");
	CHECK_STR_EQ(verdict("{}", &e), "validation.required");
	CHECK_STR_EQ(e.field, "name");
	CHECK_STR_EQ(verdict("{\"name\":null}", &e), "validation.required");
	CHECK_STR_EQ(verdict("{\"name\":5}", &e), "validation.type");
	CHECK_STR_EQ(verdict("{\"name\":\"abcdef\"}", &e), "validation.length");
	CHECK_STR_EQ(verdict("{\"name\":\"\"}", &e), "validation.length");
	CHECK_STR_EQ(verdict("{\"name\":\"a\\nb\"}", &e), "validation.invalid");
	CHECK_STR_EQ(verdict("{\"name\":\"   \"}", &e), "validation.invalid");
	CHECK(strstr(e.message, "blank") != NULL);
	CHECK_STR_EQ(verdict("{\"name\":\"a\",\"count\":\"3\"}", &e), "validation.type");
	CHECK_STR_EQ(e.field, "count");
	CHECK_STR_EQ(verdict("{\"name\":\"a\",\"count\":1.5}", &e), "validation.type");
	CHECK_STR_EQ(verdict("{\"name\":\"a\",\"on\":1}", &e), "validation.type");
	CHECK_STR_EQ(verdict("{\"name\":\"a\",\"at\":\"yesterday\"}", &e), "validation.invalid");
	CHECK_STR_EQ(verdict("{\"name\":\"a\",\"color\":\"green\"}", &e), "validation.invalid");
	CHECK(strstr(e.message, "red, blue") != NULL);
}

TEST(no_spec_means_no_fields)
{
	struct validation_error e;
	json_t *body = json_pack("{s:i}", "x", 1);
	CHECK(!http_validate_body(NULL, body, &e));
	CHECK_STR_EQ(e.code, "validation.unknown_field");
	json_decref(body);
	body = json_object();
	CHECK(http_validate_body(NULL, body, &e));
	json_decref(body);
}

int main(void)
{
	RUN(accepts);
	RUN(refuses);
	RUN(no_spec_means_no_fields);
	return test_summary("unit/validate");
}
