/* Plans: one per input-shape signature, built on first use and cached in the model.
 *
 * Building a plan: copy the model's graph, give the inputs their shapes, infer every
 * value's shape in topological order while folding what has become constant (Shape and
 * the arithmetic exporters build on it), run the shape-dependent passes, choose layouts,
 * prepare kernels, and place every intermediate value in one arena by liveness. Values
 * that are views of others (Reshape and friends, the parts of a channel Split, the parts
 * of a channel Concat) share storage with them, so a convolution writes straight into its
 * concat buffer and the Concat itself does nothing. */
#include "nn/ops.h"

#include <stdlib.h>

#define FOLD_MAX_BYTES (16u << 20)

/* Operators that handle string tensors: casts to and from them, views, shapes. Others
 * copy or interpret elements as numbers. */
static bool takes_strings(const char *op)
{
    static const char *const ok[] = {"Cast",    "CastLike",  "Identity", "Reshape", "Flatten",
                                     "Squeeze", "Unsqueeze", "Shape",    "Size"};
    for (size_t i = 0; i < ARRAY_LEN(ok); i++)
        if (!strcmp(op, ok[i])) return true;
    return false;
}

int nn_infer_node(nn_graph *g, nn_node *n, err *e)
{
    for (int i = 0; i < n->n_in; i++) {
        nn_value *v = node_in(g, n, i);
        if (v && v->rank < 0) {
            node_err(e, g, n, 422, "the shape of input '%s' is unknown", v->name);
            return -1;
        }
        if (v && v->dtype == NN_STRING && !takes_strings(n->op_type)) {
            node_err(e, g, n, 400, "does not take string tensors ('%s')", v->name);
            return -1;
        }
    }
    if (n->op->infer(g, n, e) != 0) return -1;
    for (int i = 0; i < n->n_out; i++) {
        nn_value *v = node_out(g, n, i);
        if (!v) continue;
        if (v->rank < 0) {
            node_err(e, g, n, 500, "output '%s' has no shape after inference", v->name);
            return -1;
        }
        for (int d = 0; d < v->rank; d++)
            if (v->dims[d] < 0) {
                node_err(e, g, n, 422, "output '%s' would have a negative dimension", v->name);
                return -1;
            }
        int64_t count = 1;
        bool big = false;
        for (int d = 0; d < v->rank && !big; d++) {
            if (v->dims[d] && count > ((int64_t)1 << 34) / v->dims[d]) big = true;
            count *= big ? 1 : v->dims[d];
        }
        if (big) {
            node_err(e, g, n, 422, "output '%s' would have more than 2^34 elements", v->name);
            return -1;
        }
    }
    return 0;
}

int nn_fold_node(nn_graph *g, int node, const nn_kernels *k, err *e)
{
    nn_node *n = &g->n[node];
    void **ptr = xcalloc((size_t)g->nv + 1, sizeof *ptr);
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0) ptr[n->in[i]] = g->v[n->in[i]].data;
    for (int i = 0; i < n->n_post; i++)
        if (n->post[i].kind == NN_POST_ADD || n->post[i].kind == NN_POST_MUL)
            ptr[n->post[i].value] = g->v[n->post[i].value].data;
    int rc = 0;
    for (int i = 0; i < n->n_out && rc == 0; i++) {
        if (n->out[i] < 0) continue;
        nn_value *v = &g->v[n->out[i]];
        size_t bytes = layout_bytes(v, NN_L_PLAIN);
        void *d = NULL;
        if (posix_memalign(&d, 64, bytes ? bytes + 64 : 64) != 0) abort();
        memset(d, 0, bytes ? bytes : 64);
        ptr[n->out[i]] = d;
    }
    nn_exec x = {.g = g, .n = n, .ptr = ptr, .k = k, .threads = 1, .e = e};
    rc = n->op->run(&x);
    for (int i = 0; i < n->n_out; i++) {
        if (n->out[i] < 0) continue;
        nn_value *v = &g->v[n->out[i]];
        if (rc != 0) {
            free(ptr[n->out[i]]);
            continue;
        }
        v->kind = NN_V_CONST;
        v->data = ptr[n->out[i]];
        v->owned = true;
        v->producer = -1;
    }
    if (rc == 0) n->dead = true;
    free(ptr);
    return rc;
}

