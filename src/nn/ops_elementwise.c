/* Element-wise operators: unary maths and activations, binary arithmetic, comparison and
 * logic with NumPy broadcasting, Where, Cast, Clip. Float32 paths go through the kernel
 * table; every other type through a generic (double-based) reference loop. */
#include "nn/ops.h"

#include <float.h>
#include <omp.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- unary */

enum un {
    U_ABS,
    U_NEG,
    U_RECIP,
    U_FLOOR,
    U_CEIL,
    U_ROUND,
    U_SQRT,
    U_EXP,
    U_LOG,
    U_SIN,
    U_COS,
    U_TAN,
    U_ASIN,
    U_ACOS,
    U_ATAN,
    U_SINH,
    U_COSH,
    U_ASINH,
    U_ACOSH,
    U_ATANH,
    U_ERF,
    U_RELU,
    U_SIGMOID,
    U_TANH,
    U_SOFTPLUS,
    U_SOFTSIGN,
    U_SIGN,
    U_ELU,
    U_SELU,
    U_LEAKY,
    U_HSIGMOID,
    U_HSWISH,
    U_TRELU,
    U_CELU,
    U_SHRINK,
    U_GELU,
    U_SILU,
    U_IDENTITY,
};

typedef struct un_params {
    float a, b;
} un_params;

static un_params un_attrs(const nn_node *n, int op)
{
    un_params p = {0, 0};
    switch (op) {
    case U_ELU:
    case U_CELU:
    case U_TRELU:
        p.a = attr_f(n, "alpha", 1.0f);
        break;
    case U_SELU:
        p.a = attr_f(n, "alpha", 1.67326319217681884765625f);
        p.b = attr_f(n, "gamma", 1.05070102214813232421875f);
        break;
    case U_LEAKY:
        p.a = attr_f(n, "alpha", 0.01f);
        break;
    case U_HSIGMOID:
        p.a = attr_f(n, "alpha", 0.2f);
        p.b = attr_f(n, "beta", 0.5f);
        break;
    case U_SHRINK:
        p.a = attr_f(n, "bias", 0.0f);
        p.b = attr_f(n, "lambd", 0.5f);
        break;
    default:
        break;
    }
    return p;
}

static double un_apply(int op, double x, un_params p)
{
    switch (op) {
    case U_ABS:
        return fabs(x);
    case U_NEG:
        return -x;
    case U_RECIP:
        return 1.0 / x;
    case U_FLOOR:
        return floor(x);
    case U_CEIL:
        return ceil(x);
    case U_ROUND:
        return nearbyint(x);
    case U_SQRT:
        return sqrt(x);
    case U_EXP:
        return exp(x);
    case U_LOG:
        return log(x);
    case U_SIN:
        return sin(x);
    case U_COS:
        return cos(x);
    case U_TAN:
        return tan(x);
    case U_ASIN:
        return asin(x);
    case U_ACOS:
        return acos(x);
    case U_ATAN:
        return atan(x);
    case U_SINH:
        return sinh(x);
    case U_COSH:
        return cosh(x);
    case U_ASINH:
        return asinh(x);
    case U_ACOSH:
        return acosh(x);
    case U_ATANH:
        return atanh(x);
    case U_ERF:
        return erf(x);
    case U_RELU:
        return x > 0 ? x : 0;
    case U_SIGMOID:
        return 1.0 / (1.0 + exp(-x));
    case U_TANH:
        return tanh(x);
    case U_SOFTPLUS:
        return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    case U_SOFTSIGN:
        return x / (1.0 + fabs(x));
    case U_SIGN:
        return x > 0 ? 1 : x < 0 ? -1 : 0;
    case U_ELU:
        return x >= 0 ? x : p.a * (exp(x) - 1);
    case U_SELU:
        return x > 0 ? p.b * x : p.b * p.a * (exp(x) - 1);
    case U_LEAKY:
        return x >= 0 ? x : p.a * x;
    case U_HSIGMOID:
        return fmax(0.0, fmin(1.0, p.a * x + p.b));
    case U_HSWISH:
        return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
    case U_TRELU:
        return x > p.a ? x : 0;
    case U_CELU:
        return fmax(0.0, x) + fmin(0.0, p.a * (exp(x / p.a) - 1));
    case U_SHRINK:
        return x < -p.b ? x + p.a : x > p.b ? x - p.a : 0;
    case U_GELU:
        return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case U_SILU:
        return x / (1.0 + exp(-x));
    default:
        return x;
    }
}

