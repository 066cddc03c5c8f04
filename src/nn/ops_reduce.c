/* Reductions, ArgMax/ArgMin, Softmax and its kin, CumSum, TopK. */
#include "nn/ops.h"

#include <float.h>
#include <omp.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- Reduce* */

enum red { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP, R_SUMSQ };

typedef struct red_p {
    bool axis[NN_MAX_RANK];
    bool keep;
    bool noop;
} red_p;

/* Axes come from an attribute, or (ReduceSum from opset 13, the others from 18) from the
 * optional second input. Empty axes reduce everything unless noop_with_empty_axes. */
static int red_params(nn_graph *g, const nn_node *n, const nn_value *x, red_p *rp, err *e)
{
    memset(rp, 0, sizeof *rp);
    rp->keep = attr_i(n, "keepdims", 1) != 0;
    int64_t axes[NN_MAX_RANK];
    int na = -1;
    if (n->n_in > 1 && n->in[1] >= 0) {
        const nn_value *a = node_in(g, n, 1);
        if (a->kind != NN_V_CONST) {
            node_err(e, g, n, 422, "axes must be known when the plan is built");
            return -1;
        }
        na = const_ints(a, axes, NN_MAX_RANK);
        if (na < 0) {
            node_err(e, g, n, 400, "axes must be a 1-D integer tensor");
            return -1;
        }
    } else {
        na = attr_ints(n, "axes", axes, NN_MAX_RANK);
        if (na < 0 && node_attr(n, "axes")) {
            node_err(e, g, n, 400, "axes must be a list of at most %d integers", NN_MAX_RANK);
            return -1;
        }
    }
    if (na <= 0) {
        if (attr_i(n, "noop_with_empty_axes", 0)) {
            rp->noop = true;
            return 0;
        }
        for (int i = 0; i < x->rank; i++) rp->axis[i] = true;
        return 0;
    }
    for (int i = 0; i < na; i++) {
        int a = norm_axis(axes[i], x->rank);
        if (a < 0) {
            node_err(e, g, n, 400, "axis %lld out of range for rank %d", (long long)axes[i],
                     x->rank);
            return -1;
        }
        rp->axis[a] = true;
    }
    return 0;
}

static int infer_reduce(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 2, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    red_p rp;
    if (red_params(g, n, x, &rp, e) != 0) return -1;
    if (rp.noop) return infer_same(g, n, e);
    int64_t d[NN_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!rp.axis[i])
            d[r++] = x->dims[i];
        else if (rp.keep)
            d[r++] = 1;
    }
    set_out(g, n, 0, x->dtype, r, d);
    return 0;
}

static double red_init(int op)
{
    switch (op) {
    case R_MAX:
        return -INFINITY;
    case R_MIN:
        return INFINITY;
    case R_PROD:
        return 1;
    default:
        return 0;
    }
}

static double red_step(int op, double acc, double v)
{
    switch (op) {
    case R_MAX:
        return v > acc || isnan(v) ? v : acc;
    case R_MIN:
        return v < acc || isnan(v) ? v : acc;
    case R_PROD:
        return acc * v;
    case R_L1:
        return acc + fabs(v);
    case R_L2:
    case R_SUMSQ:
        return acc + v * v;
    case R_LOGSUMEXP:
        return acc + exp(v);
    default:
        return acc + v;
    }
}

static double red_final(int op, double acc, int64_t n)
{
    switch (op) {
    case R_MEAN:
        return acc / (double)n;
    case R_L2:
        return sqrt(acc);
    case R_LOGSUM:
    case R_LOGSUMEXP:
        return log(acc);
    default:
        return acc;
    }
}