static bool foldable(const nn_graph *g, const nn_node *n)
{
    if (n->op->flags & NN_OP_NOFOLD) return false;
    size_t out_bytes = 0;
    for (int i = 0; i < n->n_out; i++) {
        const nn_value *v = node_out(g, n, i);
        if (v) out_bytes += value_bytes(v);
    }
    if (out_bytes > FOLD_MAX_BYTES) return false;
    if (n->op->flags & NN_OP_SHAPE_ONLY) return true;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && !value_is_const(g, n->in[i])) return false;
    for (int i = 0; i < n->n_post; i++)
        if ((n->post[i].kind == NN_POST_ADD || n->post[i].kind == NN_POST_MUL) &&
            !value_is_const(g, n->post[i].value))
            return false;
    return true;
}

/* ---------------------------------------------------------------- FLOPs */

static double node_flops(const nn_graph *g, const nn_node *n)
{
    const char *op = n->op_type;
    const nn_value *y = node_out(g, n, 0);
    if (!y || y->rank < 0) return 0;
    if (!strcmp(op, "Conv") || !strcmp(op, "ConvInteger")) {
        const nn_value *w = node_in(g, n, 1);
        if (!w || w->rank < 3) return 0;
        double k = 1;
        for (int i = 1; i < w->rank; i++) k *= (double)w->dims[i];
        return 2.0 * k * (double)value_count(y);
    }
    if (!strcmp(op, "ConvTranspose")) {
        const nn_value *x = node_in(g, n, 0), *w = node_in(g, n, 1);
        if (!x || !w || w->rank < 3) return 0;
        double k = 1;
        for (int i = 1; i < w->rank; i++) k *= (double)w->dims[i];
        return 2.0 * k * (double)value_count(x);
    }
    if (!strcmp(op, "MatMul") || !strcmp(op, "MatMulInteger") || !strcmp(op, "Gemm")) {
        const nn_value *a = node_in(g, n, 0);
        if (!a || a->rank < 1) return 0;
        double K = (double)a->dims[a->rank - 1];
        if (!strcmp(op, "Gemm") && attr_i(n, "transA", 0) && a->rank == 2) K = (double)a->dims[0];
        return 2.0 * K * (double)value_count(y);
    }
    if (!strcmp(op, "nn.Attention")) {
        const nn_value *q = node_in(g, n, 0), *k = node_in(g, n, 1);
        if (!q || !k || q->rank < 2) return 0;
        double L = (double)k->dims[k->rank - 2], D = (double)q->dims[q->rank - 1];
        return 4.0 * L * D * (double)(value_count(q) / (int64_t)D);
    }
    return 0;
}

/* ---------------------------------------------------------------- memory */

typedef struct block {
    int start, end; /* steps, inclusive */
    size_t size;
    size_t off;
    int id; /* value index, or -1 - step for scratch */
} block;

static int block_by_size(const void *a, const void *b)
{
    const block *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->start - y->start;
}

static int block_by_off(const void *a, const void *b)
{
    const block *x = *(block *const *)a, *y = *(block *const *)b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Greedy by size: the largest blocks first, each at the lowest offset where it overlaps
 * no block that is alive at the same time. */
static size_t place_blocks(block *b, int n)
{
    qsort(b, (size_t)n, sizeof *b, block_by_size);
    block **live = xmalloc(((size_t)n + 1) * sizeof *live);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        int m = 0;
        for (int j = 0; j < i; j++)
            if (b[j].start <= b[i].end && b[i].start <= b[j].end) live[m++] = &b[j];
        qsort(live, (size_t)m, sizeof *live, block_by_off);
        size_t off = 0;
        for (int j = 0; j < m; j++) {
            if (live[j]->off >= off + b[i].size) break;
            size_t end = live[j]->off + live[j]->size;
            if (end > off) off = end;
        }
        b[i].off = off;
        if (off + b[i].size > total) total = off + b[i].size;
    }
    free(live);
    return total;
}