static int un_kernel(int op)
{
    switch (op) {
    case U_RELU:
        return NN_UN_RELU;
    case U_SIGMOID:
        return NN_UN_SIGMOID;
    case U_TANH:
        return NN_UN_TANH;
    case U_EXP:
        return NN_UN_EXP;
    case U_ERF:
        return NN_UN_ERF;
    case U_GELU:
        return NN_UN_GELU;
    case U_SILU:
        return NN_UN_SILU;
    default:
        return -1;
    }
}

#define CHUNK 16384

static int unary_run(nn_exec *x, int op)
{
    const nn_value *xv = x_vin(x, 0), *yv = x_vout(x, 0);
    const void *src = x_in(x, 0);
    void *dst = x_out(x, 0);
    int64_t n = value_count(xv);
    if (op == U_IDENTITY) {
        if (src != dst) memcpy(dst, src, value_bytes(xv));
        return 0;
    }
    un_params p = un_attrs(x->n, op);
    int kk = un_kernel(op);
    if (xv->dtype == NN_F32 && kk >= 0) {
        int nt = par_threads(x, n);
        int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t c = 0; c < chunks; c++) {
            int64_t o = c * CHUNK, len = n - o < CHUNK ? n - o : CHUNK;
            x->k->unary[kk]((const float *)src + o, (float *)dst + o, (size_t)len);
        }
    } else if (xv->dtype == NN_F32) {
        const float *s = src;
        float *d = dst;
        int nt = par_threads(x, n);
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t i = 0; i < n; i++) d[i] = (float)un_apply(op, s[i], p);
    } else if (xv->dtype == NN_I64 &&
               (op == U_ABS || op == U_NEG || op == U_SIGN || op == U_RELU)) {
        const int64_t *s = src;
        int64_t *d = dst;
        for (int64_t i = 0; i < n; i++) {
            int64_t v = s[i];
            d[i] = op == U_ABS    ? (int64_t)(v < 0 ? 0 - (uint64_t)v : (uint64_t)v)
                   : op == U_NEG  ? (int64_t)(0 - (uint64_t)v)
                   : op == U_SIGN ? (v > 0) - (v < 0)
                                  : (v > 0 ? v : 0);
        }
    } else {
        for (int64_t i = 0; i < n; i++)
            put_num(dst, yv->dtype, i, un_apply(op, get_num(src, xv->dtype, i), p));
    }
    if (yv->dtype == NN_F32) post_apply(x, dst, yv);
    return 0;
}

static int infer_unary(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    if (x->dtype == NN_STRING || x->dtype == NN_BOOL) {
        node_err(e, g, n, 400, "does not take %s input", nn_dtype_name(x->dtype));
        return -1;
    }
    return infer_same(g, n, e);
}

static int infer_identity(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, strcmp(n->op_type, "Dropout") ? 1 : 3, e)) return -1;
    if (!strcmp(n->op_type, "Dropout") && n->n_in > 2 && n->in[2] >= 0) {
        /* training mode drops at random: only a constant false (or ratio 0) is inference */
        const nn_value *tm = node_in(g, n, 2), *r = node_in(g, n, 1);
        double t = 1, ratio = 0.5;
        if (!const_scalar(tm, &t) || (t != 0 && (!r || !const_scalar(r, &ratio) || ratio != 0))) {
            node_err(e, g, n, 400, "training-mode Dropout is not supported");
            return -1;
        }
    }
    const nn_value *x = node_in(g, n, 0);
    set_out(g, n, 0, x->dtype, x->rank, x->dims);
    if (n->n_out > 1) {
        nn_value *m = node_out(g, n, 1);
        if (m) set_out(g, n, 1, NN_BOOL, x->rank, x->dims);
    }
    return 0;
}

#define UN(Name, id)                  \
    static int run_##Name(nn_exec *x) \
    {                                 \
        return unary_run(x, id);      \
    }
