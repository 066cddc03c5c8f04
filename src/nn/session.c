/* Sessions: binding inputs, finding the plan for their shapes, running its steps. */
#include "nn/ops.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

struct nn_session {
    nn_model *m;
    nn_tensor *in; /* bound inputs, by graph input index */
    bool *bound;
    nn_plan *plan; /* the plan the buffers below are laid out for */
    void *arena;
    size_t arena_cap;
    void **ptr;
    void **sess_state;
    nn_tensor *out;
    dnnl_stream_t stream;
    nn_profile_entry *prof;
    int n_prof;
};

/* Session memory is mapped on its own, 2 MB aligned, asking for transparent huge pages
 * (where the system gives them on request, as Debian's default does). The segment service
 * drops its encoder session's ~180 MB after each photo, so every photo touches it anew:
 * in 4 KB pages that was ~45,000 page faults, a fifth of the encoder's time. */
#define ARENA_ALIGN ((size_t)2 << 20)

static void *arena_map(size_t n, size_t *len)
{
    *len = (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    size_t span = *len + ARENA_ALIGN;
    char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    char *a = (char *)(((uintptr_t)p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1));
    if (a > p) munmap(p, (size_t)(a - p));
    if (p + span > a + *len) munmap(a + *len, (size_t)(p + span - (a + *len)));
#ifdef MADV_HUGEPAGE
    madvise(a, *len, MADV_HUGEPAGE);
#endif
    return a;
}

static void arena_unmap(nn_session *s)
{
    if (s->arena) munmap(s->arena, s->arena_cap);
    s->arena = NULL;
    s->arena_cap = 0;
}

nn_session *nn_session_new(nn_model *m, err *e)
{
    nn_session *s = xcalloc(1, sizeof *s);
    s->m = m;
    int n = m->l.n_inputs;
    s->in = xcalloc((size_t)n + 1, sizeof *s->in);
    s->bound = xcalloc((size_t)n + 1, sizeof *s->bound);
    s->out = xcalloc((size_t)m->l.n_outputs + 1, sizeof *s->out);
    if (dnnl_stream_create(&s->stream, (dnnl_engine_t)nn_dnnl_engine(),
                           dnnl_stream_default_flags) != dnnl_success) {
        err_set(e, 500, "%s: cannot create a oneDNN stream", m->file);
        nn_session_free(s);
        return NULL;
    }
    return s;
}

static void unbind(nn_session *s)
{
    if (!s->plan) return;
    for (int i = 0; i < s->plan->n_sess_slots; i++)
        if (s->sess_state[i]) s->plan->sess_ops[i]->destroy(s->sess_state[i]);
    free(s->sess_state);
    s->sess_state = NULL;
    free(s->ptr);
    s->ptr = NULL;
    nn_plan_release(s->m, s->plan);
    s->plan = NULL;
}

void nn_session_free(nn_session *s)
{
    if (!s) return;
    unbind(s);
    if (s->stream) dnnl_stream_destroy(s->stream);
    arena_unmap(s);
    free(s->in);
    free(s->bound);
    free(s->out);
    free(s->prof);
    free(s);
}

int nn_session_set_input(nn_session *s, const char *name, const nn_tensor *t, err *e)
{
    const nn_model *m = s->m;
    for (int i = 0; i < m->l.n_inputs; i++) {
        const nn_value_info *vi = &m->l.inputs[i];
        if (strcmp(vi->name, name)) continue;
        char want[128], got[128];
        nn_shape_str(vi->shape, vi->rank, want, sizeof want);
        nn_shape_str(t->shape, t->rank, got, sizeof got);
        if (t->dtype != vi->dtype) {
            err_set(e, 400, "%s: input '%s' must be %s, got %s", m->file, name,
                    nn_dtype_name(vi->dtype), nn_dtype_name(t->dtype));
            return -1;
        }
        if (t->rank < 0 || t->rank > NN_MAX_RANK || (vi->rank >= 0 && t->rank != vi->rank)) {
            err_set(e, 400, "%s: input '%s' must have shape %s, got %s", m->file, name, want, got);
            return -1;
        }
        for (int d = 0; d < t->rank; d++) {
            if (t->shape[d] < 0 ||
                (vi->rank >= 0 && vi->shape[d] >= 0 && vi->shape[d] != t->shape[d])) {
                err_set(e, 400, "%s: input '%s' must have shape %s, got %s", m->file, name, want,
                        got);
                return -1;
            }
        }
        if (!t->data && nn_tensor_count(t) > 0) {
            err_set(e, 400, "%s: input '%s' has no data", m->file, name);
            return -1;
        }
        s->in[i] = *t;
        s->bound[i] = true;
        return 0;
    }
    err_set(e, 400, "%s: the model has no input named '%s'", m->file, name);
    return -1;
}

/* Lays the session out for plan p, whose reference the session takes over. */
static int bind(nn_session *s, nn_plan *p, err *e)
{
    unbind(s);
    if (p->arena_bytes > s->arena_cap) {
        arena_unmap(s);
        if (!(s->arena = arena_map(p->arena_bytes, &s->arena_cap))) {
            err_set(e, 503, "%s: cannot allocate %zu bytes for the session", s->m->file,
                    p->arena_bytes);
            s->arena_cap = 0;
            return -1;
        }
    }
    s->plan = p;
    s->ptr = xcalloc((size_t)p->g.nv + 1, sizeof *s->ptr);
    s->sess_state = xcalloc((size_t)p->n_sess_slots + 1, sizeof *s->sess_state);
    for (int i = 0; i < p->g.nv; i++) {
        const nn_buf *b = &p->buf[i];
        if (b->where == NN_B_ARENA) s->ptr[i] = (char *)s->arena + b->off;
        if (b->where == NN_B_CONST && p->g.v[b->input].data)
            s->ptr[i] = (char *)p->g.v[b->input].data + b->off;
    }
    for (int i = 0; i < p->n_sess_slots; i++) {
        s->sess_state[i] = p->sess_ops[i]->create(p, &p->steps[p->sess_step[i]], e);
        if (!s->sess_state[i]) {
            for (int j = 0; j < i; j++) p->sess_ops[j]->destroy(s->sess_state[j]);
            free(s->sess_state);
            s->sess_state = NULL;
            free(s->ptr);
            s->ptr = NULL;
            s->plan = NULL;
            return -1;
        }
    }
    if (s->m->p.profile) {
        free(s->prof);
        s->prof = xcalloc((size_t)p->n_steps + 1, sizeof *s->prof);
        s->n_prof = p->n_steps;
        for (int i = 0; i < p->n_steps; i++) {
            const nn_node *n = &p->g.n[p->steps[i].node];
            char *op;
            if (n->n_post) {
                static const char *const pk[] = {"",     "Relu", "Sigmoid",   "SiLU", "GELU",
                                                 "Tanh", "Clip", "LeakyRelu", "Add",  "Mul"};
                op = arena_strdup(p->a, n->op_type);
                for (int j = 0; j < n->n_post; j++)
                    op = arena_sprintf(p->a, "%s+%s", op, pk[n->post[j].kind]);
            } else {
                op = (char *)n->op_type;
            }
            s->prof[i] = (nn_profile_entry){.node = n->name, .op = op};
        }
    }
    return 0;
}

int nn_session_run(nn_session *s, err *e)
{
    nn_model *m = s->m;
    int n = m->l.n_inputs;
    for (int i = 0; i < n; i++) {
        if (!s->bound[i]) {
            err_set(e, 400, "%s: input '%s' was not given", m->file, m->l.inputs[i].name);
            return -1;
        }
    }
    nn_plan *p = s->plan;
    if (!p || !nn_plan_matches(m, p, s->in)) {
        omp_set_num_threads(m->threads);
        p = nn_model_plan(m, s->in, e);
        if (!p) return -1;
        if (bind(s, p, e) != 0) {
            nn_plan_release(m, p);
            return -1;
        }
    }
    omp_set_num_threads(m->threads);
    const nn_graph *g = &p->g;
    for (int i = 0; i < p->g.nv; i++)
        if (p->buf[i].where == NN_B_INPUT && p->buf[i].input >= 0)
            s->ptr[i] = (char *)s->in[p->buf[i].input].data + p->buf[i].off;
    nn_exec x = {
        .g = g, .ptr = s->ptr, .k = m->k, .threads = m->threads, .e = e, .dnnl_stream = s->stream};
    bool prof = m->p.profile && s->prof;
    for (int i = 0; i < p->n_steps; i++) {
        const nn_step *st = &p->steps[i];
        if (st->skip) continue;
        x.n = &g->n[st->node];
        x.state = st->state;
        x.sess_state = st->sess_slot >= 0 ? s->sess_state[st->sess_slot] : NULL;
        x.scratch = st->scratch ? (char *)s->arena + st->scratch_off : NULL;
        double t0 = prof ? now_s() : 0;
        if (st->run(&x) != 0) {
            if (e && !e->status) node_err(e, g, x.n, 500, "kernel failed");
            return -1;
        }
        if (prof) {
            s->prof[i].ms += (now_s() - t0) * 1e3;
            s->prof[i].runs++;
        }
    }
    for (int i = 0; i < m->l.n_outputs; i++) {
        int v = g->outputs[i];
        const nn_value *val = &g->v[v];
        nn_tensor *t = &s->out[i];
        t->dtype = val->dtype;
        t->rank = val->rank;
        memcpy(t->shape, val->dims, sizeof t->shape);
        t->data = s->ptr[v] ? s->ptr[v] : val->data;
    }
    return 0;
}

const nn_tensor *nn_session_output_at(nn_session *s, int i)
{
    if (!s->plan || i < 0 || i >= s->m->l.n_outputs) return NULL;
    return &s->out[i];
}

const nn_tensor *nn_session_output(nn_session *s, const char *name)
{
    for (int i = 0; i < s->m->l.n_outputs; i++)
        if (!strcmp(s->m->l.outputs[i].name, name)) return nn_session_output_at(s, i);
    return NULL;
}

int nn_session_profile(nn_session *s, const nn_profile_entry **out)
{
    *out = s->prof;
    return s->prof ? s->n_prof : 0;
}

void nn_session_profile_reset(nn_session *s)
{
    for (int i = 0; i < s->n_prof; i++) {
        s->prof[i].ms = 0;
        s->prof[i].runs = 0;
    }
}

size_t nn_session_arena_bytes(const nn_session *s)
{
    return s->plan ? s->plan->arena_bytes : 0;
}
