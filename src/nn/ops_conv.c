/* Conv and ConvTranspose: a direct reference loop, and oneDNN primitives with the node's
 * fused post-operations (bias, activation, residual add) for the planned run. */
#include "nn/dnn.h"

#include <stdlib.h>

typedef struct conv_geo {
    int sp; /* spatial dims */
    int64_t k[3], s[3], d[3], pl[3], pr[3];
    int64_t group;
    int64_t out_pad[3];
} conv_geo;

/* Kernel, strides, dilations and pads of a Conv/ConvTranspose for input x and weights w,
 * with auto_pad resolved; out[] receives the output's spatial size. */
static int conv_geometry(nn_graph *g, const nn_node *n, const nn_value *x, const nn_value *w,
                         bool transpose, conv_geo *c, int64_t *out, err *e)
{
    memset(c, 0, sizeof *c);
    c->sp = x->rank - 2;
    if (c->sp < 1 || c->sp > 3 || w->rank != x->rank) {
        node_err(e, g, n, 400, "input rank %d and weight rank %d: expected 3 to 5 and equal",
                 x->rank, w->rank);
        return -1;
    }
    int64_t tmp[8];
    int nk = attr_ints(n, "kernel_shape", tmp, 8);
    for (int i = 0; i < c->sp; i++) c->k[i] = nk == c->sp ? tmp[i] : w->dims[2 + i];
    int ns = attr_ints(n, "strides", tmp, 8);
    for (int i = 0; i < c->sp; i++) c->s[i] = ns == c->sp ? tmp[i] : 1;
    int nd = attr_ints(n, "dilations", tmp, 8);
    for (int i = 0; i < c->sp; i++) c->d[i] = nd == c->sp ? tmp[i] : 1;
    int np = attr_ints(n, "pads", tmp, 8);
    for (int i = 0; i < c->sp; i++) {
        c->pl[i] = np == 2 * c->sp ? tmp[i] : 0;
        c->pr[i] = np == 2 * c->sp ? tmp[i + c->sp] : 0;
    }
    int no = attr_ints(n, "output_padding", tmp, 8);
    for (int i = 0; i < c->sp; i++) c->out_pad[i] = no == c->sp ? tmp[i] : 0;
    c->group = attr_i(n, "group", 1);
    for (int i = 0; i < c->sp; i++)
        if (c->k[i] < 1 || c->s[i] < 1 || c->d[i] < 1 || c->pl[i] < 0 || c->pr[i] < 0) {
            node_err(e, g, n, 400,
                     "kernel, strides and dilations must be positive and pads non-negative");
            return -1;
        }
    if (c->group < 1) {
        node_err(e, g, n, 400, "group must be positive");
        return -1;
    }
    const char *ap = attr_s(n, "auto_pad", "NOTSET");
    bool same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
    int64_t oshape[8];
    int nos = transpose ? attr_ints(n, "output_shape", oshape, 8) : -1;
    if (nos > c->sp) {
        /* output_shape may include N and C */
        memmove(oshape, oshape + (nos - c->sp), (size_t)c->sp * sizeof *oshape);
        nos = c->sp;
    }
    for (int i = 0; i < c->sp; i++) {
        int64_t in = x->dims[2 + i];
        int64_t ke = (c->k[i] - 1) * c->d[i] + 1;
        if (!transpose) {
            if (same) {
                out[i] = (in + c->s[i] - 1) / c->s[i];
                int64_t total = (out[i] - 1) * c->s[i] + ke - in;
                if (total < 0) total = 0;
                bool lower = !strcmp(ap, "SAME_LOWER");
                c->pl[i] = lower ? (total + 1) / 2 : total / 2;
                c->pr[i] = total - c->pl[i];
            } else if (!strcmp(ap, "VALID")) {
                c->pl[i] = c->pr[i] = 0;
                out[i] = in >= ke ? (in - ke) / c->s[i] + 1 : 0;
            } else {
                int64_t span = in + c->pl[i] + c->pr[i] - ke;
                out[i] = span >= 0 ? span / c->s[i] + 1 : 0;
            }
        } else {
            if (nos == c->sp) {
                out[i] = oshape[i];
                int64_t total = c->s[i] * (in - 1) + c->out_pad[i] + ke - out[i];
                if (total < 0) total = 0;
                bool upper = strcmp(ap, "SAME_LOWER") != 0;
                c->pl[i] = upper ? total / 2 : total - total / 2;
                c->pr[i] = total - c->pl[i];
            } else if (same) {
                out[i] = in * c->s[i];
                int64_t total = c->s[i] * (in - 1) + c->out_pad[i] + ke - out[i];
                if (total < 0) total = 0;
                bool upper = !strcmp(ap, "SAME_UPPER");
                c->pl[i] = upper ? total / 2 : total - total / 2;
                c->pr[i] = total - c->pl[i];
            } else {
                if (!strcmp(ap, "VALID")) c->pl[i] = c->pr[i] = 0;
                out[i] = c->s[i] * (in - 1) + c->out_pad[i] + ke - c->pl[i] - c->pr[i];
            }
        }
        if (out[i] < 0) {
            node_err(e, g, n, 400, "the output would have a negative size");
            return -1;
        }
    }
    return 0;
}