UN(Abs, U_ABS)
UN(Neg, U_NEG)
UN(Reciprocal, U_RECIP)
UN(Floor, U_FLOOR)
UN(Ceil, U_CEIL)
UN(Round, U_ROUND)
UN(Sqrt, U_SQRT)
UN(Exp, U_EXP)
UN(Log, U_LOG)
UN(Sin, U_SIN)
UN(Cos, U_COS)
UN(Tan, U_TAN)
UN(Asin, U_ASIN)
UN(Acos, U_ACOS)
UN(Atan, U_ATAN)
UN(Sinh, U_SINH)
UN(Cosh, U_COSH)
UN(Asinh, U_ASINH)
UN(Acosh, U_ACOSH)
UN(Atanh, U_ATANH)
UN(Erf, U_ERF)
UN(Relu, U_RELU)
UN(Sigmoid, U_SIGMOID)
UN(Tanh, U_TANH)
UN(Softplus, U_SOFTPLUS)
UN(Softsign, U_SOFTSIGN)
UN(Sign, U_SIGN)
UN(Elu, U_ELU)
UN(Selu, U_SELU)
UN(LeakyRelu, U_LEAKY)
UN(HardSigmoid, U_HSIGMOID)
UN(HardSwish, U_HSWISH)
UN(ThresholdedRelu, U_TRELU)
UN(Celu, U_CELU)
UN(Shrink, U_SHRINK)
UN(Gelu, U_GELU)
UN(Silu, U_SILU)
UN(Identity, U_IDENTITY)

/* Dropout at inference is the identity; its optional mask output is all true. */
static int run_Dropout(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    if (x_in(x, 0) != x_out(x, 0)) memcpy(x_out(x, 0), x_in(x, 0), value_bytes(xv));
    if (x_out(x, 1)) memset(x_out(x, 1), 1, (size_t)value_count(xv));
    return 0;
}

static int infer_isx(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    set_out(g, n, 0, NN_BOOL, x->rank, x->dims);
    return 0;
}

static int run_IsNaN(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    uint8_t *y = x_out(x, 0);
    for (int64_t i = 0; i < value_count(xv); i++) y[i] = isnan(get_num(x_in(x, 0), xv->dtype, i));
    return 0;
}

static int run_IsInf(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    uint8_t *y = x_out(x, 0);
    int pos = (int)attr_i(x->n, "detect_positive", 1),
        neg = (int)attr_i(x->n, "detect_negative", 1);
    for (int64_t i = 0; i < value_count(xv); i++) {
        double v = get_num(x_in(x, 0), xv->dtype, i);
        y[i] = isinf(v) && ((v > 0 && pos) || (v < 0 && neg));
    }
    return 0;
}

static int run_Not(nn_exec *x)
{
    const uint8_t *a = x_in(x, 0);
    uint8_t *y = x_out(x, 0);
    for (int64_t i = 0; i < value_count(x_vin(x, 0)); i++) y[i] = !a[i];
    return 0;
}

static int infer_not(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    if (node_in(g, n, 0)->dtype != NN_BOOL) {
        node_err(e, g, n, 400, "needs a bool input");
        return -1;
    }
    return infer_same(g, n, e);
}

/* ---------------------------------------------------------------- binary */

enum bin {
    B_ADD,
    B_SUB,
    B_MUL,
    B_DIV,
    B_POW,
    B_MOD,
    B_MIN,
    B_MAX,
    B_EQ,
    B_LT,
    B_GT,
    B_LE,
    B_GE,
    B_AND,
    B_OR,
    B_XOR,
    B_SHL,
    B_SHR,
    B_PRELU,
    B_FMOD,
};

static bool bin_is_cmp(int op)
{
    return op >= B_EQ && op <= B_XOR;
}

