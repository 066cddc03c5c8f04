/* Quantisation: DynamicQuantizeLinear, QuantizeLinear, DequantizeLinear, ConvInteger,
 * MatMulInteger (reference loops; the int8 convolution that runs dynamically quantised
 * models fast lives in ops_qconv.c). */
#include "nn/ops.h"

#include <omp.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- DynamicQuantizeLinear */

static int infer_dql(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    if (x->dtype != NN_F32) {
        node_err(e, g, n, 400, "needs a float input");
        return -1;
    }
    set_out(g, n, 0, NN_U8, x->rank, x->dims);
    set_out(g, n, 1, NN_F32, 0, NULL);
    set_out(g, n, 2, NN_U8, 0, NULL);
    return 0;
}

/* Scale and zero point as ONNX defines them: the range always includes 0; the zero point
 * is rounded half to even and saturated. */
void nn_dql_params(float mn, float mx, float *scale, uint8_t *zp)
{
    mn = mn < 0 ? mn : 0;
    mx = mx > 0 ? mx : 0;
    float s = (mx - mn) / 255.0f;
    if (s == 0) {
        *scale = 0;
        *zp = 0;
        return;
    }
    float z = rintf(0.0f - mn / s);
    *zp = (uint8_t)(z < 0 ? 0 : z > 255 ? 255 : z);
    *scale = s;
}

static int run_dql(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    const float *X = x_in(x, 0);
    uint8_t *Y = x_out(x, 0);
    int64_t n = value_count(xv);
    float mn = 0, mx = 0;
    if (n) x->k->minmax(X, (size_t)n, &mn, &mx);
    float scale;
    uint8_t zp;
    nn_dql_params(mn, mx, &scale, &zp);
    if (scale == 0)
        memset(Y, 0, (size_t)n);
    else
        x->k->quantize_u8(X, Y, (size_t)n, scale, zp);
    *(float *)x_out(x, 1) = scale;
    *(uint8_t *)x_out(x, 2) = zp;
    return 0;
}

/* The same, writing the quantized tensor channels-last (for nn.QConv). Rows of 16 pixels
 * of one channel are quantized with the kernel, then scattered. */
static int run_dql_nhwc(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    const float *X = x_in(x, 0);
    uint8_t *Y = x_out(x, 0);
    int64_t n = value_count(xv), N = xv->dims[0], C = xv->dims[1], P = xv->dims[2] * xv->dims[3];
    float mn = 0, mx = 0;
    if (n) x->k->minmax(X, (size_t)n, &mn, &mx);
    float scale;
    uint8_t zp;
    nn_dql_params(mn, mx, &scale, &zp);
    *(float *)x_out(x, 1) = scale;
    *(uint8_t *)x_out(x, 2) = zp;
    if (scale == 0) {
        memset(Y, 0, (size_t)n);
        return 0;
    }
    int64_t blocks = (P + 15) / 16;
    int nt = par_threads(x, n);
#pragma omp parallel for collapse(2) num_threads(nt) schedule(static)
    for (int64_t nb = 0; nb < N; nb++)
        for (int64_t b = 0; b < blocks; b++) {
            int64_t p0 = b * 16, np = P - p0 < 16 ? P - p0 : 16;
            uint8_t q[16];
            for (int64_t c = 0; c < C; c++) {
                x->k->quantize_u8(X + (nb * C + c) * P + p0, q, (size_t)np, scale, zp);
                for (int64_t i = 0; i < np; i++) Y[((nb * P) + p0 + i) * C + c] = q[i];
            }
        }
    return 0;
}

static int prepare_dql(nn_prep *p, err *e)
{
    (void)e;
    if (p->plan->buf[p->n->out[0]].layout == NN_L_NHWC) p->run = run_dql_nhwc;
    return 0;
}

/* ---------------------------------------------------------------- Quantize/Dequantize */

static int infer_q(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 3, e)) return -1;
    const nn_value *x = node_in(g, n, 0), *zp = node_in(g, n, 2);
    set_out(g, n, 0, zp ? zp->dtype : NN_U8, x->rank, x->dims);
    return 0;
}

static int infer_dq(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 3, e)) return -1;
    const nn_value *x = node_in(g, n, 0), *s = node_in(g, n, 1);
    set_out(g, n, 0, s->dtype, x->rank, x->dims);
    return 0;
}

/* Index into a per-axis parameter (scale or zero point) for element i. */
static int64_t param_index(const nn_value *xv, const nn_value *pv, int axis, int64_t i)
{
    if (!pv || value_count(pv) <= 1) return 0;
    int64_t inner = 1;
    for (int d = axis + 1; d < xv->rank; d++) inner *= xv->dims[d];
    return (i / inner) % xv->dims[axis];
}

