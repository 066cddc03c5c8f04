/* MatMul and Gemm: a reference loop, and oneDNN matmul with constant weights reordered
 * once, transposes expressed as strides and fused post-operations. */
#include "nn/dnn.h"

#include <stdlib.h>

/* ---------------------------------------------------------------- MatMul */

/* Shapes of a numpy matmul: A [..., M, K] x B [..., K, N] -> [..., M, N], 1-D operands
 * promoted and the promoted axis dropped from the result. */
typedef struct mm_geo {
    int rank; /* of the broadcast batch + 2 */
    int64_t M, K, N;
    int64_t batch[NN_MAX_RANK];
    int nb;
    int64_t ad[NN_MAX_RANK], bd[NN_MAX_RANK]; /* A and B as rank-`rank` shapes */
} mm_geo;

static int mm_geometry(const nn_value *a, const nn_value *b, mm_geo *m, int64_t *out, int *out_rank)
{
    if (a->rank < 1 || b->rank < 1) return -1;
    int64_t ad[NN_MAX_RANK + 1], bd[NN_MAX_RANK + 1];
    int ar = a->rank, br = b->rank;
    memcpy(ad, a->dims, sizeof(int64_t) * (size_t)ar);
    memcpy(bd, b->dims, sizeof(int64_t) * (size_t)br);
    bool a1 = ar == 1, b1 = br == 1;
    if (a1) {
        ad[1] = ad[0];
        ad[0] = 1;
        ar = 2;
    }
    if (b1) {
        bd[1] = 1;
        br = 2;
    }
    m->M = ad[ar - 2];
    m->K = ad[ar - 1];
    m->N = bd[br - 1];
    if (bd[br - 2] != m->K) return -1;
    int64_t batch[NN_MAX_RANK];
    int nb;
    if (broadcast_shape(ad, ar - 2, bd, br - 2, batch, &nb) != 0) return -1;
    if (nb + 2 > NN_MAX_RANK) return -1;
    m->nb = nb;
    memcpy(m->batch, batch, sizeof(int64_t) * (size_t)nb);
    m->rank = nb + 2;
    for (int i = 0; i < m->rank; i++) {
        int ia = i - (m->rank - ar), ib = i - (m->rank - br);
        m->ad[i] = ia >= 0 ? ad[ia] : 1;
        m->bd[i] = ib >= 0 ? bd[ib] : 1;
    }
    int r = 0;
    for (int i = 0; i < nb; i++) out[r++] = batch[i];
    if (!a1) out[r++] = m->M;
    if (!b1) out[r++] = m->N;
    *out_rank = r;
    return 0;
}

static int infer_matmul(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 2, e)) return -1;
    const nn_value *a = node_in(g, n, 0), *b = node_in(g, n, 1);
    if (a->dtype != b->dtype || !is_float(a->dtype)) {
        node_err(e, g, n, 400, "needs two float inputs of one type");
        return -1;
    }
    mm_geo m;
    int64_t d[NN_MAX_RANK];
    int r;
    if (mm_geometry(a, b, &m, d, &r) != 0) {
        char sa[96], sb[96];
        nn_shape_str(a->dims, a->rank, sa, sizeof sa);
        nn_shape_str(b->dims, b->rank, sb, sizeof sb);
        node_err(e, g, n, 400, "cannot multiply %s by %s", sa, sb);
        return -1;
    }
    set_out(g, n, 0, a->dtype, r, d);
    return 0;
}

