/* The operator table and the helpers every operator family shares. */
#include "nn/ops.h"

#include <omp.h>
#include <stdlib.h>

static const nn_op *const families[] = {
    nn_ops_elementwise, nn_ops_shape, nn_ops_reduce, nn_ops_conv,   nn_ops_matmul,    nn_ops_pool,
    nn_ops_resize,      nn_ops_norm,  nn_ops_quant,  nn_ops_layout, nn_ops_attention, nn_ops_qconv,
};

static const nn_op *find(const char *name)
{
    for (size_t f = 0; f < ARRAY_LEN(families); f++)
        for (const nn_op *op = families[f]; op->name; op++)
            if (!strcmp(op->name, name)) return op;
    return NULL;
}

const nn_op *nn_op_find(const char *domain, const char *name)
{
    if (domain && domain[0] && strcmp(domain, "ai.onnx")) return NULL;
    /* our internal operators ("nn.*") are for the passes only, never for a model file */
    if (!strncmp(name, "nn.", 3)) return NULL;
    return find(name);
}

const nn_op *nn_op_find_internal(const char *name)
{
    return find(name);
}

/* The operators we claim to implement: tests/nn/test_conformance.c runs every ONNX node
 * test case that uses them and requires each to pass. Keep sorted. */
const char *const nn_claimed_ops[] = {
    "Abs",
    "Acos",
    "Acosh",
    "Add",
    "And",
    "ArgMax",
    "ArgMin",
    "Asin",
    "Asinh",
    "Atan",
    "Atanh",
    "AveragePool",
    "BatchNormalization",
    "BitShift",
    "Cast",
    "CastLike",
    "Ceil",
    "Celu",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "ConvInteger",
    "ConvTranspose",
    "Cos",
    "Cosh",
    "CumSum",
    "DepthToSpace",
    "DequantizeLinear",
    "Div",
    "DynamicQuantizeLinear",
    "Elu",
    "Equal",
    "Erf",
    "Exp",
    "Expand",
    "EyeLike",
    "Flatten",
    "Floor",
    "Gather",
    "GatherElements",
    "GatherND",
    "Gemm",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Greater",
    "GreaterOrEqual",
    "HardSigmoid",
    "HardSwish",
    "Hardmax",
    "Identity",
    "InstanceNormalization",
    "IsInf",
    "IsNaN",
    "LRN",
    "LayerNormalization",
    "LeakyRelu",
    "Less",
    "LessOrEqual",
    "Log",
    "LogSoftmax",
    "MatMul",
    "MatMulInteger",
    "Max",
    "MaxPool",
    "Mean",
    "MeanVarianceNormalization",
    "Min",
    "Mod",
    "Mul",
    "Neg",
    "Not",
    "OneHot",
    "Or",
    "PRelu",
    "Pad",
    "Pow",
    "QuantizeLinear",
    "Range",
    "Reciprocal",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "ReduceSumSquare",
    "Relu",
    "Reshape",
    "Resize",
    "Round",
    "ScatterElements",
    "ScatterND",
    "Selu",
    "Shape",
    "Shrink",
    "Sigmoid",
    "Sign",
    "Sin",
    "Sinh",
    "Size",
    "Slice",
    "Softmax",
    "Softplus",
    "Softsign",
    "SpaceToDepth",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tan",
    "Tanh",
    "ThresholdedRelu",
    "Tile",
    "TopK",
    "Transpose",
    "Trilu",
    "Unsqueeze",
    "Upsample",
    "Where",
    "Xor",
    NULL,
};

void set_out(nn_graph *g, nn_node *n, int i, nn_dtype t, int rank, const int64_t *dims)
{
    nn_value *v = node_out(g, n, i);
    if (!v) return;
    v->dtype = t;
    v->rank = rank;
    for (int d = 0; d < rank; d++) v->dims[d] = dims[d];
}

int infer_same(nn_graph *g, nn_node *n, err *e)
{
    const nn_value *x = node_in(g, n, 0);
    if (!x) {
        node_err(e, g, n, 400, "needs an input");
        return -1;
    }
    for (int i = 0; i < n->n_out; i++) set_out(g, n, i, x->dtype, x->rank, x->dims);
    return 0;
}

int broadcast_shape(const int64_t *a, int ra, const int64_t *b, int rb, int64_t *out, int *rank)
{
    int r = ra > rb ? ra : rb;
    for (int i = 0; i < r; i++) {
        int64_t da = i < r - ra ? 1 : a[i - (r - ra)];
        int64_t db = i < r - rb ? 1 : b[i - (r - rb)];
        if (da == db || db == 1)
            out[i] = da;
        else if (da == 1)
            out[i] = db;
        else
            return -1;
    }
    *rank = r;
    return 0;
}

