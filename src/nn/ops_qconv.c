/* nn.QConv (from pass_qconv): y = float(ConvInteger(xq, w, xz, wz)) * scale [+ bias[c]], then
 * the node's post-operations; xq uint8 NHWC (DynamicQuantizeLinear writes it so), y float
 * NCHW.
 *
 * oneDNN's int8 convolutions take uint8 data with a zero point but only signed weights
 * without one, while these models carry uint8 weights with a zero point. Exactly:
 *   sum (x - xz)(w - wz) = sum (x - xz)(w - 128) + (128 - wz) * sum (x - xz)
 * so one convolution runs with weights w - 128 and a second, with all-one weights and one
 * output per group, gives the window sums of x - xz; the epilogue adds them up in int32
 * and then does the float operations in the order the unfused graph does them. */
#include "nn/dnn.h"

#include <omp.h>
#include <stdlib.h>

typedef struct qconv_st {
    int64_t N, C, M, G, P; /* P: output pixels per image */
    dnnl_primitive_t prim[2];
    dnnl_memory_desc_t src_md, dst_md[2], sp_md[2];
    dnnl_memory_t wmem[2];
    void *wbuf[2];
    size_t acc_off, sum_off, sp_off, tmp_off, sp_size;
    int32_t *comp; /* per output channel: the weights' offset from -128 */
    bool has_sum;
} qconv_st;

typedef struct qconv_sess {
    dnnl_memory_t src[2], dst[2], sp[2], zp;
    void *cached_src, *cached_scratch;
    int32_t zp_val;
} qconv_sess;

static void qconv_free(void *v)
{
    qconv_st *st = v;
    if (!st) return;
    for (int i = 0; i < 2; i++) {
        if (st->prim[i]) dnnl_primitive_destroy(st->prim[i]);
        if (st->wmem[i]) dnnl_memory_destroy(st->wmem[i]);
        free(st->wbuf[i]);
    }
    free(st->comp);
    free(st);
}

static int infer_qconv(nn_graph *g, nn_node *n, err *e)
{
    /* the integer convolution's shape rules, a float result */
    const nn_op *ci = nn_op_find("", "ConvInteger");
    int keep = n->n_in;
    n->n_in = 4;
    int rc = ci->infer(g, n, e);
    n->n_in = keep;
    if (rc != 0) return -1;
    node_out(g, n, 0)->dtype = NN_F32;
    return 0;
}

static void geometry(const nn_graph *g, const nn_node *n, int64_t *s, int64_t *d, int64_t *p)
{
    int64_t t[8];
    s[0] = s[1] = d[0] = d[1] = 1;
    p[0] = p[1] = p[2] = p[3] = 0;
    if (attr_ints(n, "strides", t, 8) == 2) s[0] = t[0], s[1] = t[1];
    if (attr_ints(n, "dilations", t, 8) == 2) d[0] = t[0], d[1] = t[1];
    if (attr_ints(n, "pads", t, 8) == 4) memcpy(p, t, 4 * sizeof *p);
    const char *ap = attr_s(n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
        const nn_value *x = node_in(g, n, 0), *w = node_in(g, n, 1), *y = node_out(g, n, 0);
        for (int i = 0; i < 2; i++) {
            int64_t ke = (w->dims[2 + i] - 1) * d[i] + 1;
            int64_t total = (y->dims[2 + i] - 1) * s[i] + ke - x->dims[2 + i];
            if (total < 0) total = 0;
            p[i] = !strcmp(ap, "SAME_LOWER") ? (total + 1) / 2 : total / 2;
            p[i + 2] = total - p[i];
        }
    }
    if (!strcmp(ap, "VALID")) p[0] = p[1] = p[2] = p[3] = 0;
}