static int matmul_ref(nn_exec *x)
{
    const nn_value *av = x_vin(x, 0), *bv = x_vin(x, 1), *yv = x_vout(x, 0);
    mm_geo m;
    int64_t d[NN_MAX_RANK];
    int r;
    mm_geometry(av, bv, &m, d, &r);
    nn_dtype t = av->dtype;
    int64_t batches = nn_shape_count(m.batch, m.nb);
    int64_t ast[NN_MAX_RANK], bst[NN_MAX_RANK];
    row_strides(m.ad, m.rank, ast);
    row_strides(m.bd, m.rank, bst);
    const void *A = x_in(x, 0), *B = x_in(x, 1);
    void *Y = x_out(x, 0);
    int nt = par_threads(x, batches * m.M * m.N * m.K / 8);
#pragma omp parallel for collapse(2) num_threads(nt) schedule(static)
    for (int64_t bi = 0; bi < batches; bi++)
        for (int64_t i = 0; i < m.M; i++) {
            int64_t rem = bi, ao = 0, bo = 0;
            for (int dd = m.nb - 1; dd >= 0; dd--) {
                int64_t c = rem % m.batch[dd];
                rem /= m.batch[dd];
                if (m.ad[dd] != 1) ao += c * ast[dd];
                if (m.bd[dd] != 1) bo += c * bst[dd];
            }
            for (int64_t j = 0; j < m.N; j++) {
                double acc = 0;
                if (t == NN_F32) {
                    const float *a = (const float *)A + ao + i * m.K;
                    const float *b = (const float *)B + bo + j;
                    for (int64_t k = 0; k < m.K; k++) acc += (double)a[k] * b[k * m.N];
                    ((float *)Y)[(bi * m.M + i) * m.N + j] = (float)acc;
                } else {
                    for (int64_t k = 0; k < m.K; k++)
                        acc += get_num(A, t, ao + i * m.K + k) * get_num(B, t, bo + k * m.N + j);
                    put_num(Y, t, (bi * m.M + i) * m.N + j, acc);
                }
            }
        }
    if (t == NN_F32) post_apply(x, Y, yv);
    return 0;
}

static int dnn_matmul_as(nn_prep *p, int a_val, const int64_t *ad, const int64_t *as, int b_val,
                         const void *b_data, const int64_t *bd, const int64_t *bs, int rank,
                         const void *bias, int64_t N, bool bf16, err *e);

/* A matmul primitive for A [..., M, K] and B [..., K, N] given as (dims, strides) of the
 * same rank, output plain. B constant: reordered into oneDNN's preferred layout. */
static int dnn_matmul(nn_prep *p, int a_val, const int64_t *ad, const int64_t *as, int b_val,
                      const void *b_data, const int64_t *bd, const int64_t *bs, int rank,
                      const void *bias, int64_t N, err *e)
{
    const nn_value *y = node_out(p->g, p->n, 0);
    int64_t yd[DNNL_MAX_NDIMS];
    for (int i = 0; i < rank; i++) yd[i] = i < rank - 2 ? (ad[i] > bd[i] ? ad[i] : bd[i]) : 0;
    yd[rank - 2] = ad[rank - 2];
    yd[rank - 1] = bd[rank - 1];
    if (nn_shape_count(yd, rank) != value_count(y)) return 0;
    /* bf16: constant weights and a source read in order (its copy is made by element) */
    int64_t arow[DNNL_MAX_NDIMS];
    row_strides(ad, rank, arow);
    bool bf16 = p->m->p.precision == NN_PRECISION_BF16 && b_data &&
                !memcmp(arow, as, sizeof(int64_t) * (size_t)rank) &&
                nn_shape_count(ad, rank) == value_count(&p->g->v[a_val]);
    int r = dnn_matmul_as(p, a_val, ad, as, b_val, b_data, bd, bs, rank, bias, N, bf16, e);
    if (r == 0 && bf16)
        r = dnn_matmul_as(p, a_val, ad, as, b_val, b_data, bd, bs, rank, bias, N, false, e);
    return r < 0 ? -1 : 0;
}

/* dnn_matmul in f32 or bf16: 1 when set up, 0 when oneDNN has no (fast) primitive, -1 on
 * error. */