static int infer_conv_common(nn_graph *g, nn_node *n, err *e, bool transpose, nn_dtype out_t)
{
    if (need_inputs(g, n, 2, transpose ? 3 : 4, e)) return -1;
    const nn_value *x = node_in(g, n, 0), *w = node_in(g, n, 1), *b = node_in(g, n, 2);
    /* the kernels read weights and bias as the input's type */
    if (strcmp(n->op_type, "ConvInteger") &&
        (w->dtype != x->dtype || (b && b->dtype != x->dtype))) {
        node_err(e, g, n, 400, "input, weights and bias must have one type");
        return -1;
    }
    conv_geo c;
    int64_t sp[3];
    if (conv_geometry(g, n, x, w, transpose, &c, sp, e) != 0) return -1;
    int64_t C = x->dims[1];
    int64_t M = transpose ? w->dims[1] * c.group : w->dims[0];
    int64_t wc = transpose ? w->dims[0] : w->dims[1] * c.group;
    if (wc != C || M % c.group || (transpose ? 0 : M % c.group) || C % c.group) {
        node_err(e, g, n, 400, "weights %lldx%lld do not fit %lld input channels in %lld groups",
                 (long long)w->dims[0], (long long)w->dims[1], (long long)C, (long long)c.group);
        return -1;
    }
    if (b && strcmp(n->op_type, "ConvInteger") && (b->rank != 1 || b->dims[0] != M)) {
        node_err(e, g, n, 400, "bias must have %lld values", (long long)M);
        return -1;
    }
    int64_t d[5] = {x->dims[0], M};
    for (int i = 0; i < c.sp; i++) d[2 + i] = sp[i];
    set_out(g, n, 0, out_t, x->rank, d);
    return 0;
}

static int infer_conv(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 3, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    if (!is_float(x->dtype) || node_in(g, n, 1)->dtype != x->dtype) {
        node_err(e, g, n, 400, "needs float inputs of one type");
        return -1;
    }
    return infer_conv_common(g, n, e, false, x->dtype);
}

static int infer_convtranspose(nn_graph *g, nn_node *n, err *e)
{
    const nn_value *x = node_in(g, n, 0);
    if (x && !is_float(x->dtype)) {
        node_err(e, g, n, 400, "needs float inputs");
        return -1;
    }
    return infer_conv_common(g, n, e, true, x ? x->dtype : NN_F32);
}

/* ---------------------------------------------------------------- reference */

/* The geometry of 1 to 3 spatial dims as 3, the missing leading ones of size 1, so one
 * loop nest serves them all. */
static void ref_dims(const conv_geo *c, const nn_value *xv, const int64_t *sp, int64_t in[3],
                     int64_t out[3], int64_t k[3], int64_t s[3], int64_t d[3], int64_t pl[3])
{
    for (int o = 0; o < 3; o++) in[o] = out[o] = k[o] = s[o] = d[o] = 1, pl[o] = 0;
    for (int i = 0; i < c->sp; i++) {
        int o = 3 - c->sp + i;
        in[o] = xv->dims[2 + i];
        out[o] = sp[i];
        k[o] = c->k[i];
        s[o] = c->s[i];
        d[o] = c->d[i];
        pl[o] = c->pl[i];
    }
}

/* Direct convolution over up to 3 spatial dims, accumulating in double: slow, obviously
 * right, used for constant folding, odd cases and as the reference in tests. xv and yv
 * describe input and output as [N, C, spatial...] whatever their values say (nn.ConvNHWC
 * passes views); nhwc says where channels are in memory. */
