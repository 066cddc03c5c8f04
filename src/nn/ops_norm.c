/* Normalisations: BatchNormalization, InstanceNormalization, LayerNormalization,
 * GroupNormalization, LRN, MeanVarianceNormalization. */
#include "nn/ops.h"

#include <omp.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- BatchNormalization */

static int infer_bn(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 5, 5, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    if (x->rank < 2) {
        node_err(e, g, n, 400, "needs rank 2 or more");
        return -1;
    }
    for (int i = 1; i < 5; i++) {
        const nn_value *p = node_in(g, n, i);
        if (p->rank != 1 || p->dims[0] != x->dims[1]) {
            node_err(e, g, n, 400, "parameter %d must have %lld values", i, (long long)x->dims[1]);
            return -1;
        }
    }
    /* scale and bias of one float type, mean and variance of one (the kernel reads them so) */
    if (!is_float(node_in(g, n, 1)->dtype) || node_in(g, n, 2)->dtype != node_in(g, n, 1)->dtype ||
        !is_float(node_in(g, n, 3)->dtype) || node_in(g, n, 4)->dtype != node_in(g, n, 3)->dtype) {
        node_err(e, g, n, 400,
                 "scale and bias, and mean and variance, must each be one float type");
        return -1;
    }
    set_out(g, n, 0, x->dtype, x->rank, x->dims);
    int64_t c = x->dims[1];
    for (int i = 1; i < n->n_out; i++) set_out(g, n, i, node_in(g, n, 3)->dtype, 1, &c);
    return 0;
}

