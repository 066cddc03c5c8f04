/* Scaled dot-product attention from its MatMul / scale / [+ bias] / Softmax / MatMul
 * pattern becomes one nn.Attention node, which computes each head's scores in a buffer
 * that stays in cache instead of writing the whole score tensor out and reading it back
 * three times. Runs in plans, where the shapes are known. */
#include "nn/ops.h"

/* A Transpose of a rank-4 float tensor by exactly this perm. */
static bool transpose_by(const nn_graph *g, int node, const int64_t *want)
{
    if (node < 0) return false;
    const nn_node *t = &g->n[node];
    int64_t perm[8];
    if (t->dead || strcmp(t->op_type, "Transpose") || t->n_post ||
        attr_ints(t, "perm", perm, 8) != 4)
        return false;
    const nn_value *x = node_in(g, t, 0);
    return !memcmp(perm, want, sizeof perm[0] * 4) && x->rank == 4 && x->dtype == NN_F32;
}

/* Value v, read only by attention node ni, when it is one part of a Split of a rank-4
 * tensor along its channels: the Split's input, and in *off where the part starts. */
static int split_part(const nn_graph *g, int v, int64_t *off)
{
    int s = value_producer(g, v);
    if (s < 0 || g->v[v].uses != 1 || g->v[v].is_output) return -1;
    const nn_node *n = &g->n[s];
    const nn_value *x = node_in(g, n, 0);
    if (n->dead || strcmp(n->op_type, "Split") || !x || x->rank != 4 || x->dtype != NN_F32 ||
        norm_axis(attr_i(n, "axis", 0), 4) != 3)
        return -1;
    *off = 0;
    for (int i = 0; i < n->n_out && n->out[i] != v; i++)
        if (n->out[i] >= 0) *off += g->v[n->out[i]].dims[3];
    return n->in[0];
}

/* The attention node ni reads Q, K and V and writes its output in the [B, L, H, C] layout
 * where a head-swapping Transpose did nothing else, and reads parts of a q/k/v Split
 * from the Split's input (nn.Attention's attributes say how). */
static void absorb_layouts(nn_graph *g, int ni)
{
    static const int64_t swap[4] = {0, 2, 1, 3}, kt[4] = {0, 2, 3, 1};
    static const char *const bshd[3] = {"q_bshd", "k_bshd", "v_bshd"};
    static const char *const offs[3] = {"q_off", "k_off", "v_off"};
    for (int slot = 0; slot < 3; slot++) {
        int v = g->n[ni].in[slot], t = value_producer(g, v);
        if (g->v[v].uses != 1 || g->v[v].is_output || !transpose_by(g, t, slot == 1 ? kt : swap))
            continue;
        g->n[ni].in[slot] = g->n[t].in[0];
        g->n[t].dead = true;
        node_add_attr_i(g, ni, bshd[slot], 1);
        graph_count_uses(g);
        int64_t off, dim = g->v[g->n[ni].in[slot]].dims[3];
        int x = split_part(g, g->n[ni].in[slot], &off);
        if (x < 0) continue;
        g->n[ni].in[slot] = x;
        node_add_attr_i(g, ni, offs[slot], off);
        if (slot != 1) node_add_attr_i(g, ni, slot == 0 ? "qk_dim" : "v_dim", dim);
        graph_count_uses(g);
    }
    int o = g->n[ni].out[0], c = graph_sole_consumer(g, o);
    if (c >= 0 && g->v[o].uses == 1 && !g->v[o].is_output && transpose_by(g, c, swap)) {
        int y = g->n[c].out[0];
        g->n[ni].out[0] = y;
        g->v[y].producer = ni;
        g->n[c].dead = true;
        node_add_attr_i(g, ni, "o_bshd", 1);
    }
    graph_count_uses(g);
}