static int conv_ref_as(nn_exec *x, const nn_value *xv, const nn_value *yv, bool nhwc)
{
    const nn_value *wv = x_vin(x, 1);
    conv_geo c;
    int64_t sp[3];
    if (conv_geometry((nn_graph *)x->g, x->n, xv, wv, false, &c, sp, x->e) != 0) return -1;
    nn_dtype t = xv->dtype;
    const void *X = x_in(x, 0), *W = x_in(x, 1), *B = x_in(x, 2);
    void *Y = x_out(x, 0);
    int64_t N = xv->dims[0], C = xv->dims[1], M = yv->dims[1];
    int64_t cg = C / c.group, mg = M / c.group;
    int64_t in[3], out[3], k[3], s[3], d[3], pl[3];
    ref_dims(&c, xv, sp, in, out, k, s, d, pl);
    int64_t isz = in[0] * in[1] * in[2], osz = out[0] * out[1] * out[2], ksz = k[0] * k[1] * k[2];
    int nt = par_threads(x, N * M * osz * cg * ksz / 16);
#pragma omp parallel for collapse(2) num_threads(nt) schedule(static)
    for (int64_t nb = 0; nb < N; nb++)
        for (int64_t m = 0; m < M; m++) {
            int64_t gi = m / mg;
            for (int64_t o0 = 0; o0 < out[0]; o0++)
                for (int64_t o1 = 0; o1 < out[1]; o1++)
                    for (int64_t o2 = 0; o2 < out[2]; o2++) {
                        double acc = B ? get_num(B, t, m) : 0;
                        for (int64_t ci = 0; ci < cg; ci++) {
                            int64_t ch = gi * cg + ci;
                            for (int64_t k0 = 0; k0 < k[0]; k0++) {
                                int64_t i0 = o0 * s[0] - pl[0] + k0 * d[0];
                                if (i0 < 0 || i0 >= in[0]) continue;
                                for (int64_t k1 = 0; k1 < k[1]; k1++) {
                                    int64_t i1 = o1 * s[1] - pl[1] + k1 * d[1];
                                    if (i1 < 0 || i1 >= in[1]) continue;
                                    for (int64_t k2 = 0; k2 < k[2]; k2++) {
                                        int64_t i2 = o2 * s[2] - pl[2] + k2 * d[2];
                                        if (i2 < 0 || i2 >= in[2]) continue;
                                        int64_t at = (i0 * in[1] + i1) * in[2] + i2;
                                        double xv_ = get_num(X, t,
                                                             nhwc ? (nb * isz + at) * C + ch
                                                                  : (nb * C + ch) * isz + at);
                                        double wv_ = get_num(W, t,
                                                             (m * cg + ci) * ksz +
                                                                 (k0 * k[1] + k1) * k[2] + k2);
                                        acc += xv_ * wv_;
                                    }
                                }
                            }
                        }
                        int64_t at = (o0 * out[1] + o1) * out[2] + o2;
                        put_num(Y, t, nhwc ? (nb * osz + at) * M + m : (nb * M + m) * osz + at,
                                acc);
                    }
        }
    if (t == NN_F32) post_apply(x, Y, x_vout(x, 0));
    return 0;
}

static int conv_ref(nn_exec *x)
{
    return conv_ref_as(x, x_vin(x, 0), x_vout(x, 0), false);
}

