/* oneDNN glue shared by the operators that run on it (private to src/nn).
 *
 * A "dnn step" is one oneDNN primitive created at plan time with its arguments bound
 * either to plan values (activations, whose addresses are the session's) or to constant
 * memories the plan owns (weights reordered once into the primitive's layout). Each
 * session creates its own memory objects for the value arguments when it binds the plan
 * and updates their handles only when a pointer changes, so running allocates nothing. */
#ifndef ARTISTRY_NN_DNN_H
#define ARTISTRY_NN_DNN_H

#include "nn/ops.h"

#include <oneapi/dnnl/dnnl.h>

#define DNN_MAX_ARGS 16
/* dnn_arg.value for an argument that lives at the start of the step's scratch. */
#define DNN_VALUE_SCRATCH (-2)

typedef struct dnn_arg {
    int arg;               /* DNNL_ARG_* */
    int value;             /* plan value, -1 for a constant memory, or DNN_VALUE_SCRATCH */
    dnnl_memory_desc_t md; /* for value arguments */
    dnnl_memory_t cmem;    /* constant memory (owned by the state) */
    void *cdata;           /* its buffer (owned by the state) */
} dnn_arg;

typedef struct dnn_state {
    dnnl_primitive_t prim;
    int n_args;
    dnn_arg args[DNN_MAX_ARGS];
    dnnl_memory_desc_t scratch_md;
    size_t scratch;
    size_t scratch_off; /* where oneDNN's scratchpad starts in the step's scratch */
    const char *impl;   /* oneDNN's implementation name, for the profile */
    bool posts_ours;    /* the node's post-ops are applied after the primitive, by us */
    int post_from;      /* ... from this one on (those before it are oneDNN\'s) */
    bool blocked;       /* ... on an output in the blocked layout (physical elements) */
    int64_t phys;       /* elements of the output buffer */
} dnn_state;

dnnl_engine_t dnn_engine(void);
/* A memory descriptor for a plan value in its layout (plain row-major or nChw16c); dt
 * overrides the element type when not dnnl_data_type_undef. */
int dnn_md(dnnl_memory_desc_t *md, const nn_value *v, int layout, dnnl_data_type_t dt);
/* A plain descriptor with explicit dims/strides. */
int dnn_md_strided(dnnl_memory_desc_t *md, int rank, const int64_t *dims, const int64_t *strides,
                   dnnl_data_type_t dt);
dnnl_data_type_t dnn_type(nn_dtype t);

/* Creates a primitive attribute with user scratchpad and the node's post-ops (activations,
 * and binary add/mul with their operands' descriptors appended to st as arguments).
 * Returns NULL when a post-op cannot be expressed. */
dnnl_primitive_attr_t dnn_attr(nn_prep *p, dnn_state *st, const dnnl_memory_desc_t *dst_md);
/* The same with the node's first n_post post-ops only. */
dnnl_primitive_attr_t dnn_attr_n(nn_prep *p, dnn_state *st, const dnnl_memory_desc_t *dst_md,
                                 int n_post);

/* Whether an input or output of n has no elements. oneDNN 2.6 divides by the extents
 * while it chooses a blocking (a matmul of [0, 4] dies of SIGFPE), so such a node is left
 * to our kernels: dnn_pd refuses it, and code that creates primitives itself asks first. */
bool dnn_node_empty(const nn_graph *g, const nn_node *n);

/* Creates the primitive descriptor for an operation descriptor with the node's post-ops.
 * When oneDNN would run the fused form only with its slow reference code, or has no fast
 * GELU, the post-ops from the first GELU on (all of them if that fails) are left out and
 * applied by us after the primitive (st->posts_ours, st->post_from). NULL on failure, and
 * for a node with an empty tensor (dnn_node_empty). */
dnnl_primitive_desc_t dnn_pd(nn_prep *p, dnn_state *st, const_dnnl_op_desc_t desc,
                             const dnnl_memory_desc_t *dst_md);
/* Whether oneDNN would run the primitive with its slow reference code. */
bool dnn_is_ref(const_dnnl_primitive_desc_t pd);
/* Finishes a state from a primitive descriptor: creates the primitive, records the
 * scratchpad size and sets p->run/state/free_state/scratch/sess. Takes ownership of pd. */
int dnn_finish(nn_prep *p, dnn_state *st, dnnl_primitive_desc_t pd, err *e);
/* Adds a value argument. */
void dnn_arg_value(dnn_state *st, int arg, int value, const dnnl_memory_desc_t *md);
/* Adds a constant argument: `src` in descriptor `src_md` reordered into `want` (which may
 * equal src_md); the state owns the result. Returns 0 or -1. */
int dnn_arg_const(dnn_state *st, int arg, const void *src, const dnnl_memory_desc_t *src_md,
                  const dnnl_memory_desc_t *want);
void dnn_state_free(void *state);
int dnn_run(nn_exec *x);

/* --precision bf16: a convolution or product reads a bf16 copy of its input 0, made in its
 * scratch just before it runs (the source argument is DNN_VALUE_SCRATCH), with bf16
 * weights, accumulates in f32 and writes f32. The values between operators stay f32; only
 * the products lose precision (8 bits of mantissa in). */
typedef struct dnn_bf16_state {
    dnn_state d;  /* first: dnn_state_free frees the whole */
    int64_t phys; /* elements of input 0's buffer (blocked layouts are padded) */
} dnn_bf16_state;
/* After dnn_finish: makes room for the copy before oneDNN's scratchpad and sets the run. */
void dnn_bf16_finish(nn_prep *p, dnn_bf16_state *bs, int64_t phys);

#endif
