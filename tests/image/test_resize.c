/* Resizing, letterbox and tensors, against OpenCV and Pillow outputs (fixtures.h, made by
 * make_fixtures.py with the real libraries), hand-worked examples, and an independent
 * double-precision bilinear model. */
#include "fixtures.h"
#include "helpers.h"

#include <math.h>

static img view_of(const uint8_t *data, int w, int h, int cn)
{
    return img_view((uint8_t *)data, w, h, cn, (size_t)w * (size_t)cn);
}

static void assert_bytes(const img *im, const uint8_t *want, const char *what)
{
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w * im->channels; x++) {
            uint8_t got = img_px(im, 0, y)[x];
            uint8_t exp = want[(size_t)y * (size_t)im->w * (size_t)im->channels + (size_t)x];
            cr_assert_eq(got, exp, "%s: row %d element %d: %d, want %d", what, y, x, got, exp);
        }
}

/* ---------------------------------------------------------------- hand-worked */

Test(resize, hand_worked_vertical_rounding)
{
    /* One column [1; 7] to five rows. scale = 1 / (5 / 2) = 0.4. Output row 1:
     * fy = 1.5 * 0.4 - 0.5 = 0.1 (float 0.100000001), source row 0;
     * b0 = rint((1 - 0.1f) * 2048) = rint(1843.19995) = 1843, b1 = rint(204.8) = 205.
     * Horizontal sums (one column, weight 2048): 2048 and 14336.
     * OpenCV: ((2048 >> 4) * 1843 >> 16) + ((14336 >> 4) * 205 >> 16)
     *       = (235904 >> 16) + (183680 >> 16) = 3 + 2 = 5;  (5 + 2) >> 2 = 1.
     * Rounding the exact sum instead, (2048*1843 + 14336*205 + 2^21) >> 22, gives 2;
     * OpenCV says 1, and so must we. Rows 0, 2, 3, 4 worked the same way: 1, 4, 6, 7. */
    const uint8_t col[2] = {1, 7};
    img src = view_of(col, 1, 2, 1);
    img *out = img_resize(&src, 1, 5);
    const uint8_t want[5] = {1, 1, 4, 6, 7};
    assert_bytes(out, want, "1x2 -> 1x5");
    img_free(out);
}

Test(resize, hand_worked_horizontal_clamp)
{
    /* Row [10, 200, 60] to 2 columns: scale 1.5. Column 0: fx = 0.25 -> weights
     * 1536, 512: 10*1536 + 200*512 = 117760; ((117760 >> 4) * 2048 >> 16) = 230;
     * (230 + 2) >> 2 = 58. Column 1: fx = 1.75 -> source 1, weights 512, 1536:
     * 200*512 + 60*1536 = 194560 -> 380 -> 95. */
    const uint8_t row[3] = {10, 200, 60};
    img src = view_of(row, 3, 1, 1);
    img *out = img_resize(&src, 2, 1);
    const uint8_t want[2] = {58, 95};
    assert_bytes(out, want, "3x1 -> 2x1");
    img_free(out);
    /* Upscaling 2 -> 4: coordinates -0.25, 0.25, 1.25 (clamped: weight 1 on the
     * last column), 1.75 (also past the last centre). */
    const uint8_t two[2] = {0, 200};
    src = view_of(two, 2, 1, 1);
    out = img_resize(&src, 4, 1);
    const uint8_t want4[4] = {0, 50, 150, 200};
    assert_bytes(out, want4, "2x1 -> 4x1");
    img_free(out);
}

/* ---------------------------------------------------------------- against OpenCV */

