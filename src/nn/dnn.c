/* oneDNN glue: the engine, descriptors, post-ops and the generic primitive step. */
#include "nn/dnn.h"

#include <stdlib.h>

static dnnl_engine_t g_engine;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void engine_init(void)
{
    if (dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success) g_engine = NULL;
}

dnnl_engine_t dnn_engine(void)
{
    pthread_once(&g_once, engine_init);
    return g_engine;
}

void *nn_dnnl_engine(void)
{
    return dnn_engine();
}

dnnl_data_type_t dnn_type(nn_dtype t)
{
    switch (t) {
    case NN_F32:
        return dnnl_f32;
    case NN_BF16:
        return dnnl_bf16;
    case NN_F16:
        return dnnl_f16;
    case NN_I32:
        return dnnl_s32;
    case NN_I8:
        return dnnl_s8;
    case NN_U8:
        return dnnl_u8;
    default:
        return dnnl_data_type_undef;
    }
}

int dnn_md_strided(dnnl_memory_desc_t *md, int rank, const int64_t *dims, const int64_t *strides,
                   dnnl_data_type_t dt)
{
    dnnl_dims_t d, s;
    for (int i = 0; i < rank; i++) {
        d[i] = dims[i];
        s[i] = strides[i];
    }
    return dnnl_memory_desc_init_by_strides(md, rank, d, dt, s) == dnnl_success ? 0 : -1;
}

int dnn_md(dnnl_memory_desc_t *md, const nn_value *v, int layout, dnnl_data_type_t dt)
{
    if (dt == dnnl_data_type_undef) dt = dnn_type(v->dtype);
    dnnl_dims_t d;
    for (int i = 0; i < v->rank; i++) d[i] = v->dims[i];
    if (layout == NN_L_BLK16) {
        dnnl_format_tag_t tag = v->rank == 3   ? dnnl_nCw16c
                                : v->rank == 4 ? dnnl_nChw16c
                                : v->rank == 5 ? dnnl_nCdhw16c
                                               : dnnl_format_tag_undef;
        if (tag == dnnl_format_tag_undef) return -1;
        return dnnl_memory_desc_init_by_tag(md, v->rank, d, dt, tag) == dnnl_success ? 0 : -1;
    }
    if (v->rank == 0) {
        d[0] = 1;
        return dnnl_memory_desc_init_by_tag(md, 1, d, dt, dnnl_a) == dnnl_success ? 0 : -1;
    }
    int64_t s[NN_MAX_RANK];
    row_strides(v->dims, v->rank, s);
    return dnn_md_strided(md, v->rank, v->dims, s, dt);
}

void dnn_arg_value(dnn_state *st, int arg, int value, const dnnl_memory_desc_t *md)
{
    dnn_arg *a = &st->args[st->n_args++];
    memset(a, 0, sizeof *a);
    a->arg = arg;
    a->value = value;
    a->md = *md;
}

static int reorder(const dnnl_memory_desc_t *src_md, const void *src,
                   const dnnl_memory_desc_t *dst_md, void *dst)
{
    dnnl_engine_t eng = dnn_engine();
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t ms = NULL, md = NULL;
    dnnl_stream_t s = NULL;
    int rc = -1;
    if (dnnl_reorder_primitive_desc_create(&pd, src_md, eng, dst_md, eng, NULL) != dnnl_success)
        goto out;
    if (dnnl_primitive_create(&prim, pd) != dnnl_success) goto out;
    if (dnnl_memory_create(&ms, src_md, eng, (void *)src) != dnnl_success) goto out;
    if (dnnl_memory_create(&md, dst_md, eng, dst) != dnnl_success) goto out;
    if (dnnl_stream_create(&s, eng, dnnl_stream_default_flags) != dnnl_success) goto out;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ms}, {DNNL_ARG_TO, md}};
    if (dnnl_primitive_execute(prim, s, 2, args) != dnnl_success) goto out;
    dnnl_stream_wait(s);
    rc = 0;
out:
    if (s) dnnl_stream_destroy(s);
    if (ms) dnnl_memory_destroy(ms);
    if (md) dnnl_memory_destroy(md);
    if (prim) dnnl_primitive_destroy(prim);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return rc;
}

