/* GELU from its Erf pattern: x * 0.5 * (1 + erf(x / sqrt 2)) as exporters spell it out, in
 * any of the orders PyTorch produces, becomes one Gelu node (which the activation fusion
 * may then fold into the MatMul or Gemm before it). */
#include "nn/ops.h"

static bool near(double a, double b)
{
    return fabs(a - b) <= 1e-4 * fabs(b);
}

/* Value v is a constant scalar close to c. */
static bool is_scalar(const nn_graph *g, int v, double c)
{
    double d;
    return v >= 0 && const_scalar(&g->v[v], &d) && near(d, c);
}

int pass_gelu(nn_graph *g)
{
    int found = 0;
    graph_count_uses(g);
    for (int i = 0; i < g->nn; i++) {
        nn_node *erf = &g->n[i];
        if (erf->dead || strcmp(erf->op_type, "Erf") || erf->n_post) continue;
        /* scaled = x / sqrt2  or  x * (1 / sqrt2) */
        int s = erf->in[0];
        int sp = value_producer(g, s);
        if (sp < 0 || g->v[s].uses != 1) continue;
        const nn_node *sn = &g->n[sp];
        int x = -1;
        if (!strcmp(sn->op_type, "Div") && is_scalar(g, sn->in[1], M_SQRT2)) x = sn->in[0];
        if (!strcmp(sn->op_type, "Mul")) {
            if (is_scalar(g, sn->in[1], M_SQRT1_2))
                x = sn->in[0];
            else if (is_scalar(g, sn->in[0], M_SQRT1_2))
                x = sn->in[1];
        }
        if (x < 0 || g->v[x].kind == NN_V_CONST) continue;
        /* one = erf + 1 */
        int add = graph_consumer_op(g, erf->out[0], "Add");
        if (add < 0 || !is_scalar(g, node_other_input(&g->n[add], erf->out[0]), 1.0)) continue;
        int one = g->n[add].out[0];
        int m1 = g->v[one].uses == 1 ? graph_sole_consumer(g, one) : -1;
        if (m1 < 0 || strcmp(g->n[m1].op_type, "Mul") || g->n[m1].n_post) continue;
        int o1 = node_other_input(&g->n[m1], one), y = -1;
        int dead[6] = {sp, i, add, m1, -1, -1};
        if (o1 == x) {
            /* (x * one) * 0.5 */
            int m2 = graph_consumer_op(g, g->n[m1].out[0], "Mul");
            if (m2 < 0 || !is_scalar(g, node_other_input(&g->n[m2], g->n[m1].out[0]), 0.5))
                continue;
            y = g->n[m2].out[0];
            dead[4] = m2;
        } else if (is_scalar(g, o1, 0.5)) {
            /* x * (one * 0.5) */
            int m2 = graph_consumer_op(g, g->n[m1].out[0], "Mul");
            if (m2 < 0 || node_other_input(&g->n[m2], g->n[m1].out[0]) != x) continue;
            y = g->n[m2].out[0];
            dead[4] = m2;
        } else {
            /* (x * 0.5) * one */
            int hp = value_producer(g, o1);
            if (hp < 0 || strcmp(g->n[hp].op_type, "Mul") || g->v[o1].uses != 1) continue;
            if (!is_scalar(g, node_other_input(&g->n[hp], x), 0.5)) continue;
            y = g->n[m1].out[0];
            dead[4] = hp;
        }
        for (int k = 0; k < 6; k++)
            if (dead[k] >= 0) g->n[dead[k]].dead = true;
        int ni = graph_add_node(g, "Gelu", g->n[i].name, 1, 1);
        g->n[ni].in[0] = x;
        g->n[ni].out[0] = y;
        g->n[ni].opset = 20;
        g->v[y].producer = ni;
        found++;
        graph_count_uses(g);
    }
    return found;
}
