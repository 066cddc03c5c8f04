/* Layouts: which activations live in oneDNN's blocked layout (nChw16c).
 *
 * oneDNN's fast convolutions want blocked activations (plain NCHW runs its slow gemm path,
 * at a seventh of the speed, and mixing layouts between source and destination falls back
 * to its reference code). So every convolution writes the blocked layout, and operators
 * that can work on it directly keep it: element-wise operators on equal shapes, channel
 * Concat and Split (with N = 1 and whole blocks these are plain offsets, so they stay
 * free), max pooling, nearest upsampling. Wherever a consumer needs the plain layout the
 * plan inserts one conversion per value (nn.Unblock16), and a convolution reading a plain
 * tensor of many channels gets one the other way (nn.Block16). */
#include "nn/ops.h"

#include <stdlib.h>

/* A 4-d f32 value with elements (oneDNN is not given empty tensors: dnn_pd). */
static bool is4f(const nn_value *v)
{
    return v && v->rank == 4 && v->dtype == NN_F32 && value_count(v) > 0;
}

static bool conv_blockable(const nn_graph *g, const nn_node *n)
{
    if (strcmp(n->op_type, "Conv") && strcmp(n->op_type, "ConvTranspose")) return false;
    if (convtranspose_is_shuffle(g, n)) return false;
    const nn_value *x = node_in(g, n, 0), *w = node_in(g, n, 1), *b = node_in(g, n, 2);
    if (!is4f(x) || !is4f(node_out(g, n, 0)) || !w || w->kind != NN_V_CONST ||
        (b && b->kind != NN_V_CONST))
        return false;
    for (int i = 0; i < n->n_post; i++) {
        const nn_post *p = &n->post[i];
        if ((p->kind == NN_POST_ADD || p->kind == NN_POST_MUL)) {
            const nn_value *v = &g->v[p->value];
            const nn_value *y = node_out(g, n, 0);
            if (v->rank != 4 || memcmp(v->dims, y->dims, sizeof(int64_t) * 4) || v->dtype != NN_F32)
                return false;
        }
    }
    return true;
}

static bool blocked16(const uint8_t *lay, const nn_value *v, int id)
{
    return lay[id] == NN_L_BLK16 && is4f(v) && v->dims[1] % 16 == 0;
}

/* Whether node n can run on blocked inputs and produce blocked outputs. */
static bool node_blockable(nn_graph *g, const nn_node *n, const uint8_t *lay)
{
    const nn_op *op = n->op;
    const char *t = n->op_type;
    if (n->n_out < 1) return false;
    if (!strcmp(t, "Concat")) {
        const nn_value *y = node_out(g, n, 0);
        if (!is4f(y) || norm_axis(attr_i(n, "axis", 0), 4) != 1) return false;
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] < 0 || !blocked16(lay, &g->v[n->in[i]], n->in[i])) return false;
        return true;
    }
    if (!strcmp(t, "Split")) {
        const nn_value *x = node_in(g, n, 0);
        if (!x || !blocked16(lay, x, n->in[0]) || norm_axis(attr_i(n, "axis", 0), 4) != 1)
            return false;
        for (int i = 0; i < n->n_out; i++) {
            const nn_value *y = node_out(g, n, i);
            if (!y || y->dims[1] % 16) return false;
        }
        return true;
    }
    if (n->n_out != 1 || n->n_post) return false;
    const nn_value *x = node_in(g, n, 0), *y = node_out(g, n, 0);
    if (!x || !blocked16(lay, x, n->in[0]) || !is4f(y) || y->dims[1] % 16) return false;
    if (!strcmp(t, "Add") || !strcmp(t, "Mul") || !strcmp(t, "Sub") || !strcmp(t, "Div")) {
        const nn_value *b = node_in(g, n, 1);
        if (b && b->kind == NN_V_CONST && value_count(b) == 1) return true;
        return b && blocked16(lay, b, n->in[1]) && !memcmp(b->dims, x->dims, sizeof(int64_t) * 4) &&
               !memcmp(y->dims, x->dims, sizeof(int64_t) * 4);
    }
    if (!strcmp(t, "MaxPool")) return true;
    if (!strcmp(t, "Resize")) return resize_blockable(g, n);
    if ((op->flags & NN_OP_BLOCKED) && (op->flags & NN_OP_INPLACE) && n->n_in == 1)
        return true; /* unary */
    return false;
}

static int add_convert(nn_graph *g, uint8_t **lay, int v, bool to_blocked)
{
    char name[256];
    snprintf(name, sizeof name, "%s/%s", g->v[v].name, to_blocked ? "blocked" : "plain");
    int nv = graph_add_value(g, name);
    nn_value *src = &g->v[v], *dst = &g->v[nv];
    dst->dtype = src->dtype;
    dst->rank = src->rank;
    memcpy(dst->dims, src->dims, sizeof dst->dims);
    int ni = graph_add_node(g, to_blocked ? "nn.Block16" : "nn.Unblock16", name, 1, 1);
    g->n[ni].in[0] = v;
    g->n[ni].out[0] = nv;
    g->n[ni].opset = 1;
    g->v[nv].producer = ni;
    *lay = xrealloc(*lay, (size_t)g->nv + 1);
    (*lay)[nv] = to_blocked ? NN_L_BLK16 : NN_L_PLAIN;
    return nv;
}