int norm_axis(int64_t axis, int rank)
{
    if (axis < -rank || axis >= (rank ? rank : 1)) return -1;
    return (int)(axis < 0 ? axis + rank : axis);
}

int need_inputs(nn_graph *g, nn_node *n, int lo, int hi, err *e)
{
    if (n->n_in < lo || n->n_in > hi) {
        node_err(e, g, n, 400, "has %d inputs, expected %d to %d", n->n_in, lo, hi);
        return -1;
    }
    for (int i = 0; i < lo; i++)
        if (n->in[i] < 0) {
            node_err(e, g, n, 400, "input %d is required", i);
            return -1;
        }
    return 0;
}

const nn_value *need_const(nn_graph *g, nn_node *n, int i, const char *what, err *e)
{
    const nn_value *v = node_in(g, n, i);
    if (!v) return NULL;
    if (v->kind != NN_V_CONST) {
        node_err(e, g, n, 422,
                 "%s ('%s') must be known when the plan is built, not computed at run time", what,
                 v->name);
        return NULL;
    }
    return v;
}

void row_strides(const int64_t *dims, int rank, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

int par_threads(const nn_exec *x, int64_t work)
{
    if (x->threads <= 1 || work < 32768) return 1;
    return x->threads;
}

size_t layout_bytes(const nn_value *v, int layout)
{
    if (v->dtype == NN_STRING) return (size_t)value_count(v) * (sizeof(char *) + NN_STR_SLOT);
    if (layout == NN_L_BLK16 && v->rank >= 2) {
        int64_t c = (v->dims[1] + 15) / 16 * 16;
        return (size_t)(value_count(v) / (v->dims[1] ? v->dims[1] : 1) * c) *
               nn_dtype_size(v->dtype);
    }
    return value_bytes(v);
}

/* ---------------------------------------------------------------- broadcasting */

void bcast_iter(const int64_t *od, int orank, const int64_t *ad, int ar, const int64_t *bd, int br,
                bcast_fn fn, void *ctx, bool parallel)
{
    /* align to the output rank, then merge neighbouring dimensions that broadcast alike */
    int64_t o[NN_MAX_RANK], a[NN_MAX_RANK], b[NN_MAX_RANK];
    int r = 0;
    for (int i = 0; i < orank; i++) {
        int64_t x = i < orank - ar ? 1 : ad[i - (orank - ar)];
        int64_t y = i < orank - br ? 1 : bd[i - (orank - br)];
        if (od[i] == 1) continue;
        if (r > 0 && ((a[r - 1] == o[r - 1]) == (x == od[i])) &&
            ((b[r - 1] == o[r - 1]) == (y == od[i]))) {
            o[r - 1] *= od[i];
            a[r - 1] *= x;
            b[r - 1] *= y;
            continue;
        }
        o[r] = od[i];
        a[r] = x;
        b[r] = y;
        r++;
    }
    int64_t total = nn_shape_count(od, orank);
    if (total == 0) return;
    if (r == 0) {
        fn(ctx, 0, 0, 0, 1, 0, 0);
        return;
    }
    int64_t inner = o[r - 1];
    int sa = a[r - 1] == inner ? 1 : 0, sb = b[r - 1] == inner ? 1 : 0;
    int64_t as[NN_MAX_RANK], bs[NN_MAX_RANK];
    int64_t s1 = 1, s2 = 1;
    for (int i = r - 1; i >= 0; i--) {
        as[i] = a[i] == 1 ? 0 : s1;
        bs[i] = b[i] == 1 ? 0 : s2;
        s1 *= a[i];
        s2 *= b[i];
    }
    int64_t outer = total / inner;
    int nt = parallel && total >= 65536 && outer >= 2 ? omp_get_max_threads() : 1;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t it = 0; it < outer; it++) {
        int64_t rem = it, ia = 0, ib = 0;
        for (int d = r - 2; d >= 0; d--) {
            int64_t idx = rem % o[d];
            rem /= o[d];
            ia += idx * as[d];
            ib += idx * bs[d];
        }
        fn(ctx, it * inner, ia, ib, inner, sa, sb);
    }
}

int64_t bcast_index(int64_t o, const int64_t *od, int orank, const int64_t *d, int r)
{
    int64_t idx = 0, stride = 1;
    for (int i = orank - 1, j = r - 1; i >= 0; i--, j--) {
        int64_t c = o % od[i];
        o /= od[i];
        if (j < 0) continue;
        if (d[j] != 1) idx += c * stride;
        stride *= d[j];
    }
    return idx;
}

