/* Graph IR helpers: adding values and nodes, use counts, rewiring, ordering. */
#include "nn/nn_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int graph_add_value(nn_graph *g, const char *name)
{
    if (g->nv == g->cap_v) {
        g->cap_v = g->cap_v ? g->cap_v * 2 : 256;
        g->v = xrealloc(g->v, (size_t)g->cap_v * sizeof *g->v);
    }
    nn_value *v = &g->v[g->nv];
    memset(v, 0, sizeof *v);
    v->name = arena_strdup(g->a, name ? name : "");
    v->rank = -1;
    v->producer = -1;
    return g->nv++;
}

/* A node's input or output indices: n of them, the first `have` from src, the rest -1, in
 * at least `slots` entries, so reading in[k] for k < NN_IN_SLOTS (out[k], k < NN_OUT_SLOTS)
 * is always in bounds and gives -1 for an input the node lacks. */
static int *index_array(arena *a, const int *src, int have, int n, int slots)
{
    int cap = n > slots ? n : slots;
    int *v = arena_alloc(a, (size_t)(cap + 1) * sizeof *v);
    for (int i = 0; i <= cap; i++) v[i] = i < have ? src[i] : -1;
    return v;
}

int graph_add_node(nn_graph *g, const char *op_type, const char *name, int n_in, int n_out)
{
    if (g->nn == g->cap_n) {
        g->cap_n = g->cap_n ? g->cap_n * 2 : 256;
        g->n = xrealloc(g->n, (size_t)g->cap_n * sizeof *g->n);
    }
    nn_node *n = &g->n[g->nn];
    memset(n, 0, sizeof *n);
    n->op_type = arena_strdup(g->a, op_type);
    n->name = arena_strdup(g->a, name ? name : op_type);
    n->domain = "";
    n->n_in = n_in;
    n->n_out = n_out;
    n->in = index_array(g->a, NULL, 0, n_in, NN_IN_SLOTS);
    n->out = index_array(g->a, NULL, 0, n_out, NN_OUT_SLOTS);
    n->op = nn_op_find_internal(op_type);
    return g->nn++;
}

int graph_find_value(const nn_graph *g, const char *name)
{
    for (int i = 0; i < g->nv; i++)
        if (strcmp(g->v[i].name, name) == 0) return i;
    return -1;
}

void graph_count_uses(nn_graph *g)
{
    for (int i = 0; i < g->nv; i++) g->v[i].uses = 0;
    for (int i = 0; i < g->nn; i++) {
        const nn_node *n = &g->n[i];
        if (n->dead) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0) g->v[n->in[j]].uses++;
        for (int j = 0; j < n->n_post; j++)
            if (n->post[j].value >= 0 &&
                (n->post[j].kind == NN_POST_ADD || n->post[j].kind == NN_POST_MUL))
                g->v[n->post[j].value].uses++;
        /* tensor attributes (ConstantOfShape's value) live as constant values too */
        for (int j = 0; j < n->n_attrs; j++)
            if (n->attrs[j].tensor >= 0) g->v[n->attrs[j].tensor].uses++;
    }
}

int graph_sole_consumer(const nn_graph *g, int v)
{
    if (v < 0 || g->v[v].is_output) return -1;
    int found = -1;
    for (int i = 0; i < g->nn; i++) {
        const nn_node *n = &g->n[i];
        if (n->dead) continue;
        int uses = 0;
        for (int j = 0; j < n->n_in; j++) uses += n->in[j] == v;
        for (int j = 0; j < n->n_post; j++)
            uses += (n->post[j].kind == NN_POST_ADD || n->post[j].kind == NN_POST_MUL) &&
                    n->post[j].value == v;
        if (!uses) continue;
        if (found >= 0 || uses > 1) return -1;
        found = i;
    }
    return found;
}

int graph_consumer_op(const nn_graph *g, int v, const char *op)
{
    if (v < 0 || g->v[v].uses != 1 || g->v[v].is_output) return -1;
    int c = graph_sole_consumer(g, v);
    return c >= 0 && !strcmp(g->n[c].op_type, op) && !g->n[c].n_post ? c : -1;
}

void graph_replace_uses(nn_graph *g, int from, int to)
{
    for (int i = 0; i < g->nn; i++) {
        nn_node *n = &g->n[i];
        if (n->dead) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] == from) n->in[j] = to;
        for (int j = 0; j < n->n_post; j++)
            if ((n->post[j].kind == NN_POST_ADD || n->post[j].kind == NN_POST_MUL) &&
                n->post[j].value == from)
                n->post[j].value = to;
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == from) g->outputs[i] = to;
}