static int reduce_run(nn_exec *x, int op)
{
    const nn_value *xv = x_vin(x, 0), *yv = x_vout(x, 0);
    red_p rp;
    if (red_params((nn_graph *)x->g, x->n, xv, &rp, x->e) != 0) return -1;
    if (rp.noop) {
        if (x_in(x, 0) != x_out(x, 0)) memcpy(x_out(x, 0), x_in(x, 0), value_bytes(xv));
        return 0;
    }
    /* Reduce over the last axes with float: the row path (LayerNorm-like ReduceMean) */
    int r = xv->rank;
    int first = r;
    while (first > 0 && rp.axis[first - 1]) first--;
    bool tail_only = true;
    for (int i = 0; i < first; i++) tail_only &= !rp.axis[i];
    int64_t ycnt = value_count(yv);
    if (xv->dtype == NN_F32 && tail_only && (op == R_MEAN || op == R_SUM || op == R_MAX)) {
        int64_t inner = 1;
        for (int i = first; i < r; i++) inner *= xv->dims[i];
        const float *s = x_in(x, 0);
        float *y = x_out(x, 0);
        int nt = par_threads(x, ycnt * inner);
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t o = 0; o < ycnt; o++) {
            const float *row = s + o * inner;
            if (op == R_MAX) {
                float m = inner ? row[0] : -INFINITY;
                for (int64_t i = 1; i < inner; i++) m = row[i] > m ? row[i] : m;
                y[o] = m;
            } else {
                double acc = 0;
                for (int64_t i = 0; i < inner; i++) acc += row[i];
                y[o] = (float)(op == R_MEAN ? acc / (double)inner : acc);
            }
        }
        return 0;
    }
    /* float over one contiguous block of axes with inner elements after it: accumulate
     * whole inner rows (the channel LayerNorm of image models reduces axis 1 this way) */
    int lo = -1, hi = -1;
    bool contiguous = true;
    for (int i = 0; i < r; i++)
        if (rp.axis[i]) {
            if (lo < 0)
                lo = i;
            else if (hi != i - 1)
                contiguous = false;
            hi = i;
        }
    if (xv->dtype == NN_F32 && contiguous && lo >= 0 &&
        (op == R_MEAN || op == R_SUM || op == R_MAX || op == R_MIN)) {
        int64_t outer = 1, dim = 1, inner = 1;
        for (int i = 0; i < lo; i++) outer *= xv->dims[i];
        for (int i = lo; i <= hi; i++) dim *= xv->dims[i];
        for (int i = hi + 1; i < r; i++) inner *= xv->dims[i];
        const float *s = x_in(x, 0);
        float *y = x_out(x, 0);
        int nt = par_threads(x, outer * dim * inner);
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t o = 0; o < outer; o++) {
            float *acc = y + o * inner;
            const float *src = s + o * dim * inner;
            if (dim == 0) {
                for (int64_t i = 0; i < inner; i++)
                    acc[i] = op == R_MAX ? -INFINITY : op == R_MIN ? INFINITY : 0;
                continue;
            }
            memcpy(acc, src, (size_t)inner * sizeof *acc);
            for (int64_t d = 1; d < dim; d++) {
                const float *row = src + d * inner;
                if (op == R_MAX)
                    for (int64_t i = 0; i < inner; i++) acc[i] = row[i] > acc[i] ? row[i] : acc[i];
                else if (op == R_MIN)
                    for (int64_t i = 0; i < inner; i++) acc[i] = row[i] < acc[i] ? row[i] : acc[i];
                else
                    for (int64_t i = 0; i < inner; i++) acc[i] += row[i];
            }
            if (op == R_MEAN) {
                float inv = 1.0f / (float)dim;
                for (int64_t i = 0; i < inner; i++) acc[i] *= inv;
            }
        }
        return 0;
    }
    /* generic: walk the input once, accumulating into the output element it maps to */
    int64_t ystr[NN_MAX_RANK], k = 0;
    int64_t yd_full[NN_MAX_RANK];
    for (int i = 0; i < r; i++) yd_full[i] = rp.axis[i] ? 1 : xv->dims[i];
    row_strides(yd_full, r, ystr);
    (void)k;
    double *acc = xmalloc((size_t)(ycnt ? ycnt : 1) * sizeof *acc);
    for (int64_t o = 0; o < ycnt; o++) acc[o] = red_init(op);
    int64_t xcnt = value_count(xv);
    for (int64_t i = 0; i < xcnt; i++) {
        int64_t rem = i, o = 0;
        for (int d = r - 1; d >= 0; d--) {
            int64_t c = rem % xv->dims[d];
            rem /= xv->dims[d];
            if (!rp.axis[d]) o += c * ystr[d];
        }
        acc[o] = red_step(op, acc[o], get_num(x_in(x, 0), xv->dtype, i));
    }
    int64_t n = 1;
    for (int i = 0; i < r; i++)
        if (rp.axis[i]) n *= xv->dims[i];
    for (int64_t o = 0; o < ycnt; o++) {
        double v = red_final(op, acc[o], n);
        if (!is_float(yv->dtype) && op == R_MEAN) v = trunc(v);
        put_num(x_out(x, 0), yv->dtype, o, v);
    }
    free(acc);
    return 0;
}

#define RED(Name, id)                 \
    static int run_##Name(nn_exec *x) \
    {                                 \
        return reduce_run(x, id);     \
    }