int dnn_arg_const(dnn_state *st, int arg, const void *src, const dnnl_memory_desc_t *src_md,
                  const dnnl_memory_desc_t *want)
{
    size_t bytes = dnnl_memory_desc_get_size(want);
    void *buf = NULL;
    if (posix_memalign(&buf, 64, bytes ? bytes : 64) != 0) abort();
    if (dnnl_memory_desc_equal(src_md, want)) {
        memcpy(buf, src, bytes);
    } else if (reorder(src_md, src, want, buf) != 0) {
        free(buf);
        return -1;
    }
    dnnl_memory_t m;
    if (dnnl_memory_create(&m, want, dnn_engine(), buf) != dnnl_success) {
        free(buf);
        return -1;
    }
    dnn_arg *a = &st->args[st->n_args++];
    memset(a, 0, sizeof *a);
    a->arg = arg;
    a->value = -1;
    a->md = *want;
    a->cmem = m;
    a->cdata = buf;
    return 0;
}

dnnl_primitive_attr_t dnn_attr(nn_prep *p, dnn_state *st, const dnnl_memory_desc_t *dst_md)
{
    return dnn_attr_n(p, st, dst_md, p->n->n_post);
}

dnnl_primitive_attr_t dnn_attr_n(nn_prep *p, dnn_state *st, const dnnl_memory_desc_t *dst_md,
                                 int n_post)
{
    dnnl_primitive_attr_t attr;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    const nn_node *n = p->n;
    if (!n_post) return attr;
    dnnl_post_ops_t po;
    dnnl_post_ops_create(&po);
    bool ok = true;
    for (int i = 0; i < n_post && ok; i++) {
        const nn_post *q = &n->post[i];
        dnnl_status_t s = dnnl_success;
        switch (q->kind) {
        case NN_POST_RELU:
            s = dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f);
            break;
        case NN_POST_LEAKY:
            s = dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, q->a, 0.f);
            break;
        case NN_POST_SIGMOID:
            s = dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_logistic, 0.f, 0.f);
            break;
        case NN_POST_SILU:
            s = dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_swish, 1.f, 0.f);
            break;
        case NN_POST_GELU:
            /* oneDNN 2.6 evaluates gelu_erf post-ops several times slower than the
             * primitive itself; our kernel applies it afterwards instead */
            ok = false;
            break;
        case NN_POST_TANH:
            s = dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_tanh, 0.f, 0.f);
            break;
        case NN_POST_CLIP:
            s = dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_clip, q->a, q->b);
            break;
        case NN_POST_ADD:
        case NN_POST_MUL: {
            const nn_value *bv = &p->g->v[q->value];
            const nn_value *yv = node_out(p->g, n, 0);
            dnnl_memory_desc_t md;
            int layout = p->plan->buf[q->value].layout;
            /* the operand matches the output (in its layout) or broadcasts numpy-style */
            if (bv->rank == yv->rank &&
                !memcmp(bv->dims, yv->dims, sizeof(int64_t) * (size_t)yv->rank)) {
                if (dnn_md(&md, bv, layout, dnnl_f32) != 0) ok = false;
            } else if (layout != NN_L_PLAIN || bv->rank > yv->rank) {
                ok = false;
            } else {
                nn_value tmp = *yv;
                for (int d = 0; d < tmp.rank; d++) {
                    int k = d - (yv->rank - bv->rank);
                    tmp.dims[d] = k >= 0 ? bv->dims[k] : 1;
                    if (tmp.dims[d] != 1 && tmp.dims[d] != yv->dims[d]) ok = false;
                }
                if (ok && dnn_md(&md, &tmp, NN_L_PLAIN, dnnl_f32) != 0) ok = false;
            }
            if (!ok) break;
            s = dnnl_post_ops_append_binary(
                po, q->kind == NN_POST_ADD ? dnnl_binary_add : dnnl_binary_mul, &md);
            int idx = dnnl_post_ops_len(po) - 1;
            dnn_arg_value(st, DNNL_ARG_ATTR_MULTIPLE_POST_OP(idx) | DNNL_ARG_SRC_1, q->value, &md);
            break;
        }
        default:
            ok = false;
            break;
        }
        if (s != dnnl_success) ok = false;
    }
    (void)dst_md;
    if (ok) ok = dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
    dnnl_post_ops_destroy(po);
    if (!ok) {
        dnnl_primitive_attr_destroy(attr);
        return NULL;
    }
    return attr;
}

void dnn_state_free(void *state)
{
    dnn_state *st = state;
    if (!st) return;
    for (int i = 0; i < st->n_args; i++) {
        if (st->args[i].cmem) dnnl_memory_destroy(st->args[i].cmem);
        free(st->args[i].cdata);
    }
    if (st->prim) dnnl_primitive_destroy(st->prim);
    free(st);
}

/* ---------------------------------------------------------------- per-session memories */

