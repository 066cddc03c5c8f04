/* Dead-node elimination: nodes none of whose outputs reach a graph output. */
#include "nn/nn_impl.h"

int pass_dead_nodes(nn_graph *g)
{
    graph_count_uses(g);
    int removed = 0;
    bool changed = true;
    while (changed) {
        changed = false;
        for (int i = g->nn - 1; i >= 0; i--) {
            nn_node *n = &g->n[i];
            if (n->dead) continue;
            bool used = false;
            for (int j = 0; j < n->n_out; j++) {
                int v = n->out[j];
                if (v >= 0 && (g->v[v].uses > 0 || g->v[v].is_output)) used = true;
            }
            if (used) continue;
            n->dead = true;
            removed++;
            changed = true;
            for (int j = 0; j < n->n_in; j++)
                if (n->in[j] >= 0) g->v[n->in[j]].uses--;
            for (int j = 0; j < n->n_post; j++)
                if (n->post[j].kind == NN_POST_ADD || n->post[j].kind == NN_POST_MUL)
                    g->v[n->post[j].value].uses--;
        }
    }
    return removed;
}
