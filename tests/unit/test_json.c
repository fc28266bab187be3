/* SPDX-License-Identifier: MIT */
/* The strict JSON reader: values, escapes and replacements, numbers
 * without the locale, and where and why malformed documents are refused. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "pagescan/model/json.h"
#include "tap.h"

static int parse(struct ps_json *j, const char *s)
{
	return ps_json_parse(j, s, strlen(s));
}

static void test_json_values(void)
{
	struct ps_json j = { 0 };
	uint64_t u;
	int64_t i;
	double d;
	size_t len;

	is_int(parse(&j, " {\"a\":[1,2,{\"b\":\"x\\u00e9\\ud83d\\ude00\"}],\"c\":true,\"d\":null,\"e\":-1.5e2,"
	                 "\"f\":false,\"a\":7} "), 0, "json: nested document parses");
	uint32_t a = ps_json_get(&j, 0, "a");
	ok(a && j.node[a].type == PS_JSON_ARRAY && j.node[a].b == 3, "json: a is an array of 3");
	uint32_t third = j.node[j.node[j.node[a].a].next].next;
	is_str(ps_json_str(&j, ps_json_get(&j, third, "b"), &len), "x\xc3\xa9\xf0\x9f\x98\x80",
	       "json: \\u escapes and a surrogate pair decode to UTF-8");
	is_u64(len, 7, "json: decoded length");
	is_int(j.node[ps_json_get(&j, 0, "c")].type, PS_JSON_TRUE, "json: true");
	is_int(j.node[ps_json_get(&j, 0, "d")].type, PS_JSON_NULL, "json: null");
	is_int(j.node[ps_json_get(&j, 0, "f")].type, PS_JSON_FALSE, "json: false");
	ok(ps_json_double(&j, ps_json_get(&j, 0, "e"), &d) == 0 && d == -150.0, "json: -1.5e2 = -150");
	ok(ps_json_u64(&j, ps_json_get(&j, 0, "e"), &u) < 0, "json: -1.5e2 is not a u64");
	ok(ps_json_u64(&j, j.node[a].a, &u) == 0 && u == 1, "json: first element 1");
	ok(ps_json_u64(&j, ps_json_get(&j, 0, "a"), &u) < 0, "json: the first of duplicate keys wins (an array)");
	is_u64(ps_json_get(&j, 0, "zz"), 0, "json: absent key");
	is_u64(ps_json_get(&j, a, "b"), 0, "json: get on an array");

	is_int(parse(&j, "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), 0, "json: all simple escapes");
	is_str(ps_json_str(&j, 0, NULL), "\"\\/\b\f\n\r\t", "json: simple escapes decoded");

	is_int(parse(&j, "\"a\\ud800b\\udc00c\\u0000d\""), 0, "json: lone surrogates and NUL parse");
	is_str(ps_json_str(&j, 0, NULL), "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd" "d",
	       "json: lone surrogates and NUL become U+FFFD");
	is_u64(j.replaced, 3, "json: three replacements counted");
	is_int(parse(&j, "\"\xff\xc3\xa9\xe0\x80\x80\xed\xa0\x80\""), 0, "json: invalid UTF-8 parses");
	is_str(ps_json_str(&j, 0, NULL), "\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	       "json: invalid bytes, overlong and surrogate forms replaced, valid é kept");

	is_int(parse(&j, "[18446744073709551615,18446744073709551616,-9223372036854775808,-0,0.103337,1E+2,5e-1]"),
	       0, "json: numbers");
	uint32_t n = j.node[0].a;
	ok(ps_json_u64(&j, n, &u) == 0 && u == UINT64_MAX, "json: u64 max");
	n = j.node[n].next;
	ok(ps_json_u64(&j, n, &u) < 0, "json: u64 overflow refused");
	ok(ps_json_double(&j, n, &d) == 0 && d == 18446744073709551616.0, "json: ... but a fine double");
	n = j.node[n].next;
	ok(ps_json_i64(&j, n, &i) == 0 && i == INT64_MIN, "json: i64 min");
	n = j.node[n].next;
	ok(ps_json_u64(&j, n, &u) == 0 && u == 0, "json: -0 is 0");
	n = j.node[n].next;
	ok(ps_json_double(&j, n, &d) == 0 && d == 0.103337, "json: 0.103337 exactly (no locale)");
	n = j.node[n].next;
	ok(ps_json_double(&j, n, &d) == 0 && d == 100.0, "json: 1E+2");
	n = j.node[n].next;
	ok(ps_json_double(&j, n, &d) == 0 && d == 0.5, "json: 5e-1");
	ok(ps_json_u64(&j, 0, &u) < 0 && ps_json_str(&j, 0, NULL) == NULL, "json: wrong types refused");
	ps_json_free(&j);
}

static void test_json_errors(void)
{
	static const struct {
		const char *s;
		size_t pos;
	} bad[] = {
		{ "", 0 }, { "   ", 3 }, { "{", 1 }, { "{\"a\":1,}", 7 }, { "[1,]", 3 }, { "[1 2]", 3 },
		{ "01", 1 }, { "1.", 2 }, { ".5", 0 }, { "-", 1 }, { "1e", 2 }, { "+1", 0 },
		{ "\"abc", 4 }, { "\"a\tb\"", 2 }, { "\"\\x\"", 2 }, { "\"\\u12G4\"", 2 }, { "tru", 0 },
		{ "nulll", 4 }, { "{} x", 3 }, { "{\"a\" 1}", 5 }, { "{a:1}", 1 }, { "[\"a\":1]", 4 },
		{ "{\"a\":1", 6 },
	};
	struct ps_json j = { 0 };
	char deep[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(&j, bad[i].s);
		is_int(r, -EINVAL, "json: '%s' refused (%s)", bad[i].s, j.err);
		is_u64(j.err_pos, bad[i].pos, "json: '%s' error position", bad[i].s);
	}
	memset(deep, '[', 64);
	memset(deep + 64, ']', 64);
	deep[128] = '\0';
	is_int(parse(&j, deep), 0, "json: 64 levels of nesting are fine");
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	deep[130] = '\0';
	is_int(parse(&j, deep), -EINVAL, "json: 65 levels are refused");
	is_str(j.err, "nested too deeply", "json: ... saying why");
	/* A value cut in the middle, as in a recording killed mid-line. */
	is_int(ps_json_parse(&j, "{\"a\":[1,2,3]}", 9), -EINVAL, "json: a document cut off");
	ps_json_free(&j);
}

int main(void)
{
	test_json_values();
	test_json_errors();
	return tap_done();
}