typedef struct dnn_sess {
    dnnl_memory_t mem[DNN_MAX_ARGS + 1];
    bool own[DNN_MAX_ARGS + 1];
    void *cached[DNN_MAX_ARGS + 1];
    dnnl_exec_arg_t args[DNN_MAX_ARGS + 1];
    int n;
} dnn_sess;

static void sess_destroy(void *v)
{
    dnn_sess *s = v;
    for (int i = 0; i <= DNN_MAX_ARGS; i++)
        if (s->own[i]) dnnl_memory_destroy(s->mem[i]);
    free(s);
}

static void *sess_create(const nn_plan *p, const nn_step *step, err *e)
{
    const dnn_state *st = step->state;
    dnn_sess *s = xcalloc(1, sizeof *s);
    for (int i = 0; i < st->n_args; i++) {
        const dnn_arg *a = &st->args[i];
        if (a->value == -1) {
            s->mem[i] = a->cmem;
        } else {
            if (dnnl_memory_create(&s->mem[i], &a->md, dnn_engine(), DNNL_MEMORY_NONE) !=
                dnnl_success) {
                err_set(e, 500, "%s: cannot create oneDNN memory", p->m->file);
                sess_destroy(s);
                return NULL;
            }
            s->own[i] = true;
        }
        s->args[i] = (dnnl_exec_arg_t){a->arg, s->mem[i]};
    }
    s->n = st->n_args;
    if (st->scratch) {
        if (dnnl_memory_create(&s->mem[s->n], &st->scratch_md, dnn_engine(), DNNL_MEMORY_NONE) !=
            dnnl_success) {
            err_set(e, 500, "%s: cannot create oneDNN scratchpad memory", p->m->file);
            sess_destroy(s);
            return NULL;
        }
        s->own[s->n] = true;
        s->args[s->n] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->mem[s->n]};
    }
    return s;
}

static const nn_sess_ops dnn_sess_ops = {sess_create, sess_destroy};

bool dnn_is_ref(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    return impl && !strncmp(impl, "ref", 3);
}

bool dnn_node_empty(const nn_graph *g, const nn_node *n)
{
    for (int i = 0; i < n->n_in + n->n_out; i++) {
        int v = i < n->n_in ? n->in[i] : n->out[i - n->n_in];
        if (v >= 0 && g->v[v].rank >= 0 && value_count(&g->v[v]) == 0) return true;
    }
    return false;
}

dnnl_primitive_desc_t dnn_pd(nn_prep *p, dnn_state *st, const_dnnl_op_desc_t desc,
                             const dnnl_memory_desc_t *dst_md)
{
    if (dnn_node_empty(p->g, p->n)) return NULL;
    int n_args = st->n_args;
    dnnl_primitive_attr_t attr = dnn_attr(p, st, dst_md);
    dnnl_primitive_desc_t pd = NULL;
    if (attr) {
        if (dnnl_primitive_desc_create(&pd, desc, attr, dnn_engine(), NULL) != dnnl_success)
            pd = NULL;
        dnnl_primitive_attr_destroy(attr);
    }
    if (pd && !(p->n->n_post && dnn_is_ref(pd))) return pd;
    if (pd) dnnl_primitive_desc_destroy(pd);
    pd = NULL;
    /* oneDNN keeps the post-ops before the first GELU (a bias, a residual add): they cost
     * it nothing, and a separate pass of ours over the output a lot */
    st->n_args = n_args;
    const nn_value *y = node_out(p->g, p->n, 0);
    int layout = p->plan->buf[p->n->out[0]].layout;
    if (!p->n->n_post || y->dtype != NN_F32) return NULL;
    int keep = 0;
    while (keep < p->n->n_post && p->n->post[keep].kind != NN_POST_GELU) keep++;
    if (keep > 0 && keep < p->n->n_post) {
        attr = dnn_attr_n(p, st, dst_md, keep);
        if (attr) {
            if (dnnl_primitive_desc_create(&pd, desc, attr, dnn_engine(), NULL) != dnnl_success)
                pd = NULL;
            dnnl_primitive_attr_destroy(attr);
        }
        if (pd && !dnn_is_ref(pd)) {
            st->post_from = keep;
            st->blocked = layout != NN_L_PLAIN;
            st->phys = (int64_t)(layout_bytes(y, layout) / sizeof(float));
            st->posts_ours = true;
            return pd;
        }
        if (pd) dnnl_primitive_desc_destroy(pd);
        pd = NULL;
        st->n_args = n_args;
    }
    /* without post-ops, which we apply afterwards: on the blocked layout only those that
     * are element by element (activations, operands of the output's own shape) */
    if (layout != NN_L_PLAIN)
        for (int i = 0; i < p->n->n_post; i++) {
            const nn_post *q = &p->n->post[i];
            if ((q->kind == NN_POST_ADD || q->kind == NN_POST_MUL) &&
                (p->plan->buf[q->value].layout != layout ||
                 value_count(&p->g->v[q->value]) != value_count(y)))
                return NULL;
        }
    st->blocked = layout != NN_L_PLAIN;
    st->phys = (int64_t)(layout_bytes(y, layout) / sizeof(float));
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (dnnl_primitive_desc_create(&pd, desc, attr, dnn_engine(), NULL) != dnnl_success) pd = NULL;
    dnnl_primitive_attr_destroy(attr);
    if (pd) st->posts_ours = true;
    return pd;
}