static int convtranspose_ref(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *wv = x_vin(x, 1), *yv = x_vout(x, 0);
    conv_geo c;
    int64_t sp[3];
    if (conv_geometry((nn_graph *)x->g, x->n, xv, wv, true, &c, sp, x->e) != 0) return -1;
    nn_dtype t = xv->dtype;
    const void *X = x_in(x, 0), *W = x_in(x, 1), *B = x_in(x, 2);
    void *Y = x_out(x, 0);
    int64_t N = xv->dims[0], C = xv->dims[1], M = yv->dims[1];
    int64_t cg = C / c.group, mg = M / c.group;
    int64_t in[3], out[3], k[3], s[3], d[3], pl[3];
    ref_dims(&c, xv, sp, in, out, k, s, d, pl);
    int64_t isz = in[0] * in[1] * in[2], osz = out[0] * out[1] * out[2], ksz = k[0] * k[1] * k[2];
    double *acc = xcalloc((size_t)(N * M * osz + 1), sizeof *acc);
    for (int64_t nb = 0; nb < N; nb++)
        for (int64_t ch = 0; ch < C; ch++) {
            int64_t gi = ch / cg;
            for (int64_t i0 = 0; i0 < in[0]; i0++)
                for (int64_t i1 = 0; i1 < in[1]; i1++)
                    for (int64_t i2 = 0; i2 < in[2]; i2++) {
                        double xval =
                            get_num(X, t, (nb * C + ch) * isz + (i0 * in[1] + i1) * in[2] + i2);
                        for (int64_t mm = 0; mm < mg; mm++) {
                            int64_t m = gi * mg + mm;
                            for (int64_t k0 = 0; k0 < k[0]; k0++) {
                                int64_t o0 = i0 * s[0] - pl[0] + k0 * d[0];
                                if (o0 < 0 || o0 >= out[0]) continue;
                                for (int64_t k1 = 0; k1 < k[1]; k1++) {
                                    int64_t o1 = i1 * s[1] - pl[1] + k1 * d[1];
                                    if (o1 < 0 || o1 >= out[1]) continue;
                                    for (int64_t k2 = 0; k2 < k[2]; k2++) {
                                        int64_t o2 = i2 * s[2] - pl[2] + k2 * d[2];
                                        if (o2 < 0 || o2 >= out[2]) continue;
                                        double w = get_num(W, t,
                                                           (ch * mg + mm) * ksz +
                                                               (k0 * k[1] + k1) * k[2] + k2);
                                        acc[(nb * M + m) * osz + (o0 * out[1] + o1) * out[2] +
                                            o2] += xval * w;
                                    }
                                }
                            }
                        }
                    }
        }
    for (int64_t nb = 0; nb < N; nb++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t o = 0; o < osz; o++) {
                double v = acc[(nb * M + m) * osz + o] + (B ? get_num(B, t, m) : 0);
                put_num(Y, t, (nb * M + m) * osz + o, v);
            }
    free(acc);
    if (t == NN_F32) post_apply(x, Y, yv);
    return 0;
}

/* ---------------------------------------------------------------- oneDNN */

/* Weights in oneDNN's logical order: conv (g, oc/g, ic/g, k...) for ONNX (oc, ic/g, k...),
 * deconv (g, oc/g, ic/g, k...) for ONNX (ic, oc/g, k...) by strides. */
static int weights_md(dnnl_memory_desc_t *md, const nn_value *w, int64_t group, bool transpose,
                      dnnl_data_type_t dt, bool any)
{
    int sp = w->rank - 2;
    int64_t ksz = 1;
    for (int i = 0; i < sp; i++) ksz *= w->dims[2 + i];
    int64_t dims[6], str[6];
    int r = 0;
    int64_t oc, ic;
    if (!transpose) {
        oc = w->dims[0];
        ic = w->dims[1] * group;
    } else {
        ic = w->dims[0];
        oc = w->dims[1] * group;
    }
    if (group > 1) dims[r++] = group;
    dims[r++] = oc / group;
    dims[r++] = ic / group;
    for (int i = 0; i < sp; i++) dims[r++] = w->dims[2 + i];
    if (any) {
        dnnl_dims_t d;
        for (int i = 0; i < r; i++) d[i] = dims[i];
        return dnnl_memory_desc_init_by_tag(md, r, d, dt, dnnl_format_tag_any) == dnnl_success ? 0
                                                                                               : -1;
    }
    int64_t sk[3] = {1, 1, 1};
    for (int i = sp - 1, s = 1; i >= 0; i--) {
        sk[i] = s;
        s *= (int)w->dims[2 + i];
    }
    int k = 0;
    if (!transpose) {
        if (group > 1) str[k++] = (oc / group) * (ic / group) * ksz;
        str[k++] = (ic / group) * ksz;
        str[k++] = ksz;
    } else {
        if (group > 1) str[k++] = (ic / group) * (oc / group) * ksz;
        str[k++] = ksz;
        str[k++] = (oc / group) * ksz;
    }
    for (int i = 0; i < sp; i++) str[k++] = sk[i];
    return dnn_md_strided(md, r, dims, str, dt);
}

static bool conv_dnn_ok(const nn_prep *p)
{
    const nn_value *x = node_in(p->g, p->n, 0), *w = node_in(p->g, p->n, 1),
                   *b = node_in(p->g, p->n, 2);
    if (x->dtype != NN_F32 || w->kind != NN_V_CONST || (b && b->kind != NN_V_CONST)) return false;
    return true;
}

