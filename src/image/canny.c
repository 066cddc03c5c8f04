/* Canny edges and rectangular dilation with OpenCV's semantics, as the segment service's
 * edge refinement (CONTRACT §6) uses them. */
#include "image/image.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 3x3 Sobel derivatives with BORDER_REPLICATE, as cv::Sobel(src, CV_16S, 1, 0, 3) and
 * (0, 1, 3); exact in integers. */
static void sobel3(const img *g, int16_t *dx, int16_t *dy)
{
    int w = g->w, h = g->h;
    for (int y = 0; y < h; y++) {
        const uint8_t *up = img_px(g, 0, y > 0 ? y - 1 : 0);
        const uint8_t *mid = img_px(g, 0, y);
        const uint8_t *dn = img_px(g, 0, y < h - 1 ? y + 1 : h - 1);
        int16_t *ox = dx + (size_t)y * (size_t)w, *oy = dy + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            int l = x > 0 ? x - 1 : 0, r = x < w - 1 ? x + 1 : w - 1;
            ox[x] = (int16_t)((up[r] + 2 * mid[r] + dn[r]) - (up[l] + 2 * mid[l] + dn[l]));
            oy[x] = (int16_t)((dn[l] + 2 * dn[x] + dn[r]) - (up[l] + 2 * up[x] + up[r]));
        }
    }
}

/* The edge-tracking stack: indices into the padded map. */
typedef struct stack {
    uint32_t *v;
    size_t n, cap;
} stack;

static void push(stack *s, uint8_t *map, uint32_t i)
{
    map[i] = 2;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = xrealloc(s->v, sizeof *s->v * s->cap);
    }
    s->v[s->n++] = i;
}

/* cvFloor of a threshold; one beyond any magnitude behaves as that bound, NaN as 0. */
static long floor_threshold(double t)
{
    if (isnan(t)) return 0;
    if (t < -1e9) return -1000000000L;
    if (t > 1e9) return 1000000000L;
    return (long)floor(t);
}

img *img_canny(const img *gray, double low_thresh, double high_thresh, bool l2)
{
    assert(gray->channels == 1);
    int w = gray->w, h = gray->h;
    if (low_thresh > high_thresh) {
        double t = low_thresh;
        low_thresh = high_thresh;
        high_thresh = t;
    }
    if (l2) {
        low_thresh = MIN(32767.0, low_thresh);
        high_thresh = MIN(32767.0, high_thresh);
        if (low_thresh > 0) low_thresh *= low_thresh;
        if (high_thresh > 0) high_thresh *= high_thresh;
    }
    long low = floor_threshold(low_thresh), high = floor_threshold(high_thresh);

    size_t n = (size_t)w * (size_t)h;
    int16_t *dx = xmalloc(sizeof(int16_t) * n), *dy = xmalloc(sizeof(int16_t) * n);
    sobel3(gray, dx, dy);

    /* Magnitudes and the map carry a one-pixel border: magnitude 0 (so the image edge
     * compares against nothing) and map 1 (never an edge). */
    size_t ps = (size_t)w + 2;
    int32_t *mag = xcalloc(ps * ((size_t)h + 2), sizeof(int32_t));
    uint8_t *map = xmalloc(ps * ((size_t)h + 2));
    memset(map, 1, ps * ((size_t)h + 2));
    for (int y = 0; y < h; y++) {
        int32_t *m = mag + (size_t)(y + 1) * ps + 1;
        const int16_t *gx = dx + (size_t)y * (size_t)w, *gy = dy + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++)
            m[x] = l2 ? gx[x] * gx[x] + gy[x] * gy[x] : abs(gx[x]) + abs(gy[x]);
    }

    /* Non-maximum suppression along the gradient's sector, with OpenCV's asymmetric
     * comparisons (> on one side, >= on the other) and tan(22.5°) in 15-bit fixed point. */
    const int shift = 15;
    const int tg22 = (int)(0.4142135623730950488016887242097 * (1 << shift) + 0.5);
    stack st = {0};
    for (int y = 0; y < h; y++) {
        const int32_t *mp = mag + (size_t)y * ps + 1, *m = mp + ps, *mn = m + ps;
        uint8_t *mrow = map + (size_t)(y + 1) * ps + 1;
        const int16_t *gx = dx + (size_t)y * (size_t)w, *gy = dy + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            int v = m[x];
            if (v <= low) continue; /* stays 1 */
            int xs = gx[x], ys = gy[x];
            long ax = abs(xs), ay = (long)abs(ys) << shift;
            long t22 = ax * tg22;
            bool max;
            if (ay < t22) {
                max = v > m[x - 1] && v >= m[x + 1];
            } else {
                long t67 = t22 + (ax << (shift + 1));
                if (ay > t67) {
                    max = v > mp[x] && v >= mn[x];
                } else {
                    int s = (xs ^ ys) < 0 ? -1 : 1;
                    max = v > mp[x - s] && v > mn[x + s];
                }
            }
            if (!max) continue;
            uint32_t i = (uint32_t)((size_t)(y + 1) * ps + 1 + (size_t)x);
            if (v > high)
                push(&st, map, i);
            else
                mrow[x] = 0; /* a candidate: an edge if it touches one */
        }
    }

    /* Hysteresis: grow the strong edges through 8-connected candidates. */
    const ptrdiff_t nb[8] = {-1,
                             1,
                             -(ptrdiff_t)ps - 1,
                             -(ptrdiff_t)ps,
                             -(ptrdiff_t)ps + 1,
                             (ptrdiff_t)ps - 1,
                             (ptrdiff_t)ps,
                             (ptrdiff_t)ps + 1};
    while (st.n) {
        uint32_t i = st.v[--st.n];
        for (int k = 0; k < 8; k++) {
            uint32_t j = (uint32_t)((ptrdiff_t)i + nb[k]);
            if (map[j] == 0) push(&st, map, j);
        }
    }

    img *out = img_new(w, h, 1);
    for (int y = 0; y < h; y++) {
        const uint8_t *mrow = map + (size_t)(y + 1) * ps + 1;
        uint8_t *d = img_px(out, 0, y);
        for (int x = 0; x < w; x++) d[x] = mrow[x] == 2 ? 255 : 0;
    }
    free(st.v);
    free(map);
    free(mag);
    free(dx);
    free(dy);
    return out;
}