static size_t align64(size_t x)
{
    return (x + 63) & ~(size_t)63;
}

typedef struct memctx {
    nn_plan *p;
    int *root;
    int64_t *off;
    int *def, *last;
    size_t *size;
    uint8_t *cls; /* NN_B_* of a root */
    int S;
} memctx;

static void reroot(memctx *c, int r, int to, int64_t d)
{
    for (int u = 0; u < c->p->g.nv; u++)
        if (c->root[u] == r) {
            c->root[u] = to;
            c->off[u] += d;
        }
}

static int group_last(memctx *c, int r)
{
    int last = -1;
    for (int u = 0; u < c->p->g.nv; u++)
        if (c->root[u] == r && c->last[u] > last) last = c->last[u];
    return last;
}

/* Can value v (at offset d in root `to`, whose extent is `to_size`) be placed there by
 * moving its whole group? The group's extent must fall inside `to` and cover only parts
 * that are members of the same group at matching offsets. */
static bool can_place(memctx *c, int v, int to, int64_t d, const int *parts,
                      const int64_t *part_off, int n_parts)
{
    int r = c->root[v];
    if (c->cls[r] != NN_B_ARENA || c->cls[to] != NN_B_ARENA) return false;
    if (c->p->buf[v].layout != c->p->buf[to].layout) return false;
    if (r == to) return c->off[v] == d;
    int64_t start = d - c->off[v];
    int64_t end = start + (int64_t)c->size[r];
    if (start < 0 || end > (int64_t)c->size[to]) return false;
    for (int i = 0; i < n_parts; i++) {
        int u = parts[i];
        int64_t us = part_off[i], ue = us + (int64_t)c->size[u];
        if (ue <= start || us >= end || u == v) continue;
        if (c->root[u] != r || c->off[u] + start != us) return false;
    }
    /* and no member of `to` may sit where the group lands */
    for (int u = 0; u < c->p->g.nv; u++) {
        if (c->root[u] != to || u == to) continue;
        int64_t us = c->off[u], ue = us + (int64_t)c->size[u];
        if (ue > start && us < end) return false;
    }
    return true;
}

/* Offsets of the parts of a Concat/Split along `axis` if they are contiguous slabs of the
 * whole (every dimension before the axis is 1); false otherwise. */
static bool slab_offsets(const nn_plan *p, int whole, const int *parts, int n_parts, int axis,
                         int64_t *offs)
{
    const nn_value *w = &p->g.v[whole];
    for (int d = 0; d < axis; d++)
        if (w->dims[d] != 1) return false;
    int layout = p->buf[whole].layout;
    int64_t o = 0;
    for (int i = 0; i < n_parts; i++) {
        if (parts[i] < 0) return false;
        const nn_value *u = &p->g.v[parts[i]];
        if (p->buf[parts[i]].layout != layout) return false;
        if (layout == NN_L_BLK16 && (axis != 1 || u->dims[1] % 16 != 0)) return false;
        offs[i] = o;
        o += (int64_t)value_bytes(u);
    }
    return o == (int64_t)value_bytes(w);
}

