/*
 * nn internals: the graph IR, the operator table, plans and the kernel table.
 *
 * A graph is an array of values and an array of nodes referring to values by index.
 * The model keeps the graph as loaded and simplified by the shape-independent passes;
 * a plan copies it, gives every value its concrete shape, folds what the shapes make
 * constant, picks layouts, places values in one arena by liveness and prepares kernels.
 */
#ifndef ARTISTRY_NN_IMPL_H
#define ARTISTRY_NN_IMPL_H

#include "nn/kern.h"
#include "nn/nn.h"

#include <pthread.h>

/* ---------------------------------------------------------------- IR */

enum nn_attr_type {
    NN_AT_UNDEF = 0,
    NN_AT_FLOAT = 1,
    NN_AT_INT = 2,
    NN_AT_STRING = 3,
    NN_AT_TENSOR = 4,
    NN_AT_GRAPH = 5,
    NN_AT_FLOATS = 6,
    NN_AT_INTS = 7,
    NN_AT_STRINGS = 8,
};

typedef struct nn_attr {
    const char *name;
    int type;
    float f;
    int64_t i;
    const char *s; /* NUL-terminated copy */
    int n;         /* elements of floats / ints / strings */
    const float *floats;
    const int64_t *ints;
    const char **strings;
    int tensor; /* value index of a TENSOR attribute, else -1 */
} nn_attr;

enum nn_src_kind { NN_SRC_NONE = 0, NN_SRC_BUFFER, NN_SRC_MAPPED };

/* Tells the kernel it may drop the mapped file pages inside [p, p + len). */
void nn_drop_pages(const void *p, size_t len);

enum nn_value_kind {
    NN_V_ACT = 0, /* computed by a node */
    NN_V_INPUT,   /* a graph input the caller binds */
    NN_V_CONST,   /* an initializer, a Constant, or folded */
};

typedef struct nn_value {
    const char *name;
    nn_dtype dtype;
    int rank; /* -1 unknown */
    int64_t dims[NN_MAX_RANK];
    uint8_t kind;
    bool is_output;
    bool owned; /* data was malloc'ed for this value by the graph that holds it */
    /* Where a constant's elements are in the model file, so a copy of them can be dropped
     * once the kernels have their own and made again when a new plan needs them. */
    uint8_t src_kind;  /* NN_SRC_NONE, NN_SRC_BUFFER (in memory), NN_SRC_MAPPED (file pages) */
    uint8_t src_dtype; /* the file's element type (fp16 is widened on load) */
    bool released;     /* data dropped; nn_consts_restore brings it back */
    bool pinned;       /* some plan reads the data while running: never released */
    const void *src;
    size_t src_len;
    int producer; /* node index, -1 for inputs and constants */
    int uses;     /* consumers among live nodes (graph_count_uses) */
    void *data;   /* NN_V_CONST: the elements (read-only) */
} nn_value;

/* Copies (or widens) a constant's data from its source again after a release. */
void nn_const_restore(nn_value *v);

/* Post-operations fused into a node by the passes, applied in order to its output. */
enum nn_post_kind {
    NN_POST_RELU = 1,
    NN_POST_SIGMOID,
    NN_POST_SILU,
    NN_POST_GELU,
    NN_POST_TANH,
    NN_POST_CLIP,  /* a = min, b = max */
    NN_POST_LEAKY, /* a = alpha */
    NN_POST_ADD,   /* + value (same shape as the output, or broadcastable per channel) */
    NN_POST_MUL,   /* * value */
};
#define NN_MAX_POST 4
typedef struct nn_post {
    uint8_t kind;
    float a, b;
    int value; /* NN_POST_ADD / NN_POST_MUL: the other operand */
} nn_post;

#define NN_IN_SLOTS  6
#define NN_OUT_SLOTS 2

typedef struct nn_node {
    const char *name;
    const char *op_type;
    const char *domain;
    const struct nn_op *op; /* NULL: unsupported */
    int opset;
    int n_in, n_out;
    /* value indices; -1 for an omitted optional input/output. At least NN_IN_SLOTS and
     * NN_OUT_SLOTS entries: the load passes match patterns on graphs no operator has
     * checked yet, and a node with fewer inputs than its op takes reads -1 there. */
    int *in, *out;
    int n_attrs;
    nn_attr *attrs;
    int n_post;
    nn_post post[NN_MAX_POST];
    bool dead;
} nn_node;

typedef struct nn_graph {
    nn_value *v;
    int nv, cap_v;
    nn_node *n;
    int nn, cap_n;
    int *inputs; /* value indices of the inputs the caller binds */
    int n_inputs;
    int *outputs;
    int n_outputs;
    arena *a;         /* names, attributes, index arrays */
    const char *file; /* for messages */
} nn_graph;

