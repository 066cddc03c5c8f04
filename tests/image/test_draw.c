/* Drawing: OpenCV's rectangles, text, labels, mask overlays. */
#include "helpers.h"

/* cv2.rectangle(im, (5, 5), (14, 12), 255, t) on a 20 x 20 zero image, rows 3..14, as
 * OpenCV 4.6 drew them ('#' = 255). */
static const char *cv_rect[5][12] = {
    [1] = {"....................", "....................", ".....##########.....",
           ".....#........#.....", ".....#........#.....", ".....#........#.....",
           ".....#........#.....", ".....#........#.....", ".....#........#.....",
           ".....##########.....", "....................", "...................."},
    [2] = {"....................", ".....##########.....", "....############....",
           "....############....", "....###......###....", "....###......###....",
           "....###......###....", "....###......###....", "....############....",
           "....############....", ".....##########.....", "...................."},
    [3] = {".....##########.....", "....############....", "...##############...",
           "...##############...", "...##############...", "...#####....#####...",
           "...#####....#####...", "...##############...", "...##############...",
           "...##############...", "....############....", ".....##########....."},
    [4] = {".....##########.....", "....############....", "...##############...",
           "...##############...", "...##############...", "...#####....#####...",
           "...#####....#####...", "...##############...", "...##############...",
           "...##############...", "....############....", ".....##########....."},
};

Test(draw, rectangles_as_opencv)
{
    for (int t = 1; t <= 4; t++) {
        img *im = img_new_zero(20, 20, 1);
        img_draw_rect(im, 5, 5, 14, 12, IMG_RGB(255, 255, 255), t);
        for (int y = 0; y < 20; y++)
            for (int x = 0; x < 20; x++) {
                bool want = y >= 3 && y < 15 && cv_rect[t][y - 3][x] == '#';
                cr_assert_eq(*img_px(im, x, y) == 255, want, "thickness %d (%d,%d)", t, x, y);
            }
        img_free(im);
    }
}

Test(draw, rectangle_colour_and_clipping)
{
    img *im = img_new_zero(10, 10, 3);
    img_draw_rect(im, -5, -5, 30, 4, IMG_RGB(0, 255, 0), 2); /* mostly outside */
    const uint8_t *p = img_px(im, 3, 4);
    cr_assert(p[0] == 0 && p[1] == 255 && p[2] == 0);
    cr_assert_eq(img_px(im, 3, 6)[1], 0);
    img_fill_rect(im, 8, 8, 100, 100, IMG_RGB(1, 2, 3));
    cr_assert(img_px(im, 9, 9)[2] == 3 && img_px(im, 7, 9)[2] == 0);
    img_draw_rect(im, 2, 2, 4, 4, IMG_RGB(9, 9, 9), -1); /* filled */
    cr_assert_eq(img_px(im, 3, 3)[0], 9);
    img_free(im);
}

Test(draw, mask_overlay_half)
{
    img *im = img_new(3, 2, 3);
    for (int i = 0; i < 6; i++) memcpy(img_px(im, i % 3, i / 3), (uint8_t[3]){100, 50, 201}, 3);
    const uint8_t mask[2 * 4] = {0, 255, 1, 9, 0, 0, 255, 9};
    img_overlay_mask(im, mask, 4, IMG_RGB(255, 0, 0), 0.5f);
    /* 100/2 + 255/2 = 177.5 -> 178 (half to even), 50/2 = 25, 201/2 = 100.5 -> 100. */
    const uint8_t in[3] = {100, 50, 201}, out[3] = {178, 25, 100};
    for (int i = 0; i < 6; i++) {
        bool m = mask[(i / 3) * 4 + i % 3] != 0;
        cr_assert(memcmp(img_px(im, i % 3, i / 3), m ? out : in, 3) == 0, "pixel %d", i);
    }
    img_free(im);
}