void graph_clone(nn_graph *dst, const nn_graph *src, arena *a)
{
    *dst = *src;
    dst->a = a;
    dst->cap_v = src->nv + 64;
    dst->v = xmalloc((size_t)dst->cap_v * sizeof *dst->v);
    if (src->nv) memcpy(dst->v, src->v, (size_t)src->nv * sizeof *src->v);
    for (int i = 0; i < dst->nv; i++) dst->v[i].owned = false;
    dst->cap_n = src->nn + 64;
    dst->n = xmalloc((size_t)dst->cap_n * sizeof *dst->n);
    if (src->nn) memcpy(dst->n, src->n, (size_t)src->nn * sizeof *src->n);
    /* index arrays are rewritten by passes: give the copy its own */
    for (int i = 0; i < dst->nn; i++) {
        nn_node *n = &dst->n[i];
        n->in = index_array(a, n->in, n->n_in, n->n_in, NN_IN_SLOTS);
        n->out = index_array(a, n->out, n->n_out, n->n_out, NN_OUT_SLOTS);
    }
    dst->outputs = arena_alloc(a, (size_t)(src->n_outputs + 1) * sizeof(int));
    memcpy(dst->outputs, src->outputs, (size_t)src->n_outputs * sizeof(int));
}

void graph_free_value(nn_graph *g, int i)
{
    nn_value *v = &g->v[i];
    if (!v->owned) return;
    free(v->data); /* string tensors are packed into one block too */
    v->data = NULL;
    v->owned = false;
}

void graph_free_data(nn_graph *g, int from_value)
{
    for (int i = from_value; i < g->nv; i++) graph_free_value(g, i);
}

int graph_toposort(const nn_graph *g, int *order, int *n_order, err *e)
{
    /* Kahn's algorithm over live nodes, stable with respect to the file's order. */
    int *pending = xcalloc((size_t)g->nn + 1, sizeof *pending);
    int *ready = xmalloc(((size_t)g->nn + 1) * sizeof *ready);
    bool *avail = xcalloc((size_t)g->nv + 1, sizeof *avail);
    int n_live = 0;
    for (int i = 0; i < g->nv; i++)
        avail[i] = g->v[i].kind != NN_V_ACT || g->v[i].producer < 0 || g->n[g->v[i].producer].dead;
    for (int i = 0; i < g->nv; i++)
        if (g->v[i].kind == NN_V_ACT && g->v[i].producer >= 0 && !g->n[g->v[i].producer].dead)
            avail[i] = false;
    int head = 0, tail = 0;
    for (int i = 0; i < g->nn; i++) {
        const nn_node *n = &g->n[i];
        if (n->dead) continue;
        n_live++;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0 && !avail[n->in[j]]) pending[i]++;
        for (int j = 0; j < n->n_post; j++)
            if ((n->post[j].kind == NN_POST_ADD || n->post[j].kind == NN_POST_MUL) &&
                !avail[n->post[j].value])
                pending[i]++;
        if (!pending[i]) ready[tail++] = i;
    }
    /* consumers lists, built on the fly: a simple O(nodes x inputs) scan per produced value
     * would be quadratic; index consumers once instead */
    int *cstart = xcalloc((size_t)g->nv + 2, sizeof *cstart);
    for (int i = 0; i < g->nn; i++) {
        const nn_node *n = &g->n[i];
        if (n->dead) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0) cstart[n->in[j] + 1]++;
        for (int j = 0; j < n->n_post; j++)
            if (n->post[j].kind == NN_POST_ADD || n->post[j].kind == NN_POST_MUL)
                cstart[n->post[j].value + 1]++;
    }
    for (int i = 0; i < g->nv; i++) cstart[i + 1] += cstart[i];
    int *cons = xmalloc(((size_t)cstart[g->nv] + 1) * sizeof *cons);
    int *fill = xcalloc((size_t)g->nv + 1, sizeof *fill);
    for (int i = 0; i < g->nn; i++) {
        const nn_node *n = &g->n[i];
        if (n->dead) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0) cons[cstart[n->in[j]] + fill[n->in[j]]++] = i;
        for (int j = 0; j < n->n_post; j++)
            if (n->post[j].kind == NN_POST_ADD || n->post[j].kind == NN_POST_MUL)
                cons[cstart[n->post[j].value] + fill[n->post[j].value]++] = i;
    }
    int count = 0;
    while (head < tail) {
        int i = ready[head++];
        order[count++] = i;
        const nn_node *n = &g->n[i];
        for (int j = 0; j < n->n_out; j++) {
            int v = n->out[j];
            if (v < 0 || avail[v]) continue;
            avail[v] = true;
            for (int c = cstart[v]; c < cstart[v + 1]; c++)
                if (--pending[cons[c]] == 0) ready[tail++] = cons[c];
        }
    }
    int rc = 0;
    if (count != n_live) {
        for (int i = 0; i < g->nn; i++) {
            if (g->n[i].dead || !pending[i]) continue;
            const nn_node *n = &g->n[i];
            const char *what = "?";
            for (int j = 0; j < n->n_in; j++)
                if (n->in[j] >= 0 && !avail[n->in[j]]) {
                    what = g->v[n->in[j]].name;
                    break;
                }
            node_err(e, g, n, 400, "input '%s' is never computed (the graph has a cycle)", what);
            break;
        }
        rc = -1;
    }
    *n_order = count;
    free(pending);
    free(ready);
    free(avail);
    free(cstart);
    free(cons);
    free(fill);
    return rc;
}

