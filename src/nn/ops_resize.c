/* Resize (and the older Upsample): nearest, linear and cubic over any axes, every
 * coordinate transformation ONNX defines. Each axis gets a table of taps (source index and
 * weight) computed once; an output element is the weighted sum over the product of its
 * axes' taps. Nearest with integer factors in the blocked layout has its own loop. */
#include "nn/ops.h"

#include <float.h>
#include <omp.h>
#include <stdlib.h>

enum { M_NEAREST, M_LINEAR, M_CUBIC };

typedef struct rs_p {
    int mode;
    int64_t out[NN_MAX_RANK];
    double scale[NN_MAX_RANK];
    double roi_lo[NN_MAX_RANK], roi_hi[NN_MAX_RANK];
} rs_p;

static int rs_params(nn_graph *g, const nn_node *n, const nn_value *x, rs_p *rp, err *e)
{
    int r = x->rank;
    const char *mode = attr_s(n, "mode", "nearest");
    rp->mode = !strcmp(mode, "nearest")                               ? M_NEAREST
               : !strcmp(mode, "linear") || !strcmp(mode, "bilinear") ? M_LINEAR
               : !strcmp(mode, "cubic") || !strcmp(mode, "bicubic")   ? M_CUBIC
                                                                      : -1;
    if (rp->mode < 0) {
        node_err(e, g, n, 400, "unknown mode '%s'", mode);
        return -1;
    }
    if (attr_i(n, "antialias", 0)) {
        node_err(e, g, n, 400, "antialias is not supported");
        return -1;
    }
    for (int i = 0; i < r; i++) {
        rp->scale[i] = 1;
        rp->out[i] = x->dims[i];
        rp->roi_lo[i] = 0;
        rp->roi_hi[i] = 1;
    }
    bool upsample = !strcmp(n->op_type, "Upsample");
    int scales_in = upsample || n->opset < 11 ? 1 : 2, sizes_in = 3;
    const nn_value *sv = node_in(g, n, scales_in), *zv = upsample ? NULL : node_in(g, n, sizes_in);
    const nn_value *roi = upsample || n->opset < 11 ? NULL : node_in(g, n, 1);
    int64_t axes[NN_MAX_RANK];
    int na = attr_ints(n, "axes", axes, NN_MAX_RANK);
    if (na < 0 && node_attr(n, "axes")) {
        node_err(e, g, n, 400, "axes must be a list of at most %d integers", NN_MAX_RANK);
        return -1;
    }
    int ax[NN_MAX_RANK];
    int k = na > 0 ? na : r;
    for (int i = 0; i < k; i++) {
        ax[i] = na > 0 ? norm_axis(axes[i], r) : i;
        if (ax[i] < 0) {
            node_err(e, g, n, 400, "bad axis");
            return -1;
        }
    }
    if (sv && value_count(sv) == 0) sv = NULL;
    if (zv && value_count(zv) == 0) zv = NULL;
    if (upsample && !sv) {
        const nn_attr *a = node_attr(n, "scales");
        if (!a || a->type != NN_AT_FLOATS || a->n != r) {
            node_err(e, g, n, 400, "needs scales");
            return -1;
        }
        for (int i = 0; i < r; i++) {
            rp->scale[i] = a->floats[i];
            rp->out[i] = to_i64(floor((double)x->dims[i] * a->floats[i]));
        }
        return 0;
    }
    if ((sv && sv->kind != NN_V_CONST) || (zv && zv->kind != NN_V_CONST) ||
        (roi && roi->kind != NN_V_CONST)) {
        node_err(e, g, n, 422, "scales, sizes and roi must be known when the plan is built");
        return -1;
    }
    if (!sv == !zv) {
        node_err(e, g, n, 400, "needs exactly one of scales and sizes");
        return -1;
    }
    if (sv) {
        if (value_count(sv) != k || sv->dtype != NN_F32) {
            node_err(e, g, n, 400, "scales must hold %d floats", k);
            return -1;
        }
        for (int i = 0; i < k; i++) {
            double s = ((const float *)sv->data)[i];
            if (!(s > 0)) {
                node_err(e, g, n, 400, "scales must be positive");
                return -1;
            }
            rp->scale[ax[i]] = s;
            rp->out[ax[i]] = to_i64(floor((double)x->dims[ax[i]] * s));
        }
    } else {
        int64_t sz[NN_MAX_RANK];
        if (const_ints(zv, sz, NN_MAX_RANK) != k) {
            node_err(e, g, n, 400, "sizes must hold %d integers", k);
            return -1;
        }
        const char *pol = attr_s(n, "keep_aspect_ratio_policy", "stretch");
        double common = 0;
        if (strcmp(pol, "stretch")) {
            bool larger = !strcmp(pol, "not_smaller");
            common = larger ? 0 : DBL_MAX;
            for (int i = 0; i < k; i++) {
                double s = (double)sz[i] / (double)x->dims[ax[i]];
                common = larger ? (s > common ? s : common) : (s < common ? s : common);
            }
        }
        for (int i = 0; i < k; i++) {
            if (sz[i] < 0) {
                node_err(e, g, n, 400, "negative size");
                return -1;
            }
            int a = ax[i];
            if (common > 0) {
                rp->scale[a] = common;
                rp->out[a] = to_i64(floor((double)x->dims[a] * common + 0.5));
            } else {
                rp->out[a] = sz[i];
                rp->scale[a] = x->dims[a] ? (double)sz[i] / (double)x->dims[a] : 1;
            }
        }
    }
    if (roi && value_count(roi) == 2 * k) {
        for (int i = 0; i < k; i++) {
            rp->roi_lo[ax[i]] = get_num(roi->data, roi->dtype, i);
            rp->roi_hi[ax[i]] = get_num(roi->data, roi->dtype, i + k);
        }
    }
    return 0;
}