static void alias_concat(memctx *c, nn_node *n, int s)
{
    nn_plan *p = c->p;
    int out = n->out[0];
    const nn_value *ov = &p->g.v[out];
    int axis = norm_axis(attr_i(n, "axis", 0), ov->rank);
    if (axis < 0 || n->n_in > 256 || c->cls[out] != NN_B_ARENA || c->root[out] != out) return;
    int64_t offs[256];
    if (!slab_offsets(p, out, n->in, n->n_in, axis, offs)) return;
    bool all = true;
    for (int i = 0; i < n->n_in; i++) {
        int v = n->in[i];
        bool dup = false;
        for (int j = 0; j < i; j++) dup |= n->in[j] == v;
        if (dup || p->g.v[v].is_output || !can_place(c, v, out, offs[i], n->in, offs, n->n_in)) {
            all = false;
            continue;
        }
        if (c->root[v] != out) reroot(c, c->root[v], out, offs[i] - c->off[v]);
    }
    (void)s;
    if (all) p->steps[s].skip = true;
}

static void alias_split(memctx *c, nn_node *n, int s)
{
    nn_plan *p = c->p;
    int in = n->in[0];
    const nn_value *iv = &p->g.v[in];
    int axis = norm_axis(attr_i(n, "axis", 0), iv->rank);
    if (axis < 0 || n->n_out > 256) return;
    int r = c->root[in];
    if (c->cls[r] == NN_B_CONST || c->cls[r] == NN_B_NONE) return;
    int64_t offs[256];
    if (!slab_offsets(p, in, n->out, n->n_out, axis, offs)) return;
    for (int i = 0; i < n->n_out; i++) {
        int u = n->out[i];
        if (p->g.v[u].is_output && c->cls[r] == NN_B_INPUT) return;
    }
    for (int i = 0; i < n->n_out; i++) {
        int u = n->out[i];
        c->root[u] = r;
        c->off[u] = c->off[in] + offs[i];
    }
    p->steps[s].skip = true;
}

static void alias_view(memctx *c, nn_node *n, int s)
{
    nn_plan *p = c->p;
    int in = n->in[0], out = n->out[0];
    if (in < 0 || out < 0) return;
    int r = c->root[in];
    if (c->cls[r] == NN_B_NONE) return;
    if (p->buf[in].layout != NN_L_PLAIN || p->buf[out].layout != NN_L_PLAIN) return;
    if (p->g.v[out].is_output && c->cls[r] != NN_B_ARENA) return;
    c->root[out] = r;
    c->off[out] = c->off[in];
    p->steps[s].skip = true;
}

static void alias_inplace(memctx *c, nn_node *n, int s)
{
    nn_plan *p = c->p;
    int in = n->in[0], out = n->out[0];
    if (in < 0 || out < 0 || c->root[out] != out) return;
    int r = c->root[in];
    if (c->cls[r] != NN_B_ARENA || p->g.v[in].is_output) return;
    if (c->size[in] != c->size[out] || p->buf[in].layout != p->buf[out].layout) return;
    if (p->g.v[in].dtype != p->g.v[out].dtype) return;
    if (group_last(c, r) > s) return;
    /* the other inputs must not be in the same storage at another place */
    for (int i = 1; i < n->n_in; i++)
        if (n->in[i] >= 0 && c->root[n->in[i]] == r && c->off[n->in[i]] != c->off[in]) return;
    c->root[out] = r;
    c->off[out] = c->off[in];
}