RED(ReduceSum, R_SUM)
RED(ReduceMean, R_MEAN)
RED(ReduceMax, R_MAX)
RED(ReduceMin, R_MIN)
RED(ReduceProd, R_PROD)
RED(ReduceL1, R_L1)
RED(ReduceL2, R_L2)
RED(ReduceLogSum, R_LOGSUM)
RED(ReduceLogSumExp, R_LOGSUMEXP)
RED(ReduceSumSquare, R_SUMSQ)

/* ---------------------------------------------------------------- ArgMax/ArgMin */

static int infer_arg(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    int axis = norm_axis(attr_i(n, "axis", 0), x->rank);
    if (axis < 0) {
        node_err(e, g, n, 400, "axis out of range");
        return -1;
    }
    bool keep = attr_i(n, "keepdims", 1) != 0;
    int64_t d[NN_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (i != axis)
            d[r++] = x->dims[i];
        else if (keep)
            d[r++] = 1;
    }
    set_out(g, n, 0, NN_I64, r, d);
    return 0;
}

static int arg_run(nn_exec *x, bool max)
{
    const nn_value *xv = x_vin(x, 0);
    int axis = norm_axis(attr_i(x->n, "axis", 0), xv->rank);
    bool last = attr_i(x->n, "select_last_index", 0) != 0;
    int64_t outer = 1, inner = 1, dim = xv->dims[axis];
    for (int i = 0; i < axis; i++) outer *= xv->dims[i];
    for (int i = axis + 1; i < xv->rank; i++) inner *= xv->dims[i];
    int64_t *y = x_out(x, 0);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t best = 0;
            double bv = get_num(x_in(x, 0), xv->dtype, o * dim * inner + i);
            for (int64_t k = 1; k < dim; k++) {
                double v = get_num(x_in(x, 0), xv->dtype, (o * dim + k) * inner + i);
                bool better = max ? (last ? v >= bv : v > bv) : (last ? v <= bv : v < bv);
                if (better) {
                    bv = v;
                    best = k;
                }
            }
            y[o * inner + i] = best;
        }
    return 0;
}

static int run_ArgMax(nn_exec *x)
{
    return arg_run(x, true);
}

static int run_ArgMin(nn_exec *x)
{
    return arg_run(x, false);
}

/* ---------------------------------------------------------------- Softmax family */

/* Before opset 13 the input is coerced to 2-D at `axis` (default 1) and normalised over
 * the whole inner block; from 13 over the one axis (default -1). */
static void sm_geometry(const nn_node *n, const nn_value *x, int64_t *outer, int64_t *dim,
                        int64_t *inner)
{
    bool old = n->opset > 0 && n->opset < 13;
    int axis = norm_axis(attr_i(n, "axis", old ? 1 : -1), x->rank);
    if (axis < 0) axis = x->rank ? x->rank - 1 : 0;
    *outer = 1;
    *inner = 1;
    *dim = 1;
    for (int i = 0; i < axis; i++) *outer *= x->dims[i];
    if (old) {
        for (int i = axis; i < x->rank; i++) *dim *= x->dims[i];
    } else {
        *dim = x->rank ? x->dims[axis] : 1;
        for (int i = axis + 1; i < x->rank; i++) *inner *= x->dims[i];
    }
}

static int infer_softmax(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    bool old = n->opset > 0 && n->opset < 13;
    if (norm_axis(attr_i(n, "axis", old ? 1 : -1), x->rank) < 0 && x->rank > 0) {
        node_err(e, g, n, 400, "axis out of range for rank %d", x->rank);
        return -1;
    }
    if (!is_float(x->dtype)) {
        node_err(e, g, n, 400, "needs a float input");
        return -1;
    }
    return infer_same(g, n, e);
}

enum { SM_SOFT, SM_LOG, SM_HARD };

static int softmax_run(nn_exec *x, int kind)
{
    const nn_value *xv = x_vin(x, 0);
    int64_t outer, dim, inner;
    sm_geometry(x->n, xv, &outer, &dim, &inner);
    if (xv->dtype != NN_F32) {
        node_err(x->e, x->g, x->n, 400, "only float32 is supported");
        return -1;
    }
    const float *s = x_in(x, 0);
    float *y = x_out(x, 0);
    if (inner == 1 && kind == SM_SOFT) {
        int nt = par_threads(x, outer * dim);
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t o = 0; o < outer; o++) x->k->softmax(s + o * dim, y + o * dim, (size_t)dim);
        return 0;
    }
    int nt = par_threads(x, outer * dim * inner);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            const float *row = s + o * dim * inner + i;
            float *out = y + o * dim * inner + i;
            float mx = -INFINITY;
            int64_t arg = 0;
            for (int64_t k = 0; k < dim; k++)
                if (row[k * inner] > mx) {
                    mx = row[k * inner];
                    arg = k;
                }
            if (kind == SM_HARD) {
                for (int64_t k = 0; k < dim; k++) out[k * inner] = k == arg ? 1.0f : 0.0f;
                continue;
            }
            double sum = 0;
            for (int64_t k = 0; k < dim; k++) sum += exp((double)row[k * inner] - mx);
            for (int64_t k = 0; k < dim; k++) {
                double d = (double)row[k * inner] - mx;
                out[k * inner] = kind == SM_LOG ? (float)(d - log(sum)) : (float)(exp(d) / sum);
            }
        }
    }
    return 0;
}