static int infer_binary_op(nn_graph *g, nn_node *n, err *e, int op)
{
    if (need_inputs(g, n, 2, 2, e)) return -1;
    const nn_value *a = node_in(g, n, 0), *b = node_in(g, n, 1);
    if (op != B_POW && a->dtype != b->dtype) {
        node_err(e, g, n, 400, "inputs have different types (%s and %s)", nn_dtype_name(a->dtype),
                 nn_dtype_name(b->dtype));
        return -1;
    }
    if (a->dtype == NN_STRING) {
        node_err(e, g, n, 400, "does not take string inputs");
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    int r;
    if (broadcast_shape(a->dims, a->rank, b->dims, b->rank, d, &r) != 0) {
        char sa[96], sb[96];
        nn_shape_str(a->dims, a->rank, sa, sizeof sa);
        nn_shape_str(b->dims, b->rank, sb, sizeof sb);
        node_err(e, g, n, 400, "shapes %s and %s do not broadcast", sa, sb);
        return -1;
    }
    set_out(g, n, 0, bin_is_cmp(op) ? NN_BOOL : a->dtype, r, d);
    return 0;
}

typedef struct bin_ctx {
    const nn_exec *x;
    const void *a, *b;
    void *y;
    nn_dtype ta, tb, ty;
    int op;
    int kk; /* kernel-table binary index, -1 for none */
} bin_ctx;

static double bin_apply(int op, double a, double b, bool integer)
{
    switch (op) {
    case B_ADD:
        return a + b;
    case B_SUB:
        return a - b;
    case B_MUL:
        return a * b;
    case B_DIV:
        if (integer) return b == 0 ? 0 : trunc(a / b);
        return a / b;
    case B_POW:
        return pow(a, b);
    case B_MOD: {
        if (b == 0) return 0;
        double m = fmod(a, b);
        if (m != 0 && ((m < 0) != (b < 0))) m += b;
        return m;
    }
    case B_FMOD:
        return b == 0 && integer ? 0 : fmod(a, b);
    case B_MIN:
        return a < b || isnan(a) ? a : b;
    case B_MAX:
        return a > b || isnan(a) ? a : b;
    case B_EQ:
        return a == b;
    case B_LT:
        return a < b;
    case B_GT:
        return a > b;
    case B_LE:
        return a <= b;
    case B_GE:
        return a >= b;
    case B_AND:
        return a != 0 && b != 0;
    case B_OR:
        return a != 0 || b != 0;
    case B_XOR:
        return (a != 0) != (b != 0);
    case B_PRELU:
        return a < 0 ? a * b : a;
    default:
        return 0;
    }
}

static void bin_run_f32(void *ctx, int64_t o, int64_t ia, int64_t ib, int64_t len, int sa, int sb)
{
    bin_ctx *c = ctx;
    const float *a = (const float *)c->a + ia, *b = (const float *)c->b + ib;
    float *y = (float *)c->y + o;
    if (c->kk >= 0) {
        if (sa && sb)
            c->x->k->binary[c->kk](a, b, y, (size_t)len);
        else if (sa)
            c->x->k->binary_scalar[c->kk](a, b[0], y, (size_t)len, 0);
        else if (sb)
            c->x->k->binary_scalar[c->kk](b, a[0], y, (size_t)len, 1);
        else
            c->x->k->binary[c->kk](a, b, y, 1), len = 1;
        if (!sa && !sb)
            for (int64_t i = 1; i < len; i++) y[i] = y[0];
        return;
    }
    if (c->op == B_POW && !sb && b[0] == 2.0f && sa) {
        /* squares (variance computations): x * x is what powf(x, 2) returns */
        c->x->k->binary[NN_BIN_MUL](a, a, y, (size_t)len);
        return;
    }
    for (int64_t i = 0; i < len; i++) {
        float av = a[sa ? i : 0], bv = b[sb ? i : 0];
        switch (c->op) {
        case B_MIN:
            y[i] = av < bv || isnan(av) ? av : bv;
            break;
        case B_MAX:
            y[i] = av > bv || isnan(av) ? av : bv;
            break;
        case B_POW:
            y[i] = powf(av, bv);
            break;
        case B_PRELU:
            y[i] = av < 0 ? av * bv : av;
            break;
        default:
            y[i] = (float)bin_apply(c->op, av, bv, false);
            break;
        }
    }
}

static void bin_run_i64(void *ctx, int64_t o, int64_t ia, int64_t ib, int64_t len, int sa, int sb)
{
    bin_ctx *c = ctx;
    const int64_t *a = (const int64_t *)c->a + ia, *b = (const int64_t *)c->b + ib;
    int64_t *y = (int64_t *)c->y + o;
    for (int64_t i = 0; i < len; i++) {
        int64_t av = a[sa ? i : 0], bv = b[sb ? i : 0];
        uint64_t ua = (uint64_t)av, ub = (uint64_t)bv;
        switch (c->op) {
        case B_ADD:
            y[i] = (int64_t)(ua + ub);
            break;
        case B_SUB:
            y[i] = (int64_t)(ua - ub);
            break;
        case B_MUL:
            y[i] = (int64_t)(ua * ub);
            break;
        case B_DIV:
            y[i] = bv == 0 || (av == INT64_MIN && bv == -1) ? 0 : av / bv;
            break;
        case B_MOD: {
            int64_t m = bv == 0 || bv == -1 ? 0 : av % bv;
            if (m != 0 && ((m < 0) != (bv < 0))) m += bv;
            y[i] = m;
            break;
        }
        case B_FMOD:
            y[i] = bv == 0 || bv == -1 ? 0 : av % bv;
            break;
        case B_MIN:
            y[i] = av < bv ? av : bv;
            break;
        case B_MAX:
            y[i] = av > bv ? av : bv;
            break;
        default:
            y[i] = to_i64(bin_apply(c->op, (double)av, (double)bv, true));
            break;
        }
    }
}

static void bin_run_generic(void *ctx, int64_t o, int64_t ia, int64_t ib, int64_t len, int sa,
                            int sb)
{
    bin_ctx *c = ctx;
    bool integer = !is_float(c->ta);
    for (int64_t i = 0; i < len; i++) {
        double av = get_num(c->a, c->ta, ia + (sa ? i : 0));
        double bv = get_num(c->b, c->tb, ib + (sb ? i : 0));
        double r;
        if (c->op == B_SHL || c->op == B_SHR) {
            uint64_t ua = (uint64_t)av, ub = (uint64_t)bv;
            unsigned bits = (unsigned)nn_dtype_size(c->ta) * 8;
            uint64_t v = ub >= bits ? 0 : c->op == B_SHL ? ua << ub : ua >> ub;
            if (bits < 64) v &= (1ull << bits) - 1;
            r = (double)v;
        } else if (c->op == B_POW && integer) {
            r = trunc(pow(av, bv));
        } else {
            r = bin_apply(c->op, av, bv, integer);
        }
        if (integer && !bin_is_cmp(c->op)) {
            /* integer results wrap as the type does; one no int64 holds (a division by
             * zero, an overflowing power) is saturated by to_i64, NaN is 0 */
            uint64_t bits = (uint64_t)to_i64(r);
            put_num(c->y, c->ty, o + i, 0);
            memcpy((char *)c->y + (size_t)(o + i) * nn_dtype_size(c->ty), &bits,
                   nn_dtype_size(c->ty));
        } else {
            put_num(c->y, c->ty, o + i, r);
        }
    }
}

static int binary_run(nn_exec *x, int op)
{
    const nn_value *av = x_vin(x, 0), *bv = x_vin(x, 1), *yv = x_vout(x, 0);
    bin_ctx c = {x, x_in(x, 0), x_in(x, 1), x_out(x, 0), av->dtype, bv->dtype, yv->dtype, op, -1};
    bcast_fn fn = bin_run_generic;
    if (av->dtype == NN_F32 && bv->dtype == NN_F32 && yv->dtype == NN_F32) {
        fn = bin_run_f32;
        c.kk = op == B_ADD   ? NN_BIN_ADD
               : op == B_SUB ? NN_BIN_SUB
               : op == B_MUL ? NN_BIN_MUL
               : op == B_DIV ? NN_BIN_DIV
                             : -1;
    } else if (av->dtype == NN_I64 && bv->dtype == NN_I64 && yv->dtype == NN_I64) {
        fn = bin_run_i64;
    }
    bcast_iter(yv->dims, yv->rank, av->dims, av->rank, bv->dims, bv->rank, fn, &c,
               fn == bin_run_f32);
    if (yv->dtype == NN_F32) post_apply(x, x_out(x, 0), yv);
    return 0;
}

#define BIN(Name, id)                                        \
    static int run_##Name(nn_exec *x)                        \
    {                                                        \
        return binary_run(x, id);                            \
    }                                                        \
    static int infer_##Name(nn_graph *g, nn_node *n, err *e) \
    {                                                        \
        return infer_binary_op(g, n, e, id);                 \
    }
BIN(Add, B_ADD)
BIN(Sub, B_SUB)
BIN(Mul, B_MUL)
BIN(Div, B_DIV)
BIN(Pow, B_POW)
BIN(Equal, B_EQ)
BIN(Less, B_LT)
BIN(Greater, B_GT)
BIN(LessOrEqual, B_LE)
BIN(GreaterOrEqual, B_GE)
BIN(And, B_AND)
BIN(Or, B_OR)
BIN(Xor, B_XOR)
BIN(PRelu, B_PRELU)

static int run_Mod(nn_exec *x)
{
    bool fm = attr_i(x->n, "fmod", 0) != 0 || is_float(x_vin(x, 0)->dtype);
    return binary_run(x, fm ? B_FMOD : B_MOD);
}

static int infer_Mod(nn_graph *g, nn_node *n, err *e)
{
    return infer_binary_op(g, n, e, B_MOD);
}

static int run_BitShift(nn_exec *x)
{
    const char *d = attr_s(x->n, "direction", "");
    return binary_run(x, !strcmp(d, "LEFT") ? B_SHL : B_SHR);
}

static int infer_BitShift(nn_graph *g, nn_node *n, err *e)
{
    const char *d = attr_s(n, "direction", "");
    if (strcmp(d, "LEFT") && strcmp(d, "RIGHT")) {
        node_err(e, g, n, 400, "direction must be LEFT or RIGHT");
        return -1;
    }
    return infer_binary_op(g, n, e, B_SHL);
}

/* ---------------------------------------------------------------- variadic Min/Max/Sum/Mean */

static int infer_variadic(nn_graph *g, nn_node *n, err *e)
{
    if (n->n_in < 1) {
        node_err(e, g, n, 400, "needs at least one input");
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    const nn_value *a = node_in(g, n, 0);
    if (!a) return need_inputs(g, n, 1, 1, e);
    int r = a->rank;
    memcpy(d, a->dims, sizeof d);
    for (int i = 1; i < n->n_in; i++) {
        const nn_value *b = node_in(g, n, i);
        if (!b || b->dtype != a->dtype) {
            node_err(e, g, n, 400, "input %d is missing or of another type", i);
            return -1;
        }
        if (broadcast_shape(d, r, b->dims, b->rank, d, &r) != 0) {
            node_err(e, g, n, 400, "input shapes do not broadcast");
            return -1;
        }
    }
    set_out(g, n, 0, a->dtype, r, d);
    return 0;
}

static int variadic_run(nn_exec *x, int op)
{
    const nn_value *yv = x_vout(x, 0);
    int64_t cnt = value_count(yv);
    void *y = x_out(x, 0);
    nn_dtype t = yv->dtype;
    bool integer = !is_float(t);
    /* accumulate in double into the output element by element (inputs may alias y only
     * when they are the whole output, which the first pass reads before writing) */
    double *acc = xmalloc((size_t)(cnt ? cnt : 1) * sizeof *acc);
    for (int i = 0; i < x->n->n_in; i++) {
        const nn_value *v = x_vin(x, i);
        const void *p = x_in(x, i);
        for (int64_t o = 0; o < cnt; o++) {
            double b = get_num(p, v->dtype, bcast_index(o, yv->dims, yv->rank, v->dims, v->rank));
            if (i == 0)
                acc[o] = b;
            else if (op == B_MIN)
                acc[o] = isnan(acc[o]) || acc[o] <= b ? acc[o] : b;
            else if (op == B_MAX)
                acc[o] = isnan(acc[o]) || acc[o] >= b ? acc[o] : b;
            else
                acc[o] += b;
        }
    }
    for (int64_t o = 0; o < cnt; o++) {
        double v = acc[o];
        if (op == -1) v /= x->n->n_in; /* Mean */
        if (integer && op == -1) v = trunc(v);
        put_num(y, t, o, v);
    }
    free(acc);
    return 0;
}

static int run_Min(nn_exec *x)
{
    const nn_value *yv = x_vout(x, 0);
    if (x->n->n_in == 2 && yv->dtype == NN_F32) return binary_run(x, B_MIN);
    if (x->n->n_in == 2 && yv->dtype == NN_I64) return binary_run(x, B_MIN);
    return variadic_run(x, B_MIN);
}

static int run_Max(nn_exec *x)
{
    const nn_value *yv = x_vout(x, 0);
    if (x->n->n_in == 2 && yv->dtype == NN_F32) return binary_run(x, B_MAX);
    if (x->n->n_in == 2 && yv->dtype == NN_I64) return binary_run(x, B_MAX);
    return variadic_run(x, B_MAX);
}

static int run_Sum(nn_exec *x)
{
    if (x->n->n_in == 2) return binary_run(x, B_ADD);
    return variadic_run(x, B_ADD);
}

static int run_Mean(nn_exec *x)
{
    return variadic_run(x, -1);
}

/* ---------------------------------------------------------------- Where */

static int infer_where(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 3, 3, e)) return -1;
    const nn_value *c = node_in(g, n, 0), *a = node_in(g, n, 1), *b = node_in(g, n, 2);
    if (c->dtype != NN_BOOL || a->dtype != b->dtype) {
        node_err(e, g, n, 400, "needs a bool condition and two values of one type");
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    int r;
    if (broadcast_shape(c->dims, c->rank, a->dims, a->rank, d, &r) != 0 ||
        broadcast_shape(d, r, b->dims, b->rank, d, &r) != 0) {
        node_err(e, g, n, 400, "input shapes do not broadcast");
        return -1;
    }
    set_out(g, n, 0, a->dtype, r, d);
    return 0;
}

static int run_Where(nn_exec *x)
{
    const nn_value *cv = x_vin(x, 0), *av = x_vin(x, 1), *bv = x_vin(x, 2), *yv = x_vout(x, 0);
    const uint8_t *c = x_in(x, 0);
    const char *a = x_in(x, 1), *b = x_in(x, 2);
    char *y = x_out(x, 0);
    size_t es = nn_dtype_size(yv->dtype);
    int64_t cnt = value_count(yv);
    for (int64_t o = 0; o < cnt; o++) {
        bool t = c[bcast_index(o, yv->dims, yv->rank, cv->dims, cv->rank)];
        const char *src =
            t ? a + (size_t)bcast_index(o, yv->dims, yv->rank, av->dims, av->rank) * es
              : b + (size_t)bcast_index(o, yv->dims, yv->rank, bv->dims, bv->rank) * es;
        memcpy(y + (size_t)o * es, src, es);
    }
    return 0;
}

/* ---------------------------------------------------------------- Cast, Clip */

static int infer_cast(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 2, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    nn_dtype to;
    if (!strcmp(n->op_type, "CastLike")) {
        if (need_inputs(g, n, 2, 2, e)) return -1;
        to = node_in(g, n, 1)->dtype;
    } else {
        to = (nn_dtype)attr_i(n, "to", 0);
    }
    if (!nn_dtype_size(to) || (to == NN_STRING && x->dtype == NN_STRING)) {
        node_err(e, g, n, 400, "cannot cast %s to type %d", nn_dtype_name(x->dtype), (int)to);
        return -1;
    }
    set_out(g, n, 0, to, x->rank, x->dims);
    return 0;
}

/* Numbers to text the way NumPy prints them: the shortest form that reads back as the
 * same value ("0.039187793"). */
static void format_num(char *out, size_t cap, const void *p, nn_dtype t, int64_t i)
{
    if (is_float(t)) {
        double v = get_num(p, t, i);
        int maxp = t == NN_F64 ? 17 : 9;
        for (int prec = 1; prec <= maxp; prec++) {
            snprintf(out, cap, "%.*g", prec, v);
            if (t == NN_F64 ? strtod(out, NULL) == v : strtof(out, NULL) == (float)v) return;
        }
        return;
    }
    if (t == NN_U64)
        snprintf(out, cap, "%llu", (unsigned long long)((const uint64_t *)p)[i]);
    else if (t == NN_I64)
        snprintf(out, cap, "%lld", (long long)((const int64_t *)p)[i]);
    else if (t == NN_BOOL)
        snprintf(out, cap, "%s", ((const uint8_t *)p)[i] ? "True" : "False");
    else
        snprintf(out, cap, "%.0f", get_num(p, t, i));
}

static int run_Cast(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *yv = x_vout(x, 0);
    int64_t n = value_count(xv);
    if (yv->dtype == NN_STRING) {
        /* the output's arena block holds the pointers, then one slot per string */
        char **p = x_out(x, 0);
        char *slots = (char *)(p + n);
        for (int64_t i = 0; i < n; i++) {
            format_num(slots + i * NN_STR_SLOT, NN_STR_SLOT, x_in(x, 0), xv->dtype, i);
            p[i] = slots + i * NN_STR_SLOT;
        }
        return 0;
    }
    if (xv->dtype == NN_STRING) {
        char *const *p = x_in(x, 0);
        for (int64_t i = 0; i < n; i++) {
            char *end;
            double v = strtod(p[i], &end);
            if (end == p[i]) {
                node_err(x->e, x->g, x->n, 400, "'%.40s' is not a number", p[i]);
                return -1;
            }
            put_num(x_out(x, 0), yv->dtype, i, v);
        }
        return 0;
    }
    if (xv->dtype == NN_F32 && yv->dtype == NN_BF16) {
        /* ONNX casts float to bfloat16 by truncation (what its reference does) */
        const uint32_t *s = x_in(x, 0);
        uint16_t *d = x_out(x, 0);
        for (int64_t i = 0; i < n; i++) d[i] = (uint16_t)(s[i] >> 16);
        return 0;
    }
    nn_convert(x_in(x, 0), xv->dtype, x_out(x, 0), yv->dtype, (size_t)n);
    return 0;
}

static int infer_clip(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 3, e)) return -1;
    for (int i = 1; i < 3; i++) {
        const nn_value *b = node_in(g, n, i);
        if (b && (value_count(b) != 1 || b->dtype == NN_STRING)) {
            node_err(e, g, n, 400, "%s must be a single number", i == 1 ? "min" : "max");
            return -1;
        }
    }
    return infer_same(g, n, e);
}

