/* Helpers shared by the operator families (ops_*.c). Private to src/nn. */
#ifndef ARTISTRY_NN_OPS_H
#define ARTISTRY_NN_OPS_H

#include "nn/nn_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Each family file defines a table ending with an entry whose name is NULL. */
extern const nn_op nn_ops_elementwise[];
extern const nn_op nn_ops_shape[];
extern const nn_op nn_ops_reduce[];
extern const nn_op nn_ops_conv[];
extern const nn_op nn_ops_matmul[];
extern const nn_op nn_ops_pool[];
extern const nn_op nn_ops_resize[];
extern const nn_op nn_ops_norm[];
extern const nn_op nn_ops_quant[];
extern const nn_op nn_ops_layout[];
extern const nn_op nn_ops_attention[];
extern const nn_op nn_ops_qconv[];

/* Sets output i's dtype and shape. */
void set_out(nn_graph *g, nn_node *n, int i, nn_dtype t, int rank, const int64_t *dims);
/* Output 0 takes input 0's dtype and shape. */
int infer_same(nn_graph *g, nn_node *n, err *e);
/* Numpy broadcasting of two shapes; -1 when incompatible. */
int broadcast_shape(const int64_t *a, int ra, const int64_t *b, int rb, int64_t *out, int *rank);
/* Normalises an axis in [-rank, rank) to [0, rank); -1 when out of range. */
int norm_axis(int64_t axis, int rank);
/* Checks n has between lo and hi inputs with known ranks for the required ones. */
int need_inputs(nn_graph *g, nn_node *n, int lo, int hi, err *e);
/* The input must be a constant (for shape inference); sets e when not. */
const nn_value *need_const(nn_graph *g, nn_node *n, int i, const char *what, err *e);

/* Strides (in elements) of a row-major shape. */
void row_strides(const int64_t *dims, int rank, int64_t *strides);

/* Applies node n's fused post-operations to its float output y (plain layout). */
void post_apply(const nn_exec *x, float *y, const nn_value *yv);
/* ... from post-op `first` on. */
void post_apply_from(const nn_exec *x, float *y, const nn_value *yv, int first);
/* Element-wise activation by kind on a float array. */
void post_act(const nn_kernels *k, const nn_post *p, float *y, size_t n);

/* Broadcast iteration: visits the output in contiguous inner runs. For every run calls
 * fn(ctx, out_offset, a_offset, b_offset, len, a_step, b_step) (steps 0 or 1). */
typedef void (*bcast_fn)(void *ctx, int64_t o, int64_t ia, int64_t ib, int64_t len, int sa, int sb);
void bcast_iter(const int64_t *od, int orank, const int64_t *ad, int ar, const int64_t *bd, int br,
                bcast_fn fn, void *ctx, bool parallel);
/* Index of output element `o` into an input of shape d/r broadcast to od/orank. */
int64_t bcast_index(int64_t o, const int64_t *od, int orank, const int64_t *d, int r);

/* Element access for generic (any numeric dtype) reference code, through double. */
double get_num(const void *p, nn_dtype t, int64_t i);
void put_num(void *p, nn_dtype t, int64_t i, double v);
static inline bool is_float(nn_dtype t)
{
    return t == NN_F32 || t == NN_F64 || t == NN_F16 || t == NN_BF16;
}
static inline bool is_int(nn_dtype t)
{
    return t == NN_I8 || t == NN_I16 || t == NN_I32 || t == NN_I64 || t == NN_U8 || t == NN_U16 ||
           t == NN_U32 || t == NN_U64;
}

/* Thread count for an OpenMP loop over `work` elements (1 below a size where threads
 * cost more than they save). */
int par_threads(const nn_exec *x, int64_t work);

/* General N-d transpose of elements of es bytes: dst = src.transpose(perm). */
void nn_transpose(const nn_kernels *k, const void *src, void *dst, size_t es, const int64_t *dims,
                  int rank, const int *perm, int threads);
/* A ConvTranspose with kernel == stride, no pads, dilation or groups (ops_conv.c): it runs
 * as a matrix product on the plain layout. */
bool convtranspose_is_shuffle(const nn_graph *g, const nn_node *n);
/* Resize that the blocked layout can run: nearest with integer factors on H and W. */
bool resize_blockable(nn_graph *g, const nn_node *n);
/* DynamicQuantizeLinear's scale and zero point for a range. */
void nn_dql_params(float mn, float mx, float *scale, uint8_t *zp);

/* Float to integer without undefined behaviour: NaN is 0, out-of-range values saturate. */
static inline int64_t to_i64(double v)
{
    if (v != v) return 0;
    if (v >= 4611686018427387904.0) return INT64_C(4611686018427387904);
    if (v <= -4611686018427387904.0) return -INT64_C(4611686018427387904);
    return (int64_t)v;
}
static inline int to_int(double v)
{
    int64_t i = to_i64(v);
    return i > 2147483647 ? 2147483647 : i < -2147483647 ? -2147483647 : (int)i;
}

/* Physical bytes of a value in a layout. */
size_t layout_bytes(const nn_value *v, int layout);

#endif