Test(resize, matches_opencv_u8)
{
    const uint8_t *want[] = {rs_9x7x3_to_4x3, rs_9x7x3_to_13x11, rs_9x7x3_to_5x12, rs_9x7x3_to_40x2,
                             rs_9x7x3_to_3x7};
    img src = view_of(rs_src_9x7x3, 9, 7, 3);
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        img *out = img_resize(&src, rs_sizes[i].w, rs_sizes[i].h);
        char what[64];
        snprintf(what, sizeof what, "9x7x3 -> %dx%d", rs_sizes[i].w, rs_sizes[i].h);
        assert_bytes(out, want[i], what);
        img_free(out);
    }
    img g = view_of(rs_src_8x6x1, 8, 6, 1);
    img *out = img_resize(&g, 4, 3); /* exactly half: OpenCV switches to INTER_AREA */
    assert_bytes(out, rs_8x6x1_to_4x3, "8x6x1 -> 4x3");
    img_free(out);
    out = img_resize(&g, 21, 5);
    assert_bytes(out, rs_8x6x1_to_21x5, "8x6x1 -> 21x5");
    img_free(out);
    img c4 = view_of(rs_src_5x5x4, 5, 5, 4);
    out = img_resize(&c4, 7, 3);
    assert_bytes(out, rs_5x5x4_to_7x3, "5x5x4 -> 7x3");
    img_free(out);
}

Test(resize, into_a_strided_view)
{
    img src = view_of(rs_src_9x7x3, 9, 7, 3);
    img *canvas = img_new_zero(20, 20, 3);
    img sub = img_sub(canvas, 3, 4, 13, 11);
    img_resize_into(&src, &sub);
    for (int y = 0; y < 11; y++)
        cr_assert(memcmp(img_px(&sub, 0, y), rs_9x7x3_to_13x11 + y * 13 * 3, 13 * 3) == 0);
    cr_assert_eq(*img_px(canvas, 2, 4), 0);
    cr_assert_eq(img_px(canvas, 16, 4)[0], 0);
    img_free(canvas);
}

Test(resize, matches_opencv_f32)
{
    float out[4 * 7 * 2];
    img_resize_f32(rf_src_6x5x2, 6, 5, 2, out, 4, 7);
    for (size_t i = 0; i < ARRAY_LEN(out); i++)
        cr_assert_eq(out[i], rf_6x5x2_to_4x7[i], "element %zu: %.9g, want %.9g", i, out[i],
                     rf_6x5x2_to_4x7[i]);
}

/* ---------------------------------------------------------------- independent model */

/* Bilinear with half-pixel centres and clamped coordinates, in double: what INTER_LINEAR
 * means, without OpenCV's fixed point. */
static double model_sample(const uint8_t *s, int sw, int sh, int cn, double fx, double fy, int c)
{
    fx = fx < 0 ? 0 : fx > sw - 1 ? sw - 1 : fx;
    fy = fy < 0 ? 0 : fy > sh - 1 ? sh - 1 : fy;
    int x0 = (int)floor(fx), y0 = (int)floor(fy);
    int x1 = x0 + 1 < sw ? x0 + 1 : x0, y1 = y0 + 1 < sh ? y0 + 1 : y0;
    double ax = fx - x0, ay = fy - y0;
#define S(x, y) ((double)s[((size_t)(y) * (size_t)sw + (size_t)(x)) * (size_t)cn + (size_t)c])
    return (S(x0, y0) * (1 - ax) + S(x1, y0) * ax) * (1 - ay) +
           (S(x0, y1) * (1 - ax) + S(x1, y1) * ax) * ay;
#undef S
}

Test(resize, within_one_of_exact_bilinear)
{
    unsigned seed = 99;
    for (int t = 0; t < 40; t++) {
        seed = seed * 1103515245u + 12345u;
        int sw = 1 + (int)(seed >> 16) % 50, sh = 1 + (int)(seed >> 8) % 40;
        seed = seed * 1103515245u + 12345u;
        int dw = 1 + (int)(seed >> 16) % 60, dh = 1 + (int)(seed >> 8) % 45, cn = 3;
        uint8_t *s = malloc((size_t)sw * (size_t)sh * 3);
        float *sf = malloc(sizeof(float) * (size_t)sw * (size_t)sh * 3);
        for (int i = 0; i < sw * sh * 3; i++) {
            seed = seed * 1103515245u + 12345u;
            s[i] = (uint8_t)(seed >> 16);
            sf[i] = s[i];
        }
        img src = view_of(s, sw, sh, cn);
        img *out = img_resize(&src, dw, dh);
        float *of = malloc(sizeof(float) * (size_t)dw * (size_t)dh * 3);
        img_resize_f32(sf, sw, sh, cn, of, dw, dh);
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++)
                for (int c = 0; c < cn; c++) {
                    double fx = (x + 0.5) * sw / dw - 0.5, fy = (y + 0.5) * sh / dh - 0.5;
                    double m = model_sample(s, sw, sh, cn, fx, fy, c);
                    int got = img_px(out, x, y)[c];
                    cr_assert(fabs(got - m) <= 1.0, "%dx%d->%dx%d (%d,%d,%d): %d vs %.3f", sw, sh,
                              dw, dh, x, y, c, got, m);
                    float gf = of[((size_t)y * (size_t)dw + (size_t)x) * 3 + (size_t)c];
                    cr_assert(fabs(gf - m) <= 0.02, "float: %.4f vs %.4f", gf, m);
                }
        img_free(out);
        free(of);
        free(s);
        free(sf);
    }
}

