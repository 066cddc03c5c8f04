#include "http/http.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define CT "multipart/form-data; boundary=XyZ"

static int parse(const char *body, size_t max_part, http_part **parts, err *e)
{
    return http_multipart_parse(CT, (const unsigned char *)body, strlen(body), max_part, 16, parts,
                                e);
}

Test(multipart, fields_and_files)
{
    const char *body = "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"file\"; filename=\"room.jpg\"\r\n"
                       "Content-Type: image/jpeg\r\n\r\n"
                       "\xff\xd8\r\n--Xy not yet\xff\xd9\r\n"
                       "--XyZ\r\n"
                       "Content-Disposition: form-data; name=num_samples\r\n\r\n"
                       "12\r\n"
                       "--XyZ--\r\n";
    http_part *p;
    err e = {0};
    int n = parse(body, 1 << 20, &p, &e);
    cr_assert_eq(n, 2, "%s", e.msg);
    cr_assert_str_eq(p[0].name, "file");
    cr_assert_str_eq(p[0].filename, "room.jpg");
    cr_assert_str_eq(p[0].content_type, "image/jpeg");
    cr_assert_eq(p[0].len, 18);
    cr_assert(memcmp(p[0].data, "\xff\xd8\r\n--Xy not yet\xff\xd9", 18) == 0);
    cr_assert_str_eq(p[1].name, "num_samples");
    cr_assert_null(p[1].filename);
    cr_assert_eq(p[1].len, 2);
    cr_assert(memcmp(p[1].data, "12", 2) == 0);
    http_multipart_free(p, n);
}

Test(multipart, preamble_empty_part_and_quoted_names)
{
    const char *body = "ignored preamble\r\n--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"a \\\"b\\\"\"; filename=\"\"\r\n\r\n"
                       "\r\n--XyZ--";
    http_part *p;
    err e = {0};
    int n = parse(body, 100, &p, &e);
    cr_assert_eq(n, 1, "%s", e.msg);
    cr_assert_str_eq(p[0].name, "a \"b\"");
    cr_assert_str_eq(p[0].filename, "");
    cr_assert_eq(p[0].len, 0);
    http_multipart_free(p, n);
}

Test(multipart, part_over_the_limit_is_413)
{
    const char *body =
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n"
        "0123456789\r\n--XyZ--\r\n";
    http_part *p;
    err e = {0};
    cr_assert_eq(parse(body, 9, &p, &e), -1);
    cr_assert_eq(e.status, 413);
    cr_assert(strstr(e.msg, "'file'") != NULL, "%s", e.msg);
    cr_assert_eq(parse(body, 10, &p, &e), 1);
    http_multipart_free(p, 1);
}

Test(multipart, malformed_bodies_are_400)
{
    const char *bad[] = {
        "",
        "no boundary at all",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
        "--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--", /* no name */
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nno blank line",
        "--XyZjunk\r\n",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        http_part *p = NULL;
        err e = {0};
        cr_assert_eq(parse(bad[i], 100, &p, &e), -1, "case %zu parsed", i);
        cr_assert_eq(e.status, 400, "case %zu: %s", i, e.msg);
        cr_assert_null(p);
    }
    http_part *p;
    err e = {0};
    cr_assert_eq(
        http_multipart_parse("multipart/form-data", (const unsigned char *)"x", 1, 10, 10, &p, &e),
        -1);
    cr_assert(strstr(e.msg, "boundary") != NULL);
    cr_assert_eq(
        http_multipart_parse("application/json", (const unsigned char *)"x", 1, 10, 10, &p, &e),
        -1);
}

Test(multipart, too_many_parts)
{
    char body[4096] = "";
    for (int i = 0; i < 20; i++)
        strcat(body, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n");
    strcat(body, "--XyZ--\r\n");
    http_part *p;
    err e = {0};
    cr_assert_eq(parse(body, 100, &p, &e), -1);
    cr_assert_eq(e.status, 413);
}

Test(urlencoded, decoding)
{
    arena *a = arena_new(0);
    http_kv *kv;
    const char *q = "a=1&b=x+y%20z&c&&d=%zz&e=%41%4a";
    int n = http_urlencoded_parse(a, q, strlen(q), &kv);
    cr_assert_eq(n, 5);
    cr_assert_str_eq(kv[0].key, "a");
    cr_assert_str_eq(kv[0].value, "1");
    cr_assert_str_eq(kv[1].value, "x y z");
    cr_assert_str_eq(kv[2].key, "c");
    cr_assert_str_eq(kv[2].value, "");
    cr_assert_str_eq(kv[3].value, "%zz"); /* invalid escapes stay as they are */
    cr_assert_str_eq(kv[4].value, "AJ");
    arena_free(a);
}