static int plan_memory(nn_plan *p, err *e)
{
    (void)e;
    nn_graph *g = &p->g;
    int nv = g->nv, S = p->n_steps;
    memctx c = {.p = p, .S = S};
    c.root = xmalloc((size_t)nv * sizeof *c.root);
    c.off = xcalloc((size_t)nv, sizeof *c.off);
    c.def = xmalloc((size_t)nv * sizeof *c.def);
    c.last = xmalloc((size_t)nv * sizeof *c.last);
    c.size = xcalloc((size_t)nv, sizeof *c.size);
    c.cls = xcalloc((size_t)nv, 1);
    for (int v = 0; v < nv; v++) {
        c.root[v] = v;
        c.def[v] = -1;
        c.last[v] = -1;
        const nn_value *val = &g->v[v];
        c.size[v] = val->rank >= 0 && val->dtype ? layout_bytes(val, p->buf[v].layout) : 0;
        c.cls[v] = val->kind == NN_V_CONST   ? NN_B_CONST
                   : val->kind == NN_V_INPUT ? NN_B_INPUT
                                             : NN_B_NONE;
    }
    for (int s = 0; s < S; s++) {
        const nn_node *n = &g->n[p->steps[s].node];
        for (int i = 0; i < n->n_out; i++)
            if (n->out[i] >= 0) {
                c.def[n->out[i]] = s;
                c.last[n->out[i]] = s;
                c.cls[n->out[i]] = NN_B_ARENA;
            }
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0) c.last[n->in[i]] = s;
        for (int i = 0; i < n->n_post; i++)
            if (n->post[i].kind == NN_POST_ADD || n->post[i].kind == NN_POST_MUL)
                c.last[n->post[i].value] = s;
    }
    for (int i = 0; i < g->n_outputs; i++) c.last[g->outputs[i]] = S;

    for (int s = 0; s < S; s++) {
        nn_node *n = &g->n[p->steps[s].node];
        int fl = n->op->flags;
        if (fl & NN_OP_ALIAS)
            alias_view(&c, n, s);
        else if (!strcmp(n->op_type, "Concat"))
            alias_concat(&c, n, s);
        else if (!strcmp(n->op_type, "Split") && n->n_out > 0)
            alias_split(&c, n, s);
        else if ((fl & NN_OP_INPLACE) && n->n_post == 0)
            alias_inplace(&c, n, s);
    }

    /* one block per arena root, with the lifetime of its whole group, plus scratch */
    block *b = xmalloc(((size_t)nv + (size_t)S + 1) * sizeof *b);
    int nb = 0;
    int *bi = xmalloc((size_t)nv * sizeof *bi);
    for (int v = 0; v < nv; v++) {
        bi[v] = -1;
        if (c.root[v] != v || c.cls[v] != NN_B_ARENA) continue;
        bi[v] = nb;
        b[nb++] = (block){.start = c.def[v],
                          .end = c.last[v],
                          .size = align64(c.size[v] ? c.size[v] : 1),
                          .id = v};
    }
    for (int v = 0; v < nv; v++) {
        int r = c.root[v];
        if (r == v || bi[r] < 0) continue;
        block *x = &b[bi[r]];
        if (c.def[v] >= 0 && c.def[v] < x->start) x->start = c.def[v];
        if (c.last[v] > x->end) x->end = c.last[v];
    }
    for (int s = 0; s < S; s++)
        if (p->steps[s].scratch)
            b[nb++] =
                (block){.start = s, .end = s, .size = align64(p->steps[s].scratch), .id = -1 - s};
    p->arena_bytes = place_blocks(b, nb);
    size_t *root_off = xcalloc((size_t)nv, sizeof *root_off);
    for (int i = 0; i < nb; i++) {
        if (b[i].id >= 0)
            root_off[b[i].id] = b[i].off;
        else
            p->steps[-1 - b[i].id].scratch_off = b[i].off;
    }
    for (int v = 0; v < nv; v++) {
        int r = c.root[v];
        nn_buf *bf = &p->buf[v];
        bf->where = c.cls[r];
        bf->size = c.size[v];
        if (bf->where == NN_B_ARENA) {
            bf->off = root_off[r] + (size_t)c.off[v];
        } else if (bf->where == NN_B_INPUT) {
            bf->off = (size_t)c.off[v];
            bf->input = -1;
            for (int i = 0; i < g->n_inputs; i++)
                if (g->inputs[i] == r) bf->input = i;
        } else if (bf->where == NN_B_CONST) {
            bf->off = (size_t)c.off[v];
            bf->input = r; /* the constant whose data this is */
        }
    }
    free(root_off);
    free(bi);
    free(b);
    free(c.root);
    free(c.off);
    free(c.def);
    free(c.last);
    free(c.size);
    free(c.cls);
    return 0;
}

/* ---------------------------------------------------------------- building */

