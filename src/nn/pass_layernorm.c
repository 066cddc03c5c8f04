/* LayerNormalization from its primitive pattern over the last axis:
 *   m = ReduceMean(x); d = x - m; v = ReduceMean(d ^ 2); y = d / sqrt(v + eps) [* g] [+ b]
 * becomes one LayerNormalization node (one pass over each row instead of eight). The same
 * pattern over axis 1 of an NCHW tensor (LayerNorm2d in SAM and ConvNeXt-style models)
 * becomes one nn.ChannelNorm node. */
#include "nn/ops.h"

#include <stdlib.h>

/* The one axis a ReduceMean that keeps dims averages over: the last, or axis 1 of a
 * tensor of rank 3 or more (channels); -1 otherwise. */
static int mean_axis(const nn_graph *g, const nn_node *n)
{
    if (strcmp(n->op_type, "ReduceMean") || !attr_i(n, "keepdims", 1)) return -1;
    const nn_value *x = node_in(g, n, 0);
    if (!x) return -1;
    int64_t axes[NN_MAX_RANK];
    int na;
    if (n->n_in > 1 && n->in[1] >= 0)
        na = const_ints(&g->v[n->in[1]], axes, NN_MAX_RANK);
    else
        na = attr_ints(n, "axes", axes, NN_MAX_RANK);
    if (na != 1 || x->rank < 1) return -1;
    int a = norm_axis(axes[0], x->rank);
    return a == x->rank - 1 || (a == 1 && x->rank >= 3) ? a : -1;
}

/* A constant float vector of D elements that broadcasts along `axis` of a rank-`rank`
 * tensor only (shape [D] or [1, ..., D] for the last axis, [D, 1, 1] or [1, D, 1, 1] for
 * axis 1 of a rank-4 one); returns its data or NULL. */
static const float *axis_const(const nn_graph *g, int v, int64_t D, int axis, int rank)
{
    if (v < 0) return NULL;
    const nn_value *c = &g->v[v];
    if (c->kind != NN_V_CONST || c->dtype != NN_F32 || value_count(c) != D || !c->data) return NULL;
    int k = axis - (rank - c->rank); /* c's dimension aligned with axis */
    if (c->rank > rank || k < 0 || c->dims[k] != D) return NULL;
    return c->data;
}

int pass_layernorm(nn_graph *g)
{
    int found = 0;
    graph_count_uses(g);
    for (int i = 0; i < g->nn; i++) {
        nn_node *m = &g->n[i];
        int axis = m->dead || m->n_post ? -1 : mean_axis(g, m);
        if (axis < 0) continue;
        int x = m->in[0];
        const nn_value *xv = &g->v[x];
        if (xv->rank < 1 || xv->dims[axis] <= 0 || xv->dtype != NN_F32) continue;
        int64_t D = xv->dims[axis];
        bool chan = axis != xv->rank - 1;
        int sub = graph_consumer_op(g, m->out[0], "Sub");
        if (sub < 0 || g->n[sub].in[0] != x || g->n[sub].in[1] != m->out[0]) continue;
        int d = g->n[sub].out[0];
        if (g->v[d].uses != 2 || g->v[d].is_output) continue;
        /* d is read by the square and by the division */
        int sq = -1, dv = -1;
        for (int k = 0; k < g->nn; k++) {
            const nn_node *c = &g->n[k];
            if (c->dead) continue;
            bool uses = false;
            for (int j = 0; j < c->n_in; j++) uses |= c->in[j] == d;
            if (!uses) continue;
            double two;
            if (!strcmp(c->op_type, "Pow") && c->in[0] == d &&
                const_scalar(node_in(g, c, 1), &two) && two == 2.0)
                sq = k;
            else if (!strcmp(c->op_type, "Mul") && c->in[0] == d && c->in[1] == d)
                sq = k;
            else if (!strcmp(c->op_type, "Div") && c->in[0] == d)
                dv = k;
        }
        if (sq < 0 || dv < 0 || g->n[sq].n_post || g->n[dv].n_post) continue;
        int m2 = graph_consumer_op(g, g->n[sq].out[0], "ReduceMean");
        if (m2 < 0 || mean_axis(g, &g->n[m2]) != axis) continue;
        int add = graph_consumer_op(g, g->n[m2].out[0], "Add");
        int ev = add >= 0 ? node_other_input(&g->n[add], g->n[m2].out[0]) : -1;
        double eps;
        if (ev < 0 || !const_scalar(&g->v[ev], &eps)) continue;
        int sqrt_ = graph_consumer_op(g, g->n[add].out[0], "Sqrt");
        if (sqrt_ < 0 || g->n[dv].in[1] != g->n[sqrt_].out[0] || g->v[g->n[sqrt_].out[0]].uses != 1)
            continue;
        int y = g->n[dv].out[0];
        int dead[9] = {i, sub, sq, m2, add, sqrt_, dv, -1, -1};
        const float *gamma = NULL, *beta = NULL;
        int gv = -1, bv = -1;
        int mul = graph_consumer_op(g, y, "Mul");
        if (mul >= 0 &&
            (gamma = axis_const(g, node_other_input(&g->n[mul], y), D, axis, xv->rank))) {
            gv = node_other_input(&g->n[mul], y);
            y = g->n[mul].out[0];
            dead[7] = mul;
            int ad = graph_consumer_op(g, y, "Add");
            if (ad >= 0 &&
                (beta = axis_const(g, node_other_input(&g->n[ad], y), D, axis, xv->rank))) {
                bv = node_other_input(&g->n[ad], y);
                y = g->n[ad].out[0];
                dead[8] = ad;
            }
        }
        if (gv < 0) {
            float *ones = xmalloc((size_t)D * sizeof *ones + 16);
            for (int64_t k = 0; k < D; k++) ones[k] = 1.0f;
            char name[300];
            snprintf(name, sizeof name, "%s/ln_scale", g->n[i].name);
            gv = graph_add_const(g, name, NN_F32, 1, &D, ones);
        }
        for (int k = 0; k < 9; k++)
            if (dead[k] >= 0) g->n[dead[k]].dead = true;
        int ni = graph_add_node(g, chan ? "nn.ChannelNorm" : "LayerNormalization", g->n[i].name,
                                bv >= 0 ? 3 : 2, 1);
        g->n[ni].in[0] = x;
        g->n[ni].in[1] = gv;
        if (bv >= 0) g->n[ni].in[2] = bv;
        g->n[ni].out[0] = y;
        g->n[ni].opset = 17;
        g->v[y].producer = ni;
        if (!chan) node_add_attr_i(g, ni, "axis", -1);
        node_add_attr_f(g, ni, "epsilon", (float)eps);
        found++;
        graph_count_uses(g);
    }
    return found;
}