static int q_run(nn_exec *x, bool quant)
{
    const nn_value *xv = x_vin(x, 0), *sv = x_vin(x, 1), *zv = x_vin(x, 2), *yv = x_vout(x, 0);
    int axis = norm_axis(attr_i(x->n, "axis", 1), xv->rank);
    if (value_count(sv) > 1 && (axis < 0 || value_count(sv) != xv->dims[axis])) {
        node_err(x->e, x->g, x->n, 400,
                 "per-axis scale must have one value per element of the axis");
        return -1;
    }
    int64_t n = value_count(xv);
    nn_dtype qt = quant ? yv->dtype : xv->dtype;
    double lo = qt == NN_U8    ? 0
                : qt == NN_I8  ? -128
                : qt == NN_U16 ? 0
                : qt == NN_I16 ? -32768
                               : -2147483648.0;
    double hi = qt == NN_U8    ? 255
                : qt == NN_I8  ? 127
                : qt == NN_U16 ? 65535
                : qt == NN_I16 ? 32767
                               : 2147483647.0;
    for (int64_t i = 0; i < n; i++) {
        int64_t pi = param_index(xv, sv, axis, i);
        double s = get_num(x_in(x, 1), sv->dtype, pi);
        double z = zv ? get_num(x_in(x, 2), zv->dtype, param_index(xv, zv, axis, i)) : 0;
        if (quant) {
            double q = nearbyint((double)(float)(get_num(x_in(x, 0), xv->dtype, i) / s)) + z;
            q = q < lo ? lo : q > hi ? hi : q;
            put_num(x_out(x, 0), qt, i, q);
        } else {
            put_num(x_out(x, 0), yv->dtype, i, (get_num(x_in(x, 0), xv->dtype, i) - z) * s);
        }
    }
    return 0;
}

static int run_q(nn_exec *x)
{
    return q_run(x, true);
}

static int run_dq(nn_exec *x)
{
    return q_run(x, false);
}

/* ---------------------------------------------------------------- ConvInteger */

static int infer_convint(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 4, e)) return -1;
    const nn_value *x = node_in(g, n, 0), *w = node_in(g, n, 1);
    if ((x->dtype != NN_U8 && x->dtype != NN_I8) || (w->dtype != NN_U8 && w->dtype != NN_I8) ||
        x->rank != 4 || w->rank != 4) {
        node_err(e, g, n, 400, "needs 4-D uint8/int8 input and weights");
        return -1;
    }
    int64_t t[8], k[2] = {w->dims[2], w->dims[3]}, s[2] = {1, 1}, d[2] = {1, 1},
                  p[4] = {0, 0, 0, 0};
    if (attr_ints(n, "strides", t, 8) == 2) s[0] = t[0], s[1] = t[1];
    if (attr_ints(n, "dilations", t, 8) == 2) d[0] = t[0], d[1] = t[1];
    if (attr_ints(n, "pads", t, 8) == 4) memcpy(p, t, sizeof p);
    const char *ap = attr_s(n, "auto_pad", "NOTSET");
    int64_t group = attr_i(n, "group", 1);
    if (group < 1 || x->dims[1] != w->dims[1] * group || w->dims[0] % group) {
        node_err(e, g, n, 400, "weights do not fit the input channels");
        return -1;
    }
    /* zero points: the input's one value, the weights' one or one per output channel */
    const nn_value *xz = node_in(g, n, 2), *wz = node_in(g, n, 3);
    if ((xz && (value_count(xz) != 1 || xz->dtype != x->dtype)) ||
        (wz &&
         ((value_count(wz) != 1 && value_count(wz) != w->dims[0]) || wz->dtype != w->dtype))) {
        node_err(e, g, n, 400,
                 "zero points must have their tensor's type and one value (the weights': or "
                 "one per output channel)");
        return -1;
    }
    int64_t od[4] = {x->dims[0], w->dims[0], 0, 0};
    for (int i = 0; i < 2; i++) {
        if (s[i] < 1 || d[i] < 1 || p[i] < 0 || p[i + 2] < 0) {
            node_err(e, g, n, 400, "bad strides, dilations or pads");
            return -1;
        }
        int64_t in = x->dims[2 + i], ke = (k[i] - 1) * d[i] + 1;
        if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER"))
            od[2 + i] = (in + s[i] - 1) / s[i];
        else {
            int64_t span = in + p[i] + p[i + 2] - ke;
            od[2 + i] = span >= 0 ? span / s[i] + 1 : 0;
        }
    }
    set_out(g, n, 0, NN_I32, 4, od);
    return 0;
}