int plan_layouts(nn_plan *p, const nn_model *m, err *e);

static int plan_order(nn_plan *p, err *e)
{
    free(p->order);
    p->order = xmalloc(((size_t)p->g.nn + 1) * sizeof *p->order);
    int n;
    if (graph_toposort(&p->g, p->order, &n, e) != 0) return -1;
    p->n_steps = n;
    return 0;
}

/* Graph inputs among the ancestors of value v (through live nodes) that are small enough
 * to be taken by value; marks them in `mark`. Returns how many were found. */
static int small_input_ancestors(const nn_graph *g, int v, bool *seen, bool *mark)
{
    if (v < 0 || seen[v]) return 0;
    seen[v] = true;
    const nn_value *val = &g->v[v];
    if (val->kind == NN_V_INPUT) {
        if (val->rank >= 0 && value_count(val) <= 64) {
            for (int i = 0; i < g->n_inputs; i++)
                if (g->inputs[i] == v) mark[i] = true;
            return 1;
        }
        return 0;
    }
    if (val->kind != NN_V_ACT || val->producer < 0) return 0;
    const nn_node *n = &g->n[val->producer];
    if (n->op->flags & NN_OP_SHAPE_ONLY) return 0; /* reads shapes only, never values */
    int found = 0;
    for (int i = 0; i < n->n_in; i++) found += small_input_ancestors(g, n->in[i], seen, mark);
    return found;
}

/* After a node failed because an input had to be constant: which graph inputs would make
 * it so. Data inputs (input 0) are not followed except where input 0 is itself a shape. */
static int needed_inputs(const nn_graph *g, const nn_node *n, bool *mark)
{
    bool *seen = xcalloc((size_t)g->nv + 1, 1);
    bool shape0 = !strcmp(n->op_type, "ConstantOfShape") || !strcmp(n->op_type, "Range");
    int found = 0;
    for (int i = shape0 ? 0 : 1; i < n->n_in; i++)
        if (n->in[i] >= 0 && !value_is_const(g, n->in[i]))
            found += small_input_ancestors(g, n->in[i], seen, mark);
    free(seen);
    return found;
}

/* After step st is prepared: a constant weight whose only reader in this plan is a step
 * that keeps its own (reordered) copy no longer needs ours. A copy we made is freed (and
 * made again from the file if a later plan needs it); data still in the mapped file just
 * gives its pages back. A constant that any plan reads while running is pinned. */
static void release_weights(nn_model *m, nn_plan *p, const nn_step *st)
{
    const nn_node *n = &p->g.n[st->node];
    for (int i = 0; i < n->n_in; i++) {
        int id = n->in[i];
        if (id < 0 || id >= m->l.g.nv) continue;
        nn_value *v = &m->l.g.v[id];
        if (v->kind != NN_V_CONST || v->src_kind == NN_SRC_NONE || v->pinned || v->released)
            continue;
        if (!st->owns_weights || (i != 1 && i != 2) || v->is_output) {
            v->pinned = true;
            continue;
        }
        int readers = 0;
        for (int k = 0; k < p->g.nn; k++) {
            const nn_node *c = &p->g.n[k];
            if (c->dead) continue;
            for (int j = 0; j < c->n_in; j++) readers += c->in[j] == id;
            for (int j = 0; j < c->n_post; j++) readers += c->post[j].value == id;
        }
        if (readers != 1) continue;
        if (v->owned) {
            free(v->data);
            v->data = NULL;
            v->owned = false;
            v->released = true;
            p->g.v[id].data = NULL;
        } else if (v->src_kind == NN_SRC_MAPPED && v->data == v->src) {
            nn_drop_pages(v->src, v->src_len);
        }
    }
}

