#include "core/core.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* RFC 4648 section 10 test vectors. */
static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

Test(base64, rfc4648_vectors_both_ways)
{
    for (size_t i = 0; i < ARRAY_LEN(plain); i++) {
        size_t n;
        char *enc = b64_encode(plain[i], strlen(plain[i]), &n);
        cr_assert_str_eq(enc, coded[i]);
        cr_assert_eq(n, strlen(coded[i]));
        free(enc);
        err e = {0};
        unsigned char *dec = b64_decode(coded[i], strlen(coded[i]), &n, &e);
        cr_assert_not_null(dec, "%s: %s", coded[i], e.msg);
        cr_assert_eq(n, strlen(plain[i]));
        cr_assert_arr_eq(dec, plain[i], n);
        free(dec);
    }
}

Test(base64, padding_optional_and_whitespace_skipped)
{
    size_t n;
    err e = {0};
    unsigned char *d = b64_decode("Zm9vYg", 6, &n, &e);
    cr_assert_not_null(d, "%s", e.msg);
    cr_assert_eq(n, 4);
    cr_assert_arr_eq(d, "foob", 4);
    free(d);
    const char *wrapped = "Zm9v\r\nYmFy\n";
    d = b64_decode(wrapped, strlen(wrapped), &n, &e);
    cr_assert_not_null(d, "%s", e.msg);
    cr_assert_eq(n, 6);
    cr_assert_arr_eq(d, "foobar", 6);
    free(d);
}

Test(base64, binary_roundtrip)
{
    unsigned char buf[1000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 37 + 11);
    for (size_t len = 0; len < sizeof buf; len += 97) {
        size_t n, m;
        char *enc = b64_encode(buf, len, &n);
        err e = {0};
        unsigned char *dec = b64_decode(enc, n, &m, &e);
        cr_assert_not_null(dec);
        cr_assert_eq(m, len);
        cr_assert_arr_eq(dec, buf, len);
        free(enc);
        free(dec);
    }
}

Test(base64, data_url_prefix_is_named)
{
    const char *s = "data:image/jpeg;base64,Zm9v";
    err e = {0};
    size_t n;
    cr_assert_null(b64_decode(s, strlen(s), &n, &e));
    cr_assert_eq(e.status, 400);
    cr_assert(strstr(e.msg, "data:") != NULL, "%s", e.msg);
}

Test(base64, garbage_and_truncation_are_errors)
{
    const char *bad[] = {"Zm9v!mFy", "Zm9vY", "Zg==Zg==", "Zm=9v", "-_-_"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        err e = {0};
        size_t n;
        unsigned char *d = b64_decode(bad[i], strlen(bad[i]), &n, &e);
        cr_assert_null(d, "'%s' decoded", bad[i]);
        cr_assert_eq(e.status, 400);
        cr_assert(strncmp(e.msg, "invalid base64", 14) == 0, "%s", e.msg);
    }
}

Test(base64, padding_must_be_exact_and_final_bits_zero)
{
    /* "Zh==": 'h' leaves bits set past the one byte; "Zm9v====": padding after a whole
     * group; "Zg=": one '=' where two belong; a NUL is not whitespace. */
    const char *bad[] = {"Zh==", "Zm9v====", "Zg=", "Zm9=", "Zm8=Zm8=", "Zm\0v"};
    const char *why[] = {"bits past the end", "'=' at the end",        "'=' at the end",
                         "bits past the end", "followed by more data", "byte 0x00"};
    size_t lens[] = {4, 8, 3, 4, 8, 4};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        err e = {0};
        size_t n;
        cr_assert_null(b64_decode(bad[i], lens[i], &n, &e), "'%s' decoded", bad[i]);
        cr_assert_eq(e.status, 400);
        cr_assert(strstr(e.msg, why[i]) != NULL, "'%s': %s", bad[i], e.msg);
    }
    /* whitespace may sit anywhere, padding included */
    err e = {0};
    size_t n;
    unsigned char *d = b64_decode(" Z\tm 8 =\r\n", 10, &n, &e);
    cr_assert_not_null(d, "%s", e.msg);
    cr_assert_eq(n, 2);
    cr_assert_arr_eq(d, "fo", 2);
    free(d);
}

Test(base64, every_byte_value_in_every_position)
{
    /* 256 x 3 bytes: each value at each offset within a group, decoded from the encoder's
     * text and from the same text wrapped at 76 columns. */
    unsigned char buf[768];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i / 3 + (i % 3) * 85);
    size_t n, m;
    char *enc = b64_encode(buf, sizeof buf, &n);
    cr_assert_eq(n, 1024);
    char wrapped[1100];
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        wrapped[w++] = enc[i];
        if (i % 76 == 75) wrapped[w++] = '\n';
    }
    err e = {0};
    unsigned char *dec = b64_decode(wrapped, w, &m, &e);
    cr_assert_not_null(dec, "%s", e.msg);
    cr_assert_eq(m, sizeof buf);
    cr_assert_arr_eq(dec, buf, m);
    free(dec);
    free(enc);
}