static int infer_resize(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 4, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    rs_p rp;
    if (rs_params(g, n, x, &rp, e) != 0) return -1;
    for (int a = 0; a < x->rank; a++)
        if (rp.out[a] > ((int64_t)1 << 34) || (x->dims[a] == 0 && rp.out[a] > 0)) {
            node_err(e, g, n, 400, "cannot resize axis %d from %lld to %lld elements", a,
                     (long long)x->dims[a], (long long)rp.out[a]);
            return -1;
        }
    set_out(g, n, 0, x->dtype, x->rank, rp.out);
    return 0;
}

typedef struct tap {
    int64_t idx;
    double w;
} tap;

/* The source coordinate of output index o on one axis. As in ONNX's reference, the
 * resized length in the formulas is in * scale (out_f), which need not be whole; out is
 * the integer length of the output. */
static double src_coord(const char *ctm, int64_t o, double scale, int64_t in, int64_t out,
                        double lo, double hi)
{
    double x = (double)o, out_f = (double)in * scale;
    if (!strcmp(ctm, "half_pixel")) return (x + 0.5) / scale - 0.5;
    if (!strcmp(ctm, "half_pixel_symmetric")) {
        double adj = (double)out / out_f;
        double center = (double)in / 2;
        double off = center * (1 - adj);
        return off + (x + 0.5) / scale - 0.5;
    }
    if (!strcmp(ctm, "pytorch_half_pixel")) return out_f > 1 ? (x + 0.5) / scale - 0.5 : 0;
    if (!strcmp(ctm, "align_corners")) return out_f == 1 ? 0 : x * (double)(in - 1) / (out_f - 1);
    if (!strcmp(ctm, "asymmetric")) return x / scale;
    if (!strcmp(ctm, "tf_half_pixel_for_nn")) return (x + 0.5) / scale;
    if (!strcmp(ctm, "tf_crop_and_resize"))
        return out_f > 1 ? lo * (double)(in - 1) + x * (hi - lo) * (double)(in - 1) / (out_f - 1)
                         : 0.5 * (lo + hi) * (double)(in - 1);
    return (x + 0.5) / scale - 0.5;
}

static double cubic_w(double t, double A)
{
    t = fabs(t);
    if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
    if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
    return 0;
}