/* ---------------------------------------------------------------- Pillow */

Test(resize, matches_pillow_bilinear)
{
    const uint8_t *want[] = {pil_17x11x3_to_6x4, pil_17x11x3_to_7x11, pil_17x11x3_to_17x5,
                             pil_17x11x3_to_30x20, pil_17x11x3_to_1x1};
    img src = view_of(pil_src_17x11x3, 17, 11, 3);
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        img *out = img_resize_pil(&src, pil_sizes[i].w, pil_sizes[i].h);
        char what[64];
        snprintf(what, sizeof what, "PIL 17x11 -> %dx%d", pil_sizes[i].w, pil_sizes[i].h);
        assert_bytes(out, want[i], what);
        img_free(out);
    }
}

Test(resize, pillow_shrink_averages_every_pixel)
{
    /* A 1-pixel checkerboard shrunk 4x: the triangle filter stretched to 4 pixels sees
     * both colours evenly (mid grey), where two-tap bilinear would alias. */
    img *c = img_new(64, 64, 1);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++) *img_px(c, x, y) = ((x + y) & 1) ? 200 : 0;
    img *out = img_resize_pil(c, 16, 16);
    for (int y = 1; y < 15; y++)
        for (int x = 1; x < 15; x++) cr_assert(abs(*img_px(out, x, y) - 100) <= 2);
    img_free(out);
    img_free(c);
}

Test(resize, longest_side)
{
    int w, h;
    img_longest_side_size(1500, 1125, 1024, &w, &h);
    cr_assert(w == 1024 && h == 768);
    img_longest_side_size(1536, 1024, 1024, &w, &h);
    cr_assert(w == 1024 && h == 683, "%d", h); /* 682.67 */
    img_longest_side_size(736, 1245, 1024, &w, &h);
    cr_assert(w == 605 && h == 1024, "%d", w); /* 605.37 */
    img_longest_side_size(640, 424, 1024, &w, &h);
    cr_assert(w == 1024 && h == 678, "%d", h); /* 678.4 */
    img *src = img_new_zero(300, 100, 3);
    img *out = img_resize_longest_side(src, 1024);
    cr_assert(out->w == 1024 && out->h == 341);
    img_free(out);
    img_free(src);
}

/* ---------------------------------------------------------------- letterbox */

Test(letterbox, geometry_as_ultralytics)
{
    img_letterbox lb = img_letterbox_geometry(1500, 1125, 640, 640);
    cr_assert(lb.new_w == 640 && lb.new_h == 480);
    cr_assert(lb.left == 0 && lb.right == 0 && lb.top == 80 && lb.bottom == 80);
    lb = img_letterbox_geometry(736, 1245, 640, 640);
    cr_assert(lb.new_w == 378 && lb.new_h == 640, "%d", lb.new_w); /* 378.35 */
    cr_assert(lb.left == 131 && lb.right == 131);
    /* Odd padding: dh = 79.5 -> top round(79.4) = 79, bottom round(79.6) = 80. */
    lb = img_letterbox_geometry(768, 577, 640, 640);
    cr_assert(lb.new_h == 481 && lb.top == 79 && lb.bottom == 80, "%d %d", lb.new_h, lb.top);
    /* Python rounds halves to even: 2 * 1.25 = 2.5 -> 2. */
    lb = img_letterbox_geometry(2, 4, 5, 5);
    cr_assert(lb.new_w == 2 && lb.new_h == 5, "%d", lb.new_w);
    cr_assert(lb.left == 1 && lb.right == 2); /* dw = 1.5 */
    /* Small photos are scaled up (scaleup=True). */
    lb = img_letterbox_geometry(320, 240, 640, 640);
    cr_assert(lb.scale == 2.0 && lb.new_w == 640 && lb.new_h == 480);
    /* A sliver keeps one pixel instead of vanishing. */
    lb = img_letterbox_geometry(1, 5000, 640, 640);
    cr_assert(lb.new_w == 1 && lb.left + lb.right == 639);
}

