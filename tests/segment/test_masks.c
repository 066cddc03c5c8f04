/* The mask encodings of the segment service: JSON booleans and COCO run-lengths, against
 * texts worked out by hand from their definitions. */
#include "segment/segment_impl.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static char *bool_json(uint8_t *const *masks, int n, int w, int h)
{
    size_t size = segment_bool_masks_size(masks, n, w, h);
    cr_assert_leq(size, segment_bool_masks_max(n, w, h));
    char *buf = xmalloc(size + 1);
    char *end = segment_bool_masks_write(buf, masks, n, w, h);
    cr_assert_eq((size_t)(end - buf), size, "wrote %zu bytes, said %zu", (size_t)(end - buf), size);
    *end = 0;
    return buf;
}

Test(bool_masks, small_masks_as_numpy_tolist_dumps_them)
{
    uint8_t a[] = {0, 255, 255, 0, 255, 0}, b[] = {255, 255, 255, 255, 255, 255};
    uint8_t *masks[] = {a, b};
    char *s = bool_json(masks, 2, 3, 2);
    cr_assert_str_eq(s, "[[[false,true,true],[false,true,false]],"
                        "[[true,true,true],[true,true,true]]]");
    free(s);
    s = bool_json(masks, 0, 3, 2);
    cr_assert_str_eq(s, "[]");
    free(s);
    uint8_t one[] = {0};
    uint8_t *single[] = {one};
    s = bool_json(single, 1, 1, 1);
    cr_assert_str_eq(s, "[[[false]]]");
    free(s);
}

/* Runs longer than the internal pattern, both values, rows of odd lengths. */
Test(bool_masks, long_runs_match_a_pixel_by_pixel_writer)
{
    int w = 1500, h = 7;
    uint8_t *m = xcalloc((size_t)w * h, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) m[y * w + x] = (x > 37 * y && x < 1400 - y) ? 255 : 0;
    uint8_t *masks[] = {m, m};
    char *got = bool_json(masks, 2, w, h);
    http_strbuf want = {0};
    segment_append(&want, "[");
    for (int k = 0; k < 2; k++) {
        segment_append(&want, k ? ",[" : "[");
        for (int y = 0; y < h; y++) {
            segment_append(&want, y ? ",[" : "[");
            for (int x = 0; x < w; x++) {
                segment_append(&want, m[y * w + x] ? "true" : "false");
                if (x + 1 < w) segment_append(&want, ",");
            }
            segment_append(&want, "]");
        }
        segment_append(&want, "]");
    }
    http_strbuf_append(&want, "]", 2);
    cr_assert_str_eq(got, want.data);
    free(want.data);
    free(got);
    free(m);
}

static void assert_rle(const uint8_t *mask, int w, int h, const char *want)
{
    size_t len;
    char *got = segment_rle_encode(mask, w, h, &len);
    cr_assert_str_eq(got, want);
    cr_assert_eq(len, strlen(want));
    free(got);
}

/* Counts worked out by hand: runs over columns, zeros first; each count in 5-bit groups
 * plus '0' (0x20 flags a continuation); from the fourth count on, the difference from the
 * count two before. */
Test(rle, coco_compressed_counts)
{
    /* rows 011 / 010 -> column-major 0 0 1 1 1 0 -> counts 2 3 1 */
    const uint8_t a[] = {0, 255, 255, 0, 255, 0};
    assert_rle(a, 3, 2, "231");
    /* a column 0 1 0 1 1 1 1 1 -> counts 1 1 1 5 -> the fourth is 5 - 1 = 4 */
    const uint8_t b[] = {0, 255, 0, 255, 255, 255, 255, 255};
    assert_rle(b, 1, 8, "1114");
    /* 3 zeros, 10 ones, 1 zero, 2 ones -> 3 10 1 (2 - 10 = -8): -8 is 11000 in five bits
     * with the sign bit set and nothing left, so one character, 24 + '0' = 'H' */
    uint8_t c[16] = {0};
    for (int i = 3; i < 13; i++) c[i] = 255;
    c[14] = c[15] = 255;
    assert_rle(c, 1, 16, "3:1H");
    /* 100 zeros: 100 = 3 * 32 + 4 -> (4 | 0x20) + '0' = 'T', then 3 -> '3' */
    uint8_t d[100] = {0};
    assert_rle(d, 10, 10, "T3");
    /* all set: no zeros first */
    const uint8_t e[] = {255, 255, 255, 255, 255};
    assert_rle(e, 5, 1, "05");
}

Test(json_string, escapes_only_what_json_needs)
{
    http_strbuf b = {0};
    segment_append_json_string(&b, "a\\b\"c\x01OK", 8);
    http_strbuf_append(&b, "", 1);
    cr_assert_str_eq(b.data, "\"a\\\\b\\\"c\\u0001OK\"");
    free(b.data);
}
