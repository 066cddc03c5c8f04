/* Pooling: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool. A reference loop over up
 * to three spatial dimensions, and oneDNN pooling (any layout) for the planned run. */
#include "nn/dnn.h"

#include <float.h>
#include <stdlib.h>

typedef struct pool_geo {
    int sp;
    int64_t k[3], s[3], d[3], pl[3], pr[3], out[3];
} pool_geo;

static int pool_geometry(nn_graph *g, const nn_node *n, const nn_value *x, pool_geo *p, err *e)
{
    memset(p, 0, sizeof *p);
    p->sp = x->rank - 2;
    if (p->sp < 1 || p->sp > 3) {
        node_err(e, g, n, 400, "input rank %d: expected 3 to 5", x->rank);
        return -1;
    }
    int64_t t[8];
    if (attr_ints(n, "kernel_shape", t, 8) != p->sp) {
        node_err(e, g, n, 400, "kernel_shape must have %d values", p->sp);
        return -1;
    }
    for (int i = 0; i < p->sp; i++) p->k[i] = t[i];
    int c = attr_ints(n, "strides", t, 8);
    for (int i = 0; i < p->sp; i++) p->s[i] = c == p->sp ? t[i] : 1;
    c = attr_ints(n, "dilations", t, 8);
    for (int i = 0; i < p->sp; i++) p->d[i] = c == p->sp ? t[i] : 1;
    c = attr_ints(n, "pads", t, 8);
    for (int i = 0; i < p->sp; i++) {
        p->pl[i] = c == 2 * p->sp ? t[i] : 0;
        p->pr[i] = c == 2 * p->sp ? t[i + p->sp] : 0;
    }
    bool ceil_mode = attr_i(n, "ceil_mode", 0) != 0;
    const char *ap = attr_s(n, "auto_pad", "NOTSET");
    for (int i = 0; i < p->sp; i++) {
        if (p->k[i] < 1 || p->s[i] < 1 || p->d[i] < 1 || p->pl[i] < 0 || p->pr[i] < 0) {
            node_err(e, g, n, 400,
                     "kernel, strides and dilations must be positive and pads non-negative");
            return -1;
        }
        int64_t in = x->dims[2 + i], ke = (p->k[i] - 1) * p->d[i] + 1;
        if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
            p->out[i] = (in + p->s[i] - 1) / p->s[i];
            int64_t total = (p->out[i] - 1) * p->s[i] + ke - in;
            if (total < 0) total = 0;
            p->pl[i] = !strcmp(ap, "SAME_LOWER") ? (total + 1) / 2 : total / 2;
            p->pr[i] = total - p->pl[i];
        } else {
            if (!strcmp(ap, "VALID")) p->pl[i] = p->pr[i] = 0;
            int64_t span = in + p->pl[i] + p->pr[i] - ke;
            if (span < 0) {
                node_err(e, g, n, 400, "the kernel is larger than the padded input");
                return -1;
            }
            p->out[i] = (ceil_mode ? (span + p->s[i] - 1) / p->s[i] : span / p->s[i]) + 1;
            /* a window must start inside the input or its left padding */
            if (ceil_mode && (p->out[i] - 1) * p->s[i] >= in + p->pl[i]) p->out[i]--;
        }
    }
    return 0;
}

static int infer_pool(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    pool_geo p;
    if (pool_geometry(g, n, x, &p, e) != 0) return -1;
    int64_t d[5] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < p.sp; i++) d[2 + i] = p.out[i];
    set_out(g, n, 0, x->dtype, x->rank, d);
    if (n->n_out > 1) set_out(g, n, 1, NN_I64, x->rank, d);
    return 0;
}