Test(letterbox, pixels)
{
    img src = view_of(rs_src_9x7x3, 9, 7, 3);
    img_letterbox lb;
    img *out = img_letterbox_apply(&src, 13, 13, 114, &lb);
    /* 9x7 into 13x13: scale 13/9, 13 x round(10.11) = 10, top round(1.4) = 1. */
    cr_assert(lb.new_w == 13 && lb.new_h == 10 && lb.top == 1 && lb.bottom == 2);
    img *plain = img_resize(&src, 13, 10);
    for (int y = 0; y < 13; y++)
        for (int x = 0; x < 13; x++)
            for (int c = 0; c < 3; c++) {
                int got = img_px(out, x, y)[c];
                int want = (y < 1 || y >= 11) ? 114 : img_px(plain, x, y - 1)[c];
                cr_assert_eq(got, want, "(%d,%d,%d)", x, y, c);
            }
    img_free(plain);
    img_free(out);
}

Test(letterbox, unmap_to_source)
{
    img_letterbox lb = img_letterbox_geometry(1500, 1125, 640, 640);
    float x = 320, y = 80 + 240;
    img_letterbox_unmap(&lb, &x, &y);
    cr_assert_float_eq(x, 750.0f, 1e-3);
    cr_assert_float_eq(y, 562.5f, 1e-3);
    x = 0, y = 80;
    img_letterbox_unmap(&lb, &x, &y);
    cr_assert_float_eq(x, 0.0f, 1e-4);
    cr_assert_float_eq(y, 0.0f, 1e-4);
}

/* ---------------------------------------------------------------- tensors */

Test(tensor, yolo_rgb_over_255_with_padding)
{
    const uint8_t px[2 * 1 * 3] = {255, 0, 51, 102, 204, 0};
    img src = view_of(px, 2, 1, 3);
    float t[3 * 2 * 3];
    img_tensor_params p = img_tensor_default_params();
    p.pad = -1;
    img_to_tensor(&src, t, 3, 2, &p);
    /* plane R: 1, 0.4, pad / pad pad pad */
    cr_assert_eq(t[0], 1.0f);
    cr_assert_eq(t[1], 102.0f / 255.0f);
    cr_assert_eq(t[2], -1.0f);
    cr_assert_eq(t[3], -1.0f);
    cr_assert_eq(t[6 + 0], 0.0f); /* G */
    cr_assert_eq(t[6 + 1], 204.0f / 255.0f);
    cr_assert_eq(t[12 + 0], 51.0f / 255.0f); /* B */
    cr_assert_eq(t[12 + 1], 0.0f);
}

Test(tensor, sam_mean_std_and_bgr)
{
    const uint8_t px[3] = {200, 100, 50};
    img src = view_of(px, 1, 1, 3);
    float t[3];
    img_tensor_params p = img_tensor_sam_params();
    img_to_tensor(&src, t, 1, 1, &p);
    cr_assert_eq(t[0], (200.0f - 123.675f) / 58.395f);
    cr_assert_eq(t[1], (100.0f - 116.28f) / 57.12f);
    cr_assert_eq(t[2], (50.0f - 103.53f) / 57.375f);
    img_tensor_params b = {.mean = {0, 0, 0}, .std = {1, 1, 1}, .bgr = true};
    img_to_tensor(&src, t, 1, 1, &b);
    cr_assert(t[0] == 50.0f && t[1] == 100.0f && t[2] == 200.0f);
    const uint8_t g = 7;
    img gray = view_of(&g, 1, 1, 1);
    img_to_tensor(&gray, t, 1, 1, &b);
    cr_assert(t[0] == 7.0f && t[1] == 7.0f && t[2] == 7.0f);
}