static int dnn_matmul_as(nn_prep *p, int a_val, const int64_t *ad, const int64_t *as, int b_val,
                         const void *b_data, const int64_t *bd, const int64_t *bs, int rank,
                         const void *bias, int64_t N, bool bf16, err *e)
{
    nn_node *n = p->n;
    dnnl_memory_desc_t src, wts, wplain, dst, bmd;
    int64_t yd[DNNL_MAX_NDIMS], ys[DNNL_MAX_NDIMS];
    for (int i = 0; i < rank; i++) yd[i] = i < rank - 2 ? (ad[i] > bd[i] ? ad[i] : bd[i]) : 0;
    yd[rank - 2] = ad[rank - 2];
    yd[rank - 1] = bd[rank - 1];
    row_strides(yd, rank, ys);
    dnnl_data_type_t dt = bf16 ? dnnl_bf16 : dnnl_f32;
    if (dnn_md_strided(&src, rank, ad, as, dt) || dnn_md_strided(&dst, rank, yd, ys, dnnl_f32) ||
        dnn_md_strided(&wplain, rank, bd, bs, dnnl_f32))
        return 0;
    if (b_data) {
        dnnl_dims_t d;
        for (int i = 0; i < rank; i++) d[i] = bd[i];
        if (dnnl_memory_desc_init_by_tag(&wts, rank, d, dt, dnnl_format_tag_any) != dnnl_success)
            return 0;
    } else {
        wts = wplain;
    }
    if (bias) {
        int64_t bdim[DNNL_MAX_NDIMS], bstr[DNNL_MAX_NDIMS];
        for (int i = 0; i < rank; i++) bdim[i] = 1;
        bdim[rank - 1] = N;
        row_strides(bdim, rank, bstr);
        dnn_md_strided(&bmd, rank, bdim, bstr, dnnl_f32);
    }
    dnn_bf16_state *bst = xcalloc(1, sizeof *bst);
    dnn_state *st = &bst->d;
    dnnl_matmul_desc_t md;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_matmul_desc_init(&md, &src, &wts, bias ? &bmd : NULL, &dst) == dnnl_success)
        pd = dnn_pd(p, st, &md, &dst);
    if (pd && bf16 && dnn_is_ref(pd)) {
        dnnl_primitive_desc_destroy(pd);
        pd = NULL;
    }
    if (!pd) {
        dnn_state_free(st);
        return 0;
    }
    dnn_arg_value(st, DNNL_ARG_SRC, bf16 ? DNN_VALUE_SCRATCH : a_val, &src);
    dnn_arg_value(st, DNNL_ARG_DST, n->out[0], &dst);
    int rc = 0;
    if (b_data) {
        const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        rc = dnn_arg_const(st, DNNL_ARG_WEIGHTS, b_data, &wplain, wmd);
    } else {
        dnn_arg_value(st, DNNL_ARG_WEIGHTS, b_val, &wplain);
    }
    if (rc == 0 && bias) rc = dnn_arg_const(st, DNNL_ARG_BIAS, bias, &bmd, &bmd);
    if (rc != 0) {
        dnnl_primitive_desc_destroy(pd);
        dnn_state_free(st);
        return 0;
    }
    if (dnn_finish(p, st, pd, e) != 0) return -1;
    if (bf16) dnn_bf16_finish(p, bst, nn_shape_count(ad, rank));
    return 1;
}

/* A few rows times a wide activation (SAM's 4 x 32 by 32 x 65536 mask product): oneDNN's
 * setup costs more than the product, our register-blocked kernel streams B once. */
static int run_matmul_small_m(nn_exec *x)
{
    const nn_value *av = x_vin(x, 0), *bv = x_vin(x, 1), *yv = x_vout(x, 0);
    int64_t M = av->dims[av->rank - 2], K = av->dims[av->rank - 1], N = bv->dims[bv->rank - 1];
    const float *A = x_in(x, 0), *B = x_in(x, 1);
    float *Y = x_out(x, 0);
    int64_t cols = 256, chunks = (N + cols - 1) / cols;
    int nt = par_threads(x, M * N * K);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t j0 = c * cols, w = N - j0 < cols ? N - j0 : cols;
        x->k->sgemm((size_t)M, (size_t)w, (size_t)K, A, (size_t)K, B + j0, (size_t)N, Y + j0,
                    (size_t)N);
    }
    post_apply(x, Y, yv);
    return 0;
}

static int prepare_matmul(nn_prep *p, err *e)
{
    nn_node *n = p->n;
    const nn_value *a = node_in(p->g, n, 0), *b = node_in(p->g, n, 1);
    if (a->dtype != NN_F32 || a->rank < 2 || b->rank < 2) return 0;
    mm_geo m;
    int64_t d[NN_MAX_RANK];
    int r;
    if (mm_geometry(a, b, &m, d, &r) != 0 || m.rank > DNNL_MAX_NDIMS) return 0;
    int64_t as[NN_MAX_RANK], bs[NN_MAX_RANK];
    row_strides(m.ad, m.rank, as);
    row_strides(m.bd, m.rank, bs);
    bool bconst = b->kind == NN_V_CONST;
    if (a->kind == NN_V_CONST) return 0;
    if (!bconst && nn_shape_count(m.batch, m.nb) == 1 && m.M <= 8 && m.N >= 1024 &&
        a->rank == b->rank) {
        p->run = run_matmul_small_m;
        return 0;
    }
    return dnn_matmul(p, n->in[0], m.ad, as, n->in[1], bconst ? b->data : NULL, m.bd, bs, m.rank,
                      NULL, m.N, e);
}

