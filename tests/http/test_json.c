#include "http/http.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Expected strings are Python's repr() of the same doubles. */
Test(json, floats_as_python_repr)
{
    struct {
        double x;
        const char *s;
    } cases[] = {
        {20.0, "20.0"},
        {0.1, "0.1"},
        {12.2, "12.2"},
        {2.0 / 3, "0.6666666666666666"},
        {1e-05, "1e-05"},
        {0.0001, "0.0001"},
        {1e16, "1e+16"},
        {123456789012345.0, "123456789012345.0"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {1.5e300, "1.5e+300"},
        {-2.5, "-2.5"},
        {5e-324, "5e-324"},
        {9999999999999998.0, "9999999999999998.0"},
        {0.30000000000000004, "0.30000000000000004"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char out[32];
        http_format_double(cases[i].x, out);
        cr_assert_str_eq(out, cases[i].s, "case %zu", i);
    }
}

Test(json, compact_ordered_raw_utf8)
{
    json_t *o = json_object();
    json_object_set_new(o, "z", json_integer(1));
    json_object_set_new(o, "a", json_real(1.0));
    json_object_set_new(o, "price", json_string("₹12,000"));
    json_object_set_new(o, "esc", json_string("q\"\\\n\x01/"));
    json_object_set_new(o, "list", json_pack("[n,b,b]", 1, 0));
    size_t len;
    char *s = http_json_dumps(o, &len);
    cr_assert_str_eq(s, "{\"z\":1,\"a\":1.0,\"price\":\"₹12,000\",\"esc\":\"q\\\"\\\\\\n\\u0001/\","
                        "\"list\":[null,true,false]}");
    cr_assert_eq(len, strlen(s));
    free(s);
    json_decref(o);
}

/* Every byte that must be escaped, at every offset around the 32-byte blocks the writer
 * scans in, against the escaping written out by hand here; and the ASCII shortcut of
 * http_json_stringn keeps jansson's verdict on UTF-8. */
static void python_escape(char *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *out++ = '\\';
            *out++ = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
            *out++ = '\\';
            *out++ = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
        } else if (c < 0x20) {
            out += sprintf(out, "\\u%04x", c);
        } else {
            *out++ = (char)c;
        }
    }
    *out = '\0';
}

Test(json, escapes_at_every_offset)
{
    const char specials[] = "\"\\\n\r\t\b\f\x01\x1f";
    for (size_t k = 0; k < sizeof specials - 1; k++)
        for (size_t at = 0; at < 100; at++) {
            char s[101], want[700], got_want[710];
            for (size_t i = 0; i < 100; i++) s[i] = (char)('A' + i % 26);
            s[100] = '\0';
            s[at] = specials[k];
            if (at + 33 < 100) s[at + 33] = specials[(k + 1) % (sizeof specials - 1)];
            python_escape(want, s);
            json_t *v = http_json_stringn(s, 100);
            cr_assert_not_null(v);
            size_t len;
            char *dumped = http_json_dumps(v, &len);
            snprintf(got_want, sizeof got_want, "\"%s\"", want);
            cr_assert_str_eq(dumped, got_want, "special %zu at %zu", k, at);
            free(dumped);
            json_decref(v);
        }
    char ascii[80], utf8[80];
    memset(ascii, 'x', sizeof ascii);
    memcpy(utf8, ascii, sizeof utf8);
    memcpy(utf8 + 40, "\xe2\x82\xb9", 3); /* ₹ */
    json_t *a = http_json_stringn(ascii, sizeof ascii), *u = http_json_stringn(utf8, sizeof utf8);
    cr_assert(a && u);
    cr_assert_eq(json_string_length(u), sizeof utf8);
    utf8[41] = 'x'; /* a lead byte without its continuation */
    cr_assert_null(http_json_stringn(utf8, sizeof utf8));
    json_decref(a);
    json_decref(u);
}