static int pool_ref(nn_exec *x, bool max)
{
    const nn_value *xv = x_vin(x, 0);
    pool_geo p;
    if (pool_geometry((nn_graph *)x->g, x->n, xv, &p, x->e) != 0) return -1;
    bool incl = attr_i(x->n, "count_include_pad", 0) != 0;
    bool colmajor = attr_i(x->n, "storage_order", 0) != 0 && p.sp == 2;
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1},
            d[3] = {1, 1, 1};
    int64_t pl[3] = {0}, pr[3] = {0};
    for (int i = 0; i < p.sp; i++) {
        int o = 3 - p.sp + i;
        in[o] = xv->dims[2 + i];
        out[o] = p.out[i];
        k[o] = p.k[i];
        s[o] = p.s[i];
        d[o] = p.d[i];
        pl[o] = p.pl[i];
        pr[o] = p.pr[i];
    }
    int64_t NC = xv->dims[0] * xv->dims[1];
    int64_t isz = in[0] * in[1] * in[2], osz = out[0] * out[1] * out[2];
    nn_dtype t = xv->dtype;
    const void *X = x_in(x, 0);
    void *Y = x_out(x, 0);
    int64_t *I = x_out(x, 1);
    int nt = par_threads(x, NC * osz * k[0] * k[1] * k[2]);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t nc = 0; nc < NC; nc++)
        for (int64_t o0 = 0; o0 < out[0]; o0++)
            for (int64_t o1 = 0; o1 < out[1]; o1++)
                for (int64_t o2 = 0; o2 < out[2]; o2++) {
                    double acc = max ? -INFINITY : 0;
                    int64_t cnt = 0, arg = 0;
                    int64_t o[3] = {o0, o1, o2};
                    int64_t lo[3], hi[3];
                    for (int a = 0; a < 3; a++) {
                        lo[a] = o[a] * s[a] - pl[a];
                        hi[a] = lo[a] + (k[a] - 1) * d[a] + 1;
                        if (hi[a] > in[a] + pr[a]) hi[a] = in[a] + pr[a];
                    }
                    int64_t padded = 1;
                    for (int a = 0; a < 3; a++) {
                        int64_t c2 = 0;
                        for (int64_t q = lo[a]; q < hi[a]; q += d[a]) c2++;
                        padded *= c2;
                    }
                    for (int64_t k0 = 0; k0 < k[0]; k0++) {
                        int64_t i0 = lo[0] + k0 * d[0];
                        if (i0 < 0 || i0 >= in[0]) continue;
                        for (int64_t k1 = 0; k1 < k[1]; k1++) {
                            int64_t i1 = lo[1] + k1 * d[1];
                            if (i1 < 0 || i1 >= in[1]) continue;
                            for (int64_t k2 = 0; k2 < k[2]; k2++) {
                                int64_t i2 = lo[2] + k2 * d[2];
                                if (i2 < 0 || i2 >= in[2]) continue;
                                int64_t idx = nc * isz + (i0 * in[1] + i1) * in[2] + i2;
                                double v = get_num(X, t, idx);
                                if (max) {
                                    if (v > acc) {
                                        acc = v;
                                        /* storage_order 1: the index as if the input were
                                         * stored column-major (2-D only) */
                                        arg = colmajor ? nc * isz + i2 * in[1] + i1 : idx;
                                    }
                                } else {
                                    acc += v;
                                }
                                cnt++;
                            }
                        }
                    }
                    int64_t oi = nc * osz + (o0 * out[1] + o1) * out[2] + o2;
                    if (!max) acc = cnt ? acc / (double)(incl ? padded : cnt) : 0;
                    put_num(Y, t, oi, acc);
                    if (I) I[oi] = arg;
                }
    return 0;
}

static int run_maxpool(nn_exec *x)
{
    return pool_ref(x, true);
}

static int run_avgpool(nn_exec *x)
{
    return pool_ref(x, false);
}

