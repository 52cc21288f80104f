/* Body validation against field specs. */
#include <stdio.h>

#include "http/validate.h"
#include "testlib.h"

static const char *const colors[] = { "red", "blue", NULL };
static const struct field_spec spec[] = {
	{ "name", FIELD_STRING, true, 1, 5, NULL, NULL, NULL },
	{ "count", FIELD_INTEGER, false, 0, 0, NULL, NULL, NULL },
	{ "on", FIELD_BOOLEAN, false, 0, 0, NULL, NULL, NULL },
	{ "at", FIELD_TIME, false, 0, 0, NULL, NULL, NULL },
	{ "color", FIELD_ENUM, false, 0, 0, colors, NULL, NULL },
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

/* Text a client sent, made valid UTF-8 for a JSON message: whole characters
 * kept, every other byte '?', and jansson then takes the result. */
TEST(utf8_made_valid)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain /path", "plain /path" },
		{ "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80",
		  "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80" },
		{ "caf\xC3", "caf?" }, /* cut short */
		{ "\xE2\x9C", "??" },  /* cut short */
		{ "\xFF\xFE"
		  "x",
		  "??x" },			/* never UTF-8 */
		{ "\xC0\x80", "??" },		/* overlong NUL */
		{ "\xE0\x80\xAF", "???" },	/* overlong '/' */
		{ "\xED\xA0\x80", "???" },	/* a surrogate */
		{ "\xF4\x90\x80\x80", "????" }, /* past U+10FFFF */
		{ "\x80"
		  "abc",
		  "?abc" },			 /* a lone continuation byte */
		{ "\xC3\xA9\xC3", "\xC3\xA9?" }, /* whole, then cut */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		http_utf8_make_valid(buf);
		CHECK_STR_EQ(buf, cases[i].out);
		json_t *j = json_string(buf);
		CHECK_MSG(j != NULL, "jansson refuses the result of case %zu", i);
		json_decref(j);
	}
}

int main(void)
{
	RUN(accepts);
	RUN(refuses);
	RUN(no_spec_means_no_fields);
	RUN(utf8_made_valid);
	return test_summary("unit/validate");
}