/* Taps for every output index of one axis (up to 4 each); -1 index = extrapolate. */
static void axis_taps(const nn_node *n, int mode, int64_t in, int64_t out, double scale, double lo,
                      double hi, tap *taps, int *ntaps)
{
    const char *ctm = attr_s(n, "coordinate_transformation_mode", "half_pixel");
    const char *nm = attr_s(n, "nearest_mode", "round_prefer_floor");
    double A = attr_f(n, "cubic_coeff_a", -0.75f);
    bool excl = attr_i(n, "exclude_outside", 0) != 0;
    bool tfcr = !strcmp(ctm, "tf_crop_and_resize");
    if (!strcmp(n->op_type, "Upsample") || n->opset < 11) ctm = "asymmetric";
    if (n->opset < 11 || !strcmp(n->op_type, "Upsample")) nm = "floor";
    for (int64_t o = 0; o < out; o++) {
        tap *t = taps + o * 4;
        int c = 0;
        if (in == out && scale == 1 && !tfcr) {
            t[c++] = (tap){o, 1};
            ntaps[o] = c;
            continue;
        }
        double xo = src_coord(ctm, o, scale, in, out, lo, hi);
        if (tfcr && (xo < 0 || xo > (double)(in - 1))) {
            t[c++] = (tap){-1, 1};
            ntaps[o] = c;
            continue;
        }
        if (mode == M_NEAREST) {
            double f = floor(xo), r;
            if (!strcmp(nm, "floor"))
                r = f;
            else if (!strcmp(nm, "ceil"))
                r = ceil(xo);
            else if (!strcmp(nm, "round_prefer_ceil"))
                r = xo - f >= 0.5 ? f + 1 : f;
            else
                r = xo - f > 0.5 ? f + 1 : f;
            int64_t i = to_i64(r);
            i = i < 0 ? 0 : i >= in ? in - 1 : i;
            t[c++] = (tap){i, 1};
        } else if (mode == M_LINEAR) {
            if (!tfcr) xo = xo < 0 ? 0 : xo > (double)(in - 1) ? (double)(in - 1) : xo;
            int64_t i0 = to_i64(floor(xo));
            double fr = xo - (double)i0;
            int64_t i1 = i0 + 1 >= in ? in - 1 : i0 + 1;
            if (i0 >= in) i0 = in - 1;
            if (fr == 0 || i1 == i0) {
                t[c++] = (tap){i0, 1};
            } else {
                t[c++] = (tap){i0, 1 - fr};
                t[c++] = (tap){i1, fr};
            }
        } else {
            int64_t i0 = to_i64(floor(xo));
            double fr = xo - (double)i0;
            double sum = 0;
            for (int j = -1; j <= 2; j++) {
                int64_t i = i0 + j;
                double w = cubic_w(fr - j, A);
                if (excl && (i < 0 || i >= in)) w = 0;
                i = i < 0 ? 0 : i >= in ? in - 1 : i;
                t[c++] = (tap){i, w};
                sum += w;
            }
            if (excl && sum != 0)
                for (int j = 0; j < c; j++) t[j].w /= sum;
        }
        ntaps[o] = c;
    }
}

static int run_resize(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *yv = x_vout(x, 0);
    rs_p rp;
    if (rs_params((nn_graph *)x->g, x->n, xv, &rp, x->e) != 0) return -1;
    if (value_count(yv) == 0) return 0;
    int r = xv->rank;
    double extrap = attr_f(x->n, "extrapolation_value", 0.0f);
    tap *taps[NN_MAX_RANK];
    int *nt[NN_MAX_RANK];
    for (int a = 0; a < r; a++) {
        taps[a] = xmalloc((size_t)(rp.out[a] + 1) * 4 * sizeof(tap));
        nt[a] = xmalloc((size_t)(rp.out[a] + 1) * sizeof(int));
        axis_taps(x->n, rp.mode, xv->dims[a], rp.out[a], rp.scale[a], rp.roi_lo[a], rp.roi_hi[a],
                  taps[a], nt[a]);
    }
    int64_t xs[NN_MAX_RANK];
    row_strides(xv->dims, r, xs);
    int64_t cnt = value_count(yv);
    nn_dtype t = xv->dtype;
    const void *X = x_in(x, 0);
    void *Y = x_out(x, 0);
    int th = par_threads(x, cnt * 4);
#pragma omp parallel for num_threads(th) schedule(static)
    for (int64_t o = 0; o < cnt; o++) {
        int64_t c[NN_MAX_RANK], rem = o;
        for (int a = r - 1; a >= 0; a--) {
            c[a] = rem % yv->dims[a];
            rem /= yv->dims[a];
        }
        bool ext = false;
        for (int a = 0; a < r; a++)
            if (taps[a][c[a] * 4].idx < 0) ext = true;
        if (ext) {
            put_num(Y, t, o, extrap);
            continue;
        }
        /* walk the product of the axes' taps */
        int k[NN_MAX_RANK] = {0};
        double acc = 0;
        for (;;) {
            double w = 1;
            int64_t off = 0;
            for (int a = 0; a < r; a++) {
                const tap *tp = &taps[a][c[a] * 4 + k[a]];
                w *= tp->w;
                off += tp->idx * xs[a];
            }
            acc += w * (t == NN_F32 ? ((const float *)X)[off] : get_num(X, t, off));
            int a = r - 1;
            while (a >= 0 && ++k[a] == nt[a][c[a]]) k[a--] = 0;
            if (a < 0) break;
        }
        if (t == NN_F32)
            ((float *)Y)[o] = (float)acc;
        else
            put_num(Y, t, o, is_float(t) ? acc : nearbyint(acc));
    }
    for (int a = 0; a < r; a++) {
        free(taps[a]);
        free(nt[a]);
    }
    return 0;
}