/* Sets up the oneDNN (de)convolution in f32 or, for a bf16 plan, bf16: 1 when done, 0 when
 * oneDNN has none (bf16: none but its reference code), -1 on error. */
static int conv_try(nn_prep *p, err *e, bool transpose, bool bf16)
{
    nn_graph *g = p->g;
    nn_node *n = p->n;
    const nn_value *x = node_in(g, n, 0), *w = node_in(g, n, 1), *b = node_in(g, n, 2),
                   *y = node_out(g, n, 0);
    conv_geo c;
    int64_t sp[3];
    if (conv_geometry(g, n, x, w, transpose, &c, sp, e) != 0) return -1;
    dnnl_data_type_t dt = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t src, dst, wany, wplain, bias;
    int xl = p->plan->buf[n->in[0]].layout, yl = p->plan->buf[n->out[0]].layout;
    if (dnn_md(&src, x, xl, dt) != 0 || dnn_md(&dst, y, yl, dnnl_f32) != 0) return 0;
    if (weights_md(&wany, w, c.group, transpose, dt, true) != 0 ||
        weights_md(&wplain, w, c.group, transpose, dnnl_f32, false) != 0)
        return 0;
    if (b) dnn_md(&bias, b, NN_L_PLAIN, dnnl_f32);
    dnnl_dims_t strides, dil, pl, pr;
    for (int i = 0; i < c.sp; i++) {
        strides[i] = c.s[i];
        dil[i] = c.d[i] - 1;
        pl[i] = c.pl[i];
        pr[i] = c.pr[i];
        if (transpose) pr[i] = c.pr[i] - c.out_pad[i];
        if (pr[i] < 0) return 0;
    }
    dnn_bf16_state *bs = xcalloc(1, sizeof *bs);
    dnn_state *st = &bs->d;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s;
    if (!transpose) {
        dnnl_convolution_desc_t cd;
        s = dnnl_dilated_convolution_forward_desc_init(
            &cd, dnnl_forward_inference, dnnl_convolution_direct, &src, &wany, b ? &bias : NULL,
            &dst, strides, dil, pl, pr);
        if (s == dnnl_success) pd = dnn_pd(p, st, &cd, &dst);
    } else {
        dnnl_deconvolution_desc_t dd;
        s = dnnl_dilated_deconvolution_forward_desc_init(
            &dd, dnnl_forward_inference, dnnl_deconvolution_direct, &src, &wany, b ? &bias : NULL,
            &dst, strides, dil, pl, pr);
        if (s == dnnl_success) pd = dnn_pd(p, st, &dd, &dst);
    }
    if (pd && bf16 && dnn_is_ref(pd)) {
        dnnl_primitive_desc_destroy(pd);
        pd = NULL;
    }
    if (!pd) {
        dnn_state_free(st);
        if (!bf16 && (xl != NN_L_PLAIN || yl != NN_L_PLAIN)) {
            node_err(e, p->g, n, 500, "oneDNN has no convolution for this blocked layout");
            return -1;
        }
        return 0;
    }
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnn_arg_value(st, DNNL_ARG_SRC, bf16 ? DNN_VALUE_SCRATCH : n->in[0], &src);
    dnn_arg_value(st, DNNL_ARG_DST, n->out[0], &dst);
    if (dnn_arg_const(st, DNNL_ARG_WEIGHTS, w->data, &wplain, wmd) != 0 ||
        (b && dnn_arg_const(st, DNNL_ARG_BIAS, b->data, &bias, &bias) != 0)) {
        dnnl_primitive_desc_destroy(pd);
        dnn_state_free(st);
        return 0;
    }
    if (dnn_finish(p, st, pd, e) != 0) return -1;
    if (bf16) dnn_bf16_finish(p, bs, (int64_t)(layout_bytes(x, xl) / sizeof(float)));
    return 1;
}

static int prepare_conv_common(nn_prep *p, err *e, bool transpose)
{
    if (!conv_dnn_ok(p)) return 0; /* the reference handles it */
    int r = 0;
    if (p->m->p.precision == NN_PRECISION_BF16) r = conv_try(p, e, transpose, true);
    if (r == 0) r = conv_try(p, e, transpose, false);
    return r < 0 ? -1 : 0;
}

static int prepare_conv(nn_prep *p, err *e)
{
    return prepare_conv_common(p, e, false);
}

/* ---------------------------------------------------------------- kernel == stride */

