#include "http/http.h"

#include <criterion/criterion.h>
#include <string.h>

static http_router *table(void)
{
    http_router *r = http_router_new();
    cr_assert_eq(http_router_add(r, "GET", "/"), 0);
    cr_assert_eq(http_router_add(r, "POST", "/detect"), 0);
    cr_assert_eq(http_router_add(r, "POST", "/detect/"), 0);
    cr_assert_eq(http_router_add(r, "GET", "/rooms/{job_id}"), 0);
    cr_assert_eq(http_router_add(r, "DELETE", "/designs/{design_id}"), 0);
    cr_assert_eq(http_router_add(r, "GET", "/designs/user/{user_id}"), 0);
    cr_assert_eq(http_router_add(r, "POST", "/generate/"), 0);
    cr_assert_eq(http_router_add(r, "GET", "/auth/verify"), 0);
    cr_assert_eq(http_router_add(r, "GET", "/a/{x}/b/{y}"), 0);
    cr_assert_eq(http_router_add(r, "POST", "/dup"), 0);
    cr_assert_eq(http_router_add(r, "POST", "/dup"), 0);
    cr_assert_eq(http_router_add(r, "PUT", "/dup"), 0);
    return r;
}

Test(router, exact_match_and_slash_variants_are_distinct)
{
    http_router *r = table();
    http_match m;
    http_router_match(r, "POST", "/detect", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_FOUND);
    cr_assert_eq(m.route, 1);
    http_router_match(r, "POST", "/detect/", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_FOUND);
    cr_assert_eq(m.route, 2);
    http_router_match(r, "GET", "/", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_FOUND);
    cr_assert_eq(m.route, 0);
    http_router_match(r, "POST", "/Detect", &m); /* case-sensitive */
    cr_assert_eq(m.kind, HTTP_MATCH_NONE);
    http_router_free(r);
}

Test(router, path_parameters)
{
    http_router *r = table();
    http_match m;
    http_router_match(r, "GET", "/rooms/abc-123", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_FOUND);
    cr_assert_eq(m.nparams, 1);
    cr_assert_str_eq(m.params[0].name, "job_id");
    cr_assert_eq(m.params[0].len, 7);
    cr_assert(strncmp(m.params[0].value, "abc-123", 7) == 0);
    http_router_match(r, "GET", "/a/1/b/22", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_FOUND);
    cr_assert_eq(m.nparams, 2);
    cr_assert_str_eq(m.params[1].name, "y");
    cr_assert(strncmp(m.params[1].value, "22", m.params[1].len) == 0);
    http_router_match(r, "GET", "/rooms/", &m); /* a parameter never matches an empty segment */
    cr_assert_neq(m.kind, HTTP_MATCH_FOUND);
    http_router_match(r, "GET", "/rooms/a/b", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_NONE);
    http_router_free(r);
}

Test(router, method_mismatch_lists_allowed_methods)
{
    http_router *r = table();
    http_match m;
    http_router_match(r, "HEAD", "/", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_METHOD);
    cr_assert_str_eq(m.allow, "GET");
    /* the frontend's GET /designs/list meets DELETE /designs/{design_id} */
    http_router_match(r, "GET", "/designs/list", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_METHOD);
    cr_assert_str_eq(m.allow, "DELETE");
    http_router_match(r, "GET", "/dup", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_METHOD);
    cr_assert_str_eq(m.allow, "POST, PUT");
    http_router_free(r);
}

Test(router, first_registered_wins)
{
    http_router *r = table();
    http_match m;
    http_router_match(r, "POST", "/dup", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_FOUND);
    cr_assert_eq(m.route, 9);
    http_router_free(r);
}

Test(router, trailing_slash_redirects)
{
    http_router *r = table();
    http_match m;
    http_router_match(r, "POST", "/generate", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_REDIRECT);
    cr_assert_str_eq(m.redirect, "/generate/");
    http_router_match(r, "GET", "/auth/verify/", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_REDIRECT);
    cr_assert_str_eq(m.redirect, "/auth/verify");
    http_router_match(r, "POST", "/detect//", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_REDIRECT);
    cr_assert_str_eq(m.redirect, "/detect");
    /* any method: the redirect target only has to exist */
    http_router_match(r, "GET", "/generate", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_REDIRECT);
    http_router_match(r, "GET", "/nothing/", &m);
    cr_assert_eq(m.kind, HTTP_MATCH_NONE);
    http_router_free(r);
}

Test(router, malformed_patterns_are_refused)
{
    http_router *r = http_router_new();
    cr_assert_eq(http_router_add(r, "GET", "no-slash"), -1);
    cr_assert_eq(http_router_add(r, "GET", "/a//b"), -1);
    cr_assert_eq(http_router_add(r, "GET", "/{}"), -1);
    cr_assert_eq(http_router_add(r, "GET", "/x{y}"), -1);
    cr_assert_eq(http_router_count(r), 0);
    http_router_free(r);
}