static nn_plan *plan_build(nn_model *m, const nn_tensor *in, bool *need, err *e)
{
    for (int i = 0; i < m->l.g.nv; i++) nn_const_restore(&m->l.g.v[i]);
    nn_plan *p = xcalloc(1, sizeof *p);
    p->m = m;
    p->a = arena_new(1 << 16);
    graph_clone(&p->g, &m->l.g, p->a);
    nn_graph *g = &p->g;
    p->n_inputs = g->n_inputs;
    p->in = xcalloc((size_t)g->n_inputs + 1, sizeof *p->in);
    for (int i = 0; i < g->nv; i++)
        if (g->v[i].kind == NN_V_ACT) g->v[i].rank = -1;
    for (int i = 0; i < g->n_inputs; i++) {
        nn_value *v = &g->v[g->inputs[i]];
        v->rank = in[i].rank;
        memcpy(v->dims, in[i].shape, sizeof v->dims);
        p->in[i] = in[i];
        p->in[i].data = NULL;
        if (m->by_value[i]) {
            size_t bytes = value_bytes(v);
            void *d = xmalloc(bytes + 8);
            memcpy(d, in[i].data, bytes);
            p->in[i].data = d;
            v->kind = NN_V_CONST;
            v->data = d;
        }
    }

    if (plan_order(p, e) != 0) goto fail;
    for (int s = 0; s < p->n_steps; s++) {
        int ni = p->order[s];
        nn_node *n = &g->n[ni];
        if (nn_infer_node(g, n, e) != 0) {
            if (e && e->status == 422 && need) needed_inputs(g, n, need);
            goto fail;
        }
        /* folding here is not an optimisation: a static plan needs every shape, and
         * shapes are computed from whatever the graph folds to */
        if (foldable(g, n) && nn_fold_node(g, ni, m->k, e) != 0) goto fail;
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->v[g->outputs[i]].rank < 0) {
            err_set(e, 422, "%s: output '%s' is never computed", m->file, g->v[g->outputs[i]].name);
            goto fail;
        }
    /* the layouts walk the nodes in order, including those the passes add */
    if (m->p.optimize && nn_passes_plan(g) > 0 && plan_order(p, e) != 0) goto fail;
    p->buf = xcalloc((size_t)g->nv + 1, sizeof *p->buf);
    if (plan_layouts(p, m, e) != 0) goto fail;
    if (plan_order(p, e) != 0) goto fail;

    p->steps = xcalloc((size_t)p->n_steps + 1, sizeof *p->steps);
    p->sess_ops = xcalloc((size_t)p->n_steps + 1, sizeof *p->sess_ops);
    p->sess_step = xcalloc((size_t)p->n_steps + 1, sizeof *p->sess_step);
    for (int s = 0; s < p->n_steps; s++) {
        nn_step *st = &p->steps[s];
        st->node = p->order[s];
        st->sess_slot = -1;
        nn_node *n = &g->n[st->node];
        st->run = n->op->run;
        p->flops += node_flops(g, n);
        if (n->op->prepare) {
            nn_prep pr = {.m = m, .plan = p, .g = g, .n = n, .step = st, .k = m->k};
            if (n->op->prepare(&pr, e) != 0) goto fail;
            if (pr.run) st->run = pr.run;
            st->state = pr.state;
            st->free_state = pr.free_state;
            st->scratch = pr.scratch;
            st->owns_weights = pr.owns_weights;
            /* at once, so the original and the reordered weights are not all in memory
             * together */
            release_weights(m, p, st);
            if (pr.sess) {
                st->sess_slot = p->n_sess_slots;
                p->sess_ops[p->n_sess_slots] = pr.sess;
                p->sess_step[p->n_sess_slots++] = s;
            }
        }
    }
    if (plan_memory(p, e) != 0) goto fail;
    if (m->p.max_arena && p->arena_bytes > m->p.max_arena) {
        err_set(e, 413,
                "%s: running on these inputs needs %zu bytes of memory, more than the %zu allowed",
                m->file, p->arena_bytes, m->p.max_arena);
        goto fail;
    }
    return p;
fail:
    nn_plan_free(p);
    return NULL;
}