/* ---------------------------------------------------------------- Gemm */

static int infer_gemm(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 3, e)) return -1;
    const nn_value *a = node_in(g, n, 0), *b = node_in(g, n, 1), *c = node_in(g, n, 2);
    if (a->rank != 2 || b->rank != 2 || !is_float(a->dtype) || b->dtype != a->dtype ||
        (c && c->dtype != a->dtype)) {
        node_err(e, g, n, 400, "needs 2-D A and B and a C of one float type");
        return -1;
    }
    bool ta = attr_i(n, "transA", 0), tb = attr_i(n, "transB", 0);
    int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
    int64_t K2 = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K != K2) {
        node_err(e, g, n, 400, "inner dimensions %lld and %lld differ", (long long)K,
                 (long long)K2);
        return -1;
    }
    int64_t d[2] = {M, N}, t[NN_MAX_RANK];
    int r;
    if (c && broadcast_shape(d, 2, c->dims, c->rank, t, &r) != 0) {
        node_err(e, g, n, 400, "C does not broadcast to %lldx%lld", (long long)M, (long long)N);
        return -1;
    }
    set_out(g, n, 0, a->dtype, 2, d);
    return 0;
}

static int gemm_ref(nn_exec *x)
{
    const nn_value *av = x_vin(x, 0), *cv = x_vin(x, 2), *yv = x_vout(x, 0);
    bool ta = attr_i(x->n, "transA", 0), tb = attr_i(x->n, "transB", 0);
    double alpha = attr_f(x->n, "alpha", 1.0f), beta = attr_f(x->n, "beta", 1.0f);
    int64_t M = yv->dims[0], N = yv->dims[1], K = ta ? av->dims[0] : av->dims[1];
    nn_dtype t = av->dtype;
    const void *A = x_in(x, 0), *B = x_in(x, 1), *C = x_in(x, 2);
    void *Y = x_out(x, 0);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += get_num(A, t, ta ? k * M + i : i * K + k) *
                       get_num(B, t, tb ? j * K + k : k * N + j);
            acc *= alpha;
            if (C)
                acc +=
                    beta * get_num(C, t, bcast_index(i * N + j, yv->dims, 2, cv->dims, cv->rank));
            put_num(Y, t, i * N + j, acc);
        }
    if (t == NN_F32) post_apply(x, Y, yv);
    return 0;
}

static int prepare_gemm(nn_prep *p, err *e)
{
    nn_node *n = p->n;
    const nn_value *a = node_in(p->g, n, 0), *b = node_in(p->g, n, 1), *c = node_in(p->g, n, 2);
    const nn_value *y = node_out(p->g, n, 0);
    if (a->dtype != NN_F32 || a->kind == NN_V_CONST) return 0;
    if (attr_f(n, "alpha", 1.0f) != 1.0f) return 0;
    bool ta = attr_i(n, "transA", 0), tb = attr_i(n, "transB", 0);
    int64_t M = y->dims[0], N = y->dims[1], K = ta ? a->dims[0] : a->dims[1];
    const void *bias = NULL;
    if (c) {
        /* a constant [N] or [1, N] with beta 1 becomes the bias; anything else: reference */
        if (attr_f(n, "beta", 1.0f) != 1.0f || c->kind != NN_V_CONST || value_count(c) != N ||
            (c->rank == 2 && c->dims[0] != 1) || c->dtype != NN_F32)
            return 0;
        bias = c->data;
    }
    int64_t ad[2] = {M, K}, as[2] = {ta ? 1 : K, ta ? M : 1};
    int64_t bd[2] = {K, N}, bs[2] = {tb ? 1 : N, tb ? K : 1};
    bool bconst = b->kind == NN_V_CONST;
    return dnn_matmul(p, n->in[0], ad, as, n->in[1], bconst ? b->data : NULL, bd, bs, 2, bias, N,
                      e);
}

const nn_op nn_ops_matmul[] = {
    {"MatMul", infer_matmul, matmul_ref, prepare_matmul, 0, 0},
    {"Gemm", infer_gemm, gemm_ref, prepare_gemm, 0, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