/* A 2-D ConvTranspose whose kernel equals its stride, without padding, dilation or groups
 * (SAM's upscaling), gives every input pixel its own kh x kw block of the output: one
 * matrix product T = W^T X ([Co kh kw, Ci] x [Ci, H W]) and an interleave of T's rows into
 * the output with bias and post-ops. oneDNN's deconvolution ran it at a third of the
 * speed, and only in the blocked layout, which cost a conversion on each side. */
bool convtranspose_is_shuffle(const nn_graph *g, const nn_node *n)
{
    if (strcmp(n->op_type, "ConvTranspose") || n->n_out != 1) return false;
    const nn_value *x = node_in(g, n, 0), *w = node_in(g, n, 1), *b = node_in(g, n, 2),
                   *y = node_out(g, n, 0);
    if (!x || !w || !y || x->rank != 4 || x->dtype != NN_F32 || w->kind != NN_V_CONST ||
        w->dtype != NN_F32 || w->rank != 4 || !w->data ||
        (b && (b->kind != NN_V_CONST || b->dtype != NN_F32 || !b->data)))
        return false;
    if (attr_i(n, "group", 1) != 1 || node_attr(n, "output_shape") ||
        strcmp(attr_s(n, "auto_pad", "NOTSET"), "NOTSET"))
        return false;
    int64_t v[8];
    int cnt = attr_ints(n, "kernel_shape", v, 8);
    if (cnt >= 0 && (cnt != 2 || v[0] != w->dims[2] || v[1] != w->dims[3])) return false;
    cnt = attr_ints(n, "strides", v, 8);
    if (cnt != 2 || v[0] != w->dims[2] || v[1] != w->dims[3]) return false;
    const char *zero[] = {"dilations", "pads", "output_padding"};
    for (int i = 0; i < 3; i++) {
        cnt = attr_ints(n, zero[i], v, 8);
        for (int j = 0; j < cnt; j++)
            if (v[j] != (i == 0)) return false;
    }
    return y->rank == 4 && y->dims[2] == x->dims[2] * w->dims[2] &&
           y->dims[3] == x->dims[3] * w->dims[3] && y->dims[1] == w->dims[1] &&
           x->dims[1] == w->dims[0];
}

typedef struct shuffle_state {
    dnn_state d; /* first: the product into the scratch, run by dnn_run */
    int64_t N, Ci, Co, H, W, kh, kw;
    bool bias;
    float b[];
} shuffle_state;

static int run_convtranspose_shuffle(nn_exec *x)
{
    const shuffle_state *s = x->state;
    if (dnn_run(x) != 0) return -1;
    const float *T = x->scratch;
    float *Y = x_out(x, 0);
    const nn_node *n = x->n;
    int64_t hw = s->H * s->W, ow = s->W * s->kw, oh = s->H * s->kh, M = s->Co * s->kh * s->kw;
    int64_t groups = s->N * s->Co * s->H;
    bool acts_only = true;
    for (int i = 0; i < n->n_post; i++)
        if (n->post[i].kind == NN_POST_ADD || n->post[i].kind == NN_POST_MUL) acts_only = false;
    int nt = par_threads(x, groups * s->kh * ow);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t r = 0; r < groups; r++) {
        int64_t nb = r / (s->Co * s->H), co = r / s->H % s->Co, h = r % s->H;
        float bias = s->bias ? s->b[co] : 0.f;
        float *y = Y + ((nb * s->Co + co) * oh + h * s->kh) * ow;
        for (int64_t i = 0; i < s->kh; i++) {
            const float *t = T + (nb * M + (co * s->kh + i) * s->kw) * hw + h * s->W;
            float *yr = y + i * ow;
            if (s->kw == 2) {
                for (int64_t w = 0; w < s->W; w++) {
                    yr[2 * w] = t[w] + bias;
                    yr[2 * w + 1] = t[hw + w] + bias;
                }
            } else {
                for (int64_t w = 0; w < s->W; w++)
                    for (int64_t j = 0; j < s->kw; j++) yr[w * s->kw + j] = t[j * hw + w] + bias;
            }
        }
        if (acts_only)
            for (int i = 0; i < n->n_post; i++)
                post_act(x->k, &n->post[i], y, (size_t)(s->kh * ow));
    }
    if (!acts_only) post_apply(x, Y, x_vout(x, 0));
    return 0;
}