int plan_layouts(nn_plan *p, const nn_model *m, err *e)
{
    (void)e;
    nn_graph *g = &p->g;
    if (!m->p.blocked_layout) return 0;
    int nv0 = g->nv;
    uint8_t *lay = xcalloc((size_t)nv0 + 1, 1);
    int n_order = p->n_steps;
    for (int s = 0; s < n_order; s++) {
        nn_node *n = &g->n[p->order[s]];
        if (n->dead) continue;
        if (conv_blockable(g, n) || node_blockable(g, n, lay))
            for (int i = 0; i < n->n_out; i++)
                if (n->out[i] >= 0) lay[n->out[i]] = NN_L_BLK16;
    }
    /* quantized activations read only by int8 convolutions: channels last */
    for (int s = 0; s < n_order; s++) {
        const nn_node *n = &g->n[p->order[s]];
        if (n->dead || strcmp(n->op_type, "DynamicQuantizeLinear") || n->out[0] < 0) continue;
        int v = n->out[0];
        if (g->v[v].rank != 4 || g->v[v].is_output) continue;
        bool all = true;
        int readers = 0;
        for (int k = 0; k < g->nn; k++) {
            const nn_node *c = &g->n[k];
            if (c->dead) continue;
            for (int j = 0; j < c->n_in; j++)
                if (c->in[j] == v) {
                    readers++;
                    all &= j == 0 && !strcmp(c->op_type, "nn.QConv");
                }
        }
        if (all && readers) lay[v] = NN_L_NHWC;
    }
    /* conversions where producer and consumer disagree; one per value and direction */
    int *plain_of = xmalloc((size_t)nv0 * sizeof *plain_of);
    int *blk_of = xmalloc((size_t)nv0 * sizeof *blk_of);
    for (int i = 0; i < nv0; i++) plain_of[i] = blk_of[i] = -1;
    for (int s = 0; s < n_order; s++) {
        int ni = p->order[s];
        if (g->n[ni].dead) continue;
        bool conv = conv_blockable(g, &g->n[ni]);
        bool out_blk =
            g->n[ni].n_out > 0 && g->n[ni].out[0] >= 0 && lay[g->n[ni].out[0]] == NN_L_BLK16;
        for (int i = 0; i < g->n[ni].n_in; i++) {
            int v = g->n[ni].in[i];
            if (v < 0 || v >= nv0) continue;
            if (conv && i == 0) {
                const nn_value *xv = &g->v[v];
                if (lay[v] == NN_L_PLAIN && xv->dims[1] > 4) {
                    if (blk_of[v] < 0) blk_of[v] = add_convert(g, &lay, v, true);
                    g->n[ni].in[i] = blk_of[v];
                }
                continue;
            }
            if (conv) continue; /* weights and bias are constants */
            bool want_blk = out_blk && g->v[v].kind != NN_V_CONST;
            if (lay[v] == NN_L_BLK16 && !want_blk) {
                if (plain_of[v] < 0) plain_of[v] = add_convert(g, &lay, v, false);
                g->n[ni].in[i] = plain_of[v];
            }
        }
        for (int i = 0; i < g->n[ni].n_post; i++) {
            int kind = g->n[ni].post[i].kind;
            if (kind != NN_POST_ADD && kind != NN_POST_MUL) continue;
            int v = g->n[ni].post[i].value;
            if (v >= nv0) continue;
            if (out_blk && lay[v] == NN_L_PLAIN && g->v[v].kind != NN_V_CONST) {
                if (blk_of[v] < 0) blk_of[v] = add_convert(g, &lay, v, true);
                g->n[ni].post[i].value = blk_of[v];
            } else if (!out_blk && lay[v] == NN_L_BLK16) {
                if (plain_of[v] < 0) plain_of[v] = add_convert(g, &lay, v, false);
                g->n[ni].post[i].value = plain_of[v];
            }
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        if (v < nv0 && lay[v] == NN_L_BLK16) {
            if (plain_of[v] < 0) plain_of[v] = add_convert(g, &lay, v, false);
            g->v[v].is_output = false;
            g->v[plain_of[v]].is_output = true;
            g->outputs[i] = plain_of[v];
        }
    }
    p->buf = xrealloc(p->buf, ((size_t)g->nv + 1) * sizeof *p->buf);
    for (int i = 0; i < g->nv; i++) {
        memset(&p->buf[i], 0, sizeof p->buf[i]);
        p->buf[i].layout = lay[i];
    }
    free(plain_of);
    free(blk_of);
    free(lay);
    return 0;
}
