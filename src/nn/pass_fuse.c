/* Fusing what follows a Conv, ConvTranspose, MatMul or Gemm into its post-operations:
 * activations (Relu, Sigmoid, Tanh, LeakyRelu, Clip, Gelu, and SiLU written as
 * x * Sigmoid(x)), a bias or scale broadcast from a constant, and a residual Add of a
 * tensor of the output's shape. oneDNN applies post-operations while the result is still
 * in registers, so each fusion removes one pass over the activation. Also turns the
 * remaining x * Sigmoid(x) pairs into one nn.Silu node. */
#include "nn/ops.h"

/* Products of two activations (attention scores) are left alone: pass_attention wants
 * their scale and bias. */
static bool fusable_producer(const nn_graph *g, const nn_node *n)
{
    const char *t = n->op_type;
    if (!strcmp(t, "MatMul") || !strcmp(t, "Gemm"))
        return n->n_in > 1 && value_is_const(g, n->in[1]);
    return !strcmp(t, "Conv") || !strcmp(t, "ConvTranspose") || !strcmp(t, "nn.QConv");
}

/* Makes node `head` produce the output of node `tail` (which is removed). */
static void absorb(nn_graph *g, int head, int tail)
{
    int out = g->n[tail].out[0];
    g->n[tail].dead = true;
    g->n[head].out[0] = out;
    g->v[out].producer = head;
}

static bool const_float(const nn_graph *g, int v, float *out)
{
    double d;
    if (v < 0 || !const_scalar(&g->v[v], &d)) return false;
    *out = (float)d;
    return true;
}

/* The activation node n as a post-op, or 0 when it is not one. */
static int act_kind(const nn_graph *g, const nn_node *n, nn_post *p)
{
    const char *t = n->op_type;
    memset(p, 0, sizeof *p);
    p->value = -1;
    if (!strcmp(t, "Relu"))
        p->kind = NN_POST_RELU;
    else if (!strcmp(t, "Sigmoid"))
        p->kind = NN_POST_SIGMOID;
    else if (!strcmp(t, "Tanh"))
        p->kind = NN_POST_TANH;
    else if (!strcmp(t, "nn.Silu"))
        p->kind = NN_POST_SILU;
    else if (!strcmp(t, "Gelu") && !strcmp(attr_s(n, "approximate", "none"), "none"))
        p->kind = NN_POST_GELU;
    else if (!strcmp(t, "LeakyRelu")) {
        p->kind = NN_POST_LEAKY;
        p->a = attr_f(n, "alpha", 0.01f);
    } else if (!strcmp(t, "Clip")) {
        p->kind = NN_POST_CLIP;
        p->a = -3.4e38f;
        p->b = 3.4e38f;
        if (n->opset >= 11) {
            if ((n->n_in > 1 && n->in[1] >= 0 && !const_float(g, n->in[1], &p->a)) ||
                (n->n_in > 2 && n->in[2] >= 0 && !const_float(g, n->in[2], &p->b)))
                return 0;
        } else {
            p->a = attr_f(n, "min", -3.4e38f);
            p->b = attr_f(n, "max", 3.4e38f);
        }
    }
    return p->kind;
}

/* x * Sigmoid(x): returns the Sigmoid node index when Mul node m is that pattern. */
static int silu_sigmoid(const nn_graph *g, const nn_node *m, int *x_out)
{
    if (strcmp(m->op_type, "Mul") || m->n_in != 2 || m->n_post) return -1;
    for (int side = 0; side < 2; side++) {
        int s = m->in[side], x = m->in[1 - side];
        if (s < 0 || x < 0) continue;
        int sp = value_producer(g, s);
        if (sp < 0 || strcmp(g->n[sp].op_type, "Sigmoid") || g->n[sp].in[0] != x || g->n[sp].n_post)
            continue;
        if (g->v[s].uses != 1 || g->v[s].is_output) continue;
        *x_out = x;
        return sp;
    }
    return -1;
}

static bool same_shape(const nn_value *a, const nn_value *b)
{
    return a->rank == b->rank && a->rank >= 0 &&
           !memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank);
}

int pass_fuse_activation(nn_graph *g)
{
    int fused = 0;
    graph_count_uses(g);
    /* x * Sigmoid(x) -> nn.Silu, reusing the Mul's output */
    for (int i = 0; i < g->nn; i++) {
        if (g->n[i].dead) continue;
        int x;
        int sp = silu_sigmoid(g, &g->n[i], &x);
        if (sp < 0) continue;
        if (g->v[x].dtype != NN_F32 && g->v[x].rank >= 0) continue;
        int out = g->n[i].out[0];
        g->n[sp].dead = true;
        g->n[i].dead = true;
        int ni = graph_add_node(g, "nn.Silu", g->n[i].name, 1, 1);
        g->n[ni].in[0] = x;
        g->n[ni].out[0] = out;
        g->n[ni].opset = g->n[i].opset;
        g->v[out].producer = ni;
        fused++;
    }
    graph_count_uses(g);
    bool changed = true;
    while (changed) {
        changed = false;
        for (int i = 0; i < g->nn; i++) {
            nn_node *h = &g->n[i];
            if (h->dead || !fusable_producer(g, h) || h->n_out != 1 || h->n_post >= NN_MAX_POST)
                continue;
            int y = h->out[0];
            if (g->v[y].is_output || g->v[y].uses != 1) continue;
            int c = graph_sole_consumer(g, y);
            if (c < 0) continue;
            nn_node *t = &g->n[c];
            if (t->n_post || t->n_out != 1) continue;
            nn_post p;
            if (act_kind(g, t, &p) && t->in[0] == y) {
                h->post[h->n_post++] = p;
                absorb(g, i, c);
                changed = true;
                fused++;
                continue;
            }
            bool add = !strcmp(t->op_type, "Add"), mul = !strcmp(t->op_type, "Mul");
            if ((add || mul) && t->n_in == 2) {
                int other = node_other_input(t, y);
                if (other < 0 || other == y) continue;
                const nn_value *ov = &g->v[other], *yv = &g->v[y];
                /* a constant that broadcasts without growing the output, or a same-shape
                 * tensor (the residual connection) */
                bool ok = false;
                if (ov->kind == NN_V_CONST && ov->dtype == NN_F32 && ov->rank >= 0 &&
                    yv->rank >= 0 && ov->rank <= yv->rank) {
                    ok = true;
                    for (int d = 0; d < ov->rank; d++) {
                        int64_t od = ov->dims[ov->rank - 1 - d], yd = yv->dims[yv->rank - 1 - d];
                        if (od != 1 && od != yd) ok = false;
                    }
                } else if (ov->kind != NN_V_CONST && same_shape(ov, yv)) {
                    ok = add;
                }
                if (!ok) continue;
                h->post[h->n_post++] =
                    (nn_post){.kind = add ? NN_POST_ADD : NN_POST_MUL, .value = other};
                absorb(g, i, c);
                changed = true;
                fused++;
                graph_count_uses(g);
            }
        }
    }
    return fused;
}
