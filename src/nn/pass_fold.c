/* Constant folding: every node whose inputs are all constant (or that only reads its
 * input's shape, like Shape) is evaluated once with its reference kernel and replaced by
 * its result. At load time this covers the arithmetic exporters build on fixed input
 * shapes; plans run the same folding again once all shapes are known. */
#include "nn/ops.h"

#include <stdlib.h>

static bool shapes_known(const nn_graph *g, const nn_node *n)
{
    for (int i = 0; i < n->n_in; i++) {
        const nn_value *v = node_in(g, n, i);
        if (!v) continue;
        if (v->rank < 0) return false;
        for (int d = 0; d < v->rank; d++)
            if (v->dims[d] < 0) return false;
    }
    return true;
}

int pass_fold_constants(nn_graph *g, const nn_kernels *k, size_t max_bytes, err *e)
{
    int *order = xmalloc(((size_t)g->nn + 1) * sizeof *order);
    int n_order, folded = 0;
    if (graph_toposort(g, order, &n_order, e) != 0) {
        free(order);
        return -1;
    }
    for (int s = 0; s < n_order; s++) {
        nn_node *n = &g->n[order[s]];
        if (n->dead || !shapes_known(g, n)) continue;
        if (nn_infer_node(g, n, e) != 0) {
            if (e && e->status == 422) {
                /* needs something only a plan knows: leave it to the plan */
                err_clear(e);
                for (int i = 0; i < n->n_out; i++)
                    if (n->out[i] >= 0) g->v[n->out[i]].rank = -1;
                continue;
            }
            free(order);
            return -1;
        }
        if (n->op->flags & NN_OP_NOFOLD) continue;
        bool all = (n->op->flags & NN_OP_SHAPE_ONLY) != 0;
        if (!all) {
            all = true;
            for (int i = 0; i < n->n_in; i++)
                if (n->in[i] >= 0 && !value_is_const(g, n->in[i])) all = false;
            for (int i = 0; i < n->n_post; i++)
                if ((n->post[i].kind == NN_POST_ADD || n->post[i].kind == NN_POST_MUL) &&
                    !value_is_const(g, n->post[i].value))
                    all = false;
        }
        if (!all) continue;
        size_t bytes = 0;
        for (int i = 0; i < n->n_out; i++)
            if (n->out[i] >= 0) bytes += value_bytes(&g->v[n->out[i]]);
        if (bytes > max_bytes) continue;
        if (nn_fold_node(g, order[s], k, e) != 0) {
            free(order);
            return -1;
        }
        folded++;
    }
    free(order);
    return folded;
}
