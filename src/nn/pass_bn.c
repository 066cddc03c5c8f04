/* Conv + BatchNormalization folding: an inference BatchNormalization right after a
 * convolution with constant weights is a per-output-channel scale and shift, which the
 * convolution's weights and bias absorb: W' = W * k, B' = (B - mean) * k + beta with
 * k = gamma / sqrt(var + eps). Exporters leave these pairs in models trained with BN. */
#include "nn/ops.h"

#include <stdlib.h>

static const float *const_f32(const nn_graph *g, int v, int64_t n)
{
    if (v < 0) return NULL;
    const nn_value *val = &g->v[v];
    if (val->kind != NN_V_CONST || val->dtype != NN_F32 || value_count(val) != n || !val->data)
        return NULL;
    return val->data;
}

int pass_conv_bn(nn_graph *g, err *e)
{
    (void)e;
    int folded = 0;
    graph_count_uses(g);
    for (int i = 0; i < g->nn; i++) {
        nn_node *bn = &g->n[i];
        if (bn->dead || strcmp(bn->op_type, "BatchNormalization") || bn->n_in != 5) continue;
        if (attr_i(bn, "training_mode", 0)) continue;
        bool extra = false;
        for (int j = 1; j < bn->n_out; j++) extra |= bn->out[j] >= 0 && g->v[bn->out[j]].uses > 0;
        if (extra) continue;
        int x = bn->in[0];
        int ci = value_producer(g, x);
        if (ci < 0) continue;
        nn_node *conv = &g->n[ci];
        if (strcmp(conv->op_type, "Conv") || conv->n_post || g->v[x].uses != 1 || g->v[x].is_output)
            continue;
        const nn_value *w = node_in(g, conv, 1);
        if (!w || w->kind != NN_V_CONST || w->dtype != NN_F32 || w->rank < 3 || !w->data) continue;
        int64_t M = w->dims[0], per = value_count(w) / (M ? M : 1);
        const float *gamma = const_f32(g, bn->in[1], M), *beta = const_f32(g, bn->in[2], M);
        const float *mean = const_f32(g, bn->in[3], M), *var = const_f32(g, bn->in[4], M);
        const float *b = conv->n_in > 2 ? const_f32(g, conv->in[2], M) : NULL;
        if (!gamma || !beta || !mean || !var || (conv->n_in > 2 && conv->in[2] >= 0 && !b))
            continue;
        float eps = attr_f(bn, "epsilon", 1e-5f);
        float *nw = xmalloc((size_t)value_count(w) * sizeof *nw + 16);
        float *nb = xmalloc((size_t)M * sizeof *nb + 16);
        const float *ow = w->data;
        for (int64_t m = 0; m < M; m++) {
            double k = gamma[m] / sqrt((double)var[m] + eps);
            for (int64_t j = 0; j < per; j++) nw[m * per + j] = (float)(ow[m * per + j] * k);
            nb[m] = (float)(((b ? b[m] : 0.0) - mean[m]) * k + beta[m]);
        }
        char name[300];
        snprintf(name, sizeof name, "%s/bn_folded_w", conv->name);
        int wv = graph_add_const(g, name, NN_F32, w->rank, g->v[conv->in[1]].dims, nw);
        int64_t md = M;
        snprintf(name, sizeof name, "%s/bn_folded_b", conv->name);
        int bv = graph_add_const(g, name, NN_F32, 1, &md, nb);
        conv = &g->n[ci];
        bn = &g->n[i];
        node_set_inputs(g, ci, 3);
        conv = &g->n[ci];
        conv->in[1] = wv;
        conv->in[2] = bv;
        conv->out[0] = bn->out[0];
        g->v[bn->out[0]].producer = ci;
        bn->dead = true;
        folded++;
        graph_count_uses(g);
    }
    return folded;
}