/* ---------------------------------------------------------------- fast nearest */

typedef struct nearest_st {
    int64_t fh, fw; /* integer factors on H and W */
} nearest_st;

/* Nearest upsampling of a 4-D float tensor by integer factors where every output pixel
 * takes source pixel (h / fh, w / fw): plain NCHW or the blocked layout. */
static int run_nearest_int(nn_exec *x)
{
    const nearest_st *st = x->state;
    const nn_value *xv = x_vin(x, 0), *yv = x_vout(x, 0);
    const float *X = x_in(x, 0);
    float *Y = x_out(x, 0);
    int64_t H = xv->dims[2], W = xv->dims[3], OH = yv->dims[2], OW = yv->dims[3];
    int64_t planes = xv->dims[0] * xv->dims[1];
    int64_t vec = 1;
    if (st->fh < 0) { /* blocked: 16 channels per pixel */
        planes = xv->dims[0] * ((xv->dims[1] + 15) / 16);
        vec = 16;
    }
    int64_t fh = st->fh < 0 ? -st->fh : st->fh, fw = st->fw;
    int th = par_threads(x, planes * OH * OW * vec);
#pragma omp parallel for collapse(2) num_threads(th) schedule(static)
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oh = 0; oh < OH; oh++) {
            const float *src = X + (p * H + oh / fh) * W * vec;
            float *dst = Y + (p * OH + oh) * OW * vec;
            if (vec == 1) {
                for (int64_t ow = 0; ow < OW; ow++) dst[ow] = src[ow / fw];
            } else {
                for (int64_t ow = 0; ow < OW; ow++) memcpy(dst + ow * 16, src + (ow / fw) * 16, 64);
            }
        }
    return 0;
}

/* Whether node n is a nearest upsampling of a 4-D float tensor by integer factors on H and W
 * (checked tap by tap: asymmetric/floor and half_pixel/round_prefer_floor both qualify). */
static bool nearest_int(nn_graph *g, const nn_node *n, int64_t *fh_out, int64_t *fw_out)
{
    const nn_value *x = node_in(g, n, 0), *y = node_out(g, n, 0);
    rs_p rp;
    err e = {0};
    if (rs_params(g, n, x, &rp, &e) != 0) return false;
    bool ok = x->dtype == NN_F32 && x->rank == 4 && rp.mode == M_NEAREST &&
              y->dims[0] == x->dims[0] && y->dims[1] == x->dims[1] && x->dims[2] && x->dims[3] &&
              y->dims[2] % x->dims[2] == 0 && y->dims[3] % x->dims[3] == 0;
    if (!ok) return false;
    {
        int64_t fh = y->dims[2] / x->dims[2], fw = y->dims[3] / x->dims[3];
        for (int a = 2; a < 4 && ok; a++) {
            int64_t f = a == 2 ? fh : fw;
            tap *t = xmalloc((size_t)(y->dims[a] + 1) * 4 * sizeof(tap));
            int *c = xmalloc((size_t)(y->dims[a] + 1) * sizeof(int));
            axis_taps(n, rp.mode, x->dims[a], y->dims[a], rp.scale[a], rp.roi_lo[a], rp.roi_hi[a],
                      t, c);
            for (int64_t o = 0; o < y->dims[a] && ok; o++) ok = c[o] == 1 && t[o * 4].idx == o / f;
            free(t);
            free(c);
        }
        *fh_out = fh;
        *fw_out = fw;
    }
    return ok;
}

bool resize_blockable(nn_graph *g, const nn_node *n)
{
    int64_t a, b;
    return nearest_int(g, n, &a, &b);
}

/* ---------------------------------------------------------------- separable 2-D */

/* Float resizes that only touch the last two axes (every other axis maps onto itself):
 * each output row is a weighted sum of up to four source rows, and each element of it a
 * weighted sum of up to four elements of that row. The taps are computed once here. */
typedef struct sep_st {
    int64_t planes, H, W, OH, OW;
    tap *ty, *tx; /* 4 per output index */
    int *ny, *nx;
    float extrap;
} sep_st;

static void sep_free(void *v)
{
    sep_st *st = v;
    free(st->ty);
    free(st->tx);
    free(st->ny);
    free(st->nx);
    free(st);
}