/* Graph helpers (graph.c). Values and nodes are addressed by index; adding may move the
 * arrays, so never keep a pointer across graph_add_*. */
int graph_add_value(nn_graph *g, const char *name);
int graph_add_node(nn_graph *g, const char *op_type, const char *name, int n_in, int n_out);
int graph_find_value(const nn_graph *g, const char *name);
void graph_count_uses(nn_graph *g);
/* Index of the single live consumer of value v, or -1 when it has none or several, or is
 * a graph output. */
int graph_sole_consumer(const nn_graph *g, int v);
/* The pattern passes' step: the single live consumer of v when v has exactly one use, is
 * not a graph output, and the consumer is an `op` without post-ops; else -1 (also for
 * v < 0). */
int graph_consumer_op(const nn_graph *g, int v, const char *op);
/* The other input of a two-input node one of whose inputs is v, else -1. */
static inline int node_other_input(const nn_node *n, int v)
{
    return n->n_in != 2 ? -1 : n->in[0] == v ? n->in[1] : n->in[1] == v ? n->in[0] : -1;
}
/* Replaces every use of value `from` by `to` in live nodes and graph outputs. */
void graph_replace_uses(nn_graph *g, int from, int to);
/* Copies a graph: values and nodes are duplicated, arena contents are shared with src
 * (src must outlive the copy); the copy's own additions go into `a`. */
void graph_clone(nn_graph *dst, const nn_graph *src, arena *a);
/* Frees values' owned data (from index from_value on / one value). */
void graph_free_data(nn_graph *g, int from_value);
void graph_free_value(nn_graph *g, int v);
/* Topological order of the live nodes into order[] (n_nodes entries); -1 on a cycle or a
 * value without producer, with e naming it. */
int graph_toposort(const nn_graph *g, int *order, int *n_order, err *e);
/* Graph edits for the passes: attributes on a node, a new constant (data malloc'ed, owned
 * by the graph), growing a node's input list (new slots -1), the live producer of a value
 * (-1 for none). */
void node_add_attr_i(nn_graph *g, int node, const char *name, int64_t v);
void node_add_attr_f(nn_graph *g, int node, const char *name, float v);
int graph_add_const(nn_graph *g, const char *name, nn_dtype t, int rank, const int64_t *dims,
                    void *data);
void node_set_inputs(nn_graph *g, int node, int n_in);
int value_producer(const nn_graph *g, int v);
/* Attribute access with defaults. */
const nn_attr *node_attr(const nn_node *n, const char *name);
int64_t attr_i(const nn_node *n, const char *name, int64_t def);
float attr_f(const nn_node *n, const char *name, float def);
const char *attr_s(const nn_node *n, const char *name, const char *def);
/* ints attribute into out[cap]; returns the count, or -1 when absent or longer than cap
 * (as const_ints: every count returned can be looped over; no model we run has a list
 * longer than the caps, which are at least the largest rank). */
int attr_ints(const nn_node *n, const char *name, int64_t *out, int cap);
/* Sets e to "<file>: node '<name>' (<op>): <message>". */
void node_err(err *e, const nn_graph *g, const nn_node *n, int status, const char *fmt, ...)
    AR_PRINTF(5, 6);

static inline int64_t value_count(const nn_value *v)
{
    return nn_shape_count(v->dims, v->rank);
}
static inline size_t value_bytes(const nn_value *v)
{
    return (size_t)value_count(v) * nn_dtype_size(v->dtype);
}
static inline bool value_is_const(const nn_graph *g, int id)
{
    return id >= 0 && g->v[id].kind == NN_V_CONST;
}
/* Input i of node n, or NULL when omitted. */
static inline nn_value *node_in(const nn_graph *g, const nn_node *n, int i)
{
    return (i < n->n_in && n->in[i] >= 0) ? &g->v[n->in[i]] : NULL;
}
static inline nn_value *node_out(const nn_graph *g, const nn_node *n, int i)
{
    return (i < n->n_out && n->out[i] >= 0) ? &g->v[n->out[i]] : NULL;
}

/* Reads an integer constant tensor (int32/int64) into out[cap]; returns the count or -1. */
int const_ints(const nn_value *v, int64_t *out, int cap);
/* Reads a scalar constant as double (any numeric type); false when not constant. */
bool const_scalar(const nn_value *v, double *out);

/* ---------------------------------------------------------------- loading (onnx_read.c) */

typedef struct nn_meta {
    const char *key, *value;
} nn_meta;

typedef struct nn_loaded {
    nn_graph g;
    nn_value_info *inputs, *outputs;
    int n_inputs, n_outputs;
    nn_meta *meta;
    int n_meta;
    int64_t ir_version;
    int opset; /* of the default domain */
} nn_loaded;