/* The output element (n, m, oh, ow) as the unfused graph computes it. */
static float reference_one(const nn_exec *x, int64_t nb, int64_t m, int64_t oh, int64_t ow,
                           bool nhwc)
{
    const nn_value *xv = x_vin(x, 0), *wv = x_vin(x, 1), *wzv = x_vin(x, 3);
    int64_t s[2], d[2], p[4];
    geometry(x->g, x->n, s, d, p);
    int64_t C = xv->dims[1], H = xv->dims[2], W = xv->dims[3], M = wv->dims[0];
    int64_t G = attr_i(x->n, "group", 1), cg = C / G, mg = M / G, gi = m / mg;
    int xz = x_in(x, 2) ? to_int(get_num(x_in(x, 2), x_vin(x, 2)->dtype, 0)) : 0;
    int wz = wzv ? to_int(get_num(x_in(x, 3), wzv->dtype, value_count(wzv) > 1 ? m : 0)) : 0;
    int32_t acc = 0;
    for (int64_t c = 0; c < cg; c++)
        for (int64_t kh = 0; kh < wv->dims[2]; kh++) {
            int64_t ih = oh * s[0] - p[0] + kh * d[0];
            if (ih < 0 || ih >= H) continue;
            for (int64_t kw = 0; kw < wv->dims[3]; kw++) {
                int64_t iw = ow * s[1] - p[1] + kw * d[1];
                if (iw < 0 || iw >= W) continue;
                int64_t xi = nhwc ? ((nb * H + ih) * W + iw) * C + gi * cg + c
                                  : ((nb * C + gi * cg + c) * H + ih) * W + iw;
                int xq = to_int(get_num(x_in(x, 0), xv->dtype, xi));
                int wq = to_int(get_num(x_in(x, 1), wv->dtype,
                                        ((m * cg + c) * wv->dims[2] + kh) * wv->dims[3] + kw));
                acc += (xq - xz) * (wq - wz);
            }
        }
    float v = (float)acc * *(const float *)x_in(x, 4);
    if (x_in(x, 5)) v = v + ((const float *)x_in(x, 5))[m];
    return v;
}

/* Reference: one element at a time, from an NCHW (or, planned, NHWC) input. */
static int qconv_ref(nn_exec *x, bool nhwc)
{
    const nn_value *yv = x_vout(x, 0);
    float *Y = x_out(x, 0);
    int64_t N = yv->dims[0], M = yv->dims[1], OH = yv->dims[2], OW = yv->dims[3];
    for (int64_t nb = 0; nb < N; nb++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++)
                    Y[((nb * M + m) * OH + oh) * OW + ow] = reference_one(x, nb, m, oh, ow, nhwc);
    post_apply(x, Y, yv);
    return 0;
}

static int run_qconv_ref(nn_exec *x)
{
    return qconv_ref(x, false);
}

static int run_qconv_ref_nhwc(nn_exec *x)
{
    return qconv_ref(x, true);
}

static void *qconv_sess_create(const nn_plan *p, const nn_step *step, err *e)
{
    const qconv_st *st = step->state;
    qconv_sess *s = xcalloc(1, sizeof *s);
    dnnl_memory_desc_t zmd;
    dnnl_dims_t one = {1};
    dnnl_memory_desc_init_by_tag(&zmd, 1, one, dnnl_s32, dnnl_x);
    bool ok = dnnl_memory_create(&s->zp, &zmd, dnn_engine(), &s->zp_val) == dnnl_success;
    for (int i = 0; i < 1 + st->has_sum && ok; i++) {
        ok &= dnnl_memory_create(&s->src[i], &st->src_md, dnn_engine(), DNNL_MEMORY_NONE) ==
              dnnl_success;
        ok &= dnnl_memory_create(&s->dst[i], &st->dst_md[i], dnn_engine(), DNNL_MEMORY_NONE) ==
              dnnl_success;
        ok &= dnnl_memory_create(&s->sp[i], &st->sp_md[i], dnn_engine(), DNNL_MEMORY_NONE) ==
              dnnl_success;
    }
    if (!ok) {
        err_set(e, 500, "%s: cannot create oneDNN memory", p->m->file);
        return NULL;
    }
    return s;
}

