/* nn.Attention(Q, Kt, V [, bias]), attribute scale: softmax(Q Kt * scale + bias) V over the
 * last two axes, for every index of the leading (batch and head) axes, which Q, Kt and V
 * share. Kt is K already transposed ([..., D, Lk]), as the MatMul it replaces took it.
 * Inserted by pass_attention; each (batch, head) is computed in a per-thread score
 * buffer that stays in cache.
 *
 * Rank 4 only, the operands may instead be read (and the output written) in the
 * [batch, sequence, head, channels] layout the projections produce, so that the head
 * split and merge Transposes and a q/k/v Split are not run:
 *   q_bshd, v_bshd, o_bshd  Q [B, Lq, H, Cq], V [B, Lk, H, Cv], output [B, Lq, H, Dv]
 *   k_bshd                  K (not transposed) [B, Lk, H, Ck]
 *   q_off, k_off, v_off     where the head's D (Dv) channels start within the C
 *   qk_dim, v_dim           D and Dv when they are not C (the operand is a Split's input)
 */
#include "nn/ops.h"

#include <omp.h>
#include <stdlib.h>

/* How one operand's heads sit in its tensor: head bi = b * H + h, row i, channel c at
 * off + b * sb + h * sh + i * ld + c. */
typedef struct att_view {
    int64_t off, sb, sh, ld;
} att_view;

typedef struct att_geo {
    int64_t batches, Lq, Lk, D, Dv;
    int64_t bias_batches; /* distinct bias slices (1 = shared) */
    int64_t H;            /* heads per batch */
    bool k_bshd;
    att_view q, k, v, o; /* k: rows of K when k_bshd, else Kt's [D, Lk] per head */
} att_geo;

/* A view of a [B, L, H, C] (bshd) or [..., L, d] tensor. */
static att_view view(const nn_value *t, bool bshd, int64_t H, int64_t L, int64_t d, int64_t off)
{
    if (!bshd) return (att_view){.off = 0, .sb = H * L * d, .sh = L * d, .ld = d};
    int64_t C = t->dims[3];
    return (att_view){.off = off, .sb = L * H * C, .sh = C, .ld = H * C};
}

static void geometry(const nn_graph *g, const nn_node *n, att_geo *a)
{
    const nn_value *q = node_in(g, n, 0), *k = node_in(g, n, 1), *v = node_in(g, n, 2),
                   *b = node_in(g, n, 3), *y = node_out(g, n, 0);
    bool qb = attr_i(n, "q_bshd", 0), vb = attr_i(n, "v_bshd", 0), ob = attr_i(n, "o_bshd", 0);
    a->k_bshd = attr_i(n, "k_bshd", 0);
    a->D = attr_i(n, "qk_dim", q->dims[q->rank - 1]);
    a->Dv = attr_i(n, "v_dim", v->dims[v->rank - 1]);
    a->H = a->k_bshd ? k->dims[2] : k->rank >= 3 ? k->dims[k->rank - 3] : 1;
    a->Lq = q->dims[q->rank - (qb ? 3 : 2)];
    a->Lk = a->k_bshd ? k->dims[1] : k->dims[k->rank - 1];
    int64_t lead = 1; /* the batch axes before the head axis, in the plain layout */
    for (int i = 0; i < q->rank - 3; i++) lead *= q->dims[i];
    a->batches = qb ? q->dims[0] * q->dims[2] : lead * (q->rank >= 3 ? q->dims[q->rank - 3] : 1);
    a->bias_batches = b && a->Lq * a->Lk > 0 ? value_count(b) / (a->Lq * a->Lk) : 0;
    a->q = view(q, qb, a->H, a->Lq, a->D, attr_i(n, "q_off", 0));
    a->v = view(v, vb, a->H, a->Lk, a->Dv, attr_i(n, "v_off", 0));
    a->k = a->k_bshd ? view(k, true, a->H, a->Lk, a->D, attr_i(n, "k_off", 0))
                     : view(k, false, a->H, a->D, a->Lk, 0);
    a->o = y && y->rank >= 0 ? view(y, ob, a->H, a->Lq, a->Dv, 0) : (att_view){0};
}

