/* Dynamically quantised convolutions: ConvInteger -> Cast(float) -> Mul(scale) [-> Add(bias)],
 * the chain ONNX Runtime's quantize_dynamic writes for every Conv, becomes one nn.QConv:
 * an int8 convolution on oneDNN followed by the same float operations in the same order
 * (so results round as the unfused graph's do). Inputs of nn.QConv: quantized x, weights,
 * x zero point, weight zero point, the float scale, bias (optional). */
#include "nn/ops.h"

int pass_qconv(nn_graph *g)
{
    int found = 0;
    graph_count_uses(g);
    for (int i = 0; i < g->nn; i++) {
        nn_node *ci = &g->n[i];
        if (ci->dead || strcmp(ci->op_type, "ConvInteger") || ci->n_in < 2) continue;
        const nn_value *w = node_in(g, ci, 1);
        if (!w || w->kind != NN_V_CONST || w->rank != 4 || !w->data) continue;
        if (ci->n_in > 3 && ci->in[3] >= 0 && !value_is_const(g, ci->in[3])) continue;
        int cast = graph_consumer_op(g, ci->out[0], "Cast");
        if (cast < 0 || attr_i(&g->n[cast], "to", 0) != NN_F32) continue;
        int mul = graph_consumer_op(g, g->n[cast].out[0], "Mul");
        if (mul < 0) continue;
        int scale = node_other_input(&g->n[mul], g->n[cast].out[0]);
        if (scale < 0 || g->v[scale].dtype != NN_F32 ||
            (g->v[scale].rank > 0 && value_count(&g->v[scale]) != 1))
            continue;
        int y = g->n[mul].out[0], bias = -1;
        int dead[4] = {i, cast, mul, -1};
        int add = graph_consumer_op(g, y, "Add");
        if (add >= 0) {
            int b = node_other_input(&g->n[add], y);
            const nn_value *bv = b >= 0 ? &g->v[b] : NULL;
            /* a constant per output channel: [M] broadcast as [1, M, 1, 1] */
            int64_t M = w->dims[0];
            if (bv && bv->kind == NN_V_CONST && bv->dtype == NN_F32 && value_count(bv) == M &&
                (bv->rank == 4 ? bv->dims[1] == M : false)) {
                bias = b;
                y = g->n[add].out[0];
                dead[3] = add;
            }
        }
        int ni = graph_add_node(g, "nn.QConv", g->n[i].name, 6, 1);
        nn_node *q = &g->n[ni];
        ci = &g->n[i];
        for (int k = 0; k < 4; k++) q->in[k] = k < ci->n_in ? ci->in[k] : -1;
        q->in[4] = scale;
        q->in[5] = bias;
        q->out[0] = y;
        q->attrs = ci->attrs;
        q->n_attrs = ci->n_attrs;
        q->opset = ci->opset;
        g->v[y].producer = ni;
        for (int k = 0; k < 4; k++)
            if (dead[k] >= 0) g->n[dead[k]].dead = true;
        found++;
        graph_count_uses(g);
    }
    return found;
}