static int run_Softmax(nn_exec *x)
{
    return softmax_run(x, SM_SOFT);
}

/* Softmax over an axis with elements after it (YOLO's DFL normalises axis 1 of
 * [1, 16, 4, 8400]): whole rows of the inner elements at a time, with the kernels, in a
 * buffer of two rows per thread from the plan's scratch. */
#define SM_CHUNK 1024

static int run_softmax_strided(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    int64_t outer, dim, inner;
    sm_geometry(x->n, xv, &outer, &dim, &inner);
    const float *s = x_in(x, 0);
    float *y = x_out(x, 0);
    int64_t chunks = (inner + SM_CHUNK - 1) / SM_CHUNK;
    int nt = par_threads(x, outer * dim * inner);
#pragma omp parallel num_threads(nt)
    {
        float *mx = (float *)x->scratch + (size_t)omp_get_thread_num() * 2 * SM_CHUNK,
              *sum = mx + SM_CHUNK;
#pragma omp for collapse(2) schedule(static)
        for (int64_t o = 0; o < outer; o++)
            for (int64_t ch = 0; ch < chunks; ch++) {
                int64_t i0 = ch * SM_CHUNK;
                size_t len = (size_t)(inner - i0 < SM_CHUNK ? inner - i0 : SM_CHUNK);
                const float *in = s + o * dim * inner + i0;
                float *out = y + o * dim * inner + i0;
                memcpy(mx, in, len * sizeof *mx);
                for (int64_t k = 1; k < dim; k++) {
                    const float *r = in + k * inner;
                    for (size_t i = 0; i < len; i++) mx[i] = r[i] > mx[i] ? r[i] : mx[i];
                }
                memset(sum, 0, len * sizeof *sum);
                for (int64_t k = 0; k < dim; k++) {
                    float *r = out + k * inner;
                    x->k->binary[NN_BIN_SUB](in + k * inner, mx, r, len);
                    x->k->unary[NN_UN_EXP](r, r, len);
                    x->k->binary[NN_BIN_ADD](sum, r, sum, len);
                }
                for (size_t i = 0; i < len; i++) sum[i] = 1.0f / sum[i];
                for (int64_t k = 0; k < dim; k++)
                    x->k->binary[NN_BIN_MUL](out + k * inner, sum, out + k * inner, len);
            }
    }
    return 0;
}

static int prepare_softmax(nn_prep *p, err *e)
{
    (void)e;
    const nn_value *xv = node_in(p->g, p->n, 0);
    int64_t outer, dim, inner;
    sm_geometry(p->n, xv, &outer, &dim, &inner);
    if (xv->dtype != NN_F32 || inner < 16 || p->n->in[0] == p->n->out[0]) return 0;
    p->run = run_softmax_strided;
    p->scratch = 2 * SM_CHUNK * sizeof(float) * (size_t)p->m->threads;
    return 0;
}

static int run_LogSoftmax(nn_exec *x)
{
    return softmax_run(x, SM_LOG);
}

static int run_Hardmax(nn_exec *x)
{
    return softmax_run(x, SM_HARD);
}

/* ---------------------------------------------------------------- CumSum */

static int infer_cumsum(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 2, e)) return -1;
    const nn_value *a = node_in(g, n, 1);
    if (value_count(a) != 1 || (a->dtype != NN_I32 && a->dtype != NN_I64)) {
        node_err(e, g, n, 400, "axis must be a single int32 or int64");
        return -1;
    }
    return infer_same(g, n, e);
}

