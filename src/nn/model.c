/* Models: mapping the file, loading the graph, the shape-independent passes, queries. */
#include "nn/ops.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <omp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Iterations libgomp spins at a barrier before it sleeps: about 1 ms on the machines here.
 * Sleeping at once (OMP_WAIT_POLICY=passive) made every end of a parallel region a
 * futex sleep and wake-up, some 150 per YOLOv8n run, and after the process had been idle
 * for 0.1 s the guest kernel put each woken thread beside the running one (the idle vCPU
 * looks preempted to it), making runs 50% slower. The default (300,000, about 8 ms)
 * burns a core for that long after every run. */
#define NN_SPINCOUNT "30000"

void nn_process_init(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    if (setenv("GOMP_SPINCOUNT", NN_SPINCOUNT, 1) != 0) return;
    execv("/proc/self/exe", argv);
    /* could not re-execute: carry on with the runtime's default */
}

nn_model_params nn_model_default_params(void)
{
    return (nn_model_params){
        .threads = 0,
        .precision = NN_PRECISION_FP32,
        .isa = NN_ISA_AUTO,
        .optimize = true,
        .blocked_layout = true,
        .profile = false,
    };
}

static int default_threads(void)
{
    const char *s = getenv("NN_THREADS");
    if (s && *s) {
        char *end;
        long n = strtol(s, &end, 10);
        if (!*end && n > 0 && n <= 1024) return (int)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void stats_collect(nn_model *m)
{
    nn_model_stats *st = &m->stats;
    memset(st, 0, sizeof *st);
    const nn_graph *g = &m->l.g;
    for (int i = 0; i < g->nn; i++) {
        const nn_node *n = &g->n[i];
        st->n_nodes++;
        int k;
        for (k = 0; k < st->n_ops; k++)
            if (!strcmp(st->ops[k].op, n->op_type)) break;
        if (k == st->n_ops) {
            if (st->n_ops == (int)ARRAY_LEN(st->ops)) continue;
            st->ops[st->n_ops++] = (nn_op_count){n->op_type, 0};
        }
        st->ops[k].count++;
    }
    for (int i = 0; i < g->nv; i++) {
        const nn_value *v = &g->v[i];
        if (v->kind != NN_V_CONST || v->rank < 0) continue;
        st->weight_bytes += (int64_t)value_bytes(v);
        if (is_float(v->dtype) || v->dtype == NN_I8 || v->dtype == NN_U8)
            st->params += value_count(v);
    }
    /* Constant nodes became values at load: count them as the file had them */
}

static nn_model *model_from(const uint8_t *buf, size_t len, const char *path, nn_mapping *main_map,
                            void *owned, const nn_model_params *p, err *e)
{
    nn_model *m = xcalloc(1, sizeof *m);
    m->path = xstrdup(path);
    const char *slash = strrchr(m->path, '/');
    m->file = slash ? slash + 1 : m->path;
    m->owned_buf = owned;
    m->p = p ? *p : nn_model_default_params();
    m->threads = m->p.threads > 0 ? m->p.threads : default_threads();
    m->k = nn_kernels_pick(m->p.isa);
    pthread_mutex_init(&m->lock, NULL);
    if (main_map) {
        m->maps = xmalloc(sizeof *m->maps);
        m->maps[0] = *main_map;
        m->n_maps = 1;
    }
    char *dir = NULL;
    if (main_map) {
        char *tmp = xstrdup(path);
        dir = xstrdup(dirname(tmp));
        free(tmp);
    }
    int rc = onnx_parse_model(buf, len, m->file, dir, &m->l, &m->maps, &m->n_maps, e);
    free(dir);
    if (rc != 0) {
        nn_model_free(m);
        return NULL;
    }
    m->by_value = xcalloc((size_t)m->l.n_inputs + 1, sizeof *m->by_value);
    stats_collect(m);
    /* Constant nodes were turned into values while loading; count them in the histogram
     * the way the file has them is not needed: info reports the graph we run. */
    if (m->p.optimize && nn_passes_load(&m->l.g, m->k, e) < 0) {
        nn_model_free(m);
        return NULL;
    }
    return m;
}

/* bf16 runs convolutions on the CPU's bfloat16 dot products; without them oneDNN would use
 * its reference code, far slower than fp32. */
static bool params_ok(const char *path, const nn_model_params *p, err *e)
{
    if (p && p->precision != NN_PRECISION_FP32 && p->precision != NN_PRECISION_BF16) {
        err_set(e, 400, "%s: unknown precision %d", path, (int)p->precision);
        return false;
    }
    if (p && p->precision == NN_PRECISION_BF16 && !nn_cpu_has("avx512_bf16")) {
        err_set(e, 400, "%s: bf16 precision needs a CPU with avx512_bf16; use fp32", path);
        return false;
    }
    return true;
}

nn_model *nn_model_load(const char *path, const nn_model_params *p, err *e)
{
    if (!params_ok(path, p, e)) return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_set(e, errno == ENOENT ? 404 : 400, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err_set(e, 400, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st.st_size == 0) {
        err_set(e, 400, "%s: empty file, not an ONNX model", path);
        close(fd);
        return NULL;
    }
    void *addr = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (addr == MAP_FAILED) {
        err_set(e, 500, "%s: cannot map: %s", path, strerror(errno));
        return NULL;
    }
    nn_mapping mm = {addr, (size_t)st.st_size};
    return model_from(addr, (size_t)st.st_size, path, &mm, NULL, p, e);
}

nn_model *nn_model_load_memory(const void *data, size_t len, const char *name,
                               const nn_model_params *p, err *e)
{
    if (!params_ok(name ? name : "model.onnx", p, e)) return NULL;
    void *copy = NULL;
    if (posix_memalign(&copy, 64, len ? len : 1) != 0) abort();
    if (len) memcpy(copy, data, len);
    return model_from(copy, len, name ? name : "model.onnx", NULL, copy, p, e);
}

void nn_model_free(nn_model *m)
{
    if (!m) return;
    while (m->plans) {
        nn_plan *p = m->plans;
        m->plans = p->next;
        nn_plan_free(p);
    }
    graph_free_data(&m->l.g, 0);
    free(m->l.g.v);
    free(m->l.g.n);
    if (m->l.g.a) arena_free(m->l.g.a);
    for (int i = 0; i < m->n_maps; i++)
        if (m->maps[i].addr) munmap(m->maps[i].addr, m->maps[i].len);
    free(m->maps);
    free(m->owned_buf);
    pthread_mutex_destroy(&m->lock);
    free(m->by_value);
    free(m->path);
    free(m);
}

int nn_model_input_count(const nn_model *m)
{
    return m->l.n_inputs;
}

int nn_model_output_count(const nn_model *m)
{
    return m->l.n_outputs;
}

const nn_value_info *nn_model_input(const nn_model *m, int i)
{
    return i >= 0 && i < m->l.n_inputs ? &m->l.inputs[i] : NULL;
}

const nn_value_info *nn_model_output(const nn_model *m, int i)
{
    return i >= 0 && i < m->l.n_outputs ? &m->l.outputs[i] : NULL;
}

const char *nn_model_meta(const nn_model *m, const char *key)
{
    for (int i = 0; i < m->l.n_meta; i++)
        if (!strcmp(m->l.meta[i].key, key)) return m->l.meta[i].value;
    return NULL;
}

int nn_model_meta_count(const nn_model *m)
{
    return m->l.n_meta;
}

void nn_model_meta_at(const nn_model *m, int i, const char **key, const char **value)
{
    *key = m->l.meta[i].key;
    *value = m->l.meta[i].value;
}

int nn_model_threads(const nn_model *m)
{
    return m->threads;
}

void nn_model_stats_get(const nn_model *m, nn_model_stats *st)
{
    *st = m->stats;
}

/* Inputs for a plan from tensors given by name; missing ones take the declared shape (which
 * must then be fixed) and no data. */
int nn_model_shapes(nn_model *m, const nn_tensor *inputs, const char *const *names, int n,
                    nn_tensor *out, err *e)
{
    for (int i = 0; i < m->l.n_inputs; i++) {
        const nn_value_info *vi = &m->l.inputs[i];
        const nn_tensor *t = NULL;
        for (int j = 0; j < n; j++)
            if (!strcmp(names[j], vi->name)) t = &inputs[j];
        if (t) {
            out[i] = *t;
            continue;
        }
        if (vi->rank < 0) {
            err_set(e, 400, "%s: input '%s' has no declared shape: give one", m->file, vi->name);
            return -1;
        }
        memset(&out[i], 0, sizeof out[i]);
        out[i].dtype = vi->dtype;
        out[i].rank = vi->rank;
        for (int d = 0; d < vi->rank; d++) {
            if (vi->shape[d] < 0) {
                err_set(e, 400, "%s: input '%s' has a dynamic dimension %d ('%s'): give its shape",
                        m->file, vi->name, d, vi->dim_names[d] ? vi->dim_names[d] : "?");
                return -1;
            }
            out[i].shape[d] = vi->shape[d];
        }
    }
    return 0;
}

double nn_model_flops(nn_model *m, const nn_tensor *inputs, const char *const *names, int n, err *e)
{
    int nin = m->l.n_inputs;
    nn_tensor *in = xcalloc((size_t)nin + 1, sizeof *in);
    double fl = -1;
    if (nn_model_shapes(m, inputs, names, n, in, e) == 0) {
        omp_set_num_threads(m->threads);
        nn_plan *p = nn_model_plan(m, in, e);
        if (p) {
            fl = p->flops;
            nn_plan_release(m, p);
        }
    }
    free(in);
    return fl;
}
