/* Convolutions on tokens: transformer blocks that mix tokens with a convolution (TinyViT's
 * local convolution) export it as
 *   t [N, H*W, C] -> Transpose(0, 2, 1) -> Reshape [N, C, H, W] -> Conv
 *     -> Reshape [N, Co, OH*OW] -> Transpose(0, 2, 1) -> y [N, OH*OW, Co]
 * which the plan would run as two transposes, two layout conversions and the convolution.
 * The tokens already are the channels-last layout, so the chain becomes one nn.ConvNHWC
 * reading t and writing y. Runs in plans, where the shapes are known. */
#include "nn/ops.h"

static bool swaps_last_two(const nn_graph *g, int node)
{
    if (node < 0) return false;
    const nn_node *t = &g->n[node];
    int64_t perm[4];
    return !t->dead && !t->n_post && !strcmp(t->op_type, "Transpose") &&
           attr_ints(t, "perm", perm, 4) == 3 && perm[0] == 0 && perm[1] == 2 && perm[2] == 1;
}

/* v, read once and by nothing else, produced by a live node of type op: that node. */
static int only_producer(const nn_graph *g, int v, const char *op)
{
    int p = value_producer(g, v);
    if (p < 0 || g->v[v].uses != 1 || g->v[v].is_output || g->n[p].dead ||
        strcmp(g->n[p].op_type, op))
        return -1;
    return p;
}

int pass_conv_nhwc(nn_graph *g)
{
    int found = 0;
    graph_count_uses(g);
    for (int i = 0; i < g->nn; i++) {
        const nn_node *c = &g->n[i];
        if (c->dead || strcmp(c->op_type, "Conv") || c->n_out != 1) continue;
        const nn_value *x = node_in(g, c, 0), *w = node_in(g, c, 1), *y = node_out(g, c, 0);
        if (x->rank != 4 || x->dtype != NN_F32 || !w || w->kind != NN_V_CONST || w->rank != 4)
            continue;
        bool acts = true;
        for (int k = 0; k < c->n_post; k++)
            acts &= c->post[k].kind != NN_POST_ADD && c->post[k].kind != NN_POST_MUL;
        if (!acts) continue;
        int r1 = only_producer(g, c->in[0], "Reshape");
        int t1 = r1 >= 0 ? only_producer(g, g->n[r1].in[0], "Transpose") : -1;
        if (t1 < 0 || !swaps_last_two(g, t1) || g->n[r1].n_post) continue;
        int tok = g->n[t1].in[0];
        const nn_value *tv = &g->v[tok];
        if (tv->rank != 3 || tv->dims[0] != x->dims[0] || tv->dims[2] != x->dims[1] ||
            tv->dims[1] != x->dims[2] * x->dims[3])
            continue;
        int r2 = graph_consumer_op(g, c->out[0], "Reshape");
        int t2 = r2 >= 0 ? graph_consumer_op(g, g->n[r2].out[0], "Transpose") : -1;
        if (t2 < 0 || !swaps_last_two(g, t2)) continue;
        int out = g->n[t2].out[0];
        const nn_value *ov = &g->v[out];
        if (ov->rank != 3 || ov->dims[0] != y->dims[0] || ov->dims[2] != y->dims[1] ||
            ov->dims[1] != y->dims[2] * y->dims[3])
            continue;
        int64_t H = x->dims[2], W = x->dims[3];
        int ni = graph_add_node(g, "nn.ConvNHWC", g->n[i].name, g->n[i].n_in, 1);
        nn_node *n = &g->n[ni];
        c = &g->n[i];
        for (int k = 0; k < c->n_in; k++) n->in[k] = c->in[k];
        n->in[0] = tok;
        n->out[0] = out;
        n->opset = c->opset;
        n->n_attrs = c->n_attrs;
        n->attrs = c->attrs;
        n->n_post = c->n_post;
        memcpy(n->post, c->post, sizeof n->post);
        g->v[out].producer = ni;
        node_add_attr_i(g, ni, "in_h", H);
        node_add_attr_i(g, ni, "in_w", W);
        g->n[i].dead = g->n[r1].dead = g->n[t1].dead = g->n[r2].dead = g->n[t2].dead = true;
        found++;
        graph_count_uses(g);
    }
    return found;
}