int dnn_finish(nn_prep *p, dnn_state *st, dnnl_primitive_desc_t pd, err *e)
{
    if (dnnl_primitive_create(&st->prim, pd) != dnnl_success) {
        dnnl_primitive_desc_destroy(pd);
        node_err(e, p->g, p->n, 500, "oneDNN could not create the primitive");
        return -1;
    }
    const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    st->scratch = sp ? dnnl_memory_desc_get_size(sp) : 0;
    if (st->scratch) st->scratch_md = *sp;
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    st->impl = impl ? arena_strdup(p->plan->a, impl) : "?";
    dnnl_primitive_desc_destroy(pd);
    p->run = dnn_run;
    p->state = st;
    p->free_state = dnn_state_free;
    p->scratch = st->scratch;
    p->sess = &dnn_sess_ops;
    p->owns_weights = true;
    return 0;
}

int dnn_run(nn_exec *x)
{
    const dnn_state *st = x->state;
    dnn_sess *s = x->sess_state;
    for (int i = 0; i < st->n_args; i++) {
        int v = st->args[i].value;
        if (v == -1) continue;
        void *ptr = v == DNN_VALUE_SCRATCH ? x->scratch : x->ptr[v];
        if (ptr != s->cached[i]) {
            dnnl_memory_set_data_handle(s->mem[i], ptr);
            s->cached[i] = ptr;
        }
    }
    int n = s->n;
    if (st->scratch) {
        void *sp = (char *)x->scratch + st->scratch_off;
        if (sp != s->cached[n]) {
            dnnl_memory_set_data_handle(s->mem[n], sp);
            s->cached[n] = sp;
        }
        n++;
    }
    if (dnnl_primitive_execute(st->prim, x->dnnl_stream, n, s->args) != dnnl_success) {
        node_err(x->e, x->g, x->n, 500, "oneDNN failed to execute");
        return -1;
    }
    dnnl_stream_wait(x->dnnl_stream);
    if (st->posts_ours) {
        if (!st->blocked) {
            post_apply_from(x, x_out(x, 0), x_vout(x, 0), st->post_from);
        } else {
            float *y = x_out(x, 0);
            for (int i = st->post_from; i < x->n->n_post; i++) {
                const nn_post *q = &x->n->post[i];
                if (q->kind == NN_POST_ADD || q->kind == NN_POST_MUL)
                    x->k->binary[q->kind == NN_POST_ADD ? NN_BIN_ADD : NN_BIN_MUL](
                        y, x->ptr[q->value], y, (size_t)st->phys);
                else
                    post_act(x->k, q, y, (size_t)st->phys);
            }
        }
    }
    return 0;
}

static int dnn_run_bf16(nn_exec *x)
{
    const dnn_bf16_state *s = x->state;
    const uint32_t *src = x_in(x, 0);
    uint16_t *dst = x->scratch;
    int nt = par_threads(x, s->phys);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < s->phys; i++) {
        uint32_t v = src[i];
        /* round to nearest even, as nn_f32_to_bf16; NaN stays a quiet NaN */
        dst[i] = (v & 0x7fffffffu) > 0x7f800000u
                     ? (uint16_t)((v >> 16) | 0x40)
                     : (uint16_t)((v + 0x7fffu + ((v >> 16) & 1)) >> 16);
    }
    return dnn_run(x);
}

void dnn_bf16_finish(nn_prep *p, dnn_bf16_state *bs, int64_t phys)
{
    bs->phys = phys;
    size_t copy = ((size_t)phys * sizeof(uint16_t) + 63) / 64 * 64;
    bs->d.scratch_off = copy;
    p->scratch = copy + bs->d.scratch;
    p->run = dnn_run_bf16;
}
