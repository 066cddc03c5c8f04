/* Resizing with the arithmetic of the models' reference preprocessing: OpenCV's
 * INTER_LINEAR (YOLO letterbox) and PIL's BILINEAR (SAM's ResizeLongestSide). */
#include "image/image.h"

#include <assert.h>
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- OpenCV INTER_LINEAR */

/* OpenCV computes the source coordinate in double, stores it as float, and takes the
 * fraction in float; scale is 1 / (dst / src), not src / dst (they differ in the last
 * bit for some sizes, and so do the weights). */
static void linear_coord(int d, double scale, int *s, float *f)
{
    float fx = (float)((d + 0.5) * scale - 0.5);
    int sx = (int)floorf(fx);
    *s = sx;
    *f = fx - (float)sx;
}

static double linear_scale(int sn, int dn)
{
    return 1.0 / ((double)dn / (double)sn);
}

/* Per destination column: the two source columns (clamped; OpenCV moves an out-of-range
 * coordinate to the edge with weight 1) and their weights. */
typedef struct xtap {
    int i0, i1; /* element offsets (column * channels) */
    float a0, a1;
} xtap;

static xtap *x_taps(int sw, int dw, int cn)
{
    xtap *t = xmalloc(sizeof *t * (size_t)dw);
    double scale = linear_scale(sw, dw);
    for (int d = 0; d < dw; d++) {
        int sx;
        float fx;
        linear_coord(d, scale, &sx, &fx);
        if (sx < 0) sx = 0, fx = 0;
        if (sx >= sw - 1) sx = sw - 1, fx = 0;
        int sx1 = sx + 1 < sw ? sx + 1 : sx;
        t[d] = (xtap){sx * cn, sx1 * cn, 1.0f - fx, fx};
    }
    return t;
}

/* Rows, unlike columns, keep their fraction at the borders: both taps read the clamped
 * edge row, which matters for the fixed-point rounding below. */
static void y_tap(int d, double scale, int sh, int *r0, int *r1, float *b0, float *b1)
{
    int sy;
    float fy;
    linear_coord(d, scale, &sy, &fy);
    *r0 = sy < 0 ? 0 : (sy >= sh ? sh - 1 : sy);
    *r1 = sy + 1 < 0 ? 0 : (sy + 1 >= sh ? sh - 1 : sy + 1);
    *b0 = 1.0f - fy;
    *b1 = fy;
}

/* saturate_cast<short>(w * INTER_RESIZE_COEF_SCALE): round half to even. */
static int16_t fixed11(float w)
{
    return (int16_t)lrintf(w * 2048.0f);
}

/* The horizontal pass: 11-bit weights, 32-bit sums. OpenCV's vertical pass only ever
 * reads each sum shifted right by 4 (which fits 16 bits: 255 * 2048 >> 4 = 32640), so
 * that is what is stored. */
static void hpass_u8(const uint8_t *s, int16_t *d, const xtap *t, const int16_t *a, int dw, int cn)
{
    if (cn == 3) {
        for (int x = 0; x < dw; x++, d += 3) {
            const uint8_t *p0 = s + t[x].i0, *p1 = s + t[x].i1;
            int a0 = a[2 * x], a1 = a[2 * x + 1];
            d[0] = (int16_t)((p0[0] * a0 + p1[0] * a1) >> 4);
            d[1] = (int16_t)((p0[1] * a0 + p1[1] * a1) >> 4);
            d[2] = (int16_t)((p0[2] * a0 + p1[2] * a1) >> 4);
        }
        return;
    }
    for (int x = 0; x < dw; x++, d += cn) {
        const uint8_t *p0 = s + t[x].i0, *p1 = s + t[x].i1;
        int a0 = a[2 * x], a1 = a[2 * x + 1];
        for (int c = 0; c < cn; c++) d[c] = (int16_t)((p0[c] * a0 + p1[c] * a1) >> 4);
    }
}

/* OpenCV's VResizeLinear for uint8 (its SIMD kernel and, since 4.x, its scalar tail):
 * each product of a 16-bit sum and an 11-bit weight keeps its high 16 bits, and the
 * total is rounded by 2 bits: ((h0 * b0) >> 16) + ((h1 * b1) >> 16) + 2) >> 2. This is
 * not the same as rounding the exact sum once, and differs from it by one for about a
 * third of pixels. Written on 16-bit lanes so that the compiler can use the same
 * multiply-high instruction OpenCV does. */