static int run_Clip(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    nn_dtype t = xv->dtype;
    double lo = -INFINITY, hi = INFINITY;
    if (x->n->opset < 11 && x->n->opset > 0) {
        lo = attr_f(x->n, "min", -FLT_MAX);
        hi = attr_f(x->n, "max", FLT_MAX);
    }
    if (x_in(x, 1)) lo = get_num(x_in(x, 1), x_vin(x, 1)->dtype, 0);
    if (x_in(x, 2)) hi = get_num(x_in(x, 2), x_vin(x, 2)->dtype, 0);
    int64_t n = value_count(xv);
    if (t == NN_F32) {
        const float *s = x_in(x, 0);
        float *d = x_out(x, 0);
        float l = (float)lo, h = (float)hi;
        for (int64_t i = 0; i < n; i++) {
            float v = s[i] < l ? l : s[i];
            d[i] = v > h ? h : v;
        }
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = get_num(x_in(x, 0), t, i);
        v = v < lo ? lo : v > hi ? hi : v;
        put_num(x_out(x, 0), t, i, v);
    }
    return 0;
}

/* ---------------------------------------------------------------- table */

#define UNOP(Name)                                                             \
    {                                                                          \
#Name, infer_unary, run_##Name, NULL, NN_OP_INPLACE | NN_OP_BLOCKED, 0 \
    }
