/* Canny and dilation: synthetic shapes reasoned by hand, and OpenCV's own outputs. */
#include "fixtures.h"
#include "helpers.h"

static img view_of(const uint8_t *data, int w, int h)
{
    return img_view((uint8_t *)data, w, h, 1, (size_t)w);
}

static int count_on(const img *im)
{
    int n = 0;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) n += *img_px(im, x, y) != 0;
    return n;
}

static void assert_same(const img *got, const uint8_t *want, const char *what)
{
    int diff = 0, first = -1;
    for (int i = 0; i < got->w * got->h; i++)
        if (img_px(got, i % got->w, i / got->w)[0] != want[i]) {
            diff++;
            if (first < 0) first = i;
        }
    cr_assert_eq(diff, 0, "%s: %d pixels differ, first at (%d,%d)", what, diff, first % got->w,
                 first / got->w);
}

Test(canny, flat_image_has_no_edges)
{
    img *g = img_new(20, 10, 1);
    memset(g->data, 90, 200);
    img *e = img_canny(g, 50, 150, false);
    cr_assert_eq(count_on(e), 0);
    img_free(e);
    img_free(g);
}

Test(canny, vertical_step)
{
    /* Columns 0..9 at 0, 10..19 at 200. Sobel dx is 4 * 200 = 800 in columns 9 and 10
     * and 0 elsewhere; dy is 0. Both exceed the high threshold and tie: non-maximum
     * suppression keeps m > left && m >= right, i.e. column 9 only, on every row. */
    img *g = img_new(20, 8, 1);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 20; x++) *img_px(g, x, y) = x < 10 ? 0 : 200;
    img *e = img_canny(g, 50, 150, false);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 20; x++)
            cr_assert_eq(*img_px(e, x, y), x == 9 ? 255 : 0, "(%d,%d)", x, y);
    img_free(e);
    img_free(g);
}

Test(canny, weak_edges_need_a_strong_neighbour)
{
    /* Two steps: 0 -> 150 (Sobel 600) and 150 -> 175 (Sobel 100). With (50, 150) the
     * first is strong; the second is only a candidate and touches no strong pixel, so it
     * disappears. With (50, 90) it is strong too. */
    img *g = img_new(30, 6, 1);
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 30; x++) *img_px(g, x, y) = x < 8 ? 0 : x < 20 ? 150 : 175;
    img *e = img_canny(g, 50, 150, false);
    int left = 0, right = 0;
    for (int y = 0; y < 6; y++) left += *img_px(e, 7, y) != 0, right += *img_px(e, 19, y) != 0;
    cr_assert_eq(left, 6);
    cr_assert_eq(right, 0);
    img_free(e);
    e = img_canny(g, 50, 90, false);
    right = 0;
    for (int y = 0; y < 6; y++) right += *img_px(e, 19, y) != 0;
    cr_assert_eq(right, 6);
    img_free(e);
    img_free(g);
}

Test(canny, square_outline)
{
    img *g = img_new_zero(24, 24, 1);
    for (int y = 6; y < 18; y++)
        for (int x = 6; x < 18; x++) *img_px(g, x, y) = 220;
    img *e = img_canny(g, 50, 150, false);
    /* Every edge pixel lies on the block's boundary (one pixel either side), and the
     * boundary is closed: every row and column 6..17 has edges on both sides. */
    for (int y = 0; y < 24; y++)
        for (int x = 0; x < 24; x++) {
            if (!*img_px(e, x, y)) continue;
            bool near_x = (x >= 4 && x <= 7) || (x >= 16 && x <= 19);
            bool near_y = (y >= 4 && y <= 7) || (y >= 16 && y <= 19);
            cr_assert((near_x && y >= 4 && y <= 19) || (near_y && x >= 4 && x <= 19),
                      "edge at (%d,%d)", x, y);
        }
    for (int i = 7; i < 17; i++) {
        cr_assert(*img_px(e, 5, i) || *img_px(e, 6, i), "left side row %d", i);
        cr_assert(*img_px(e, 17, i) || *img_px(e, 18, i), "right side row %d", i);
        cr_assert(*img_px(e, i, 5) || *img_px(e, i, 6), "top side column %d", i);
        cr_assert(*img_px(e, i, 17) || *img_px(e, i, 18), "bottom side column %d", i);
    }
    img_free(e);
    img_free(g);
}

Test(canny, matches_opencv)
{
    img src = view_of(canny_src_32x24, 32, 24);
    img *e = img_canny(&src, 50, 150, false);
    assert_same(e, canny_32x24_l1_50_150, "L1 50/150");
    cr_assert_gt(count_on(e), 20);
    img_free(e);
    e = img_canny(&src, 20, 60, true);
    assert_same(e, canny_32x24_l2_20_60, "L2 20/60");
    img_free(e);
    e = img_canny(&src, 150, 50, false); /* swapped thresholds */
    assert_same(e, canny_32x24_l1_150_50, "L1 150/50");
    img_free(e);
}

Test(dilate, single_pixel)
{
    img *g = img_new_zero(7, 6, 1);
    *img_px(g, 3, 2) = 255;
    *img_px(g, 0, 5) = 100; /* corner: the kernel hangs outside */
    img *d = img_dilate(g, 3, 3, 1);
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 7; x++) {
            int want = (abs(x - 3) <= 1 && abs(y - 2) <= 1) ? 255 : (x <= 1 && y >= 4) ? 100 : 0;
            cr_assert_eq(*img_px(d, x, y), want, "(%d,%d)", x, y);
        }
    img_free(d);
    d = img_dilate(g, 3, 3, 2); /* twice: a 5x5 square */
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 7; x++)
            if (abs(x - 3) <= 2 && abs(y - 2) <= 2) cr_assert_eq(*img_px(d, x, y), 255);
    cr_assert_eq(*img_px(d, 6, 2), 0);
    img_free(d);
    d = img_dilate(g, 3, 3, 0);
    cr_assert_eq(*img_px(d, 3, 3), 0);
    img_free(d);
    img_free(g);
}

Test(dilate, matches_opencv)
{
    img src = view_of(canny_32x24_l1_50_150, 32, 24);
    img *d = img_dilate(&src, 3, 3, 1);
    assert_same(d, dilate_32x24_3x3, "3x3");
    img_free(d);
    d = img_dilate(&src, 2, 3, 2); /* even width: anchor 1, grown to 3 x 5 */
    assert_same(d, dilate_32x24_2x3_it2, "2x3 twice");
    img_free(d);
}

Test(canny, refinement_pipeline_runs_on_a_photo)
{
    /* The first two steps of the segment service's refinement on a real photo: edges
     * and dilated edges. A plausible amount of edges, and the dilation covers them. */
    img *rgb = decode_photo("dog-bicycle-truck.jpg");
    img *g = img_to_gray(rgb);
    img *e = img_canny(g, 50, 150, false);
    img *dil = img_dilate(e, 3, 3, 1);
    int edges = count_on(e), cover = count_on(dil);
    cr_assert(edges > 10000 && edges < 100000, "%d", edges);
    cr_assert_gt(cover, edges);
    for (int y = 0; y < e->h; y++)
        for (int x = 0; x < e->w; x++)
            if (*img_px(e, x, y)) cr_assert(*img_px(dil, x, y));
    img_free(dil);
    img_free(e);
    img_free(g);
    img_free(rgb);
}