double get_num(const void *p, nn_dtype t, int64_t i)
{
    switch (t) {
    case NN_F32:
        return ((const float *)p)[i];
    case NN_F64:
        return ((const double *)p)[i];
    case NN_F16:
        return nn_f16_to_f32(((const uint16_t *)p)[i]);
    case NN_BF16:
        return nn_bf16_to_f32(((const uint16_t *)p)[i]);
    case NN_I8:
        return ((const int8_t *)p)[i];
    case NN_I16:
        return ((const int16_t *)p)[i];
    case NN_I32:
        return ((const int32_t *)p)[i];
    case NN_I64:
        return (double)((const int64_t *)p)[i];
    case NN_U8:
    case NN_BOOL:
        return ((const uint8_t *)p)[i];
    case NN_U16:
        return ((const uint16_t *)p)[i];
    case NN_U32:
        return ((const uint32_t *)p)[i];
    case NN_U64:
        return (double)((const uint64_t *)p)[i];
    default:
        return 0;
    }
}

void put_num(void *p, nn_dtype t, int64_t i, double v)
{
    nn_convert(&v, NN_F64, (char *)p + (size_t)i * nn_dtype_size(t), t, 1);
}

/* ---------------------------------------------------------------- post-operations */

static void post_act_1(const nn_kernels *k, const nn_post *p, float *y, size_t n);

/* Large arrays in parallel chunks (the call may already be inside a parallel loop with a
 * small n, where this stays on its thread). */
void post_act(const nn_kernels *k, const nn_post *p, float *y, size_t n)
{
    enum { CH = 16384 };
    if (n < 4 * CH || omp_in_parallel()) {
        post_act_1(k, p, y, n);
        return;
    }
    int64_t chunks = (int64_t)((n + CH - 1) / CH);
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        size_t o = (size_t)c * CH;
        post_act_1(k, p, y + o, n - o < CH ? n - o : CH);
    }
}

static void post_act_1(const nn_kernels *k, const nn_post *p, float *y, size_t n)
{
    switch (p->kind) {
    case NN_POST_RELU:
        k->unary[NN_UN_RELU](y, y, n);
        break;
    case NN_POST_SIGMOID:
        k->unary[NN_UN_SIGMOID](y, y, n);
        break;
    case NN_POST_SILU:
        k->unary[NN_UN_SILU](y, y, n);
        break;
    case NN_POST_GELU:
        k->unary[NN_UN_GELU](y, y, n);
        break;
    case NN_POST_TANH:
        k->unary[NN_UN_TANH](y, y, n);
        break;
    case NN_POST_CLIP:
        for (size_t i = 0; i < n; i++) y[i] = y[i] < p->a ? p->a : y[i] > p->b ? p->b : y[i];
        break;
    case NN_POST_LEAKY:
        for (size_t i = 0; i < n; i++) y[i] = y[i] < 0 ? y[i] * p->a : y[i];
        break;
    default:
        break;
    }
}

typedef struct post_bin {
    float *y;
    const float *b;
    int kind;
} post_bin;

static void post_bin_run(void *ctx, int64_t o, int64_t ia, int64_t ib, int64_t len, int sa, int sb)
{
    post_bin *c = ctx;
    (void)ia;
    (void)sa;
    float *y = c->y + o;
    const float *b = c->b + ib;
    if (c->kind == NN_POST_ADD) {
        for (int64_t i = 0; i < len; i++) y[i] += b[sb ? i : 0];
    } else {
        for (int64_t i = 0; i < len; i++) y[i] *= b[sb ? i : 0];
    }
}

void post_apply(const nn_exec *x, float *y, const nn_value *yv)
{
    post_apply_from(x, y, yv, 0);
}

void post_apply_from(const nn_exec *x, float *y, const nn_value *yv, int first)
{
    const nn_node *n = x->n;
    size_t cnt = (size_t)value_count(yv);
    for (int i = first; i < n->n_post; i++) {
        const nn_post *p = &n->post[i];
        if (p->kind == NN_POST_ADD || p->kind == NN_POST_MUL) {
            const nn_value *bv = &x->g->v[p->value];
            post_bin c = {y, x->ptr[p->value], p->kind};
            bcast_iter(yv->dims, yv->rank, yv->dims, yv->rank, bv->dims, bv->rank, post_bin_run, &c,
                       !omp_in_parallel());
        } else {
            post_act(x->k, p, y, cnt);
        }
    }
}