static int run_bn(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    float eps = attr_f(x->n, "epsilon", 1e-5f), mom = attr_f(x->n, "momentum", 0.9f);
    bool train = attr_i(x->n, "training_mode", 0) != 0;
    int64_t N = xv->dims[0], C = xv->dims[1], S = N * C > 0 ? value_count(xv) / (N * C) : 0;
    nn_dtype t = xv->dtype;
    const void *X = x_in(x, 0), *sc = x_in(x, 1), *b = x_in(x, 2), *mu = x_in(x, 3),
               *var = x_in(x, 4);
    nn_dtype pt = x_vin(x, 1)->dtype, st = x_vin(x, 3)->dtype;
    void *Y = x_out(x, 0);
    for (int64_t c = 0; c < C; c++) {
        double m = get_num(mu, st, c), v = get_num(var, st, c);
        if (train) {
            double s1 = 0, s2 = 0;
            for (int64_t nb = 0; nb < N; nb++)
                for (int64_t i = 0; i < S; i++) {
                    double val = get_num(X, t, (nb * C + c) * S + i);
                    s1 += val;
                    s2 += val * val;
                }
            double cnt = (double)(N * S);
            double bm = s1 / cnt, bv = s2 / cnt - bm * bm;
            if (x_out(x, 1)) put_num(x_out(x, 1), st, c, m * mom + bm * (1 - mom));
            if (x_out(x, 2)) put_num(x_out(x, 2), st, c, v * mom + bv * (1 - mom));
            m = bm;
            v = bv;
        }
        double k = get_num(sc, pt, c) / sqrt(v + eps), off = get_num(b, pt, c) - m * k;
        for (int64_t nb = 0; nb < N; nb++) {
            int64_t base = (nb * C + c) * S;
            if (t == NN_F32) {
                const float *xs = (const float *)X + base;
                float *ys = (float *)Y + base;
                for (int64_t i = 0; i < S; i++) ys[i] = (float)(xs[i] * k + off);
            } else {
                for (int64_t i = 0; i < S; i++)
                    put_num(Y, t, base + i, get_num(X, t, base + i) * k + off);
            }
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- Instance/Group norm */

/* Scale and bias of a group or instance norm: one float type, `count` values each (or
 * `alt` when alt > 0). */
static int affine_params(nn_graph *g, nn_node *n, int64_t count, int64_t alt, err *e)
{
    const nn_value *sc = node_in(g, n, 1), *b = node_in(g, n, 2);
    int64_t k = value_count(sc);
    if (!is_float(sc->dtype) || b->dtype != sc->dtype || value_count(b) != k ||
        (k != count && (alt <= 0 || k != alt))) {
        node_err(e, g, n, 400, "scale and bias must be one float type with %lld values each",
                 (long long)count);
        return -1;
    }
    return 0;
}

static int infer_in(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 3, 3, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    if (x->rank < 3 || !is_float(x->dtype)) {
        node_err(e, g, n, 400, "needs a float input of rank 3 or more");
        return -1;
    }
    if (affine_params(g, n, x->dims[1], 0, e) != 0) return -1;
    return infer_same(g, n, e);
}

/* Normalises `groups` groups of each image's channels over their elements, then applies
 * per-channel scale and bias (InstanceNormalization: one group per channel). */
static int group_norm(nn_exec *x, int64_t groups, bool per_group_affine)
{
    const nn_value *xv = x_vin(x, 0);
    float eps = attr_f(x->n, "epsilon", 1e-5f);
    int64_t N = xv->dims[0], C = xv->dims[1], S = N * C > 0 ? value_count(xv) / (N * C) : 0;
    if (groups <= 0 || C % groups) {
        node_err(x->e, x->g, x->n, 400, "%lld channels do not divide into %lld groups",
                 (long long)C, (long long)groups);
        return -1;
    }
    int64_t cg = C / groups;
    nn_dtype t = xv->dtype, pt = x_vin(x, 1)->dtype;
    const void *X = x_in(x, 0), *sc = x_in(x, 1), *b = x_in(x, 2);
    void *Y = x_out(x, 0);
    int th = par_threads(x, value_count(xv));
#pragma omp parallel for collapse(2) num_threads(th) schedule(static)
    for (int64_t nb = 0; nb < N; nb++)
        for (int64_t gi = 0; gi < groups; gi++) {
            int64_t base = (nb * C + gi * cg) * S, cnt = cg * S;
            double s1 = 0;
            for (int64_t i = 0; i < cnt; i++) s1 += get_num(X, t, base + i);
            double mean = s1 / (double)cnt, s2 = 0;
            for (int64_t i = 0; i < cnt; i++) {
                double d = get_num(X, t, base + i) - mean;
                s2 += d * d;
            }
            double inv = 1.0 / sqrt(s2 / (double)cnt + eps);
            for (int64_t c = 0; c < cg; c++) {
                int64_t ch = gi * cg + c, pi = per_group_affine ? gi : ch;
                double k = get_num(sc, pt, pi) * inv, off = get_num(b, pt, pi) - mean * k;
                for (int64_t i = 0; i < S; i++) {
                    int64_t idx = base + c * S + i;
                    if (t == NN_F32)
                        ((float *)Y)[idx] = (float)(((const float *)X)[idx] * k + off);
                    else
                        put_num(Y, t, idx, get_num(X, t, idx) * k + off);
                }
            }
        }
    return 0;
}

static int run_in(nn_exec *x)
{
    return group_norm(x, x_vin(x, 0)->dims[1], false);
}

static int infer_gn(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 3, 3, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    int64_t groups = attr_i(n, "num_groups", 0);
    if (x->rank < 3 || groups <= 0 || x->dims[1] % groups) {
        node_err(e, g, n, 400, "needs rank 3 or more and num_groups dividing the channels");
        return -1;
    }
    /* per channel (opset 21) or per group (opset 18) */
    if (affine_params(g, n, x->dims[1], groups, e) != 0) return -1;
    return infer_same(g, n, e);
}

static int run_gn(nn_exec *x)
{
    int64_t groups = attr_i(x->n, "num_groups", 1);
    /* opset 18 gives scale and bias per group, opset 21 per channel */
    bool per_group = value_count(x_vin(x, 1)) == groups && groups != x_vin(x, 0)->dims[1];
    return group_norm(x, groups, per_group);
}

/* ---------------------------------------------------------------- LayerNormalization */

static int infer_ln(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 3, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    int axis = norm_axis(attr_i(n, "axis", -1), x->rank);
    if (axis < 0 || !is_float(x->dtype)) {
        node_err(e, g, n, 400, "needs a float input and an axis within its rank");
        return -1;
    }
    /* scale and bias broadcast to the normalised block x.shape[axis:] */
    for (int i = 1; i < n->n_in; i++) {
        const nn_value *p = node_in(g, n, i);
        if (!p) continue;
        int64_t t[NN_MAX_RANK];
        int r;
        if (!is_float(p->dtype) || p->rank > x->rank - axis ||
            broadcast_shape(x->dims + axis, x->rank - axis, p->dims, p->rank, t, &r) != 0 ||
            r != x->rank - axis || memcmp(t, x->dims + axis, sizeof(int64_t) * (size_t)r)) {
            node_err(e, g, n, 400, "%s does not broadcast to the normalised axes",
                     i == 1 ? "scale" : "bias");
            return -1;
        }
    }
    set_out(g, n, 0, x->dtype, x->rank, x->dims);
    int64_t d[NN_MAX_RANK];
    for (int i = 0; i < x->rank; i++) d[i] = i < axis ? x->dims[i] : 1;
    nn_dtype st = (nn_dtype)attr_i(n, "stash_type", NN_F32);
    for (int i = 1; i < n->n_out; i++) set_out(g, n, i, st == NN_F64 ? NN_F64 : NN_F32, x->rank, d);
    return 0;
}

static int run_ln(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *sv = x_vin(x, 1), *bv = x_vin(x, 2);
    int axis = norm_axis(attr_i(x->n, "axis", -1), xv->rank);
    float eps = attr_f(x->n, "epsilon", 1e-5f);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= xv->dims[i];
    for (int i = axis; i < xv->rank; i++) inner *= xv->dims[i];
    nn_dtype t = xv->dtype;
    const void *X = x_in(x, 0), *S = x_in(x, 1), *B = x_in(x, 2);
    void *Y = x_out(x, 0);
    void *Mo = x_out(x, 1), *Io = x_out(x, 2);
    /* fast path: float32 with scale and bias covering the whole normalised block */
    bool full = value_count(sv) == inner && (!bv || value_count(bv) == inner);
    if (t == NN_F32 && full && !Mo && !Io && sv->dtype == NN_F32 && (!bv || bv->dtype == NN_F32)) {
        int th = par_threads(x, outer * inner);
#pragma omp parallel for num_threads(th) schedule(static)
        for (int64_t o = 0; o < outer; o++)
            x->k->layernorm((const float *)X + o * inner, S, B, (float *)Y + o * inner,
                            (size_t)inner, eps);
        post_apply(x, Y, x_vout(x, 0));
        return 0;
    }
    int64_t ys[NN_MAX_RANK];
    int64_t blk[NN_MAX_RANK];
    for (int i = 0; i < xv->rank; i++) blk[i] = i < axis ? 1 : xv->dims[i];
    row_strides(blk, xv->rank, ys);
    for (int64_t o = 0; o < outer; o++) {
        int64_t base = o * inner;
        double s1 = 0, s2 = 0;
        for (int64_t i = 0; i < inner; i++) s1 += get_num(X, t, base + i);
        double mean = s1 / (double)inner;
        for (int64_t i = 0; i < inner; i++) {
            double d = get_num(X, t, base + i) - mean;
            s2 += d * d;
        }
        double inv = 1.0 / sqrt(s2 / (double)inner + eps);
        for (int64_t i = 0; i < inner; i++) {
            int64_t si = bcast_index(i, blk + axis, xv->rank - axis, sv->dims, sv->rank);
            double v = (get_num(X, t, base + i) - mean) * inv * get_num(S, sv->dtype, si);
            if (B)
                v += get_num(B, bv->dtype,
                             bcast_index(i, blk + axis, xv->rank - axis, bv->dims, bv->rank));
            put_num(Y, t, base + i, v);
        }
        if (Mo) put_num(Mo, x_vout(x, 1)->dtype, o, mean);
        if (Io) put_num(Io, x_vout(x, 2)->dtype, o, inv);
    }
    if (t == NN_F32) post_apply(x, Y, x_vout(x, 0));
    return 0;
}

/* ---------------------------------------------------------------- LRN, MVN */

static int infer_lrn(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    if (attr_i(n, "size", 0) < 1 || node_in(g, n, 0)->rank < 2) {
        node_err(e, g, n, 400, "needs a positive size and rank 2 or more");
        return -1;
    }
    return infer_same(g, n, e);
}

static int run_lrn(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    double alpha = attr_f(x->n, "alpha", 1e-4f), beta = attr_f(x->n, "beta", 0.75f),
           bias = attr_f(x->n, "bias", 1.0f);
    int64_t size = attr_i(x->n, "size", 1);
    int64_t N = xv->dims[0], C = xv->dims[1], S = N * C > 0 ? value_count(xv) / (N * C) : 0;
    int64_t lo = (size - 1) / 2, hi = (size - 1) - lo;
    for (int64_t nb = 0; nb < N; nb++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < S; i++) {
                double sq = 0;
                for (int64_t k = c - lo; k <= c + hi; k++) {
                    if (k < 0 || k >= C) continue;
                    double v = get_num(x_in(x, 0), xv->dtype, (nb * C + k) * S + i);
                    sq += v * v;
                }
                int64_t idx = (nb * C + c) * S + i;
                double v = get_num(x_in(x, 0), xv->dtype, idx) /
                           pow(bias + alpha / (double)size * sq, beta);
                put_num(x_out(x, 0), xv->dtype, idx, v);
            }
    return 0;
}

static int run_mvn(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    int64_t axes[NN_MAX_RANK] = {0, 2, 3};
    int na = attr_ints(x->n, "axes", axes, NN_MAX_RANK);
    if (na < 0) na = 3;
    bool red[NN_MAX_RANK] = {0};
    for (int i = 0; i < na; i++) {
        int a = norm_axis(axes[i], xv->rank);
        if (a < 0) {
            node_err(x->e, x->g, x->n, 400, "bad axis");
            return -1;
        }
        red[a] = true;
    }
    int64_t kd[NN_MAX_RANK], ks[NN_MAX_RANK];
    for (int i = 0; i < xv->rank; i++) kd[i] = red[i] ? 1 : xv->dims[i];
    row_strides(kd, xv->rank, ks);
    int64_t kc = nn_shape_count(kd, xv->rank), cnt = value_count(xv), per = cnt / (kc ? kc : 1);
    double *s1 = xcalloc((size_t)kc + 1, sizeof *s1), *s2 = xcalloc((size_t)kc + 1, sizeof *s2);
    int64_t *map = xmalloc((size_t)(cnt + 1) * sizeof *map);
    for (int64_t i = 0; i < cnt; i++) {
        int64_t rem = i, k = 0;
        for (int d = xv->rank - 1; d >= 0; d--) {
            int64_t c = rem % xv->dims[d];
            rem /= xv->dims[d];
            if (!red[d]) k += c * ks[d];
        }
        map[i] = k;
        double v = get_num(x_in(x, 0), xv->dtype, i);
        s1[k] += v;
        s2[k] += v * v;
    }
    for (int64_t i = 0; i < cnt; i++) {
        int64_t k = map[i];
        double mean = s1[k] / (double)per, var = s2[k] / (double)per - mean * mean;
        double v = (get_num(x_in(x, 0), xv->dtype, i) - mean) / (sqrt(var < 0 ? 0 : var) + 1e-9);
        put_num(x_out(x, 0), xv->dtype, i, v);
    }
    free(s1);
    free(s2);
    free(map);
    return 0;
}

static int infer_mvn(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    return infer_same(g, n, e);
}

/* ---------------------------------------------------------------- nn.ChannelNorm */

/* nn.ChannelNorm(x, scale [C], bias [C]), attribute epsilon: LayerNormalization over axis 1
 * alone, each position of x [N, C, ...] normalised across its C channels (SAM's
 * LayerNorm2d, which pass_layernorm finds as ReduceMean/Sub/Pow/Sqrt/Div over axis 1). */
static int infer_chnorm(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 3, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    if (x->rank < 2 || x->dtype != NN_F32) {
        node_err(e, g, n, 400, "needs a float input of rank 2 or more");
        return -1;
    }
    for (int i = 1; i < n->n_in; i++) {
        const nn_value *p = node_in(g, n, i);
        if (p && (p->dtype != NN_F32 || value_count(p) != x->dims[1])) {
            node_err(e, g, n, 400, "%s must have one float per channel", i == 1 ? "scale" : "bias");
            return -1;
        }
    }
    set_out(g, n, 0, x->dtype, x->rank, x->dims);
    return 0;
}

static int run_chnorm(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    const float *X = x_in(x, 0), *S = x_in(x, 1), *B = x_in(x, 2);
    float *Y = x_out(x, 0);
    float eps = attr_f(x->n, "epsilon", 1e-5f);
    int64_t N = xv->dims[0], C = xv->dims[1];
    int64_t P = N > 0 && C > 0 ? value_count(xv) / (N * C) : 0;
    /* positions in blocks: the C rows of a block stay in cache over the three passes */
    enum { BL = 256 };
    int64_t blocks = (P + BL - 1) / BL;
    int nt = par_threads(x, N * C * P);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t r = 0; r < N * blocks; r++) {
        int64_t nb = r / blocks, p0 = r % blocks * BL, len = P - p0 < BL ? P - p0 : BL;
        const float *xp = X + nb * C * P + p0;
        float *yp = Y + nb * C * P + p0;
        float mean[BL], rstd[BL];
        for (int64_t j = 0; j < len; j++) mean[j] = rstd[j] = 0.f;
        for (int64_t c = 0; c < C; c++)
            for (int64_t j = 0; j < len; j++) mean[j] += xp[c * P + j];
        for (int64_t j = 0; j < len; j++) mean[j] /= (float)C;
        for (int64_t c = 0; c < C; c++)
            for (int64_t j = 0; j < len; j++) {
                float d = xp[c * P + j] - mean[j];
                rstd[j] += d * d;
            }
        for (int64_t j = 0; j < len; j++) rstd[j] = 1.f / sqrtf(rstd[j] / (float)C + eps);
        for (int64_t c = 0; c < C; c++) {
            float sc = S[c], bi = B ? B[c] : 0.f;
            for (int64_t j = 0; j < len; j++)
                yp[c * P + j] = (xp[c * P + j] - mean[j]) * rstd[j] * sc + bi;
        }
    }
    post_apply(x, Y, x_vout(x, 0));
    return 0;
}

const nn_op nn_ops_norm[] = {
    {"BatchNormalization", infer_bn, run_bn, NULL, 0, 0},
    {"InstanceNormalization", infer_in, run_in, NULL, 0, 0},
    {"GroupNormalization", infer_gn, run_gn, NULL, 0, 0},
    {"LayerNormalization", infer_ln, run_ln, NULL, 0, 0},
    {"LRN", infer_lrn, run_lrn, NULL, 0, 0},
    {"MeanVarianceNormalization", infer_mvn, run_mvn, NULL, 0, 0},
    {"nn.ChannelNorm", infer_chnorm, run_chnorm, NULL, 0, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