static int prepare_convtranspose_shuffle(nn_prep *p, err *e)
{
    nn_graph *g = p->g;
    nn_node *n = p->n;
    const nn_value *x = node_in(g, n, 0), *w = node_in(g, n, 1), *b = node_in(g, n, 2);
    int64_t N = x->dims[0], Ci = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t Co = w->dims[1], kh = w->dims[2], kw = w->dims[3], M = Co * kh * kw, hw = H * W;
    /* A: W read as its transpose [M, Ci]; B: the input [N, Ci, HW]; T: [N, M, HW] */
    int64_t ad[3] = {1, M, Ci}, as[3] = {M * Ci, 1, M};
    int64_t bd[3] = {N, Ci, hw}, bs[3] = {Ci * hw, hw, 1};
    int64_t td[3] = {N, M, hw}, ts[3] = {M * hw, hw, 1};
    if (dnn_node_empty(g, n)) return 0;
    dnnl_memory_desc_t amd, bmd, tmd;
    if (dnn_md_strided(&amd, 3, ad, as, dnnl_f32) || dnn_md_strided(&bmd, 3, bd, bs, dnnl_f32) ||
        dnn_md_strided(&tmd, 3, td, ts, dnnl_f32))
        return 0;
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_matmul_desc_init(&md, &amd, &bmd, NULL, &tmd) != dnnl_success ||
        dnnl_primitive_attr_create(&attr) != dnnl_success)
        return 0;
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (dnnl_primitive_desc_create(&pd, &md, attr, dnn_engine(), NULL) != dnnl_success) pd = NULL;
    dnnl_primitive_attr_destroy(attr);
    if (!pd) return 0;
    shuffle_state *s = xcalloc(1, sizeof *s + sizeof(float) * (size_t)Co);
    *s = (shuffle_state){
        .N = N, .Ci = Ci, .Co = Co, .H = H, .W = W, .kh = kh, .kw = kw, .bias = b != NULL};
    if (b) memcpy(s->b, b->data, sizeof(float) * (size_t)Co);
    if (dnn_arg_const(&s->d, DNNL_ARG_SRC, w->data, &amd, &amd) != 0) {
        dnnl_primitive_desc_destroy(pd);
        dnn_state_free(&s->d);
        return 0;
    }
    dnn_arg_value(&s->d, DNNL_ARG_WEIGHTS, n->in[0], &bmd);
    dnn_arg_value(&s->d, DNNL_ARG_DST, DNN_VALUE_SCRATCH, &tmd);
    if (dnn_finish(p, &s->d, pd, e) != 0) {
        dnn_state_free(&s->d);
        return -1;
    }
    size_t tbytes = ((size_t)(N * M * hw) * sizeof(float) + 63) / 64 * 64;
    s->d.scratch_off = tbytes;
    p->scratch = tbytes + s->d.scratch;
    p->run = run_convtranspose_shuffle;
    return 0;
}

static int prepare_convtranspose(nn_prep *p, err *e)
{
    if (convtranspose_is_shuffle(p->g, p->n) && p->plan->buf[p->n->in[0]].layout == NN_L_PLAIN &&
        p->plan->buf[p->n->out[0]].layout == NN_L_PLAIN)
        return prepare_convtranspose_shuffle(p, e);
    return prepare_conv_common(p, e, true);
}

/* ---------------------------------------------------------------- nn.ConvNHWC */

/* nn.ConvNHWC(X [N, H*W, C], W, B), Conv's attributes plus in_h, in_w: a 2-D convolution
 * on tokens, the channels-last layout transformer blocks keep, writing [N, OH*OW, Co].
 * pass_conv_nhwc puts it where a Conv sat between Transpose/Reshape pairs that turned
 * tokens into NCHW and back (TinyViT's local convolutions): oneDNN reads and writes the
 * tokens by strides, and the two transposes and two layout conversions are not run. */
static int nhwc_views(nn_graph *g, const nn_node *n, nn_value *xv4, nn_value *yv4, err *e)
{
    const nn_value *x = node_in(g, n, 0), *w = node_in(g, n, 1);
    int64_t H = attr_i(n, "in_h", 0), W = attr_i(n, "in_w", 0);
    if (x->rank != 3 || !w || w->rank != 4 || H <= 0 || W <= 0 || H * W != x->dims[1]) {
        node_err(e, g, n, 400, "needs [N, H*W, C] tokens and 4-D weights");
        return -1;
    }
    *xv4 = *x;
    xv4->rank = 4;
    int64_t xd[4] = {x->dims[0], x->dims[2], H, W};
    memcpy(xv4->dims, xd, sizeof xd);
    conv_geo c;
    int64_t sp[3];
    if (conv_geometry(g, n, xv4, w, false, &c, sp, e) != 0) return -1;
    if (w->dims[1] * c.group != xd[1] || w->dims[0] % c.group) {
        node_err(e, g, n, 400, "weights do not fit %lld channels", (long long)xd[1]);
        return -1;
    }
    *yv4 = *xv4;
    int64_t yd[4] = {xd[0], w->dims[0], sp[0], sp[1]};
    memcpy(yv4->dims, yd, sizeof yd);
    return 0;
}

