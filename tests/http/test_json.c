#include "http/http.h"

#include <criterion/criterion.h>
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