int pass_attention(nn_graph *g)
{
    int found = 0;
    graph_count_uses(g);
    for (int i = 0; i < g->nn; i++) {
        nn_node *mm1 = &g->n[i];
        if (mm1->dead || strcmp(mm1->op_type, "MatMul") || mm1->n_post) continue;
        const nn_value *q = node_in(g, mm1, 0), *kt = node_in(g, mm1, 1);
        if (q->rank < 3 || kt->rank != q->rank || q->dtype != NN_F32 || kt->kind == NN_V_CONST)
            continue;
        if (memcmp(q->dims, kt->dims, sizeof(int64_t) * (size_t)(q->rank - 2))) continue;
        int s = mm1->out[0], cur = s;
        float scale = 1.0f;
        int bias = -1;
        int dead[5] = {i, -1, -1, -1, -1}, nd = 1;
        int c = graph_sole_consumer(g, cur);
        if (c >= 0 && g->v[cur].uses == 1 &&
            (!strcmp(g->n[c].op_type, "Mul") || !strcmp(g->n[c].op_type, "Div")) &&
            !g->n[c].n_post && g->n[c].in[0] == cur) {
            double d;
            if (!const_scalar(&g->v[g->n[c].in[1]], &d) || d == 0) continue;
            scale = !strcmp(g->n[c].op_type, "Mul") ? (float)d : (float)(1.0 / d);
            dead[nd++] = c;
            cur = g->n[c].out[0];
        }
        c = graph_sole_consumer(g, cur);
        if (c >= 0 && g->v[cur].uses == 1 && !strcmp(g->n[c].op_type, "Add") && !g->n[c].n_post) {
            int b = g->n[c].in[0] == cur ? g->n[c].in[1] : g->n[c].in[0];
            const nn_value *bv = &g->v[b], *sv = &g->v[cur];
            /* a bias over the last three axes at most, broadcast over the batch */
            bool ok = bv->dtype == NN_F32 && bv->rank <= sv->rank && bv->rank >= 2;
            for (int d = 0; ok && d < bv->rank; d++) {
                int64_t bd = bv->dims[bv->rank - 1 - d], sd = sv->dims[sv->rank - 1 - d];
                ok = bd == sd || (bd == 1 && d >= 2);
            }
            if (!ok || bv->rank > 3) continue;
            bias = b;
            dead[nd++] = c;
            cur = g->n[c].out[0];
        }
        int sm = graph_consumer_op(g, cur, "Softmax");
        if (sm < 0) continue;
        const nn_value *sv = &g->v[cur];
        bool old = g->n[sm].opset > 0 && g->n[sm].opset < 13;
        int64_t ax = attr_i(&g->n[sm], "axis", old ? 1 : -1);
        if (ax != -1 && ax != sv->rank - 1) continue;
        dead[nd++] = sm;
        int p = g->n[sm].out[0];
        int mm2 = graph_consumer_op(g, p, "MatMul");
        if (mm2 < 0 || g->n[mm2].in[0] != p) continue;
        const nn_value *v = node_in(g, &g->n[mm2], 1);
        if (v->rank != q->rank ||
            memcmp(v->dims, q->dims, sizeof(int64_t) * (size_t)(q->rank - 2)) ||
            v->dims[v->rank - 2] != kt->dims[kt->rank - 1] || v->kind == NN_V_CONST)
            continue;
        dead[nd++] = mm2;
        int out = g->n[mm2].out[0];
        int qi = mm1->in[0], ki = mm1->in[1], vi = g->n[mm2].in[1];
        for (int k = 0; k < nd; k++) g->n[dead[k]].dead = true;
        int ni = graph_add_node(g, "nn.Attention", g->n[i].name, bias >= 0 ? 4 : 3, 1);
        g->n[ni].in[0] = qi;
        g->n[ni].in[1] = ki;
        g->n[ni].in[2] = vi;
        if (bias >= 0) g->n[ni].in[3] = bias;
        g->n[ni].out[0] = out;
        g->n[ni].opset = 1;
        g->v[out].producer = ni;
        node_add_attr_f(g, ni, "scale", scale);
        found++;
        graph_count_uses(g);
        if (g->v[qi].rank == 4) absorb_layouts(g, ni);
    }
    return found;
}