static int infer_convnhwc(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 3, e)) return -1;
    nn_value xv4, yv4;
    if (nhwc_views(g, n, &xv4, &yv4, e) != 0) return -1;
    int64_t d[3] = {yv4.dims[0], yv4.dims[2] * yv4.dims[3], yv4.dims[1]};
    set_out(g, n, 0, node_in(g, n, 0)->dtype, 3, d);
    return 0;
}

static int convnhwc_ref(nn_exec *x)
{
    nn_value xv4, yv4;
    if (nhwc_views((nn_graph *)x->g, x->n, &xv4, &yv4, x->e) != 0) return -1;
    return conv_ref_as(x, &xv4, &yv4, true);
}

static int prepare_convnhwc(nn_prep *p, err *e)
{
    if (!conv_dnn_ok(p)) return 0;
    nn_graph *g = p->g;
    nn_node *n = p->n;
    const nn_value *w = node_in(g, n, 1), *b = node_in(g, n, 2);
    nn_value xv4, yv4;
    if (nhwc_views(g, n, &xv4, &yv4, e) != 0) return -1;
    conv_geo c;
    int64_t sp[3];
    if (conv_geometry(g, n, &xv4, w, false, &c, sp, e) != 0) return -1;
    const int64_t *xd = xv4.dims, *yd = yv4.dims;
    int64_t xs[4] = {xd[2] * xd[3] * xd[1], 1, xd[3] * xd[1], xd[1]};
    int64_t ys[4] = {yd[2] * yd[3] * yd[1], 1, yd[3] * yd[1], yd[1]};
    dnnl_memory_desc_t src, dst, wany, wplain, bias;
    if (dnn_md_strided(&src, 4, xd, xs, dnnl_f32) || dnn_md_strided(&dst, 4, yd, ys, dnnl_f32) ||
        weights_md(&wany, w, c.group, false, dnnl_f32, true) != 0 ||
        weights_md(&wplain, w, c.group, false, dnnl_f32, false) != 0)
        return 0;
    if (b) dnn_md(&bias, b, NN_L_PLAIN, dnnl_f32);
    dnnl_dims_t strides, dil, pl, pr;
    for (int i = 0; i < 2; i++) {
        strides[i] = c.s[i];
        dil[i] = c.d[i] - 1;
        pl[i] = c.pl[i];
        pr[i] = c.pr[i];
    }
    dnn_state *st = xcalloc(1, sizeof *st);
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_dilated_convolution_forward_desc_init(
            &cd, dnnl_forward_inference, dnnl_convolution_direct, &src, &wany, b ? &bias : NULL,
            &dst, strides, dil, pl, pr) == dnnl_success)
        pd = dnn_pd(p, st, &cd, &dst);
    if (pd && dnn_is_ref(pd)) {
        dnnl_primitive_desc_destroy(pd);
        pd = NULL;
    }
    if (!pd) {
        dnn_state_free(st);
        return 0;
    }
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnn_arg_value(st, DNNL_ARG_SRC, n->in[0], &src);
    dnn_arg_value(st, DNNL_ARG_DST, n->out[0], &dst);
    if (dnn_arg_const(st, DNNL_ARG_WEIGHTS, w->data, &wplain, wmd) != 0 ||
        (b && dnn_arg_const(st, DNNL_ARG_BIAS, b->data, &bias, &bias) != 0)) {
        dnnl_primitive_desc_destroy(pd);
        dnn_state_free(st);
        return 0;
    }
    return dnn_finish(p, st, pd, e);
}

const nn_op nn_ops_conv[] = {
    {"Conv", infer_conv, conv_ref, prepare_conv, 0, 0},
    {"ConvTranspose", infer_convtranspose, convtranspose_ref, prepare_convtranspose, 0, 0},
    {"nn.ConvNHWC", infer_convnhwc, convnhwc_ref, prepare_convnhwc, 0, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