const nn_attr *node_attr(const nn_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t attr_i(const nn_node *n, const char *name, int64_t def)
{
    const nn_attr *a = node_attr(n, name);
    return a && a->type == NN_AT_INT ? a->i : def;
}

float attr_f(const nn_node *n, const char *name, float def)
{
    const nn_attr *a = node_attr(n, name);
    if (!a) return def;
    if (a->type == NN_AT_FLOAT) return a->f;
    if (a->type == NN_AT_INT) return (float)a->i;
    return def;
}

const char *attr_s(const nn_node *n, const char *name, const char *def)
{
    const nn_attr *a = node_attr(n, name);
    return a && a->type == NN_AT_STRING && a->s ? a->s : def;
}

int attr_ints(const nn_node *n, const char *name, int64_t *out, int cap)
{
    const nn_attr *a = node_attr(n, name);
    if (!a || a->type != NN_AT_INTS || a->n > cap) return -1;
    for (int i = 0; i < a->n; i++) out[i] = a->ints[i];
    return a->n;
}

void node_err(err *e, const nn_graph *g, const nn_node *n, int status, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err_set(e, status, "%s: node '%s' (%s): %s", g->file ? g->file : "model", n->name, n->op_type,
            msg);
}

int const_ints(const nn_value *v, int64_t *out, int cap)
{
    if (v->kind != NN_V_CONST || v->rank > 1) return -1;
    int64_t n = value_count(v);
    if (n > cap) return -1;
    for (int64_t i = 0; i < n; i++) {
        switch (v->dtype) {
        case NN_I64:
            out[i] = ((const int64_t *)v->data)[i];
            break;
        case NN_I32:
            out[i] = ((const int32_t *)v->data)[i];
            break;
        default:
            return -1;
        }
    }
    return (int)n;
}

bool const_scalar(const nn_value *v, double *out)
{
    if (!v || v->kind != NN_V_CONST || value_count(v) != 1) return false;
    return nn_convert(v->data, v->dtype, out, NN_F64, 1);
}

static nn_attr *attr_new(nn_graph *g, int node, const char *name, int type)
{
    nn_node *n = &g->n[node];
    nn_attr *a = arena_calloc(g->a, (size_t)n->n_attrs + 2, sizeof *a);
    if (n->n_attrs) memcpy(a, n->attrs, (size_t)n->n_attrs * sizeof *a);
    n->attrs = a;
    nn_attr *x = &a[n->n_attrs++];
    memset(x, 0, sizeof *x);
    x->name = arena_strdup(g->a, name);
    x->type = type;
    x->tensor = -1;
    return x;
}

void node_add_attr_i(nn_graph *g, int node, const char *name, int64_t v)
{
    attr_new(g, node, name, NN_AT_INT)->i = v;
}

void node_add_attr_f(nn_graph *g, int node, const char *name, float v)
{
    attr_new(g, node, name, NN_AT_FLOAT)->f = v;
}

int graph_add_const(nn_graph *g, const char *name, nn_dtype t, int rank, const int64_t *dims,
                    void *data)
{
    int v = graph_add_value(g, name);
    nn_value *val = &g->v[v];
    val->kind = NN_V_CONST;
    val->dtype = t;
    val->rank = rank;
    for (int i = 0; i < rank; i++) val->dims[i] = dims[i];
    val->data = data;
    val->owned = true;
    return v;
}

void node_set_inputs(nn_graph *g, int node, int n_in)
{
    nn_node *n = &g->n[node];
    if (n_in <= n->n_in) {
        n->n_in = n_in;
        return;
    }
    n->in = index_array(g->a, n->in, n->n_in, n_in, NN_IN_SLOTS);
    n->n_in = n_in;
}

int value_producer(const nn_graph *g, int v)
{
    if (v < 0) return -1;
    int p = g->v[v].producer;
    return p >= 0 && !g->n[p].dead ? p : -1;
}