static int run_separable(nn_exec *x)
{
    const sep_st *st = x->state;
    const float *X = x_in(x, 0);
    float *Y = x_out(x, 0);
    int64_t W = st->W, OW = st->OW;
    float *rows = x->scratch; /* one blended source row per thread */
    int th = par_threads(x, st->planes * st->OH * OW * 4);
#pragma omp parallel num_threads(th)
    {
        float *tmp = rows + (size_t)omp_get_thread_num() * (size_t)W;
#pragma omp for collapse(2) schedule(static)
        for (int64_t p = 0; p < st->planes; p++)
            for (int64_t oy = 0; oy < st->OH; oy++) {
                float *out = Y + (p * st->OH + oy) * OW;
                const tap *ty = st->ty + oy * 4;
                if (ty[0].idx < 0) {
                    for (int64_t ox = 0; ox < OW; ox++) out[ox] = st->extrap;
                    continue;
                }
                const float *src = X + (p * st->H + ty[0].idx) * W;
                if (st->ny[oy] == 1 && ty[0].w == 1) {
                    tmp = (float *)src;
                } else {
                    float w0 = (float)ty[0].w;
                    for (int64_t i = 0; i < W; i++) tmp[i] = w0 * src[i];
                    for (int k = 1; k < st->ny[oy]; k++) {
                        const float *s2 = X + (p * st->H + ty[k].idx) * W;
                        float wk = (float)ty[k].w;
                        for (int64_t i = 0; i < W; i++) tmp[i] += wk * s2[i];
                    }
                }
                for (int64_t ox = 0; ox < OW; ox++) {
                    const tap *tx = st->tx + ox * 4;
                    if (tx[0].idx < 0) {
                        out[ox] = st->extrap;
                        continue;
                    }
                    float acc = 0;
                    for (int k = 0; k < st->nx[ox]; k++) acc += (float)tx[k].w * tmp[tx[k].idx];
                    out[ox] = acc;
                }
                tmp = rows + (size_t)omp_get_thread_num() * (size_t)W;
            }
    }
    return 0;
}

static int prepare_separable(nn_prep *p, err *e)
{
    nn_node *n = p->n;
    const nn_value *x = node_in(p->g, n, 0), *y = node_out(p->g, n, 0);
    rs_p rp;
    if (x->dtype != NN_F32 || x->rank < 2 || rs_params(p->g, n, x, &rp, e) != 0) {
        err_clear(e);
        return 0;
    }
    int r = x->rank;
    for (int a = 0; a < r - 2; a++)
        if (x->dims[a] != y->dims[a] || rp.scale[a] != 1) return 0;
    sep_st *st = xcalloc(1, sizeof *st);
    st->H = x->dims[r - 2];
    st->W = x->dims[r - 1];
    st->OH = y->dims[r - 2];
    st->OW = y->dims[r - 1];
    st->planes = st->H * st->W > 0 ? value_count(x) / (st->H * st->W) : 0;
    st->extrap = attr_f(n, "extrapolation_value", 0.0f);
    st->ty = xmalloc((size_t)(st->OH + 1) * 4 * sizeof(tap));
    st->tx = xmalloc((size_t)(st->OW + 1) * 4 * sizeof(tap));
    st->ny = xmalloc((size_t)(st->OH + 1) * sizeof(int));
    st->nx = xmalloc((size_t)(st->OW + 1) * sizeof(int));
    axis_taps(n, rp.mode, st->H, st->OH, rp.scale[r - 2], rp.roi_lo[r - 2], rp.roi_hi[r - 2],
              st->ty, st->ny);
    axis_taps(n, rp.mode, st->W, st->OW, rp.scale[r - 1], rp.roi_lo[r - 1], rp.roi_hi[r - 1],
              st->tx, st->nx);
    p->state = st;
    p->free_state = sep_free;
    p->run = run_separable;
    p->scratch = (size_t)(st->W + 16) * sizeof(float) * (size_t)p->m->threads;
    return 0;
}

static int prepare_resize(nn_prep *p, err *e)
{
    nn_node *n = p->n;
    int layout = p->plan->buf[n->in[0]].layout;
    int64_t fh, fw;
    if (nearest_int(p->g, n, &fh, &fw)) {
        nearest_st *st = xmalloc(sizeof *st);
        st->fh = layout == NN_L_BLK16 ? -fh : fh;
        st->fw = fw;
        p->state = st;
        p->free_state = free;
        p->run = run_nearest_int;
        return 0;
    }
    if (layout != NN_L_PLAIN) {
        node_err(e, p->g, n, 500, "blocked layout without a blocked kernel");
        return -1;
    }
    return prepare_separable(p, e);
}

const nn_op nn_ops_resize[] = {
    {"Resize", infer_resize, run_resize, prepare_resize, NN_OP_BLOCKED, 0},
    {"Upsample", infer_resize, run_resize, prepare_resize, 0, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
