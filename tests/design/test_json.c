/* The golden matcher itself (so a passing golden walk means something), Python rounding,
 * and the request-field checks. */
#include "design/design.h"
#include "golden.h"

#include <criterion/criterion.h>
#include <string.h>

static bool m(const char *endpoint, const char *want, const char *got)
{
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL),
           *g = json_loads(got, JSON_DECODE_ANY, NULL);
    cr_assert(w && g);
    char why[512];
    bool ok = golden_match(endpoint, w, g, why, sizeof why);
    json_decref(w);
    json_decref(g);
    return ok;
}

Test(matcher, int_and_float_are_different)
{
    cr_assert(m("/x", "{\"a\":1}", "{\"a\":1}"));
    cr_assert_not(m("/x", "{\"a\":1}", "{\"a\":1.0}"));
    cr_assert_not(m("/x", "{\"a\":20.0}", "{\"a\":20}"));
    cr_assert_not(m("/x", "{\"a\":12.2}", "{\"a\":12.199999}"));
}

Test(matcher, key_order_and_extra_keys)
{
    cr_assert_not(m("/x", "{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}"));
    cr_assert_not(m("/x", "{\"a\":1}", "{\"a\":1,\"b\":2}"));
    cr_assert_not(m("/x", "{\"a\":1,\"b\":2}", "{\"a\":1}"));
    /* §16: the DIY lists may be added at the top level of /diy/instructions only. */
    cr_assert(m("/diy/instructions", "{\"a\":1,\"z\":2}", "{\"a\":1,\"steps\":[],\"z\":2}"));
    cr_assert_not(m("/x", "{\"a\":1,\"z\":2}", "{\"a\":1,\"steps\":[],\"z\":2}"));
}

Test(matcher, free_text_only_by_type)
{
    cr_assert(m("/x", "{\"description\":\"Basic bed\"}", "{\"description\":\"Our words\"}"));
    cr_assert_not(m("/x", "{\"description\":\"Basic bed\"}", "{\"description\":null}"));
    cr_assert_not(m("/x", "{\"budget_tier\":\"low\"}", "{\"budget_tier\":\"Low\"}"));
    cr_assert(m("/x", "{\"tips\":[\"a\",\"b\"]}", "{\"tips\":[\"c\",\"d\"]}"));
    cr_assert_not(m("/x", "{\"tips\":[\"a\",\"b\"]}", "{\"tips\":[\"c\"]}"));
    cr_assert_not(m("/x", "{\"where_to_buy\":[\"Amazon\"]}", "{\"where_to_buy\":[\"IKEA\"]}"));
}

Test(matcher, reason_upgrades_lists_are_sets)
{
    cr_assert(
        m("/advise/reason-upgrades", "{\"replace\":[\"a\",\"b\"]}", "{\"replace\":[\"b\",\"a\"]}"));
    cr_assert_not(
        m("/advise/reason-upgrades", "{\"replace\":[\"a\",\"b\"]}", "{\"replace\":[\"b\",\"c\"]}"));
    cr_assert_not(m("/x", "{\"replace\":[\"a\",\"b\"]}", "{\"replace\":[\"b\",\"a\"]}"));
}

Test(round, matches_python)
{
    /* Values checked against CPython 3.11's round(x, 1). */
    cr_assert_eq(design_round(2500.0 / 20500 * 100, 1), 12.2);
    cr_assert_eq(design_round(0.1 + 0.1 + 0.1, 1), 0.3);
    cr_assert_eq(design_round(2.675, 2), 2.67); /* 2.675 is 2.67499999... in binary */
    cr_assert_eq(design_round(0.25, 1), 0.2);   /* exact tie: to even */
    cr_assert_eq(design_round(0.35, 1), 0.3);   /* 0.34999999999999997 */
    cr_assert_eq(design_round(1000.0 / 6000 * 100, 1), 16.7);
}

Test(fields, pydantic_rules)
{
    json_t *o = json_pack("{s:i,s:f,s:s,s:f,s:b,s:[s,i],s:s,s:n}", "i", 3, "f", 3.0, "s", "42",
                          "half", 3.5, "flag", 1, "list", "a", 1, "str", "x", "nul");
    err e = {0};
    long v;
    bool present;
    cr_assert_eq(design_field_int(o, "i", 0, &v, &present, &e), 0);
    cr_assert_eq(v, 3);
    cr_assert_eq(design_field_int(o, "f", 0, &v, &present, &e), 0);
    cr_assert_eq(design_field_int(o, "s", 0, &v, &present, &e), 0);
    cr_assert_eq(v, 42);
    cr_assert_eq(design_field_int(o, "half", 0, &v, &present, &e), -1);
    cr_assert_eq(e.status, 422);
    cr_assert_eq(design_field_int(o, "flag", 0, &v, &present, &e), -1);
    cr_assert_eq(design_field_int(o, "missing", DESIGN_REQUIRED, &v, &present, &e), -1);
    cr_assert(strstr(e.msg, "body.missing") && strstr(e.msg, "Field required"));
    const char *s;
    cr_assert_eq(design_field_str(o, "i", 0, &s, &e), -1); /* numbers are not strings (v2) */
    cr_assert_eq(design_field_str(o, "nul", DESIGN_NULLABLE, &s, &e), 0);
    cr_assert_null(s);
    cr_assert_eq(design_field_str(o, "nul", 0, &s, &e), -1);
    const json_t *l;
    cr_assert_eq(design_field_str_list(o, "list", 0, &l, &e), -1);
    cr_assert(strstr(e.msg, "body.list.1"));
    cr_assert_eq(design_field_str_list(o, "str", 0, &l, &e), -1); /* a bare string */
    cr_assert_eq(design_body_object(json_array(), &e), -1);
    json_decref(o);
}