/* ---------------------------------------------------------------- colour */

Test(colour, gray_is_opencv_rgb2gray)
{
    /* (9798 R + 19235 G + 3735 B + 16384) >> 15; OpenCV gives 76, 150, 29 for pure red,
     * green and blue. */
    const uint8_t px[5 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 10, 20, 30};
    img src = view_of(px, 5, 1, 3);
    img *g = img_to_gray(&src);
    const uint8_t want[5] = {76, 150, 29, 255, 18};
    assert_bytes(g, want, "gray");
    img_free(g);
}

Test(colour, orient_and_rgb)
{
    const uint8_t px[2 * 1 * 3] = {1, 2, 3, 4, 5, 6};
    img src = view_of(px, 2, 1, 3);
    img *r = img_orient(&src, 6); /* 2x1 turned clockwise: 1x2, first pixel on top */
    cr_assert(r->w == 1 && r->h == 2);
    cr_assert(img_px(r, 0, 0)[0] == 1 && img_px(r, 0, 1)[0] == 4);
    img_free(r);
    r = img_orient(&src, 8);
    cr_assert(img_px(r, 0, 0)[0] == 4 && img_px(r, 0, 1)[0] == 1);
    img_free(r);
    const uint8_t g[2] = {9, 250};
    img gray = view_of(g, 2, 1, 1);
    img *rgb = img_to_rgb(&gray);
    cr_assert(rgb->channels == 3 && img_px(rgb, 1, 0)[0] == 250 && img_px(rgb, 1, 0)[2] == 250);
    img_free(rgb);
}

/* The sign-only resize gives exactly the threshold of the float resize, read through a
 * row stride, for upscales and downscales, values straddling zero and exact zeros. */
Test(resize, f32_mask_is_the_sign_of_f32)
{
    const int sizes[][4] = {
        {64, 48, 150, 113}, {640, 480, 1500, 1125}, {300, 200, 97, 61}, {7, 5, 7, 5}, {1, 1, 9, 4}};
    uint32_t seed = 7;
    for (size_t k = 0; k < ARRAY_LEN(sizes); k++) {
        int sw = sizes[k][0], sh = sizes[k][1], dw = sizes[k][2], dh = sizes[k][3];
        size_t stride = (size_t)sw + 13;
        float *src = malloc(sizeof(float) * stride * (size_t)sh);
        float *packed = malloc(sizeof(float) * (size_t)sw * (size_t)sh);
        for (int y = 0; y < sh; y++)
            for (int x = 0; x < sw; x++) {
                seed = seed * 1103515245u + 12345u;
                int r = (int)(seed >> 16) % 2001 - 1000;
                float v = r % 7 == 0 ? 0.0f : (float)r / 250.0f; /* some exact zeros */
                src[(size_t)y * stride + (size_t)x] = v;
                packed[(size_t)y * (size_t)sw + (size_t)x] = v;
            }
        for (size_t i = 0; i < stride * (size_t)sh; i++)
            if (i % stride >= (size_t)sw) src[i] = 1e30f; /* outside the rows: never read */
        float *full = malloc(sizeof(float) * (size_t)dw * (size_t)dh);
        uint8_t *mask = malloc((size_t)dw * (size_t)dh);
        img_resize_f32(packed, sw, sh, 1, full, dw, dh);
        img_resize_f32_mask(src, sw, sh, stride, mask, dw, dh);
        size_t pos = 0;
        for (size_t i = 0; i < (size_t)dw * (size_t)dh; i++) {
            cr_assert_eq(mask[i], full[i] > 0.0f ? 255 : 0, "%dx%d->%dx%d at %zu: %g", sw, sh, dw,
                         dh, i, (double)full[i]);
            pos += mask[i] != 0;
        }
        if (sw * sh > 1) cr_assert(pos > 0 && pos < (size_t)dw * (size_t)dh);
        free(src);
        free(packed);
        free(full);
        free(mask);
    }
}