static int prepare_pool(nn_prep *p, err *e)
{
    nn_node *n = p->n;
    const nn_value *x = node_in(p->g, n, 0), *y = node_out(p->g, n, 0);
    if (x->dtype != NN_F32 || n->n_out > 1) return 0;
    bool max = !strcmp(n->op_type, "MaxPool");
    pool_geo g;
    if (pool_geometry(p->g, n, x, &g, e) != 0) return -1;
    dnnl_memory_desc_t src, dst;
    int xl = p->plan->buf[n->in[0]].layout, yl = p->plan->buf[n->out[0]].layout;
    if (dnn_md(&src, x, xl, dnnl_f32) || dnn_md(&dst, y, yl, dnnl_f32)) return 0;
    dnnl_dims_t k, s, dl, pl, pr;
    for (int i = 0; i < g.sp; i++) {
        k[i] = g.k[i];
        s[i] = g.s[i];
        dl[i] = g.d[i] - 1;
        pl[i] = g.pl[i];
        /* oneDNN wants the right padding that makes its output size formula hold */
        pr[i] = (g.out[i] - 1) * g.s[i] + (g.k[i] - 1) * g.d[i] + 1 - x->dims[2 + i] - g.pl[i];
        if (pr[i] < 0) pr[i] = 0;
    }
    bool incl = attr_i(n, "count_include_pad", 0) != 0;
    if (!max && incl) {
        /* the ceil-mode extension beyond the pads must not count: only when it is absent */
        for (int i = 0; i < g.sp; i++)
            if (pr[i] != g.pr[i]) return 0;
    }
    dnnl_alg_kind_t alg = max    ? dnnl_pooling_max
                          : incl ? dnnl_pooling_avg_include_padding
                                 : dnnl_pooling_avg_exclude_padding;
    dnn_state *st = xcalloc(1, sizeof *st);
    dnnl_pooling_v2_desc_t pdsc;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_pooling_v2_forward_desc_init(&pdsc, dnnl_forward_inference, alg, &src, &dst, s, k, dl,
                                          pl, pr) == dnnl_success)
        pd = dnn_pd(p, st, &pdsc, &dst);
    if (!pd) {
        dnn_state_free(st);
        if (xl != NN_L_PLAIN) {
            node_err(e, p->g, n, 500, "oneDNN has no pooling for this blocked layout");
            return -1;
        }
        return 0;
    }
    dnn_arg_value(st, DNNL_ARG_SRC, n->in[0], &src);
    dnn_arg_value(st, DNNL_ARG_DST, n->out[0], &dst);
    return dnn_finish(p, st, pd, e);
}

/* ---------------------------------------------------------------- global pooling */

static int infer_global(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    if (x->rank < 3) {
        node_err(e, g, n, 400, "needs rank 3 or more");
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    for (int i = 0; i < x->rank; i++) d[i] = i < 2 ? x->dims[i] : 1;
    set_out(g, n, 0, x->dtype, x->rank, d);
    return 0;
}

static int global_run(nn_exec *x, bool max)
{
    const nn_value *xv = x_vin(x, 0);
    int64_t NC = xv->dims[0] * xv->dims[1], sz = value_count(xv) / (NC ? NC : 1);
    for (int64_t c = 0; c < NC; c++) {
        double acc = max ? -INFINITY : 0;
        for (int64_t i = 0; i < sz; i++) {
            double v = get_num(x_in(x, 0), xv->dtype, c * sz + i);
            acc = max ? (v > acc ? v : acc) : acc + v;
        }
        put_num(x_out(x, 0), xv->dtype, c, max ? acc : acc / (double)sz);
    }
    return 0;
}

static int run_gap(nn_exec *x)
{
    return global_run(x, false);
}

static int run_gmp(nn_exec *x)
{
    return global_run(x, true);
}

const nn_op nn_ops_pool[] = {
    {"MaxPool", infer_pool, run_maxpool, prepare_pool, NN_OP_BLOCKED, 0},
    {"AveragePool", infer_pool, run_avgpool, prepare_pool, 0, 0},
    {"GlobalAveragePool", infer_global, run_gap, NULL, 0, 0},
    {"GlobalMaxPool", infer_global, run_gmp, NULL, 0, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