static void vpass_u8(const int16_t *h0, const int16_t *h1, uint8_t *d, int n, int16_t b0,
                     int16_t b1)
{
    for (int x = 0; x < n; x++) {
        int16_t v = (int16_t)((int16_t)((h0[x] * b0) >> 16) + (int16_t)((h1[x] * b1) >> 16));
        v = (int16_t)((v + 2) >> 2);
        d[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

/* The slot of the two cached horizontally resized rows that holds source row r; else the
 * slot not holding `keep` (the row the other tap needs), taken for r with *fill set so the
 * caller computes it. Consecutive output rows share source rows; this computes each once. */
static int row_slot(int have[2], int r, int keep, bool *fill)
{
    *fill = false;
    if (have[0] == r) return 0;
    if (have[1] == r) return 1;
    int s = have[0] == keep ? 1 : 0;
    have[s] = r;
    *fill = true;
    return s;
}

/* How many parts dh output rows of `elems` values each are split into: the OpenMP team
 * for a large resize (a photo to a model's input, which also wakes the team the model
 * then runs on), else one. Output rows are independent. */
static int row_parts(int dh, size_t elems)
{
    int parts = (size_t)dh * elems >= 256 * 1024 ? omp_get_max_threads() : 1;
    return parts < dh ? parts : dh;
}

/* Output rows [y0, y1) of img_resize_into. */
static void resize_rows(const img *src, img *dst, const xtap *t, const int16_t *a, double scale,
                        int y0, int y1)
{
    int sh = src->h, dw = dst->w, cn = src->channels;
    size_t n = (size_t)dw * (size_t)cn;
    int16_t *rows[2] = {xmalloc(sizeof(int16_t) * n), xmalloc(sizeof(int16_t) * n)};
    int have[2] = {-1, -1};
    for (int y = y0; y < y1; y++) {
        int r0, r1;
        float b0, b1;
        bool fill;
        y_tap(y, scale, sh, &r0, &r1, &b0, &b1);
        int s0 = row_slot(have, r0, r1, &fill);
        if (fill) hpass_u8(img_px(src, 0, r0), rows[s0], t, a, dw, cn);
        int s1 = row_slot(have, r1, r0, &fill);
        if (fill) hpass_u8(img_px(src, 0, r1), rows[s1], t, a, dw, cn);
        vpass_u8(rows[s0], rows[s1], img_px(dst, 0, y), (int)n, fixed11(b0), fixed11(b1));
    }
    free(rows[0]);
    free(rows[1]);
}

void img_resize_into(const img *src, img *dst)
{
    assert(src->channels == dst->channels);
    int sw = src->w, sh = src->h, dw = dst->w, dh = dst->h, cn = src->channels;
    if (sw == dw && sh == dh) {
        for (int y = 0; y < sh; y++)
            memcpy(img_px(dst, 0, y), img_px(src, 0, y), (size_t)sw * (size_t)cn);
        return;
    }
    xtap *t = x_taps(sw, dw, cn);
    int16_t *a = xmalloc(sizeof *a * 2 * (size_t)dw);
    for (int x = 0; x < dw; x++) {
        a[2 * x] = fixed11(t[x].a0);
        a[2 * x + 1] = fixed11(t[x].a1);
    }
    double scale = linear_scale(sh, dh);
    int parts = row_parts(dh, (size_t)dw * (size_t)cn);
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
    for (int p = 0; p < parts; p++)
        resize_rows(src, dst, t, a, scale, (int)((int64_t)dh * p / parts),
                    (int)((int64_t)dh * (p + 1) / parts));
    free(a);
    free(t);
}

img *img_resize(const img *src, int dw, int dh)
{
    img *dst = img_new(dw, dh, src->channels);
    img_resize_into(src, dst);
    return dst;
}

static void hpass_f32(const float *s, float *d, const xtap *t, int dw, int cn)
{
    if (cn == 1) {
        for (int x = 0; x < dw; x++) d[x] = s[t[x].i0] * t[x].a0 + s[t[x].i1] * t[x].a1;
        return;
    }
    for (int x = 0; x < dw; x++, d += cn)
        for (int c = 0; c < cn; c++) d[c] = s[t[x].i0 + c] * t[x].a0 + s[t[x].i1 + c] * t[x].a1;
}

/* The float resize's geometry and where its rows go: stored (dst) or only their sign
 * (mask: 255 where > 0). */
typedef struct f32_job {
    const float *src;
    size_t src_stride; /* floats between source rows */
    int sh, cn, dw;
    const xtap *t;
    double scale;
    float *dst;
    uint8_t *mask;
} f32_job;

/* Output rows [y0, y1) of the float resize. */
static void f32_rows(const f32_job *j, int y0, int y1)
{
    size_t n = (size_t)j->dw * (size_t)j->cn;
    float *rows[2] = {xmalloc(sizeof(float) * n), xmalloc(sizeof(float) * n)};
    float *line = j->mask ? xmalloc(sizeof(float) * n) : NULL;
    int have[2] = {-1, -1};
    for (int y = y0; y < y1; y++) {
        int r0, r1;
        float b0, b1;
        bool fill;
        y_tap(y, j->scale, j->sh, &r0, &r1, &b0, &b1);
        int s0 = row_slot(have, r0, r1, &fill);
        if (fill) hpass_f32(j->src + (size_t)r0 * j->src_stride, rows[s0], j->t, j->dw, j->cn);
        int s1 = row_slot(have, r1, r0, &fill);
        if (fill) hpass_f32(j->src + (size_t)r1 * j->src_stride, rows[s1], j->t, j->dw, j->cn);
        const float *h0 = rows[s0], *h1 = rows[s1];
        float *out = j->dst ? j->dst + (size_t)y * n : line;
        for (size_t x = 0; x < n; x++) out[x] = h0[x] * b0 + h1[x] * b1;
        if (j->mask) {
            uint8_t *m = j->mask + (size_t)y * n;
            for (size_t x = 0; x < n; x++) m[x] = out[x] > 0.0f ? 255 : 0;
        }
    }
    free(rows[0]);
    free(rows[1]);
    free(line);
}

static void f32_run(f32_job *j, int sw, int dh)
{
    xtap *t = x_taps(sw, j->dw, j->cn);
    j->t = t;
    int parts = row_parts(dh, (size_t)j->dw * (size_t)j->cn);
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
    for (int p = 0; p < parts; p++)
        f32_rows(j, (int)((int64_t)dh * p / parts), (int)((int64_t)dh * (p + 1) / parts));
    free(t);
}

void img_resize_f32(const float *src, int sw, int sh, int cn, float *dst, int dw, int dh)
{
    assert(sw > 0 && sh > 0 && dw > 0 && dh > 0 && cn > 0);
    f32_job j = {.src = src,
                 .src_stride = (size_t)sw * (size_t)cn,
                 .sh = sh,
                 .cn = cn,
                 .dw = dw,
                 .scale = linear_scale(sh, dh),
                 .dst = dst};
    f32_run(&j, sw, dh);
}

void img_resize_f32_mask(const float *src, int sw, int sh, size_t src_stride, uint8_t *mask, int dw,
                         int dh)
{
    assert(sw > 0 && sh > 0 && dw > 0 && dh > 0 && src_stride >= (size_t)sw);
    if (sw == dw && sh == dh) { /* cv::resize copies */
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++)
                mask[(size_t)y * (size_t)dw + (size_t)x] =
                    src[(size_t)y * src_stride + (size_t)x] > 0.0f ? 255 : 0;
        return;
    }
    f32_job j = {.src = src,
                 .src_stride = src_stride,
                 .sh = sh,
                 .cn = 1,
                 .dw = dw,
                 .scale = linear_scale(sh, dh),
                 .mask = mask};
    f32_run(&j, sw, dh);
}

/* ---------------------------------------------------------------- letterbox */

img_letterbox img_letterbox_geometry(int w, int h, int tw, int th)
{
    assert(w > 0 && h > 0 && tw > 0 && th > 0);
    img_letterbox lb = {0};
    lb.src_w = w;
    lb.src_h = h;
    lb.scale = MIN((double)th / h, (double)tw / w);
    /* Python's round() is half-to-even, as rint in the default rounding mode. A photo
     * so thin that a side rounds to 0 keeps one pixel (Ultralytics would fail there). */
    lb.new_w = (int)rint(w * lb.scale);
    lb.new_h = (int)rint(h * lb.scale);
    lb.new_w = lb.new_w < 1 ? 1 : MIN(lb.new_w, tw);
    lb.new_h = lb.new_h < 1 ? 1 : MIN(lb.new_h, th);
    double dw = (tw - lb.new_w) / 2.0, dh = (th - lb.new_h) / 2.0;
    lb.left = (int)rint(dw - 0.1);
    lb.top = (int)rint(dh - 0.1);
    /* round(d + 0.1) in Ultralytics; always the remainder, written so it cannot be
     * anything else. */
    lb.right = tw - lb.new_w - lb.left;
    lb.bottom = th - lb.new_h - lb.top;
    return lb;
}

img *img_letterbox_apply(const img *src, int tw, int th, uint8_t pad, img_letterbox *out)
{
    img_letterbox lb = img_letterbox_geometry(src->w, src->h, tw, th);
    int cn = src->channels;
    img *dst = img_new(tw, th, cn);
    size_t row = (size_t)tw * (size_t)cn;
    for (int y = 0; y < th; y++) {
        uint8_t *d = img_px(dst, 0, y);
        if (y < lb.top || y >= lb.top + lb.new_h) {
            memset(d, pad, row);
        } else {
            memset(d, pad, (size_t)lb.left * (size_t)cn);
            memset(img_px(dst, lb.left + lb.new_w, y), pad, (size_t)lb.right * (size_t)cn);
        }
    }
    img inner = img_sub(dst, lb.left, lb.top, lb.new_w, lb.new_h);
    img_resize_into(src, &inner);
    if (out) *out = lb;
    return dst;
}

void img_letterbox_unmap(const img_letterbox *lb, float *x, float *y)
{
    /* Ultralytics' scale_boxes recomputes the padding from the unrounded size. */
    double gain = lb->scale;
    int tw = lb->left + lb->new_w + lb->right, th = lb->top + lb->new_h + lb->bottom;
    double px = rint((tw - lb->src_w * gain) / 2 - 0.1);
    double py = rint((th - lb->src_h * gain) / 2 - 0.1);
    *x = (float)((*x - px) / gain);
    *y = (float)((*y - py) / gain);
}

/* ---------------------------------------------------------------- PIL BILINEAR */

/* Pillow's fixed point: 32 - 8 (sample) - 2 (headroom) bits. */
#define PIL_BITS 22

/* The filter weights of outputs [first, first + count) along one axis. A full table
 * would be about 2 x in_size entries (each output spans in/out inputs, twice), which a
 * 1 x 50,000,000 PNG would turn into 400 MB; computing it in slices keeps it small
 * whatever the shape. */
typedef struct pil_coeffs {
    int in_size, out_size;
    double scale, filterscale, support;
    int ksize;   /* coefficients per output sample */
    int first;   /* first output covered */
    int *bounds; /* per output: first source index, count */
    int32_t *k;  /* count * ksize fixed-point weights */
    double *kk;  /* scratch: one output's weights in double */
} pil_coeffs;

static double triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

static pil_coeffs pil_coeffs_new(int in_size, int out_size, int max_count)
{
    pil_coeffs c = {.in_size = in_size, .out_size = out_size};
    c.scale = (double)in_size / out_size;
    c.filterscale = c.scale < 1.0 ? 1.0 : c.scale;
    c.support = 1.0 * c.filterscale;
    c.ksize = (int)ceil(c.support) * 2 + 1;
    c.bounds = xmalloc(sizeof(int) * 2 * (size_t)max_count);
    c.k = xmalloc(sizeof(int32_t) * (size_t)max_count * (size_t)c.ksize);
    c.kk = xmalloc(sizeof(double) * (size_t)c.ksize);
    return c;
}

/* Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle) filter,
 * for outputs first .. first + count - 1: the filter is stretched by the reduction
 * factor, so every source sample counts. */
static void pil_coeffs_fill(pil_coeffs *c, int first, int count)
{
    c->first = first;
    for (int i = 0; i < count; i++) {
        int xx = first + i;
        double center = (xx + 0.5) * c->scale;
        double ww = 0.0, ss = 1.0 / c->filterscale;
        int xmin = (int)(center - c->support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + c->support + 0.5);
        if (xmax > c->in_size) xmax = c->in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            double w = triangle((x + xmin - center + 0.5) * ss);
            c->kk[x] = w;
            ww += w;
        }
        int32_t *k = c->k + (size_t)i * (size_t)c->ksize;
        for (int x = 0; x < c->ksize; x++) {
            double v = x < xmax ? (ww != 0.0 ? c->kk[x] / ww : c->kk[x]) : 0.0;
            k[x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PIL_BITS) : 0.5 + v * (1 << PIL_BITS));
        }
        c->bounds[2 * i] = xmin;
        c->bounds[2 * i + 1] = xmax;
    }
}