/* Parses a ModelProto from `buf` (which must stay mapped while the graph lives: constant
 * data may point into it). `dir` is where external data files are looked up; mapped
 * external files are appended to *maps (munmap'ed by the caller). */
typedef struct nn_mapping {
    void *addr;
    size_t len;
} nn_mapping;
int onnx_parse_model(const uint8_t *buf, size_t len, const char *file, const char *dir,
                     nn_loaded *out, nn_mapping **maps, int *n_maps, err *e);

/* ---------------------------------------------------------------- operators */

typedef struct nn_exec nn_exec;
typedef struct nn_plan nn_plan;
typedef struct nn_prep nn_prep;

typedef int (*nn_run_fn)(nn_exec *x);

enum nn_op_flags {
    NN_OP_SHAPE_ONLY = 1 << 0, /* output depends only on input shapes (Shape, Size) */
    NN_OP_ALIAS = 1 << 1,      /* output 0 is input 0 reinterpreted (Reshape, Squeeze...) */
    NN_OP_NOFOLD = 1 << 2,     /* never evaluate at plan time */
    NN_OP_BLOCKED = 1 << 3,    /* works on the blocked layout when every input has it */
    NN_OP_INPLACE = 1 << 4,    /* output 0 may overwrite input 0 (same shape and type) */
};

typedef struct nn_op {
    const char *name;
    /* Output dtypes and shapes from the inputs' (constant inputs' data may be read).
     * Returns 0, or -1 with e set through node_err. */
    int (*infer)(nn_graph *g, nn_node *n, err *e);
    /* The reference kernel: plain layouts, attributes read on each call. */
    nn_run_fn run;
    /* Optional: builds plan-time state and picks a faster kernel (prep->run, prep->state).
     * Returns 0 or -1 with e set. */
    int (*prepare)(nn_prep *p, err *e);
    int flags;
    int min_opset; /* first opset whose semantics we implement (0: all) */
} nn_op;

/* The table of operators we implement (ops.c): looked up by name (default domain). */
const nn_op *nn_op_find(const char *domain, const char *name);
/* Also finds the internal operators ("nn.*") the passes insert. */
const nn_op *nn_op_find_internal(const char *name);
/* The claimed operators (the ONNX names our conformance runner checks), NULL-terminated. */
extern const char *const nn_claimed_ops[];

/* ---------------------------------------------------------------- plans and runs */

enum nn_layout {
    NN_L_PLAIN = 0,
    NN_L_BLK16, /* oneDNN nChw16c: 4-D float, channels in blocks of 16 (padded) */
    NN_L_NHWC,  /* channels last: the quantized inputs of nn.QConv */
};

enum nn_buf_where {
    NN_B_NONE = 0,
    NN_B_ARENA,
    NN_B_CONST,
    NN_B_INPUT,
};

typedef struct nn_buf {
    uint8_t where;
    uint8_t layout;
    int input;   /* NN_B_INPUT: index into the graph inputs */
    size_t off;  /* bytes into the arena / the input */
    size_t size; /* bytes */
} nn_buf;

typedef struct nn_step {
    int node;
    nn_run_fn run;
    void *state;
    void (*free_state)(void *state);
    size_t scratch; /* bytes of arena scratch the kernel uses */
    size_t scratch_off;
    int sess_slot; /* index of the step's per-session state, -1 if none */
    bool owns_weights;
    bool skip; /* nothing to do (its output was written in place by others) */
} nn_step;

/* Per-session state a step may need (oneDNN memory objects); created on binding. */
typedef struct nn_sess_ops {
    void *(*create)(const nn_plan *p, const nn_step *st, err *e);
    void (*destroy)(void *);
} nn_sess_ops;

struct nn_plan {
    uint64_t key;
    int n_inputs;
    nn_tensor *in; /* the input shapes (and, for inputs taken by value, their data) */
    int refs;      /* sessions bound to the plan (under the model's lock) */
    nn_graph g;
    int *order; /* node indices, execution order */
    nn_step *steps;
    int n_steps;
    nn_buf *buf; /* per value */
    size_t arena_bytes;
    int n_sess_slots;
    const nn_sess_ops **sess_ops; /* per slot */
    int *sess_step;               /* per slot: its step */
    double flops;
    struct nn_model *m;
    arena *a;
    struct nn_plan *next;
};

/* What prepare() sees. */
struct nn_prep {
    struct nn_model *m;
    nn_plan *plan;
    nn_graph *g;
    nn_node *n;
    nn_step *step;
    const nn_kernels *k;
    /* out: */
    nn_run_fn run;
    void *state;
    void (*free_state)(void *);
    size_t scratch;
    const nn_sess_ops *sess;
    bool owns_weights; /* made its own copies of its constant inputs 1 and 2 */
};