/* Bounding box of the pixels that differ from the background. */
static void ink_box(const img *im, uint8_t bg, int *x0, int *y0, int *x1, int *y1)
{
    *x0 = *y0 = 1 << 30;
    *x1 = *y1 = -1;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++)
            if (img_px(im, x, y)[0] != bg) {
                *x0 = MIN(*x0, x), *y0 = MIN(*y0, y);
                *x1 = MAX(*x1, x), *y1 = MAX(*y1, y);
            }
}

Test(draw, text_with_dejavu)
{
    err e = {0};
    img_font *f = img_font_load(NULL, 16, &e);
    cr_assert_not_null(f, "%s", e.msg);
    int w, asc, desc;
    img_text_size(f, "bed 0.91", &w, &asc, &desc);
    cr_assert(w > 40 && w < 90, "width %d", w);
    cr_assert(asc >= 12 && asc <= 17 && desc >= 2 && desc <= 6, "%d %d", asc, desc);
    int wide;
    img_text_size(f, "bed 0.91 bed 0.91", &wide, NULL, NULL);
    cr_assert(wide > 2 * w, "%d vs %d", wide, w);

    img *im = img_new_zero(120, 40, 3);
    img_draw_text(im, f, 10, 25, "bed 0.91", IMG_RGB(255, 255, 255));
    int x0, y0, x1, y1;
    ink_box(im, 0, &x0, &y0, &x1, &y1);
    cr_assert(x0 >= 10 && x0 <= 12 && x1 < 10 + w && x1 > 10 + w - 8, "%d..%d", x0, x1);
    cr_assert(y0 >= 25 - asc && y1 <= 25 + desc, "%d..%d", y0, y1);
    img_free(im);

    /* Multi-byte UTF-8 (rendered on demand) and invalid bytes do not break anything. */
    img *u = img_new_zero(120, 40, 3);
    img_draw_text(u, f, 5, 25, "caf\xc3\xa9 \xe2\x82\xac \xff", IMG_RGB(255, 255, 255));
    ink_box(u, 0, &x0, &y0, &x1, &y1);
    cr_assert(x1 > 40, "%d", x1);
    img_free(u);
    img_font_free(f);
}

Test(draw, label_above_or_inside_the_box)
{
    err e = {0};
    img_font *f = img_font_load(NULL, 14, &e);
    cr_assert_not_null(f, "%s", e.msg);
    int w, asc, desc;
    img_text_size(f, "chair 0.50", &w, &asc, &desc);
    int lh = asc + desc + 2;

    img *im = img_new_zero(200, 100, 3);
    img_draw_label(im, f, 20, 60, "chair 0.50", IMG_RGB(0, 255, 0), IMG_RGB(0, 0, 0));
    /* Above: the background fills x 20..20+w+1, y 60-lh..59. */
    cr_assert_eq(img_px(im, 20, 60 - lh)[1], 255);
    cr_assert_eq(img_px(im, 20, 59)[1], 255);
    cr_assert_eq(img_px(im, 20, 60)[1], 0);
    cr_assert_eq(img_px(im, 19, 59)[1], 0);
    img_free(im);

    im = img_new_zero(200, 100, 3);
    img_draw_label(im, f, 20, 3, "chair 0.50", IMG_RGB(0, 255, 0), IMG_RGB(0, 0, 0));
    /* No room above: inside, from y = 3 down. */
    cr_assert_eq(img_px(im, 20, 3)[1], 255);
    cr_assert_eq(img_px(im, 20, 3 + lh - 1)[1], 255);
    cr_assert_eq(img_px(im, 20, 2)[1], 0);
    img_free(im);

    im = img_new_zero(60, 100, 3);
    img_draw_label(im, f, 50, 60, "chair 0.50", IMG_RGB(0, 255, 0), IMG_RGB(0, 0, 0));
    /* Too close to the right edge: moved left so it ends at the edge. */
    cr_assert_eq(img_px(im, 59, 59)[1], 255);
    img_free(im);
    img_font_free(f);
}

Test(draw, missing_font)
{
    err e = {0};
    cr_assert_null(img_font_load("/nonexistent/font.ttf", 16, &e));
    cr_assert_eq(e.status, 500);
    cr_assert(strstr(e.msg, "/nonexistent/font.ttf") != NULL);
}