static void qconv_sess_destroy(void *v)
{
    qconv_sess *s = v;
    for (int i = 0; i < 2; i++) {
        if (s->src[i]) dnnl_memory_destroy(s->src[i]);
        if (s->dst[i]) dnnl_memory_destroy(s->dst[i]);
        if (s->sp[i]) dnnl_memory_destroy(s->sp[i]);
    }
    if (s->zp) dnnl_memory_destroy(s->zp);
    free(s);
}

static const nn_sess_ops qconv_sess_ops = {qconv_sess_create, qconv_sess_destroy};

#define PIX 16

static int run_qconv(nn_exec *x)
{
    const qconv_st *st = x->state;
    qconv_sess *s = x->sess_state;
    char *scratch = x->scratch;
    void *src = x_in(x, 0);
    if (src != s->cached_src || scratch != s->cached_scratch) {
        for (int i = 0; i < 1 + st->has_sum; i++) {
            dnnl_memory_set_data_handle(s->src[i], src);
            dnnl_memory_set_data_handle(s->dst[i], scratch + (i ? st->sum_off : st->acc_off));
            dnnl_memory_set_data_handle(s->sp[i], scratch + st->sp_off);
        }
        s->cached_src = src;
        s->cached_scratch = scratch;
    }
    s->zp_val = x_in(x, 2) ? *(const uint8_t *)x_in(x, 2) : 0;
    for (int i = 0; i < 1 + st->has_sum; i++) {
        dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, s->src[i]},
                                   {DNNL_ARG_WEIGHTS, st->wmem[i]},
                                   {DNNL_ARG_DST, s->dst[i]},
                                   {DNNL_ARG_SCRATCHPAD, s->sp[i]},
                                   {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, s->zp}};
        if (dnnl_primitive_execute(st->prim[i], x->dnnl_stream, 5, args) != dnnl_success) {
            node_err(x->e, x->g, x->n, 500, "oneDNN failed to execute");
            return -1;
        }
    }
    dnnl_stream_wait(x->dnnl_stream);
    const int32_t *acc = (const int32_t *)(scratch + st->acc_off);
    const int32_t *sum = (const int32_t *)(scratch + st->sum_off);
    float scale = *(const float *)x_in(x, 4);
    const float *bias = x_in(x, 5);
    float *Y = x_out(x, 0);
    int64_t M = st->M, P = st->P, mg = st->M / st->G, blocks = (P + PIX - 1) / PIX;
    const nn_node *n = x->n;
    int nt = par_threads(x, st->N * P * M);
#pragma omp parallel num_threads(nt)
    {
        float *tmp =
            (float *)(scratch + st->tmp_off) + (size_t)omp_get_thread_num() * (size_t)(M * PIX);
#pragma omp for collapse(2) schedule(static)
        for (int64_t nb = 0; nb < st->N; nb++)
            for (int64_t b = 0; b < blocks; b++) {
                int64_t p0 = b * PIX, np = P - p0 < PIX ? P - p0 : PIX;
                for (int64_t q = 0; q < np; q++) {
                    const int32_t *a = acc + (nb * P + p0 + q) * M;
                    const int32_t *sm = st->has_sum ? sum + (nb * P + p0 + q) * st->G : NULL;
                    for (int64_t c = 0; c < M; c++) {
                        int32_t v = a[c];
                        if (sm) v += st->comp[c] * sm[c / mg];
                        float f = (float)v * scale;
                        if (bias) f = f + bias[c];
                        tmp[c * PIX + q] = f;
                    }
                }
                for (int64_t c = 0; c < M; c++) {
                    float *row = tmp + c * PIX;
                    float *out = Y + (nb * M + c) * P + p0;
                    for (int i = 0; i < n->n_post; i++) {
                        const nn_post *pp = &n->post[i];
                        if (pp->kind == NN_POST_ADD || pp->kind == NN_POST_MUL) {
                            const float *o =
                                (const float *)x->ptr[pp->value] + (nb * M + c) * P + p0;
                            x->k->binary[pp->kind == NN_POST_ADD ? NN_BIN_ADD : NN_BIN_MUL](
                                row, o, row, (size_t)np);
                        } else {
                            post_act(x->k, pp, row, (size_t)np);
                        }
                    }
                    memcpy(out, row, (size_t)np * sizeof *out);
                }
            }
    }
    return 0;
}