/* What a kernel sees while running. */
struct nn_exec {
    const nn_graph *g;
    const nn_node *n;
    void **ptr; /* data pointer of every value */
    const nn_kernels *k;
    const void *state;
    void *sess_state;
    void *scratch;
    int threads;
    err *e;
    void *dnnl_stream;
};

static inline void *x_in(const nn_exec *x, int i)
{
    return (i < x->n->n_in && x->n->in[i] >= 0) ? x->ptr[x->n->in[i]] : NULL;
}
static inline void *x_out(const nn_exec *x, int i)
{
    return (i < x->n->n_out && x->n->out[i] >= 0) ? x->ptr[x->n->out[i]] : NULL;
}
static inline const nn_value *x_vin(const nn_exec *x, int i)
{
    return node_in(x->g, x->n, i);
}
static inline const nn_value *x_vout(const nn_exec *x, int i)
{
    return node_out(x->g, x->n, i);
}

/* Evaluates node n whose inputs are all constant with its reference kernel, making its
 * outputs constants owned by g. Returns 0, or -1 with e set. */
int nn_fold_node(nn_graph *g, int node, const nn_kernels *k, err *e);
/* Infers the output shapes of node n (all input shapes known). */
int nn_infer_node(nn_graph *g, nn_node *n, err *e);

/* ---------------------------------------------------------------- the model */

struct nn_model {
    char *path;
    const char *file; /* basename, for messages */
    nn_mapping *maps;
    int n_maps;
    void *owned_buf; /* nn_model_load_memory's copy */
    nn_loaded l;
    nn_model_params p;
    int threads;
    const nn_kernels *k;
    nn_model_stats stats;
    pthread_mutex_t lock;
    nn_plan *plans; /* newest first */
    int n_plans;
    /* inputs whose values (not only shapes) the plans depend on, because a shape is
     * computed from them (SAM's orig_im_size); found while planning */
    bool *by_value;
    void *dnnl_engine;
};

/* Builds (or finds) the plan for these inputs (shapes, and data for inputs taken by value),
 * in graph-input order; the model's lock is taken inside. The plan comes with a reference
 * for the caller, given back with nn_plan_release. */
/* Input shapes for a plan from named tensors, the declared shapes filling the rest. */
int nn_model_shapes(nn_model *m, const nn_tensor *inputs, const char *const *names, int n,
                    nn_tensor *out, err *e);
nn_plan *nn_model_plan(nn_model *m, const nn_tensor *in, err *e);
void nn_plan_release(nn_model *m, nn_plan *p);
/* Whether plan p was built for these inputs. */
bool nn_plan_matches(const nn_model *m, const nn_plan *p, const nn_tensor *in);
void nn_plan_free(nn_plan *p);

/* ---------------------------------------------------------------- graph passes */

/* Each returns the number of rewrites made (>= 0), or -1 with e set. */
int pass_fold_constants(nn_graph *g, const nn_kernels *k, size_t max_bytes, err *e);
int pass_dead_nodes(nn_graph *g);
int pass_conv_bn(nn_graph *g, err *e);
int pass_fuse_activation(nn_graph *g);
int pass_gelu(nn_graph *g);
int pass_layernorm(nn_graph *g);
int pass_attention(nn_graph *g);
int pass_conv_nhwc(nn_graph *g);
int pass_qconv(nn_graph *g);
/* Runs the passes in order: at load (what needs no input shapes) and in each plan (the
 * pattern passes again, now that every shape is known, and attention). */
int nn_passes_load(nn_graph *g, const nn_kernels *k, err *e);
int nn_passes_plan(nn_graph *g);

/* ---------------------------------------------------------------- dtype helpers */

float nn_f16_to_f32(uint16_t h);
uint16_t nn_f32_to_f16(float f);
float nn_bf16_to_f32(uint16_t h);
uint16_t nn_f32_to_bf16(float f);
/* Converts n elements between any two numeric dtypes (and bool), as Cast does. Returns
 * false for a pair it does not handle (strings). */
bool nn_convert(const void *src, nn_dtype st, void *dst, nn_dtype dt, size_t n);

/* String tensors are arrays of pointers to NUL-terminated strings. Packs n strings
 * (src[i] of lens[i] bytes) into one malloc'ed block: the pointers, then the bytes. */
char **nn_strings_pack(const char *const *src, const size_t *lens, int64_t n);
/* Bytes each element of a computed string tensor gets in the arena after the pointers. */
#define NN_STR_SLOT 48

/* The global oneDNN engine (created once). */
void *nn_dnnl_engine(void);

#endif
