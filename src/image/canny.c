/* Canny edges and rectangular dilation with OpenCV's semantics, as the segment service's
 * edge refinement (CONTRACT §6) uses them. */
#include "image/image.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One row of the 3x3 Sobel derivatives with BORDER_REPLICATE, as cv::Sobel(src, CV_16S,
 * 1, 0, 3) and (0, 1, 3), exact in integers; up/dn are the neighbouring rows (the row
 * itself at the image's edge). Separable: a vertical [1 2 1] and [-1 0 1] pass over the
 * three rows, then the horizontal ones. `vs` and `vd` are scratch of w + 2. */
static void sobel_row(const uint8_t *up, const uint8_t *mid, const uint8_t *dn, int w, int16_t *vs,
                      int16_t *vd, int16_t *dx, int16_t *dy)
{
    for (int x = 0; x < w; x++) {
        vs[x + 1] = (int16_t)(up[x] + 2 * mid[x] + dn[x]);
        vd[x + 1] = (int16_t)(dn[x] - up[x]);
    }
    vs[0] = vs[1], vd[0] = vd[1];
    vs[w + 1] = vs[w], vd[w + 1] = vd[w];
    for (int x = 0; x < w; x++) {
        dx[x] = (int16_t)(vs[x + 2] - vs[x]);
        dy[x] = (int16_t)(vd[x] + 2 * vd[x + 1] + vd[x + 2]);
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

/* Gradients and magnitudes of image row y into one slot of the ring. The magnitude row
 * has a zero on each side, so that the image's edge compares against nothing. */
typedef struct grad_row {
    int16_t *dx, *dy;
    int32_t *mag; /* w + 2, mag[1..w] */
} grad_row;

static void gradient_row(const img *g, int y, bool l2, int16_t *vs, int16_t *vd, grad_row *r)
{
    int w = g->w, h = g->h;
    sobel_row(img_px(g, 0, y > 0 ? y - 1 : 0), img_px(g, 0, y),
              img_px(g, 0, y < h - 1 ? y + 1 : h - 1), w, vs, vd, r->dx, r->dy);
    int32_t *m = r->mag + 1;
    if (l2)
        for (int x = 0; x < w; x++) m[x] = r->dx[x] * r->dx[x] + r->dy[x] * r->dy[x];
    else
        for (int x = 0; x < w; x++) m[x] = abs(r->dx[x]) + abs(r->dy[x]);
    m[-1] = m[w] = 0;
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

    /* Three rows of gradients in a ring (previous, current, next) plus a zero row for
     * beyond the top and bottom, as OpenCV keeps them: the whole-image buffers would
     * cost more in memory traffic than the arithmetic. The map has a one-pixel border
     * of 1 (never an edge). */
    size_t ps = (size_t)w + 2;
    int16_t *scratch = xmalloc(sizeof(int16_t) * (2 * ps + 6 * (size_t)w));
    int32_t *mags = xcalloc(4 * ps, sizeof(int32_t));
    grad_row ring[3];
    for (int k = 0; k < 3; k++) {
        ring[k].dx = scratch + 2 * ps + (size_t)(2 * k) * (size_t)w;
        ring[k].dy = ring[k].dx + w;
        ring[k].mag = mags + (size_t)k * ps;
    }
    const int32_t *zero = mags + 3 * ps;
    uint8_t *map = xmalloc(ps * ((size_t)h + 2));
    memset(map, 1, ps * ((size_t)h + 2));

    /* Non-maximum suppression along the gradient's sector, with OpenCV's asymmetric
     * comparisons (> on one side, >= on the other) and tan(22.5°) in 15-bit fixed point. */
    const int shift = 15;
    const int tg22 = (int)(0.4142135623730950488016887242097 * (1 << shift) + 0.5);
    stack st = {0};
    gradient_row(gray, 0, l2, scratch, scratch + ps, &ring[0]);
    for (int y = 0; y < h; y++) {
        if (y + 1 < h) gradient_row(gray, y + 1, l2, scratch, scratch + ps, &ring[(y + 1) % 3]);
        const grad_row *cur = &ring[y % 3];
        const int32_t *m = cur->mag + 1;
        const int32_t *mp = y > 0 ? ring[(y + 2) % 3].mag + 1 : zero + 1;
        const int32_t *mn = y + 1 < h ? ring[(y + 1) % 3].mag + 1 : zero + 1;
        uint8_t *mrow = map + (size_t)(y + 1) * ps + 1;
        for (int x = 0; x < w; x++) {
            int v = m[x];
            if (v <= low) continue; /* stays 1 */
            int xs = cur->dx[x], ys = cur->dy[x];
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
            if (v > high)
                push(&st, map, (uint32_t)((size_t)(y + 1) * ps + 1 + (size_t)x));
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
        for (int x = 0; x < w; x++) d[x] = (uint8_t)(-(mrow[x] >> 1)); /* 2 -> 255 */
    }
    free(st.v);
    free(map);
    free(mags);
    free(scratch);
    return out;
}

/* A window of k samples starting `anchor` before each position, positions outside
 * [0, n) skipped: cv::dilate's default border (the minimum value) contributes nothing. */
static void window(int i, int n, int k, int anchor, int *a, int *b)
{
    *a = i - anchor < 0 ? 0 : i - anchor;
    *b = i - anchor + k - 1 > n - 1 ? n - 1 : i - anchor + k - 1;
}

/* d = max of s shifted by each offset in the window, over the positions where the whole
 * window lies inside the row; the caller clips the rest. Element-wise, so it vectorises. */
static void max_shifted(const uint8_t *s, uint8_t *d, size_t from, size_t to, int k, int anchor,
                        int cn)
{
    if (from >= to) return;
    memcpy(d + from, s + from - (size_t)anchor * (size_t)cn, to - from);
    for (int j = 1; j < k; j++) {
        const uint8_t *sj = s + ((ptrdiff_t)j - anchor) * cn;
        for (size_t i = from; i < to; i++) d[i] = MAX(d[i], sj[i]);
    }
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
    /* Horizontal: columns whose window is inside the row in one vector-friendly pass,
     * the few at each end clipped one by one. */
    int lo = MIN(ax, w), hi = MAX(lo, w - (kw - 1 - ax));
    for (int y = 0; y < h; y++) {
        const uint8_t *s = img_px(src, 0, y);
        uint8_t *d = img_px(tmp, 0, y);
        max_shifted(s, d, (size_t)lo * (size_t)cn, (size_t)hi * (size_t)cn, kw, ax, cn);
        for (int x = 0; x < w; x++) {
            if (x == lo) x = hi;
            if (x >= w) break;
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