static int run_CumSum(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    int axis = norm_axis(to_i64(get_num(x_in(x, 1), x_vin(x, 1)->dtype, 0)), xv->rank);
    if (axis < 0) {
        node_err(x->e, x->g, x->n, 400, "axis out of range");
        return -1;
    }
    bool excl = attr_i(x->n, "exclusive", 0) != 0, rev = attr_i(x->n, "reverse", 0) != 0;
    int64_t outer = 1, inner = 1, dim = xv->dims[axis];
    for (int i = 0; i < axis; i++) outer *= xv->dims[i];
    for (int i = axis + 1; i < xv->rank; i++) inner *= xv->dims[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double acc = 0;
            for (int64_t kk = 0; kk < dim; kk++) {
                int64_t k = rev ? dim - 1 - kk : kk;
                int64_t idx = (o * dim + k) * inner + i;
                double v = get_num(x_in(x, 0), xv->dtype, idx);
                if (excl) {
                    put_num(x_out(x, 0), xv->dtype, idx, acc);
                    acc += v;
                } else {
                    acc += v;
                    put_num(x_out(x, 0), xv->dtype, idx, acc);
                }
            }
        }
    return 0;
}

/* ---------------------------------------------------------------- TopK */

static int infer_topk(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 2, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    int axis = norm_axis(attr_i(n, "axis", -1), x->rank);
    double k;
    if (n->n_in > 1) {
        if (!const_scalar(node_in(g, n, 1), &k)) {
            node_err(e, g, n, 422, "k must be known when the plan is built");
            return -1;
        }
    } else {
        k = (double)attr_i(n, "k", -1);
    }
    if (axis < 0 || k < 0 || k > (double)x->dims[axis]) {
        node_err(e, g, n, 400, "bad axis or k");
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    memcpy(d, x->dims, sizeof d);
    d[axis] = to_i64(k);
    set_out(g, n, 0, x->dtype, x->rank, d);
    set_out(g, n, 1, NN_I64, x->rank, d);
    return 0;
}

static const double *g_topk_vals;
static int g_topk_largest;

static int topk_cmp(const void *a, const void *b)
{
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    double x = g_topk_vals[i], y = g_topk_vals[j];
    if (x != y) return g_topk_largest ? (x > y ? -1 : 1) : (x < y ? -1 : 1);
    return i < j ? -1 : 1;
}

static int run_TopK(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *yv = x_vout(x, 0);
    int axis = norm_axis(attr_i(x->n, "axis", -1), xv->rank);
    int64_t k = yv->dims[axis];
    bool largest = attr_i(x->n, "largest", 1) != 0;
    int64_t outer = 1, inner = 1, dim = xv->dims[axis];
    for (int i = 0; i < axis; i++) outer *= xv->dims[i];
    for (int i = axis + 1; i < xv->rank; i++) inner *= xv->dims[i];
    double *vals = xmalloc((size_t)(dim ? dim : 1) * sizeof *vals);
    int64_t *idx = xmalloc((size_t)(dim ? dim : 1) * sizeof *idx);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            for (int64_t j = 0; j < dim; j++) {
                vals[j] = get_num(x_in(x, 0), xv->dtype, (o * dim + j) * inner + i);
                idx[j] = j;
            }
            /* qsort's comparator has no context argument; TopK is not on a hot path */
#pragma omp critical(nn_topk)
            {
                g_topk_vals = vals;
                g_topk_largest = largest;
                qsort(idx, (size_t)dim, sizeof *idx, topk_cmp);
            }
            for (int64_t j = 0; j < k; j++) {
                int64_t o2 = (o * k + j) * inner + i;
                put_num(x_out(x, 0), xv->dtype, o2, vals[idx[j]]);
                ((int64_t *)x_out(x, 1))[o2] = idx[j];
            }
        }
    free(vals);
    free(idx);
    return 0;
}

#define REDOP(Name)                                 \
    {                                               \
#Name, infer_reduce, run_##Name, NULL, 0, 0 \
    }

const nn_op nn_ops_reduce[] = {
    REDOP(ReduceSum),
    REDOP(ReduceMean),
    REDOP(ReduceMax),
    REDOP(ReduceMin),
    REDOP(ReduceProd),
    REDOP(ReduceL1),
    REDOP(ReduceL2),
    REDOP(ReduceLogSum),
    REDOP(ReduceLogSumExp),
    REDOP(ReduceSumSquare),
    {"ArgMax", infer_arg, run_ArgMax, NULL, 0, 0},
    {"ArgMin", infer_arg, run_ArgMin, NULL, 0, 0},
    {"Softmax", infer_softmax, run_Softmax, prepare_softmax, 0, 0},
    {"LogSoftmax", infer_softmax, run_LogSoftmax, NULL, 0, 0},
    {"Hardmax", infer_softmax, run_Hardmax, NULL, 0, 0},
    {"CumSum", infer_cumsum, run_CumSum, NULL, 0, 0},
    {"TopK", infer_topk, run_TopK, NULL, 0, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