static void pil_coeffs_free(pil_coeffs *c)
{
    free(c->bounds);
    free(c->k);
    free(c->kk);
}

static uint8_t clip8(int32_t v)
{
    if (v >= (1 << PIL_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PIL_BITS);
}

/* Pillow's first used and last used source rows of a vertical pass. */
static void pil_rows_used(int in_h, int out_h, int *first, int *last)
{
    pil_coeffs c = pil_coeffs_new(in_h, out_h, 1);
    pil_coeffs_fill(&c, 0, 1);
    *first = c.bounds[0];
    pil_coeffs_fill(&c, out_h - 1, 1);
    *last = c.bounds[0] + c.bounds[1];
    pil_coeffs_free(&c);
}

/* Rows y0 .. y0 + dst->h - 1 of src, resized horizontally into dst, a slice of output
 * columns at a time. */
static void pil_horizontal(const img *src, int y0, img *dst)
{
    enum { SLICE = 256 };
    int cn = src->channels;
    pil_coeffs c = pil_coeffs_new(src->w, dst->w, SLICE);
    for (int x0 = 0; x0 < dst->w; x0 += SLICE) {
        int count = MIN(SLICE, dst->w - x0);
        pil_coeffs_fill(&c, x0, count);
        for (int y = 0; y < dst->h; y++) {
            const uint8_t *s = img_px(src, 0, y0 + y);
            uint8_t *d = img_px(dst, x0, y);
            for (int i = 0; i < count; i++) {
                int xmin = c.bounds[2 * i], xn = c.bounds[2 * i + 1];
                const int32_t *k = c.k + (size_t)i * (size_t)c.ksize;
                const uint8_t *p = s + (size_t)xmin * (size_t)cn;
                for (int ch = 0; ch < cn; ch++) {
                    int32_t ss = 1 << (PIL_BITS - 1);
                    for (int j = 0; j < xn; j++) ss += p[(size_t)j * (size_t)cn + ch] * k[j];
                    d[(size_t)i * (size_t)cn + ch] = clip8(ss);
                }
            }
        }
    }
    pil_coeffs_free(&c);
}

/* Vertical pass into dst (dst->h outputs over in_h source rows), where src holds source
 * rows y0 onwards. One output row's weights at a time: each is used once. */
static void pil_vertical(const img *src, int y0, int in_h, img *dst)
{
    size_t n = (size_t)dst->w * (size_t)dst->channels;
    int32_t *acc = xmalloc(sizeof(int32_t) * n);
    pil_coeffs c = pil_coeffs_new(in_h, dst->h, 1);
    for (int y = 0; y < dst->h; y++) {
        pil_coeffs_fill(&c, y, 1);
        int ymin = c.bounds[0] - y0, yn = c.bounds[1];
        for (size_t i = 0; i < n; i++) acc[i] = 1 << (PIL_BITS - 1);
        for (int j = 0; j < yn; j++) {
            const uint8_t *s = img_px(src, 0, ymin + j);
            int32_t w = c.k[j];
            for (size_t i = 0; i < n; i++) acc[i] += s[i] * w;
        }
        uint8_t *d = img_px(dst, 0, y);
        for (size_t i = 0; i < n; i++) d[i] = clip8(acc[i]);
    }
    pil_coeffs_free(&c);
    free(acc);
}

img *img_resize_pil(const img *src, int dw, int dh)
{
    assert(dw > 0 && dh > 0);
    if (dw == src->w && dh == src->h) return img_clone(src);
    if (dw == src->w) {
        img *out = img_new(dw, dh, src->channels);
        pil_vertical(src, 0, src->h, out);
        return out;
    }
    /* As Pillow: resize horizontally only the source rows the vertical pass reads. */
    int first = 0, last = src->h;
    if (dh != src->h) pil_rows_used(src->h, dh, &first, &last);
    img *tmp = img_new(dw, last - first, src->channels);
    pil_horizontal(src, first, tmp);
    if (dh == src->h) return tmp;
    img *out = img_new(dw, dh, src->channels);
    pil_vertical(tmp, first, src->h, out);
    img_free(tmp);
    return out;
}

void img_longest_side_size(int w, int h, int target, int *nw, int *nh)
{
    double scale = (double)target / MAX(w, h);
    *nw = (int)(w * scale + 0.5);
    *nh = (int)(h * scale + 0.5);
    if (*nw < 1) *nw = 1;
    if (*nh < 1) *nh = 1;
}

img *img_resize_longest_side(const img *src, int target)
{
    int nw, nh;
    img_longest_side_size(src->w, src->h, target, &nw, &nh);
    return img_resize_pil(src, nw, nh);
}
