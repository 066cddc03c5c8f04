/* nn.Attention(Q, Kt, V [, bias]), attribute scale: softmax(Q Kt * scale + bias) V over the
 * last two axes, for every index of the leading (batch and head) axes, which Q, Kt and V
 * share. Kt is K already transposed ([..., D, Lk]), as the MatMul it replaces took it.
 * Inserted by pass_attention; each (batch, head) is computed in a per-thread score
 * buffer that stays in cache.
 *
 * With attributes q_bshd / v_bshd / o_bshd (rank 4 only), Q, V or the output are in the
 * [batch, sequence, head, dim] layout the projections produce, read and written by
 * strides: the head split and merge Transposes around attention are not run. */
#include "nn/ops.h"

#include <omp.h>
#include <stdlib.h>

typedef struct att_geo {
    int64_t batches, Lq, Lk, D, Dv;
    int64_t bias_batches; /* distinct bias slices (1 = shared) */
    int64_t H;            /* heads per batch (Kt's axis -3; 1 for rank 2) */
    bool q_bshd, v_bshd, o_bshd;
} att_geo;

static void geometry(const nn_graph *g, const nn_node *n, att_geo *a)
{
    const nn_value *q = node_in(g, n, 0), *k = node_in(g, n, 1), *v = node_in(g, n, 2),
                   *b = node_in(g, n, 3);
    a->q_bshd = attr_i(n, "q_bshd", 0);
    a->v_bshd = attr_i(n, "v_bshd", 0);
    a->o_bshd = attr_i(n, "o_bshd", 0);
    a->H = k->rank >= 3 ? k->dims[k->rank - 3] : 1;
    a->Lq = q->dims[q->rank - (a->q_bshd ? 3 : 2)];
    a->D = q->dims[q->rank - 1];
    a->Lk = k->dims[k->rank - 1];
    a->Dv = v->dims[v->rank - 1];
    a->batches = a->Lq * a->D > 0 ? value_count(q) / (a->Lq * a->D) : 0;
    a->bias_batches = b && a->Lq * a->Lk > 0 ? value_count(b) / (a->Lq * a->Lk) : 0;
}

static int infer_attention(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 3, 4, e)) return -1;
    const nn_value *q = node_in(g, n, 0), *k = node_in(g, n, 1), *v = node_in(g, n, 2);
    att_geo a;
    geometry(g, n, &a);
    if ((a.q_bshd || a.v_bshd || a.o_bshd) &&
        (q->rank != 4 || k->rank != 4 || v->rank != 4 || q->dims[a.q_bshd ? 2 : 1] != a.H ||
         v->dims[a.v_bshd ? 2 : 1] != a.H)) {
        node_err(e, g, n, 400,
                 "the [batch, sequence, head, dim] layouts need rank 4 and %lld heads",
                 (long long)a.H);
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    memcpy(d, k->dims, sizeof d);
    d[q->rank - 2] = a.Lq;
    d[q->rank - 1] = a.Dv;
    if (a.o_bshd) {
        d[1] = a.Lq;
        d[2] = a.H;
    }
    set_out(g, n, 0, NN_F32, q->rank, d);
    return 0;
}

/* Which bias slice batch index `bi` reads: the bias covers the trailing batch axes. */
static int64_t bias_slice(const att_geo *a, int64_t bi)
{
    return a->bias_batches ? bi % a->bias_batches : 0;
}

/* Offset of head bi's first row in a [B, L, H, d] (bshd) or [..., L, d] tensor, and the
 * stride between its rows. */
static int64_t head_at(const att_geo *a, int64_t bi, int64_t L, int64_t d, bool bshd, size_t *ld)
{
    *ld = (size_t)(bshd ? a->H * d : d);
    return bshd ? (bi / a->H * L * a->H + bi % a->H) * d : bi * L * d;
}

static void one_head(const nn_exec *x, const att_geo *a, int64_t bi, float *s, float scale)
{
    size_t lq, lv, lo;
    const float *Q = (const float *)x_in(x, 0) + head_at(a, bi, a->Lq, a->D, a->q_bshd, &lq);
    const float *K = (const float *)x_in(x, 1) + bi * a->D * a->Lk;
    const float *V = (const float *)x_in(x, 2) + head_at(a, bi, a->Lk, a->Dv, a->v_bshd, &lv);
    const float *B =
        x_in(x, 3) ? (const float *)x_in(x, 3) + bias_slice(a, bi) * a->Lq * a->Lk : NULL;
    float *O = (float *)x_out(x, 0) + head_at(a, bi, a->Lq, a->Dv, a->o_bshd, &lo);
    x->k->sgemm((size_t)a->Lq, (size_t)a->Lk, (size_t)a->D, Q, lq, K, (size_t)a->Lk, s,
                (size_t)a->Lk);
    for (int64_t i = 0; i < a->Lq; i++) {
        float *row = s + i * a->Lk;
        x->k->binary_scalar[NN_BIN_MUL](row, scale, row, (size_t)a->Lk, 0);
        if (B) x->k->binary[NN_BIN_ADD](row, B + i * a->Lk, row, (size_t)a->Lk);
        x->k->softmax(row, row, (size_t)a->Lk);
    }
    x->k->sgemm((size_t)a->Lq, (size_t)a->Dv, (size_t)a->Lk, s, (size_t)a->Lk, V, lv, O, lo);
}

static int run_attention(nn_exec *x)
{
    att_geo a;
    geometry(x->g, x->n, &a);
    float scale = attr_f(x->n, "scale", 1.0f);
    size_t per = (size_t)(a.Lq * a.Lk);
    float *scratch = x->scratch;
    float *own = NULL;
    int nt = a.batches > 1 && a.Lq * a.Lk * a.D * a.batches > 65536 ? x->threads : 1;
    if (!scratch) own = scratch = xmalloc(per * (size_t)nt * sizeof(float) + 64);
#pragma omp parallel num_threads(nt)
    {
        float *s = scratch + per * (size_t)omp_get_thread_num();
#pragma omp for schedule(static)
        for (int64_t bi = 0; bi < a.batches; bi++) one_head(x, &a, bi, s, scale);
    }
    free(own);
    return 0;
}

/* Planned runs get their score buffers from the arena. */
static int prepare_attention(nn_prep *p, err *e)
{
    (void)e;
    att_geo a;
    geometry(p->g, p->n, &a);
    p->scratch = (size_t)(a.Lq * a.Lk) * sizeof(float) * (size_t)p->m->threads + 64;
    return 0;
}

const nn_op nn_ops_attention[] = {
    {"nn.Attention", infer_attention, run_attention, prepare_attention, 0, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