static int infer_attention(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 3, 4, e)) return -1;
    const nn_value *q = node_in(g, n, 0), *k = node_in(g, n, 1), *v = node_in(g, n, 2);
    bool qb = attr_i(n, "q_bshd", 0), vb = attr_i(n, "v_bshd", 0), ob = attr_i(n, "o_bshd", 0),
         kb = attr_i(n, "k_bshd", 0);
    att_geo a;
    geometry(g, n, &a);
    if (qb || vb || ob || kb) {
        bool ok = q->rank == 4 && k->rank == 4 && v->rank == 4 && q->dims[qb ? 2 : 1] == a.H &&
                  v->dims[vb ? 2 : 1] == a.H && a.q.off + a.D <= q->dims[3] &&
                  a.v.off + a.Dv <= v->dims[3] && (!kb || a.k.off + a.D <= k->dims[3]);
        if (!ok) {
            node_err(e, g, n, 400,
                     "the [batch, sequence, head, channels] layouts need rank 4, %lld heads "
                     "and channels for every head",
                     (long long)a.H);
            return -1;
        }
        int64_t d[4] = {q->dims[0], a.H, a.Lq, a.Dv};
        if (ob) {
            d[1] = a.Lq;
            d[2] = a.H;
        }
        set_out(g, n, 0, NN_F32, 4, d);
        return 0;
    }
    int64_t d[NN_MAX_RANK];
    memcpy(d, k->dims, sizeof d);
    d[q->rank - 2] = a.Lq;
    d[q->rank - 1] = a.Dv;
    set_out(g, n, 0, NN_F32, q->rank, d);
    return 0;
}

/* Which bias slice batch index `bi` reads: the bias covers the trailing batch axes. */
static int64_t bias_slice(const att_geo *a, int64_t bi)
{
    return a->bias_batches ? bi % a->bias_batches : 0;
}

static int64_t head_at(const att_geo *a, const att_view *v, int64_t bi)
{
    return v->off + bi / a->H * v->sb + bi % a->H * v->sh;
}

/* s: Lq x Lk scores, then (k_bshd) D x Lk for the head's K transposed. */
static void one_head(const nn_exec *x, const att_geo *a, int64_t bi, float *s, float scale)
{
    const float *Q = (const float *)x_in(x, 0) + head_at(a, &a->q, bi);
    const float *K = (const float *)x_in(x, 1) + head_at(a, &a->k, bi);
    const float *V = (const float *)x_in(x, 2) + head_at(a, &a->v, bi);
    const float *B =
        x_in(x, 3) ? (const float *)x_in(x, 3) + bias_slice(a, bi) * a->Lq * a->Lk : NULL;
    float *O = (float *)x_out(x, 0) + head_at(a, &a->o, bi);
    if (a->k_bshd) {
        /* this head's K rows, transposed in cache */
        float *kt = s + a->Lq * a->Lk;
        for (int64_t i0 = 0; i0 < a->Lk; i0 += 16)
            for (int64_t j0 = 0; j0 < a->D; j0 += 16)
                x->k->transpose_tile(K + i0 * a->k.ld + j0, (size_t)a->k.ld, kt + j0 * a->Lk + i0,
                                     (size_t)a->Lk, (size_t)(a->Lk - i0 < 16 ? a->Lk - i0 : 16),
                                     (size_t)(a->D - j0 < 16 ? a->D - j0 : 16));
        K = kt;
    }
    x->k->sgemm((size_t)a->Lq, (size_t)a->Lk, (size_t)a->D, Q, (size_t)a->q.ld, K, (size_t)a->Lk, s,
                (size_t)a->Lk);
    for (int64_t i = 0; i < a->Lq; i++) {
        float *row = s + i * a->Lk;
        x->k->binary_scalar[NN_BIN_MUL](row, scale, row, (size_t)a->Lk, 0);
        if (B) x->k->binary[NN_BIN_ADD](row, B + i * a->Lk, row, (size_t)a->Lk);
        x->k->softmax(row, row, (size_t)a->Lk);
    }
    x->k->sgemm((size_t)a->Lq, (size_t)a->Dv, (size_t)a->Lk, s, (size_t)a->Lk, V, (size_t)a->v.ld,
                O, (size_t)a->o.ld);
}

static size_t per_thread(const att_geo *a)
{
    return (size_t)(a->Lq * a->Lk + (a->k_bshd ? a->D * a->Lk : 0));
}

static int run_attention(nn_exec *x)
{
    att_geo a;
    geometry(x->g, x->n, &a);
    float scale = attr_f(x->n, "scale", 1.0f);
    size_t per = per_thread(&a);
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
    p->scratch = per_thread(&a) * sizeof(float) * (size_t)p->m->threads + 64;
    return 0;
}

const nn_op nn_ops_attention[] = {
    {"nn.Attention", infer_attention, run_attention, prepare_attention, 0, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