#define BINOP(Name)                                             \
    {                                                           \
#Name, infer_##Name, run_##Name, NULL, NN_OP_INPLACE, 0 \
    }

const nn_op nn_ops_elementwise[] = {
    UNOP(Abs),
    UNOP(Neg),
    UNOP(Reciprocal),
    UNOP(Floor),
    UNOP(Ceil),
    UNOP(Round),
    UNOP(Sqrt),
    UNOP(Exp),
    UNOP(Log),
    UNOP(Sin),
    UNOP(Cos),
    UNOP(Tan),
    UNOP(Asin),
    UNOP(Acos),
    UNOP(Atan),
    UNOP(Sinh),
    UNOP(Cosh),
    UNOP(Asinh),
    UNOP(Acosh),
    UNOP(Atanh),
    UNOP(Erf),
    UNOP(Relu),
    UNOP(Sigmoid),
    UNOP(Tanh),
    UNOP(Softplus),
    UNOP(Softsign),
    UNOP(Sign),
    UNOP(Elu),
    UNOP(Selu),
    UNOP(LeakyRelu),
    UNOP(HardSigmoid),
    UNOP(HardSwish),
    UNOP(ThresholdedRelu),
    UNOP(Celu),
    UNOP(Shrink),
    UNOP(Gelu),
    {"nn.Silu", infer_unary, run_Silu, NULL, NN_OP_INPLACE | NN_OP_BLOCKED, 0},
    {"Identity", infer_identity, run_Identity, NULL, NN_OP_ALIAS, 0},
    {"Dropout", infer_identity, run_Dropout, NULL, 0, 0},
    {"IsNaN", infer_isx, run_IsNaN, NULL, 0, 0},
    {"IsInf", infer_isx, run_IsInf, NULL, 0, 0},
    {"Not", infer_not, run_Not, NULL, NN_OP_INPLACE, 0},
    BINOP(Add),
    BINOP(Sub),
    BINOP(Mul),
    BINOP(Div),
    BINOP(Pow),
    BINOP(Mod),
    BINOP(BitShift),
    BINOP(PRelu),
    {"Equal", infer_Equal, run_Equal, NULL, 0, 0},
    {"Less", infer_Less, run_Less, NULL, 0, 0},
    {"Greater", infer_Greater, run_Greater, NULL, 0, 0},
    {"LessOrEqual", infer_LessOrEqual, run_LessOrEqual, NULL, 0, 0},
    {"GreaterOrEqual", infer_GreaterOrEqual, run_GreaterOrEqual, NULL, 0, 0},
    {"And", infer_And, run_And, NULL, 0, 0},
    {"Or", infer_Or, run_Or, NULL, 0, 0},
    {"Xor", infer_Xor, run_Xor, NULL, 0, 0},
    {"Min", infer_variadic, run_Min, NULL, 0, 0},
    {"Max", infer_variadic, run_Max, NULL, 0, 0},
    {"Sum", infer_variadic, run_Sum, NULL, 0, 0},
    {"Mean", infer_variadic, run_Mean, NULL, 0, 0},
    {"Where", infer_where, run_Where, NULL, 0, 0},
    {"Cast", infer_cast, run_Cast, NULL, 0, 0},
    {"CastLike", infer_cast, run_Cast, NULL, 0, 0},
    {"Clip", infer_clip, run_Clip, NULL, NN_OP_INPLACE, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