/* A window of k samples starting `anchor` before each position, positions outside
 * [0, n) skipped: cv::dilate's default border (the minimum value) contributes nothing. */
static void window(int i, int n, int k, int anchor, int *a, int *b)
{
    *a = i - anchor < 0 ? 0 : i - anchor;
    *b = i - anchor + k - 1 > n - 1 ? n - 1 : i - anchor + k - 1;
}

img *img_dilate(const img *src, int kw, int kh, int iterations)
{
    assert(kw >= 1 && kh >= 1);
    if (iterations < 1) return img_clone(src);
    /* Dilating n times with a full rectangle is one dilation with a rectangle grown by
     * (n - 1) * (k - 1); OpenCV makes the same substitution. */
    int ax = kw / 2 * iterations, ay = kh / 2 * iterations;
    kw += (iterations - 1) * (kw - 1);
    kh += (iterations - 1) * (kh - 1);
    int w = src->w, h = src->h, cn = src->channels;
    img *tmp = img_new(w, h, cn), *out = img_new(w, h, cn);
    for (int y = 0; y < h; y++) {
        const uint8_t *s = img_px(src, 0, y);
        uint8_t *d = img_px(tmp, 0, y);
        for (int x = 0; x < w; x++) {
            int a, b;
            window(x, w, kw, ax, &a, &b);
            for (int c = 0; c < cn; c++) {
                uint8_t m = 0;
                for (int j = a; j <= b; j++) m = MAX(m, s[j * cn + c]);
                d[x * cn + c] = m;
            }
        }
    }
    size_t row = (size_t)w * (size_t)cn;
    for (int y = 0; y < h; y++) {
        int a, b;
        window(y, h, kh, ay, &a, &b);
        uint8_t *d = img_px(out, 0, y);
        memcpy(d, img_px(tmp, 0, a), row);
        for (int j = a + 1; j <= b; j++) {
            const uint8_t *s = img_px(tmp, 0, j);
            for (size_t i = 0; i < row; i++) d[i] = MAX(d[i], s[i]);
        }
    }
    img_free(tmp);
    return out;
}
