/* The order of the shape-independent passes run when a model loads. */
#include "nn/ops.h"

#include <stdlib.h>

#define LOAD_FOLD_MAX (16u << 20)

int nn_passes_load(nn_graph *g, const nn_kernels *k, err *e)
{
    int total = 0, r;
    if ((r = pass_fold_constants(g, k, LOAD_FOLD_MAX, e)) < 0) return -1;
    total += r;
    total += pass_dead_nodes(g);
    if ((r = pass_conv_bn(g, e)) < 0) return -1;
    total += r;
    total += pass_gelu(g);
    total += pass_layernorm(g);
    total += pass_qconv(g);
    total += pass_fuse_activation(g);
    total += pass_dead_nodes(g);
    /* constants nothing reads any more (folded inputs, replaced weights): drop the copies
     * we own */
    graph_count_uses(g);
    for (int i = 0; i < g->nv; i++) {
        nn_value *v = &g->v[i];
        if (v->kind == NN_V_CONST && v->uses == 0 && !v->is_output && v->owned) {
            graph_free_value(g, i);
        }
    }
    return total;
}

int nn_passes_plan(nn_graph *g)
{
    /* attention first: the activation fusion would otherwise take its scale and bias */
    int total = pass_attention(g);
    total += pass_conv_nhwc(g);
    total += pass_gelu(g);
    total += pass_layernorm(g);
    total += pass_fuse_activation(g);
    total += pass_dead_nodes(g);
    return total;
}