/* oneDNN u8 x s8 -> s32 convolution with a runtime source zero point, NHWC. */
static int make_conv(nn_prep *p, qconv_st *st, int i, const int8_t *w, int64_t O, int64_t kh,
                     int64_t kw, int64_t groups)
{
    const nn_value *xv = node_in(p->g, p->n, 0), *yv = node_out(p->g, p->n, 0);
    int64_t s[2], d[2], pd[4];
    geometry(p->g, p->n, s, d, pd);
    dnnl_dims_t sd = {xv->dims[0], xv->dims[1], xv->dims[2], xv->dims[3]};
    dnnl_dims_t dd = {yv->dims[0], O, yv->dims[2], yv->dims[3]};
    dnnl_memory_desc_t wany, wplain;
    if (dnnl_memory_desc_init_by_tag(&st->src_md, 4, sd, dnnl_u8, dnnl_nhwc) ||
        dnnl_memory_desc_init_by_tag(&st->dst_md[i], 4, dd, dnnl_s32, dnnl_nhwc))
        return -1;
    if (groups > 1) {
        dnnl_dims_t wd = {groups, O / groups, xv->dims[1] / groups, kh, kw};
        dnnl_memory_desc_init_by_tag(&wany, 5, wd, dnnl_s8, dnnl_format_tag_any);
        dnnl_memory_desc_init_by_tag(&wplain, 5, wd, dnnl_s8, dnnl_goihw);
    } else {
        dnnl_dims_t wd = {O, xv->dims[1], kh, kw};
        dnnl_memory_desc_init_by_tag(&wany, 4, wd, dnnl_s8, dnnl_format_tag_any);
        dnnl_memory_desc_init_by_tag(&wplain, 4, wd, dnnl_s8, dnnl_oihw);
    }
    dnnl_dims_t str = {s[0], s[1]}, dil = {d[0] - 1, d[1] - 1}, pl = {pd[0], pd[1]},
                pr = {pd[2], pd[3]};
    dnnl_convolution_desc_t cd;
    if (dnnl_dilated_convolution_forward_desc_init(
            &cd, dnnl_forward_inference, dnnl_convolution_direct, &st->src_md, &wany, NULL,
            &st->dst_md[i], str, dil, pl, pr) != dnnl_success)
        return -1;
    dnnl_primitive_attr_t attr;
    dnnl_primitive_attr_create(&attr);
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    int32_t rt = DNNL_RUNTIME_S32_VAL;
    dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_SRC, 1, 0, &rt);
    dnnl_primitive_desc_t pdsc = NULL;
    dnnl_status_t rc = dnnl_primitive_desc_create(&pdsc, &cd, attr, dnn_engine(), NULL);
    dnnl_primitive_attr_destroy(attr);
    if (rc != dnnl_success) return -1;
    const char *impl = NULL;
    dnnl_primitive_desc_query(pdsc, dnnl_query_impl_info_str, 0, &impl);
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pdsc, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *spm = dnnl_primitive_desc_query_md(pdsc, dnnl_query_scratchpad_md, 0);
    st->sp_md[i] = *spm;
    size_t sp = dnnl_memory_desc_get_size(spm);
    if (sp > st->sp_size) st->sp_size = sp;
    /* weights reordered once into the primitive's layout, through a temporary state */
    dnn_state tmp = {0};
    bool ok = (!impl || strncmp(impl, "ref", 3)) &&
              dnn_arg_const(&tmp, DNNL_ARG_WEIGHTS, w, &wplain, wmd) == 0 &&
              dnnl_primitive_create(&st->prim[i], pdsc) == dnnl_success;
    dnnl_primitive_desc_destroy(pdsc);
    if (tmp.n_args) {
        st->wmem[i] = tmp.args[0].cmem;
        st->wbuf[i] = tmp.args[0].cdata;
    }
    return ok ? 0 : -1;
}