void nn_plan_free(nn_plan *p)
{
    if (!p) return;
    for (int s = 0; s < p->n_steps && p->steps; s++)
        if (p->steps[s].free_state) p->steps[s].free_state(p->steps[s].state);
    graph_free_data(&p->g, 0);
    free(p->g.v);
    free(p->g.n);
    free(p->steps);
    free(p->sess_ops);
    free(p->sess_step);
    free(p->order);
    free(p->buf);
    for (int i = 0; i < p->n_inputs && p->in; i++) free(p->in[i].data);
    free(p->in);
    arena_free(p->a);
    free(p);
}

static uint64_t plan_key(const nn_model *m, const nn_tensor *in)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < m->l.g.n_inputs; i++) {
        h = (h ^ (uint64_t)in[i].rank) * 1099511628211ull;
        for (int d = 0; d < in[i].rank; d++) h = (h ^ (uint64_t)in[i].shape[d]) * 1099511628211ull;
        if (m->by_value[i])
            h ^= hash64(in[i].data, (size_t)nn_tensor_count(&in[i]) * nn_dtype_size(in[i].dtype));
    }
    return h;
}

bool nn_plan_matches(const nn_model *m, const nn_plan *p, const nn_tensor *in)
{
    for (int i = 0; i < p->n_inputs; i++) {
        const nn_tensor *a = &p->in[i], *b = &in[i];
        if (a->rank != b->rank || memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->rank))
            return false;
        if (m->by_value[i] &&
            (!a->data ||
             memcmp(a->data, b->data, (size_t)nn_tensor_count(b) * nn_dtype_size(b->dtype))))
            return false;
    }
    return true;
}

#define MAX_PLANS 16

/* Drops the oldest plans no session uses while there are more than MAX_PLANS. */
static void evict(nn_model *m)
{
    while (m->n_plans > MAX_PLANS) {
        nn_plan **pp = &m->plans, **victim = NULL;
        for (; *pp; pp = &(*pp)->next)
            if ((*pp)->refs == 0) victim = pp;
        if (!victim) return;
        nn_plan *v = *victim;
        *victim = v->next;
        m->n_plans--;
        nn_plan_free(v);
    }
}

nn_plan *nn_model_plan(nn_model *m, const nn_tensor *in, err *e)
{
    int n = m->l.g.n_inputs;
    pthread_mutex_lock(&m->lock);
    uint64_t key = plan_key(m, in);
    nn_plan *p;
    for (p = m->plans; p; p = p->next)
        if (p->key == key && nn_plan_matches(m, p, in)) break;
    for (int tries = 0; !p && tries <= n; tries++) {
        bool *need = xcalloc((size_t)n + 1, 1);
        p = plan_build(m, in, need, e);
        bool retry = false;
        if (!p) {
            for (int i = 0; i < n; i++)
                if (need[i] && !m->by_value[i] && in[i].data) {
                    m->by_value[i] = true;
                    retry = true;
                    log_info("nn model=%s input=%s taken by value: shapes depend on it", m->file,
                             m->l.inputs[i].name);
                }
        }
        free(need);
        if (retry) err_clear(e);
        if (p) {
            p->key = plan_key(m, in);
            p->next = m->plans;
            m->plans = p;
            m->n_plans++;
            log_debug("nn plan built model=%s steps=%d arena=%zu", m->file, p->n_steps,
                      p->arena_bytes);
        } else if (!retry) {
            if (e && !e->status)
                err_set(e, 422, "%s: cannot plan the model for these inputs", m->file);
            break;
        }
    }
    if (p) {
        p->refs++;
        evict(m);
    }
    pthread_mutex_unlock(&m->lock);
    return p;
}

void nn_plan_release(nn_model *m, nn_plan *p)
{
    if (!p) return;
    pthread_mutex_lock(&m->lock);
    p->refs--;
    evict(m);
    pthread_mutex_unlock(&m->lock);
}