static int run_convint(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *wv = x_vin(x, 1), *yv = x_vout(x, 0), *wzv = x_vin(x, 3);
    int64_t t[8], s[2] = {1, 1}, d[2] = {1, 1}, p[4] = {0, 0, 0, 0};
    if (attr_ints(x->n, "strides", t, 8) == 2) s[0] = t[0], s[1] = t[1];
    if (attr_ints(x->n, "dilations", t, 8) == 2) d[0] = t[0], d[1] = t[1];
    if (attr_ints(x->n, "pads", t, 8) == 4) memcpy(p, t, sizeof p);
    int64_t group = attr_i(x->n, "group", 1);
    const char *ap = attr_s(x->n, "auto_pad", "NOTSET");
    int64_t N = xv->dims[0], C = xv->dims[1], H = xv->dims[2], W = xv->dims[3];
    int64_t M = wv->dims[0], KH = wv->dims[2], KW = wv->dims[3], OH = yv->dims[2], OW = yv->dims[3];
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
        for (int i = 0; i < 2; i++) {
            int64_t in = xv->dims[2 + i], out = yv->dims[2 + i],
                    ke = (wv->dims[2 + i] - 1) * d[i] + 1;
            int64_t total = (out - 1) * s[i] + ke - in;
            if (total < 0) total = 0;
            p[i] = !strcmp(ap, "SAME_LOWER") ? (total + 1) / 2 : total / 2;
        }
    }
    int xz = x_in(x, 2) ? to_int(get_num(x_in(x, 2), x_vin(x, 2)->dtype, 0)) : 0;
    int64_t cg = C / group, mg = M / group;
    int32_t *Y = x_out(x, 0);
    int th = par_threads(x, N * M * OH * OW * cg * KH * KW / 16);
#pragma omp parallel for collapse(2) num_threads(th) schedule(static)
    for (int64_t nb = 0; nb < N; nb++)
        for (int64_t m = 0; m < M; m++) {
            int wz =
                wzv ? to_int(get_num(x_in(x, 3), wzv->dtype, value_count(wzv) > 1 ? m : 0)) : 0;
            int64_t gi = m / mg;
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    int32_t acc = 0;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t kh = 0; kh < KH; kh++) {
                            int64_t ih = oh * s[0] - p[0] + kh * d[0];
                            if (ih < 0 || ih >= H) continue;
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t iw = ow * s[1] - p[1] + kw * d[1];
                                if (iw < 0 || iw >= W) continue;
                                int xv_ =
                                    to_int(get_num(x_in(x, 0), xv->dtype,
                                                   ((nb * C + gi * cg + c) * H + ih) * W + iw));
                                int wv_ = to_int(get_num(x_in(x, 1), wv->dtype,
                                                         ((m * cg + c) * KH + kh) * KW + kw));
                                acc += (xv_ - xz) * (wv_ - wz);
                            }
                        }
                    Y[((nb * M + m) * OH + oh) * OW + ow] = acc;
                }
        }
    return 0;
}

/* ---------------------------------------------------------------- MatMulInteger */

static int infer_mmint(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 4, e)) return -1;
    const nn_value *a = node_in(g, n, 0), *b = node_in(g, n, 1);
    if (a->rank < 2 || b->rank < 2 || a->dims[a->rank - 1] != b->dims[b->rank - 2]) {
        node_err(e, g, n, 400, "needs matrices with matching inner dimensions");
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    int r;
    if (broadcast_shape(a->dims, a->rank - 2, b->dims, b->rank - 2, d, &r) != 0 ||
        r + 2 > NN_MAX_RANK) {
        node_err(e, g, n, 400, "batch dimensions do not broadcast");
        return -1;
    }
    d[r] = a->dims[a->rank - 2];
    d[r + 1] = b->dims[b->rank - 1];
    set_out(g, n, 0, NN_I32, r + 2, d);
    return 0;
}

static int run_mmint(nn_exec *x)
{
    const nn_value *av = x_vin(x, 0), *bv = x_vin(x, 1), *yv = x_vout(x, 0);
    const nn_value *azv = x_vin(x, 2), *bzv = x_vin(x, 3);
    int64_t M = av->dims[av->rank - 2], K = av->dims[av->rank - 1], N = bv->dims[bv->rank - 1];
    int64_t batches = M * N > 0 ? value_count(yv) / (M * N) : 0;
    int32_t *Y = x_out(x, 0);
    for (int64_t bi = 0; bi < batches; bi++) {
        int64_t ao = bcast_index(bi * M * N, yv->dims, yv->rank, av->dims, av->rank);
        int64_t bo = bcast_index(bi * M * N, yv->dims, yv->rank, bv->dims, bv->rank);
        ao -= ao % (M * K);
        bo -= bo % (K * N);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                int az =
                    azv ? to_int(get_num(x_in(x, 2), azv->dtype, value_count(azv) > 1 ? i : 0)) : 0;
                int bz =
                    bzv ? to_int(get_num(x_in(x, 3), bzv->dtype, value_count(bzv) > 1 ? j : 0)) : 0;
                int32_t acc = 0;
                for (int64_t k = 0; k < K; k++)
                    acc += (to_int(get_num(x_in(x, 0), av->dtype, ao + i * K + k)) - az) *
                           (to_int(get_num(x_in(x, 1), bv->dtype, bo + k * N + j)) - bz);
                Y[(bi * M + i) * N + j] = acc;
            }
    }
    return 0;
}

const nn_op nn_ops_quant[] = {
    {"DynamicQuantizeLinear", infer_dql, run_dql, prepare_dql, 0, 0},
    {"QuantizeLinear", infer_q, run_q, NULL, 0, 0},
    {"DequantizeLinear", infer_dq, run_dq, NULL, 0, 0},
    {"ConvInteger", infer_convint, run_convint, NULL, 0, 0},
    {"MatMulInteger", infer_mmint, run_mmint, NULL, 0, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