static int prepare_qconv(nn_prep *p, err *e)
{
    (void)e;
    nn_node *n = p->n;
    const nn_value *xv = node_in(p->g, n, 0), *wv = node_in(p->g, n, 1), *yv = node_out(p->g, n, 0);
    const nn_value *xz = node_in(p->g, n, 2), *wz = node_in(p->g, n, 3);
    if (p->plan->buf[n->in[0]].layout == NN_L_NHWC)
        p->run = run_qconv_ref_nhwc; /* unless oneDNN takes it */
    if (p->plan->buf[n->in[0]].layout != NN_L_NHWC || xv->dtype != NN_U8 || !wv->data ||
        (wv->dtype != NN_U8 && wv->dtype != NN_I8) || (xz && xz->dtype != NN_U8) ||
        (wz && !wz->data) || yv->dtype != NN_F32 || dnn_node_empty(p->g, n))
        return 0;
    qconv_st *st = xcalloc(1, sizeof *st);
    int64_t M = wv->dims[0], cg = wv->dims[1], kh = wv->dims[2], kw = wv->dims[3];
    st->N = xv->dims[0];
    st->C = xv->dims[1];
    st->M = M;
    st->G = attr_i(n, "group", 1);
    st->P = yv->dims[2] * yv->dims[3];
    int64_t per = cg * kh * kw;
    int8_t *w8 = xmalloc((size_t)(M * per) + 1);
    st->comp = xcalloc((size_t)M + 1, sizeof *st->comp);
    bool u8 = wv->dtype == NN_U8;
    for (int64_t m = 0; m < M; m++) {
        int z = wz ? to_int(get_num(wz->data, wz->dtype, value_count(wz) > 1 ? m : 0)) : 0;
        st->comp[m] = (u8 ? 128 : 0) - z;
        st->has_sum |= st->comp[m] != 0;
        for (int64_t k = 0; k < per; k++) {
            int v = u8 ? ((const uint8_t *)wv->data)[m * per + k] - 128
                       : ((const int8_t *)wv->data)[m * per + k];
            w8[m * per + k] = (int8_t)v;
        }
    }
    int rc = make_conv(p, st, 0, w8, M, kh, kw, st->G);
    free(w8);
    if (rc == 0 && st->has_sum) {
        int8_t *ones = xmalloc((size_t)(st->G * per) + 1);
        memset(ones, 1, (size_t)(st->G * per));
        rc = make_conv(p, st, 1, ones, st->G, kh, kw, st->G);
        free(ones);
    }
    if (rc != 0) {
        qconv_free(st);
        return 0; /* the reference takes it */
    }
    size_t acc_bytes = (size_t)(st->N * st->P * M) * 4,
           sum_bytes = (size_t)(st->N * st->P * st->G) * 4;
    st->acc_off = 0;
    st->sum_off = (acc_bytes + 63) & ~(size_t)63;
    st->sp_off = st->sum_off + ((sum_bytes + 63) & ~(size_t)63);
    st->tmp_off = st->sp_off + ((st->sp_size + 63) & ~(size_t)63);
    p->scratch = st->tmp_off + (size_t)(M * PIX) * 4 * (size_t)p->m->threads + 64;
    p->state = st;
    p->free_state = qconv_free;
    p->run = run_qconv;
    p->sess = &qconv_sess_ops;
    p->owns_weights = true;
    return 0;
}

const nn_op nn_ops_qconv[] = {
    {"nn.QConv", infer_qconv, run_qconv_ref, prepare_qconv, 0, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
