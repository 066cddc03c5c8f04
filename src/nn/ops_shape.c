/* Shape and data-movement operators: Reshape and its kin, Transpose, Concat, Split, Slice,
 * Gather/Scatter, Expand, Tile, Shape, Pad, DepthToSpace and friends. */
#include "nn/ops.h"

#include <omp.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- views */

static int infer_reshape(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 2, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    int64_t shape[NN_MAX_RANK];
    int r;
    if (n->opset >= 5 || n->n_in >= 2) {
        const nn_value *s = need_const(g, n, 1, "the target shape", e);
        if (!s) {
            if (!node_in(g, n, 1)) node_err(e, g, n, 400, "needs a shape input");
            return -1;
        }
        r = const_ints(s, shape, NN_MAX_RANK);
        if (r < 0) {
            node_err(e, g, n, 400,
                     "the target shape must be a 1-D int64 tensor of at most %d values",
                     NN_MAX_RANK);
            return -1;
        }
    } else {
        r = attr_ints(n, "shape", shape, NN_MAX_RANK);
        if (r < 0 || r > NN_MAX_RANK) {
            node_err(e, g, n, 400, "needs a shape attribute");
            return -1;
        }
    }
    bool allowzero = attr_i(n, "allowzero", 0) != 0;
    int64_t known = 1;
    int infer = -1;
    for (int i = 0; i < r; i++) {
        if (shape[i] == 0 && !allowzero) {
            if (i >= x->rank) {
                node_err(e, g, n, 400, "dimension %d is 0 (copy) but the input has rank %d", i,
                         x->rank);
                return -1;
            }
            shape[i] = x->dims[i];
        }
        if (shape[i] == -1) {
            if (infer >= 0) {
                node_err(e, g, n, 400, "more than one -1 in the target shape");
                return -1;
            }
            infer = i;
        } else if (shape[i] < 0) {
            node_err(e, g, n, 400, "negative dimension %lld in the target shape",
                     (long long)shape[i]);
            return -1;
        } else {
            if (shape[i] && known > ((int64_t)1 << 40) / shape[i]) {
                node_err(e, g, n, 400, "the target shape has too many elements");
                return -1;
            }
            known *= shape[i];
        }
    }
    int64_t total = value_count(x);
    if (infer >= 0) {
        if (known == 0 || total % known) {
            node_err(e, g, n, 400,
                     "cannot infer the -1 dimension: %lld elements into blocks of %lld",
                     (long long)total, (long long)known);
            return -1;
        }
        shape[infer] = total / known;
        known *= shape[infer];
    }
    if (known != total) {
        char a[96], b[96];
        nn_shape_str(x->dims, x->rank, a, sizeof a);
        nn_shape_str(shape, r, b, sizeof b);
        node_err(e, g, n, 400, "cannot reshape %s into %s", a, b);
        return -1;
    }
    set_out(g, n, 0, x->dtype, r, shape);
    return 0;
}

static int run_view(nn_exec *x)
{
    if (x_in(x, 0) != x_out(x, 0)) memcpy(x_out(x, 0), x_in(x, 0), value_bytes(x_vin(x, 0)));
    return 0;
}

static int infer_flatten(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    int64_t a = attr_i(n, "axis", 1);
    int axis = (int)(a < 0 ? a + x->rank : a);
    if (a < -x->rank || a > x->rank) {
        node_err(e, g, n, 400, "axis out of range for rank %d", x->rank);
        return -1;
    }
    int64_t d[2] = {1, 1};
    for (int i = 0; i < x->rank; i++) d[i < axis ? 0 : 1] *= x->dims[i];
    set_out(g, n, 0, x->dtype, 2, d);
    return 0;
}

/* Axes from the attribute (before opset 13) or the optional second input. */
static int read_axes(nn_graph *g, nn_node *n, int input, int64_t *axes, err *e)
{
    if (n->n_in > input && n->in[input] >= 0) {
        const nn_value *a = need_const(g, n, input, "axes", e);
        if (!a) return -2;
        int c = const_ints(a, axes, NN_MAX_RANK);
        if (c < 0) {
            node_err(e, g, n, 400, "axes must be a 1-D integer tensor");
            return -2;
        }
        return c;
    }
    return attr_ints(n, "axes", axes, NN_MAX_RANK);
}

static int infer_squeeze(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 2, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    int64_t axes[NN_MAX_RANK];
    int na = read_axes(g, n, 1, axes, e);
    if (na == -2) return -1;
    bool drop[NN_MAX_RANK] = {0};
    if (na < 0) {
        for (int i = 0; i < x->rank; i++) drop[i] = x->dims[i] == 1;
    } else {
        for (int i = 0; i < na; i++) {
            int a = norm_axis(axes[i], x->rank);
            if (a < 0 || x->dims[a] != 1) {
                node_err(e, g, n, 400, "cannot squeeze axis %lld", (long long)axes[i]);
                return -1;
            }
            drop[a] = true;
        }
    }
    int64_t d[NN_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i]) d[r++] = x->dims[i];
    set_out(g, n, 0, x->dtype, r, d);
    return 0;
}

static int infer_unsqueeze(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 2, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    int64_t axes[NN_MAX_RANK];
    int na = read_axes(g, n, 1, axes, e);
    if (na == -2) return -1;
    if (na < 0) {
        node_err(e, g, n, 400, "needs axes");
        return -1;
    }
    int r = x->rank + na;
    if (r > NN_MAX_RANK) {
        node_err(e, g, n, 400, "the result would have more than %d dimensions", NN_MAX_RANK);
        return -1;
    }
    bool ins[NN_MAX_RANK] = {0};
    for (int i = 0; i < na; i++) {
        int a = norm_axis(axes[i], r);
        if (a < 0 || ins[a]) {
            node_err(e, g, n, 400, "bad or repeated axis %lld", (long long)axes[i]);
            return -1;
        }
        ins[a] = true;
    }
    int64_t d[NN_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++) d[i] = ins[i] ? 1 : x->dims[j++];
    set_out(g, n, 0, x->dtype, r, d);
    return 0;
}

/* ---------------------------------------------------------------- Transpose */

static int get_perm(const nn_node *n, int rank, int *perm)
{
    int64_t p[NN_MAX_RANK];
    int c = attr_ints(n, "perm", p, NN_MAX_RANK);
    if (c < 0) {
        for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return 0;
    }
    if (c != rank) return -1;
    bool seen[NN_MAX_RANK] = {0};
    for (int i = 0; i < rank; i++) {
        if (p[i] < 0 || p[i] >= rank || seen[p[i]]) return -1;
        seen[p[i]] = true;
        perm[i] = (int)p[i];
    }
    return 0;
}

static int infer_transpose(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    int perm[NN_MAX_RANK];
    if (get_perm(n, x->rank, perm) != 0) {
        node_err(e, g, n, 400, "perm is not a permutation of %d axes", x->rank);
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    for (int i = 0; i < x->rank; i++) d[i] = x->dims[perm[i]];
    set_out(g, n, 0, x->dtype, x->rank, d);
    return 0;
}

/* General N-d transpose: merge axes that stay adjacent, then walk the output in order
 * with the input strides, copying contiguous runs where the last axis stays last. */
void nn_transpose(const nn_kernels *k, const void *src, void *dst, size_t es, const int64_t *dims,
                  int rank, const int *perm, int threads)
{
    int64_t d[NN_MAX_RANK];
    int p[NN_MAX_RANK];
    int r = 0;
    /* collapse input dims of size 1 and runs perm[i+1] == perm[i] + 1 */
    int map[NN_MAX_RANK];
    int nr = 0;
    for (int i = 0; i < rank; i++) map[i] = dims[i] == 1 ? -1 : nr++;
    int64_t nd[NN_MAX_RANK];
    for (int i = 0; i < rank; i++)
        if (map[i] >= 0) nd[map[i]] = dims[i];
    int np[NN_MAX_RANK], kk = 0;
    for (int i = 0; i < rank; i++)
        if (map[perm[i]] >= 0) np[kk++] = map[perm[i]];
    /* merge */
    int grp[NN_MAX_RANK];
    for (int i = 0; i < nr; i++) grp[i] = i;
    int ng = 0;
    int first[NN_MAX_RANK];
    for (int i = 0; i < nr; i++) {
        if (i > 0 && np[i] == np[i - 1] + 1) {
            grp[np[i]] = grp[np[i - 1]];
            continue;
        }
        first[ng] = np[i];
        grp[np[i]] = np[i];
        ng++;
    }
    /* groups in input order */
    int64_t gd[NN_MAX_RANK];
    int gin[NN_MAX_RANK];
    int gi = 0;
    for (int i = 0; i < nr; i++) {
        if (grp[i] != i) continue;
        int64_t size = 1;
        for (int j = i; j < nr && grp[j] == i; j++) size *= nd[j];
        gd[gi] = size;
        gin[i] = gi++;
    }
    for (int i = 0; i < ng; i++) {
        d[i] = gd[gin[first[i]]];
        p[i] = gin[first[i]];
    }
    r = ng;
    int64_t total = nn_shape_count(dims, rank);
    if (total == 0) return;
    if (r <= 1) {
        memcpy(dst, src, (size_t)total * es);
        return;
    }
    int64_t in_dims[NN_MAX_RANK], in_str[NN_MAX_RANK], str[NN_MAX_RANK];
    for (int i = 0; i < r; i++) in_dims[p[i]] = d[i];
    row_strides(in_dims, r, in_str);
    for (int i = 0; i < r; i++) str[i] = in_str[p[i]];
    int64_t inner = d[r - 1], istr = str[r - 1];
    /* When the input's innermost axis moves (to output position q), walking the output in
     * order reads one element per cache line. Go tile by tile instead: a 16 x 16 tile of
     * (q, last) touches 16 lines on each side, which stay in L1. */
    int q = -1;
    for (int j = 0; j < r - 1; j++)
        if (str[j] == 1) q = j;
    if (istr != 1 && q >= 0 && es == 4) {
        int64_t ostr[NN_MAX_RANK];
        row_strides(d, r, ostr);
        int64_t nq = d[q], outer2 = total / (nq * inner);
        const float *sf = src;
        float *df = dst;
        int64_t tiles_q = (nq + 15) / 16, tiles_i = (inner + 15) / 16;
        int nt2 = total >= 65536 ? threads : 1;
#pragma omp parallel for collapse(2) num_threads(nt2) schedule(static)
        for (int64_t it = 0; it < outer2; it++)
            for (int64_t tq = 0; tq < tiles_q; tq++) {
                /* the other axes' offsets for outer index `it` (axes except q and last) */
                int64_t rem = it, ioff = 0, ooff = 0;
                for (int j = r - 2; j >= 0; j--) {
                    if (j == q) continue;
                    int64_t c = rem % d[j];
                    rem /= d[j];
                    ioff += c * str[j];
                    ooff += c * ostr[j];
                }
                int64_t q0 = tq * 16, q1 = q0 + 16 < nq ? q0 + 16 : nq;
                for (int64_t ti = 0; ti < tiles_i; ti++) {
                    int64_t i0 = ti * 16, i1 = i0 + 16 < inner ? i0 + 16 : inner;
                    k->transpose_tile(sf + ioff + q0 + i0 * istr, (size_t)istr,
                                      df + ooff + q0 * ostr[q] + i0, (size_t)ostr[q],
                                      (size_t)(i1 - i0), (size_t)(q1 - q0));
                }
            }
        return;
    }
    int64_t outer = total / inner;
    int nt = total >= 65536 ? threads : 1;
    const char *s = src;
    char *o = dst;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t it = 0; it < outer; it++) {
        int64_t rem = it, off = 0;
        for (int j = r - 2; j >= 0; j--) {
            off += (rem % d[j]) * str[j];
            rem /= d[j];
        }
        char *y = o + (size_t)(it * inner) * es;
        if (istr == 1) {
            memcpy(y, s + (size_t)off * es, (size_t)inner * es);
        } else if (es == 4) {
            const float *xs = (const float *)s + off;
            float *ys = (float *)y;
            for (int64_t i = 0; i < inner; i++) ys[i] = xs[i * istr];
        } else {
            for (int64_t i = 0; i < inner; i++)
                memcpy(y + (size_t)i * es, s + (size_t)(off + i * istr) * es, es);
        }
    }
}

static int run_transpose(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    int perm[NN_MAX_RANK];
    get_perm(x->n, xv->rank, perm);
    nn_transpose(x->k, x_in(x, 0), x_out(x, 0), nn_dtype_size(xv->dtype), xv->dims, xv->rank, perm,
                 x->threads);
    return 0;
}

/* ---------------------------------------------------------------- Concat, Split */

static int infer_concat(nn_graph *g, nn_node *n, err *e)
{
    if (n->n_in < 1 || !node_in(g, n, 0)) {
        node_err(e, g, n, 400, "needs at least one input");
        return -1;
    }
    const nn_value *a = node_in(g, n, 0);
    int axis = norm_axis(attr_i(n, "axis", 0), a->rank);
    if (axis < 0) {
        node_err(e, g, n, 400, "axis out of range for rank %d", a->rank);
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    memcpy(d, a->dims, sizeof d);
    d[axis] = 0;
    for (int i = 0; i < n->n_in; i++) {
        const nn_value *b = node_in(g, n, i);
        if (!b || b->rank != a->rank || b->dtype != a->dtype) {
            node_err(e, g, n, 400, "input %d differs in rank or type from input 0", i);
            return -1;
        }
        for (int j = 0; j < a->rank; j++)
            if (j != axis && b->dims[j] != a->dims[j]) {
                char sa[96], sb[96];
                nn_shape_str(a->dims, a->rank, sa, sizeof sa);
                nn_shape_str(b->dims, b->rank, sb, sizeof sb);
                node_err(e, g, n, 400, "cannot concatenate %s and %s on axis %d", sa, sb, axis);
                return -1;
            }
        if (b->dims[axis] > INT64_MAX - d[axis]) {
            node_err(e, g, n, 400, "the concatenated axis %d is too long", axis);
            return -1;
        }
        d[axis] += b->dims[axis];
    }
    set_out(g, n, 0, a->dtype, a->rank, d);
    return 0;
}

static int run_concat(nn_exec *x)
{
    const nn_value *yv = x_vout(x, 0);
    int axis = norm_axis(attr_i(x->n, "axis", 0), yv->rank);
    size_t es = nn_dtype_size(yv->dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= yv->dims[i];
    for (int i = axis + 1; i < yv->rank; i++) inner *= yv->dims[i];
    char *y = x_out(x, 0);
    size_t row = (size_t)(yv->dims[axis] * inner) * es;
    size_t off = 0;
    for (int i = 0; i < x->n->n_in; i++) {
        const nn_value *v = x_vin(x, i);
        const char *s = x_in(x, i);
        size_t len = (size_t)(v->dims[axis] * inner) * es;
        if (s != y + off || outer != 1) {
            if (outer == 1)
                memcpy(y + off, s, len);
            else
                for (int64_t o = 0; o < outer; o++)
                    memcpy(y + (size_t)o * row + off, s + (size_t)o * len, len);
        }
        off += len;
    }
    return 0;
}

/* The sizes of the parts of a Split: from the input (opset 13+), the attribute, or equal
 * parts (num_outputs in opset 18). */
static int split_sizes(nn_graph *g, nn_node *n, int64_t dim, int64_t *sizes, err *e)
{
    int k = n->n_out;
    int c = -1;
    if (n->n_in > 1 && n->in[1] >= 0) {
        const nn_value *s = need_const(g, n, 1, "split sizes", e);
        if (!s) return -1;
        c = s->rank == 1 && s->dims[0] <= 256 ? const_ints(s, sizes, 256) : -1;
        if (c < 0) {
            node_err(e, g, n, 400, "split must be a 1-D integer tensor");
            return -1;
        }
    } else {
        c = attr_ints(n, "split", sizes, 256);
    }
    if (c >= 0) {
        int64_t sum = 0; /* stays <= dim, so nothing overflows */
        bool over = false;
        for (int i = 0; i < c && !over; i++) {
            if (sizes[i] < 0) {
                node_err(e, g, n, 400, "negative split size");
                return -1;
            }
            over = sizes[i] > dim - sum;
            if (!over) sum += sizes[i];
        }
        if (c != k || over || sum != dim) {
            node_err(e, g, n, 400, "split sizes do not add up to %lld over %d outputs",
                     (long long)dim, k);
            return -1;
        }
        return 0;
    }
    int64_t part = (dim + k - 1) / k;
    if (!node_attr(n, "num_outputs") && dim % k) {
        node_err(e, g, n, 400, "dimension %lld does not split into %d equal parts", (long long)dim,
                 k);
        return -1;
    }
    for (int i = 0; i < k; i++) {
        int64_t left = dim - part * i;
        sizes[i] = left < 0 ? 0 : left < part ? left : part;
    }
    return 0;
}

static int infer_split(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 2, e)) return -1;
    if (n->n_out < 1 || n->n_out > 256) {
        node_err(e, g, n, 400, "needs 1 to 256 outputs");
        return -1;
    }
    const nn_value *x = node_in(g, n, 0);
    int axis = norm_axis(attr_i(n, "axis", 0), x->rank);
    if (axis < 0) {
        node_err(e, g, n, 400, "axis out of range");
        return -1;
    }
    int64_t sizes[256];
    if (split_sizes(g, n, x->dims[axis], sizes, e) != 0) return -1;
    for (int i = 0; i < n->n_out; i++) {
        int64_t d[NN_MAX_RANK];
        memcpy(d, x->dims, sizeof d);
        d[axis] = sizes[i];
        set_out(g, n, i, x->dtype, x->rank, d);
    }
    return 0;
}

static int run_split(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    int axis = norm_axis(attr_i(x->n, "axis", 0), xv->rank);
    size_t es = nn_dtype_size(xv->dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= xv->dims[i];
    for (int i = axis + 1; i < xv->rank; i++) inner *= xv->dims[i];
    const char *s = x_in(x, 0);
    size_t row = (size_t)(xv->dims[axis] * inner) * es;
    size_t off = 0;
    for (int i = 0; i < x->n->n_out; i++) {
        const nn_value *v = x_vout(x, i);
        if (!v) continue;
        char *y = x_out(x, i);
        size_t len = (size_t)(v->dims[axis] * inner) * es;
        if (y != s + off || outer != 1) {
            /* many short rows (TinyViT's q/k/v of 32 floats each): in parallel */
            int nt = par_threads(x, outer * (int64_t)(len / es));
#pragma omp parallel for num_threads(nt) schedule(static)
            for (int64_t o = 0; o < outer; o++)
                memcpy(y + (size_t)o * len, s + (size_t)o * row + off, len);
        }
        off += len;
    }
    return 0;
}

/* ---------------------------------------------------------------- Slice */

typedef struct slice_p {
    int64_t start[NN_MAX_RANK], step[NN_MAX_RANK], count[NN_MAX_RANK];
} slice_p;

static int slice_params(nn_graph *g, const nn_node *n, const nn_value *x, slice_p *sp, err *e)
{
    int64_t st[NN_MAX_RANK], en[NN_MAX_RANK], ax[NN_MAX_RANK], stp[NN_MAX_RANK];
    int ns, ne, na = -1, nst = -1;
    if (n->opset >= 10 || n->n_in > 1) {
        const nn_value *vs = node_in(g, n, 1), *ve = node_in(g, n, 2);
        const nn_value *va = node_in(g, n, 3), *vst = node_in(g, n, 4);
        if (!vs || !ve || vs->kind != NN_V_CONST || ve->kind != NN_V_CONST ||
            (va && va->kind != NN_V_CONST) || (vst && vst->kind != NN_V_CONST)) {
            node_err(e, g, n, 422,
                     "starts, ends, axes and steps must be known when the plan is built");
            return -1;
        }
        ns = const_ints(vs, st, NN_MAX_RANK);
        ne = const_ints(ve, en, NN_MAX_RANK);
        if (va) na = const_ints(va, ax, NN_MAX_RANK);
        if (vst) nst = const_ints(vst, stp, NN_MAX_RANK);
        if ((va && na < 0) || (vst && nst < 0)) ns = -1;
    } else {
        ns = attr_ints(n, "starts", st, NN_MAX_RANK);
        ne = attr_ints(n, "ends", en, NN_MAX_RANK);
        na = attr_ints(n, "axes", ax, NN_MAX_RANK);
    }
    if (ns < 0 || ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns)) {
        node_err(e, g, n, 400, "starts, ends, axes and steps must be integer lists of one length");
        return -1;
    }
    for (int i = 0; i < x->rank; i++) {
        sp->start[i] = 0;
        sp->step[i] = 1;
        sp->count[i] = x->dims[i];
    }
    bool seen[NN_MAX_RANK] = {0};
    for (int i = 0; i < ns; i++) {
        int a = na >= 0 ? norm_axis(ax[i], x->rank) : i;
        if (a < 0 || a >= x->rank || seen[a]) {
            node_err(e, g, n, 400, "bad or repeated axis");
            return -1;
        }
        seen[a] = true;
        int64_t d = x->dims[a];
        int64_t step = nst >= 0 ? stp[i] : 1;
        if (step == 0) {
            node_err(e, g, n, 400, "step 0");
            return -1;
        }
        int64_t s = st[i], en_ = en[i];
        if (s < 0) s += d;
        if (en_ < 0) en_ += d;
        if (step > 0) {
            s = s < 0 ? 0 : s > d ? d : s;
            en_ = en_ < 0 ? 0 : en_ > d ? d : en_;
            sp->count[a] = en_ > s ? (en_ - s + step - 1) / step : 0;
        } else {
            s = s < 0 ? -1 : s > d - 1 ? d - 1 : s;
            en_ = en_ < -1 ? -1 : en_ > d - 1 ? d - 1 : en_;
            sp->count[a] = s > en_ ? (s - en_ + (-step) - 1) / (-step) : 0;
        }
        sp->start[a] = s;
        sp->step[a] = step;
    }
    return 0;
}

static int infer_slice(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 5, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    slice_p sp;
    if (slice_params(g, n, x, &sp, e) != 0) return -1;
    set_out(g, n, 0, x->dtype, x->rank, sp.count);
    return 0;
}

static int run_slice(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *yv = x_vout(x, 0);
    slice_p sp;
    if (slice_params((nn_graph *)x->g, x->n, xv, &sp, x->e) != 0) return -1;
    size_t es = nn_dtype_size(xv->dtype);
    int r = xv->rank;
    int64_t str[NN_MAX_RANK];
    row_strides(xv->dims, r, str);
    int64_t total = value_count(yv);
    if (total == 0) return 0;
    int64_t inner = r ? yv->dims[r - 1] : 1;
    int64_t outer = total / inner;
    const char *s = x_in(x, 0);
    char *y = x_out(x, 0);
    bool contig = r == 0 || sp.step[r - 1] == 1;
    int nt = par_threads(x, total);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t it = 0; it < outer; it++) {
        int64_t rem = it, off = 0;
        for (int d = r - 2; d >= 0; d--) {
            int64_t idx = rem % yv->dims[d];
            rem /= yv->dims[d];
            off += (sp.start[d] + idx * sp.step[d]) * str[d];
        }
        if (r) off += sp.start[r - 1];
        char *dst = y + (size_t)(it * inner) * es;
        if (contig) {
            memcpy(dst, s + (size_t)off * es, (size_t)inner * es);
        } else {
            for (int64_t i = 0; i < inner; i++)
                memcpy(dst + (size_t)i * es, s + (size_t)(off + i * sp.step[r - 1]) * es, es);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- Gather family */

static int infer_gather(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 2, e)) return -1;
    const nn_value *x = node_in(g, n, 0), *ix = node_in(g, n, 1);
    int axis = norm_axis(attr_i(n, "axis", 0), x->rank);
    if (axis < 0 || (ix->dtype != NN_I64 && ix->dtype != NN_I32)) {
        node_err(e, g, n, 400, "needs a valid axis and int32/int64 indices");
        return -1;
    }
    int r = x->rank - 1 + ix->rank;
    if (r > NN_MAX_RANK) {
        node_err(e, g, n, 400, "the result would have more than %d dimensions", NN_MAX_RANK);
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    int k = 0;
    for (int i = 0; i < axis; i++) d[k++] = x->dims[i];
    for (int i = 0; i < ix->rank; i++) d[k++] = ix->dims[i];
    for (int i = axis + 1; i < x->rank; i++) d[k++] = x->dims[i];
    set_out(g, n, 0, x->dtype, r, d);
    return 0;
}

static int64_t index_at(const void *p, nn_dtype t, int64_t i)
{
    return t == NN_I32 ? ((const int32_t *)p)[i] : ((const int64_t *)p)[i];
}

static int run_gather(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *iv = x_vin(x, 1);
    int axis = norm_axis(attr_i(x->n, "axis", 0), xv->rank);
    size_t es = nn_dtype_size(xv->dtype);
    int64_t outer = 1, inner = 1, dim = xv->dims[axis];
    for (int i = 0; i < axis; i++) outer *= xv->dims[i];
    for (int i = axis + 1; i < xv->rank; i++) inner *= xv->dims[i];
    int64_t ni = value_count(iv);
    const char *s = x_in(x, 0);
    char *y = x_out(x, 0);
    const void *ix = x_in(x, 1);
    for (int64_t j = 0; j < ni; j++) {
        int64_t k = index_at(ix, iv->dtype, j);
        if (k < -dim || k >= dim) {
            node_err(x->e, x->g, x->n, 400, "index %lld is out of range for a dimension of %lld",
                     (long long)k, (long long)dim);
            return -1;
        }
    }
    size_t blk = (size_t)inner * es;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t k = index_at(ix, iv->dtype, j);
            if (k < 0) k += dim;
            memcpy(y + (size_t)(o * ni + j) * blk, s + (size_t)(o * dim + k) * blk, blk);
        }
    return 0;
}

static int infer_gather_elements(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 2, e)) return -1;
    const nn_value *x = node_in(g, n, 0), *ix = node_in(g, n, 1);
    if (ix->rank != x->rank || norm_axis(attr_i(n, "axis", 0), x->rank) < 0) {
        node_err(e, g, n, 400, "indices must have the data's rank and axis must be valid");
        return -1;
    }
    set_out(g, n, 0, x->dtype, ix->rank, ix->dims);
    return 0;
}

/* GatherElements and ScatterElements: the offset in x (row strides xs) of element o of
 * the indices, whose coordinate along axis is the index it holds; -1 with the error set
 * when that index is out of range. */
static int64_t element_offset(nn_exec *x, const nn_value *xv, const nn_value *iv, int axis,
                              const int64_t *xs, int64_t o)
{
    int64_t rem = o, off = 0;
    for (int d = iv->rank - 1; d >= 0; d--) {
        int64_t c = rem % iv->dims[d];
        rem /= iv->dims[d];
        if (d == axis) {
            c = index_at(x_in(x, 1), iv->dtype, o);
            if (c < 0) c += xv->dims[d];
            if (c < 0 || c >= xv->dims[d]) {
                node_err(x->e, x->g, x->n, 400, "index out of range");
                return -1;
            }
        }
        off += c * xs[d];
    }
    return off;
}

static int run_gather_elements(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *iv = x_vin(x, 1);
    int axis = norm_axis(attr_i(x->n, "axis", 0), xv->rank);
    size_t es = nn_dtype_size(xv->dtype);
    int64_t xs[NN_MAX_RANK];
    row_strides(xv->dims, xv->rank, xs);
    int64_t cnt = value_count(iv);
    for (int64_t o = 0; o < cnt; o++) {
        int64_t off = element_offset(x, xv, iv, axis, xs, o);
        if (off < 0) return -1;
        memcpy((char *)x_out(x, 0) + (size_t)o * es, (const char *)x_in(x, 0) + (size_t)off * es,
               es);
    }
    return 0;
}

static int infer_gather_nd(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 2, e)) return -1;
    const nn_value *x = node_in(g, n, 0), *ix = node_in(g, n, 1);
    int b = (int)attr_i(n, "batch_dims", 0);
    int k = ix->rank ? (int)ix->dims[ix->rank - 1] : -1;
    if (b < 0 || ix->rank < 1 || k < 1 || b + k > x->rank) {
        node_err(e, g, n, 400, "bad indices shape or batch_dims");
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    int r = 0;
    for (int i = 0; i < ix->rank - 1; i++) d[r++] = ix->dims[i];
    for (int i = b + k; i < x->rank; i++) {
        if (r >= NN_MAX_RANK) return -1;
        d[r++] = x->dims[i];
    }
    set_out(g, n, 0, x->dtype, r, d);
    return 0;
}

static int run_gather_nd(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *iv = x_vin(x, 1);
    int b = (int)attr_i(x->n, "batch_dims", 0);
    int k = (int)iv->dims[iv->rank - 1];
    size_t es = nn_dtype_size(xv->dtype);
    int64_t xs[NN_MAX_RANK];
    row_strides(xv->dims, xv->rank, xs);
    int64_t batch = 1;
    for (int i = 0; i < b; i++) batch *= xv->dims[i];
    int64_t slice = 1;
    for (int i = b + k; i < xv->rank; i++) slice *= xv->dims[i];
    int64_t tuples = value_count(iv) / k;
    int64_t per_batch = tuples / (batch ? batch : 1);
    char *y = x_out(x, 0);
    for (int64_t t = 0; t < tuples; t++) {
        int64_t bi = per_batch ? t / per_batch : 0;
        int64_t off = bi * (b ? xs[b - 1] : 0);
        for (int j = 0; j < k; j++) {
            int64_t c = index_at(x_in(x, 1), iv->dtype, t * k + j);
            int64_t dim = xv->dims[b + j];
            if (c < 0) c += dim;
            if (c < 0 || c >= dim) {
                node_err(x->e, x->g, x->n, 400, "index out of range");
                return -1;
            }
            off += c * xs[b + j];
        }
        memcpy(y + (size_t)(t * slice) * es, (const char *)x_in(x, 0) + (size_t)off * es,
               (size_t)slice * es);
    }
    return 0;
}

/* ---------------------------------------------------------------- Scatter family */

static int infer_scatter(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 3, 3, e)) return -1;
    return infer_same(g, n, e);
}

static double reduce_pair(const char *red, double a, double b)
{
    if (!strcmp(red, "add")) return a + b;
    if (!strcmp(red, "mul")) return a * b;
    if (!strcmp(red, "max")) return a > b ? a : b;
    if (!strcmp(red, "min")) return a < b ? a : b;
    return b;
}

static int run_scatter_nd(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *iv = x_vin(x, 1);
    const char *red = attr_s(x->n, "reduction", "none");
    size_t es = nn_dtype_size(xv->dtype);
    char *y = x_out(x, 0);
    if (y != x_in(x, 0)) memcpy(y, x_in(x, 0), value_bytes(xv));
    int k = (int)iv->dims[iv->rank - 1];
    if (k > xv->rank) {
        node_err(x->e, x->g, x->n, 400, "index tuples longer than the data's rank");
        return -1;
    }
    int64_t xs[NN_MAX_RANK];
    row_strides(xv->dims, xv->rank, xs);
    int64_t slice = 1;
    for (int i = k; i < xv->rank; i++) slice *= xv->dims[i];
    int64_t tuples = value_count(iv) / (k ? k : 1);
    const char *u = x_in(x, 2);
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0;
        for (int j = 0; j < k; j++) {
            int64_t c = index_at(x_in(x, 1), iv->dtype, t * k + j);
            if (c < 0) c += xv->dims[j];
            if (c < 0 || c >= xv->dims[j]) {
                node_err(x->e, x->g, x->n, 400, "index out of range");
                return -1;
            }
            off += c * xs[j];
        }
        for (int64_t i = 0; i < slice; i++) {
            if (!strcmp(red, "none")) {
                memcpy(y + (size_t)(off + i) * es, u + (size_t)(t * slice + i) * es, es);
            } else {
                double a = get_num(y, xv->dtype, off + i), b = get_num(u, xv->dtype, t * slice + i);
                put_num(y, xv->dtype, off + i, reduce_pair(red, a, b));
            }
        }
    }
    return 0;
}

static int run_scatter_elements(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *iv = x_vin(x, 1);
    const char *red = attr_s(x->n, "reduction", "none");
    int axis = norm_axis(attr_i(x->n, "axis", 0), xv->rank);
    if (axis < 0 || iv->rank != xv->rank) {
        node_err(x->e, x->g, x->n, 400, "bad axis or indices rank");
        return -1;
    }
    size_t es = nn_dtype_size(xv->dtype);
    char *y = x_out(x, 0);
    if (y != x_in(x, 0)) memcpy(y, x_in(x, 0), value_bytes(xv));
    int64_t xs[NN_MAX_RANK];
    row_strides(xv->dims, xv->rank, xs);
    const char *u = x_in(x, 2);
    for (int64_t o = 0; o < value_count(iv); o++) {
        int64_t off = element_offset(x, xv, iv, axis, xs, o);
        if (off < 0) return -1;
        if (!strcmp(red, "none")) {
            memcpy(y + (size_t)off * es, u + (size_t)o * es, es);
        } else {
            double a = get_num(y, xv->dtype, off), b = get_num(u, xv->dtype, o);
            put_num(y, xv->dtype, off, reduce_pair(red, a, b));
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- Expand, Tile */

static int infer_expand(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 2, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    const nn_value *s = need_const(g, n, 1, "the shape", e);
    if (!s) return -1;
    int64_t d[NN_MAX_RANK];
    int r = const_ints(s, d, NN_MAX_RANK);
    int64_t out[NN_MAX_RANK];
    int ro;
    if (r < 0 || broadcast_shape(x->dims, x->rank, d, r, out, &ro) != 0) {
        char sa[96], sb[96];
        nn_shape_str(x->dims, x->rank, sa, sizeof sa);
        nn_shape_str(d, r < 0 ? 0 : r, sb, sizeof sb);
        node_err(e, g, n, 400, "shape %s does not broadcast with the input %s", sb, sa);
        return -1;
    }
    set_out(g, n, 0, x->dtype, ro, out);
    return 0;
}

static int run_expand(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *yv = x_vout(x, 0);
    size_t es = nn_dtype_size(xv->dtype);
    int64_t cnt = value_count(yv);
    const char *s = x_in(x, 0);
    char *y = x_out(x, 0);
    if (es == 4) {
        for (int64_t o = 0; o < cnt; o++)
            ((float *)y)[o] =
                ((const float *)s)[bcast_index(o, yv->dims, yv->rank, xv->dims, xv->rank)];
        return 0;
    }
    for (int64_t o = 0; o < cnt; o++)
        memcpy(y + (size_t)o * es,
               s + (size_t)bcast_index(o, yv->dims, yv->rank, xv->dims, xv->rank) * es, es);
    return 0;
}

static int infer_tile(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 2, 2, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    const nn_value *rv = need_const(g, n, 1, "repeats", e);
    if (!rv) return -1;
    int64_t rep[NN_MAX_RANK];
    if (const_ints(rv, rep, NN_MAX_RANK) != x->rank) {
        node_err(e, g, n, 400, "repeats must have one value per dimension");
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    for (int i = 0; i < x->rank; i++) {
        if (rep[i] < 0 || (x->dims[i] && rep[i] > ((int64_t)1 << 40) / x->dims[i])) {
            node_err(e, g, n, 400, "repeat %lld is negative or too large", (long long)rep[i]);
            return -1;
        }
        d[i] = x->dims[i] * rep[i];
    }
    set_out(g, n, 0, x->dtype, x->rank, d);
    return 0;
}

static int run_tile(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *yv = x_vout(x, 0);
    size_t es = nn_dtype_size(xv->dtype);
    int r = xv->rank;
    if (r >= 1 && value_count(yv) > 0) {
        /* build the output from its last axis outwards: each input row is repeated along
         * the last axis, then each finished block is copied for the outer repeats */
        const char *s = x_in(x, 0);
        char *y = x_out(x, 0);
        int64_t rows = value_count(xv) / xv->dims[r - 1];
        int64_t in_w = xv->dims[r - 1], out_w = yv->dims[r - 1];
        for (int64_t row = rows - 1; row >= 0; row--) {
            /* place input row `row` at the spot the output of the inner axes will have */
            char *dst = y + (size_t)(row * out_w) * es;
            for (int64_t k = 0; k < out_w / in_w; k++)
                memmove(dst + (size_t)(k * in_w) * es, s + (size_t)(row * in_w) * es,
                        (size_t)in_w * es);
        }
        /* now axis d from r-2 down to 0: the block of inner axes, repeated */
        int64_t block = out_w; /* elements of one output slice below axis d */
        int64_t count = rows;  /* input-sized slices at this level */
        for (int d = r - 2; d >= 0; d--) {
            int64_t n_in = xv->dims[d], rep = yv->dims[d] / (n_in ? n_in : 1);
            int64_t groups = count / (n_in ? n_in : 1);
            /* groups of n_in consecutive blocks, compacted to stride n_in*rep*block */
            for (int64_t gi = groups - 1; gi >= 0; gi--) {
                char *src = y + (size_t)(gi * n_in * block) * es;
                char *dst = y + (size_t)(gi * n_in * rep * block) * es;
                if (dst != src) memmove(dst, src, (size_t)(n_in * block) * es);
                for (int64_t k = 1; k < rep; k++)
                    memcpy(dst + (size_t)(k * n_in * block) * es, dst, (size_t)(n_in * block) * es);
            }
            block *= n_in * rep;
            count = groups;
        }
        return 0;
    }
    int64_t xs[NN_MAX_RANK];
    row_strides(xv->dims, xv->rank, xs);
    for (int64_t o = 0; o < value_count(yv); o++) {
        int64_t rem = o, off = 0;
        for (int d = yv->rank - 1; d >= 0; d--) {
            off += (rem % yv->dims[d]) % xv->dims[d] * xs[d];
            rem /= yv->dims[d];
        }
        memcpy((char *)x_out(x, 0) + (size_t)o * es, (const char *)x_in(x, 0) + (size_t)off * es,
               es);
    }
    return 0;
}

/* ---------------------------------------------------------------- Shape, Size, ConstantOfShape */

static void shape_range(const nn_node *n, int rank, int *s, int *en)
{
    int64_t a = attr_i(n, "start", 0), b = attr_i(n, "end", rank);
    if (a < 0) a += rank;
    if (b < 0) b += rank;
    a = a < 0 ? 0 : a > rank ? rank : a;
    b = b < 0 ? 0 : b > rank ? rank : b;
    *s = (int)a;
    *en = (int)(b > a ? b : a);
}

static int infer_shape(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    int s, en;
    shape_range(n, x->rank, &s, &en);
    int64_t d = en - s;
    set_out(g, n, 0, NN_I64, 1, &d);
    return 0;
}

static int run_shape(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    int s, en;
    shape_range(x->n, xv->rank, &s, &en);
    int64_t *y = x_out(x, 0);
    for (int i = s; i < en; i++) y[i - s] = xv->dims[i];
    return 0;
}

static int infer_size(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    set_out(g, n, 0, NN_I64, 0, NULL);
    return 0;
}

static int run_size(nn_exec *x)
{
    *(int64_t *)x_out(x, 0) = value_count(x_vin(x, 0));
    return 0;
}

static int infer_cos(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *s = need_const(g, n, 0, "the shape", e);
    if (!s) return -1;
    int64_t d[NN_MAX_RANK];
    int r = const_ints(s, d, NN_MAX_RANK);
    if (r < 0) {
        node_err(e, g, n, 400, "the shape must be a 1-D int64 tensor");
        return -1;
    }
    for (int i = 0; i < r; i++)
        if (d[i] < 0) {
            node_err(e, g, n, 400, "negative dimension");
            return -1;
        }
    const nn_attr *a = node_attr(n, "value");
    nn_dtype t = a && a->tensor >= 0 ? g->v[a->tensor].dtype : NN_F32;
    set_out(g, n, 0, t, r, d);
    return 0;
}

static int run_cos(nn_exec *x)
{
    const nn_value *yv = x_vout(x, 0);
    const nn_attr *a = node_attr(x->n, "value");
    size_t es = nn_dtype_size(yv->dtype);
    char zero[16] = {0};
    const char *v = a && a->tensor >= 0 && x->g->v[a->tensor].data ? x->g->v[a->tensor].data : zero;
    char *y = x_out(x, 0);
    for (int64_t i = 0; i < value_count(yv); i++) memcpy(y + (size_t)i * es, v, es);
    return 0;
}

/* ---------------------------------------------------------------- Range */

static int infer_range(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 3, 3, e)) return -1;
    if (node_in(g, n, 1)->dtype != node_in(g, n, 0)->dtype ||
        node_in(g, n, 2)->dtype != node_in(g, n, 0)->dtype) {
        node_err(e, g, n, 400, "start, limit and delta must have one type");
        return -1;
    }
    double s, l, d;
    if (!const_scalar(node_in(g, n, 0), &s) || !const_scalar(node_in(g, n, 1), &l) ||
        !const_scalar(node_in(g, n, 2), &d)) {
        node_err(e, g, n, 422,
                 "start, limit and delta must be scalars known when the plan is built");
        return -1;
    }
    if (d == 0) {
        node_err(e, g, n, 400, "delta is 0");
        return -1;
    }
    double c = ceil((l - s) / d);
    int64_t cnt = c > 0 ? to_i64(c) : 0;
    set_out(g, n, 0, node_in(g, n, 0)->dtype, 1, &cnt);
    return 0;
}

static int run_range(nn_exec *x)
{
    const nn_value *yv = x_vout(x, 0);
    nn_dtype t = yv->dtype;
    double s = get_num(x_in(x, 0), t, 0), d = get_num(x_in(x, 2), t, 0);
    if (t == NN_I64) {
        int64_t si = *(const int64_t *)x_in(x, 0), di = *(const int64_t *)x_in(x, 2);
        for (int64_t i = 0; i < yv->dims[0]; i++) ((int64_t *)x_out(x, 0))[i] = si + i * di;
        return 0;
    }
    if (t == NN_F32) {
        float sf = *(const float *)x_in(x, 0), df = *(const float *)x_in(x, 2);
        float v = sf;
        for (int64_t i = 0; i < yv->dims[0]; i++, v += df) ((float *)x_out(x, 0))[i] = v;
        return 0;
    }
    for (int64_t i = 0; i < yv->dims[0]; i++) put_num(x_out(x, 0), t, i, s + (double)i * d);
    return 0;
}

/* ---------------------------------------------------------------- Pad */

typedef struct pad_p {
    int64_t lo[NN_MAX_RANK], hi[NN_MAX_RANK];
    int mode; /* 0 constant, 1 reflect, 2 edge, 3 wrap */
    double value;
} pad_p;

static int pad_params(nn_graph *g, const nn_node *n, const nn_value *x, pad_p *pp, err *e)
{
    int64_t pads[2 * NN_MAX_RANK];
    int np;
    memset(pp, 0, sizeof *pp);
    const char *mode = attr_s(n, "mode", "constant");
    pp->mode = !strcmp(mode, "reflect") ? 1
               : !strcmp(mode, "edge")  ? 2
               : !strcmp(mode, "wrap")  ? 3
                                        : 0;
    if (pp->mode == 0 && strcmp(mode, "constant")) {
        node_err(e, g, n, 400, "unknown mode '%s'", mode);
        return -1;
    }
    if (n->opset >= 11 || n->n_in > 1) {
        const nn_value *pv = node_in(g, n, 1);
        if (!pv || pv->kind != NN_V_CONST) {
            node_err(e, g, n, 422, "pads must be known when the plan is built");
            return -1;
        }
        np = const_ints(pv, pads, 2 * NN_MAX_RANK);
        const nn_value *cv = node_in(g, n, 2);
        if (cv && cv->kind == NN_V_CONST && value_count(cv) == 1)
            pp->value = get_num(cv->data, cv->dtype, 0);
    } else {
        np = attr_ints(n, "pads", pads, 2 * NN_MAX_RANK);
        pp->value = attr_f(n, "value", 0.0f);
    }
    int64_t axes[NN_MAX_RANK];
    int na = -1;
    const nn_value *av = node_in(g, n, 3);
    if (av) {
        if (av->kind != NN_V_CONST || (na = const_ints(av, axes, NN_MAX_RANK)) < 0) {
            node_err(e, g, n, 422, "axes must be known when the plan is built");
            return -1;
        }
    }
    int k = na >= 0 ? na : x->rank;
    if (np != 2 * k) {
        node_err(e, g, n, 400, "needs %d pads, got %d", 2 * k, np);
        return -1;
    }
    for (int i = 0; i < k; i++) {
        int a = na >= 0 ? norm_axis(axes[i], x->rank) : i;
        if (a < 0) {
            node_err(e, g, n, 400, "bad axis");
            return -1;
        }
        pp->lo[a] = pads[i];
        pp->hi[a] = pads[i + k];
        if (x->dims[a] + pp->lo[a] + pp->hi[a] < 0) {
            node_err(e, g, n, 400, "pads remove more than the dimension");
            return -1;
        }
        if ((pp->mode == 1 || pp->mode == 3 || pp->mode == 2) && x->dims[a] == 0 &&
            (pp->lo[a] || pp->hi[a])) {
            node_err(e, g, n, 400, "cannot pad an empty dimension in mode %s", mode);
            return -1;
        }
    }
    return 0;
}

static int infer_pad(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 4, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    pad_p pp;
    if (pad_params(g, n, x, &pp, e) != 0) return -1;
    int64_t d[NN_MAX_RANK];
    for (int i = 0; i < x->rank; i++) d[i] = x->dims[i] + pp.lo[i] + pp.hi[i];
    set_out(g, n, 0, x->dtype, x->rank, d);
    return 0;
}

static int run_pad(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *yv = x_vout(x, 0);
    pad_p pp;
    if (pad_params((nn_graph *)x->g, x->n, xv, &pp, x->e) != 0) return -1;
    size_t es = nn_dtype_size(xv->dtype);
    int r = xv->rank;
    int64_t xs[NN_MAX_RANK];
    row_strides(xv->dims, r, xs);
    char fill[16];
    put_num(fill, xv->dtype, 0, pp.value);
    const char *s = x_in(x, 0);
    char *y = x_out(x, 0);
    int64_t cnt = value_count(yv);
    bool crop = false;
    for (int d = 0; d < r; d++) crop |= pp.lo[d] < 0 || pp.hi[d] < 0;
    if (pp.mode == 0 && !crop && r >= 1 && cnt > 0) {
        /* constant padding: fill, then copy the input row by row into place */
        if (es == 4) {
            uint32_t f;
            memcpy(&f, fill, 4);
            int nf = par_threads(x, cnt);
#pragma omp parallel for num_threads(nf) schedule(static)
            for (int64_t i = 0; i < cnt; i++) ((uint32_t *)y)[i] = f;
        } else {
            for (int64_t i = 0; i < cnt; i++) memcpy(y + (size_t)i * es, fill, es);
        }
        int64_t ys[NN_MAX_RANK];
        row_strides(yv->dims, r, ys);
        int64_t w = xv->dims[r - 1], rows = w ? value_count(xv) / w : 0;
        int nt = par_threads(x, value_count(xv));
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t row = 0; row < rows; row++) {
            int64_t rem = row, off = pp.lo[r - 1];
            for (int d = r - 2; d >= 0; d--) {
                off += (rem % xv->dims[d] + pp.lo[d]) * ys[d];
                rem /= xv->dims[d];
            }
            memcpy(y + (size_t)off * es, s + (size_t)(row * w) * es, (size_t)w * es);
        }
        return 0;
    }
    int nt = par_threads(x, cnt);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t o = 0; o < cnt; o++) {
        int64_t rem = o, off = 0;
        bool out = false;
        for (int d = r - 1; d >= 0; d--) {
            int64_t c = rem % yv->dims[d] - pp.lo[d];
            rem /= yv->dims[d];
            int64_t n = xv->dims[d];
            if (c < 0 || c >= n) {
                if (pp.mode == 0) {
                    out = true;
                    break;
                } else if (pp.mode == 2) {
                    c = c < 0 ? 0 : n - 1;
                } else if (pp.mode == 3) {
                    c = ((c % n) + n) % n;
                } else {
                    /* reflect without repeating the edge */
                    int64_t period = 2 * (n - 1);
                    if (period == 0) {
                        c = 0;
                    } else {
                        c = ((c % period) + period) % period;
                        if (c >= n) c = period - c;
                    }
                }
            }
            off += c * xs[d];
        }
        memcpy(y + (size_t)o * es, out ? fill : s + (size_t)off * es, es);
    }
    return 0;
}

/* ---------------------------------------------------------------- Depth/Space */

static int infer_d2s(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    int64_t b = attr_i(n, "blocksize", 0);
    if (x->rank != 4 || b <= 0) {
        node_err(e, g, n, 400, "needs a 4-D input and a positive blocksize");
        return -1;
    }
    int64_t d[4] = {x->dims[0], x->dims[1], x->dims[2], x->dims[3]};
    if (!strcmp(n->op_type, "DepthToSpace")) {
        if (d[1] % (b * b)) {
            node_err(e, g, n, 400, "channels not divisible by blocksize^2");
            return -1;
        }
        d[1] /= b * b;
        d[2] *= b;
        d[3] *= b;
    } else {
        if (d[2] % b || d[3] % b) {
            node_err(e, g, n, 400, "height and width must be divisible by blocksize");
            return -1;
        }
        d[1] *= b * b;
        d[2] /= b;
        d[3] /= b;
    }
    set_out(g, n, 0, x->dtype, 4, d);
    return 0;
}

static int run_d2s(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0), *yv = x_vout(x, 0);
    int64_t b = attr_i(x->n, "blocksize", 1);
    size_t es = nn_dtype_size(xv->dtype);
    bool d2s = !strcmp(x->n->op_type, "DepthToSpace");
    bool crd = !strcmp(attr_s(x->n, "mode", "DCR"), "CRD");
    /* both are a reshape to 6-D, a transpose and a reshape back */
    int64_t N = xv->dims[0];
    int64_t dims6[6];
    int perm[6];
    if (d2s) {
        int64_t C = yv->dims[1], H = xv->dims[2], W = xv->dims[3];
        if (crd) {
            int64_t d[6] = {N, C, b, b, H, W};
            int p[6] = {0, 1, 4, 2, 5, 3};
            memcpy(dims6, d, sizeof d);
            memcpy(perm, p, sizeof p);
        } else {
            int64_t d[6] = {N, b, b, C, H, W};
            int p[6] = {0, 3, 4, 1, 5, 2};
            memcpy(dims6, d, sizeof d);
            memcpy(perm, p, sizeof p);
        }
    } else {
        int64_t C = xv->dims[1], H = yv->dims[2], W = yv->dims[3];
        int64_t d[6] = {N, C, H, b, W, b};
        int p[6] = {0, 3, 5, 1, 2, 4};
        memcpy(dims6, d, sizeof d);
        memcpy(perm, p, sizeof p);
    }
    nn_transpose(x->k, x_in(x, 0), x_out(x, 0), es, dims6, 6, perm, x->threads);
    return 0;
}

/* ---------------------------------------------------------------- Trilu, OneHot, EyeLike */

static int infer_trilu(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 2, e)) return -1;
    if (node_in(g, n, 0)->rank < 2) {
        node_err(e, g, n, 400, "needs rank 2 or more");
        return -1;
    }
    return infer_same(g, n, e);
}

static int run_trilu(nn_exec *x)
{
    const nn_value *xv = x_vin(x, 0);
    int64_t k = x_in(x, 1) ? index_at(x_in(x, 1), x_vin(x, 1)->dtype, 0) : 0;
    bool upper = attr_i(x->n, "upper", 1) != 0;
    size_t es = nn_dtype_size(xv->dtype);
    int64_t R = xv->dims[xv->rank - 2], C = xv->dims[xv->rank - 1];
    int64_t mats = R * C > 0 ? value_count(xv) / (R * C) : 0;
    const char *s = x_in(x, 0);
    char *y = x_out(x, 0);
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < R; i++)
            for (int64_t j = 0; j < C; j++) {
                size_t o = (size_t)((m * R + i) * C + j) * es;
                bool keep = upper ? j - i >= k : j - i <= k;
                if (keep)
                    memcpy(y + o, s + o, es);
                else
                    memset(y + o, 0, es);
            }
    return 0;
}

static int infer_onehot(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 3, 3, e)) return -1;
    const nn_value *ix = node_in(g, n, 0), *vals = node_in(g, n, 2);
    double depth;
    if (!const_scalar(node_in(g, n, 1), &depth) || depth < 1) {
        node_err(e, g, n, 422, "depth must be a positive scalar known when the plan is built");
        return -1;
    }
    if (value_count(vals) != 2 || ix->rank + 1 > NN_MAX_RANK) {
        node_err(e, g, n, 400, "values must hold [off, on]");
        return -1;
    }
    int r = ix->rank + 1;
    int axis = norm_axis(attr_i(n, "axis", -1), r);
    if (axis < 0) {
        node_err(e, g, n, 400, "axis out of range");
        return -1;
    }
    int64_t d[NN_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++) d[i] = i == axis ? to_i64(depth) : ix->dims[j++];
    set_out(g, n, 0, vals->dtype, r, d);
    return 0;
}

static int run_onehot(nn_exec *x)
{
    const nn_value *iv = x_vin(x, 0), *yv = x_vout(x, 0);
    int axis = norm_axis(attr_i(x->n, "axis", -1), yv->rank);
    int64_t depth = yv->dims[axis];
    size_t es = nn_dtype_size(yv->dtype);
    const char *vals = x_in(x, 2);
    char *y = x_out(x, 0);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= yv->dims[i];
    for (int i = axis + 1; i < yv->rank; i++) inner *= yv->dims[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t d = 0; d < depth; d++)
            for (int64_t i = 0; i < inner; i++) {
                double idx = get_num(x_in(x, 0), iv->dtype, o * inner + i);
                int64_t k = to_i64(idx);
                if (k < 0) k += depth;
                memcpy(y + (size_t)((o * depth + d) * inner + i) * es, vals + (k == d ? es : 0),
                       es);
            }
    return 0;
}

static int infer_eyelike(nn_graph *g, nn_node *n, err *e)
{
    if (need_inputs(g, n, 1, 1, e)) return -1;
    const nn_value *x = node_in(g, n, 0);
    if (x->rank != 2) {
        node_err(e, g, n, 400, "needs a 2-D input");
        return -1;
    }
    nn_dtype t = (nn_dtype)attr_i(n, "dtype", x->dtype);
    if (!nn_dtype_size(t) || t == NN_STRING) {
        node_err(e, g, n, 400, "bad dtype");
        return -1;
    }
    set_out(g, n, 0, t, 2, x->dims);
    return 0;
}

static int run_eyelike(nn_exec *x)
{
    const nn_value *yv = x_vout(x, 0);
    int64_t k = attr_i(x->n, "k", 0);
    memset(x_out(x, 0), 0, value_bytes(yv));
    for (int64_t i = 0; i < yv->dims[0]; i++) {
        int64_t j = i + k;
        if (j >= 0 && j < yv->dims[1]) put_num(x_out(x, 0), yv->dtype, i * yv->dims[1] + j, 1);
    }
    return 0;
}

const nn_op nn_ops_shape[] = {
    {"Reshape", infer_reshape, run_view, NULL, NN_OP_ALIAS, 0},
    {"Flatten", infer_flatten, run_view, NULL, NN_OP_ALIAS, 0},
    {"Squeeze", infer_squeeze, run_view, NULL, NN_OP_ALIAS, 0},
    {"Unsqueeze", infer_unsqueeze, run_view, NULL, NN_OP_ALIAS, 0},
    {"Transpose", infer_transpose, run_transpose, NULL, 0, 0},
    {"Concat", infer_concat, run_concat, NULL, NN_OP_BLOCKED, 0},
    {"Split", infer_split, run_split, NULL, NN_OP_BLOCKED, 0},
    {"Slice", infer_slice, run_slice, NULL, 0, 0},
    {"Gather", infer_gather, run_gather, NULL, 0, 0},
    {"GatherElements", infer_gather_elements, run_gather_elements, NULL, 0, 0},
    {"GatherND", infer_gather_nd, run_gather_nd, NULL, 0, 0},
    {"ScatterND", infer_scatter, run_scatter_nd, NULL, 0, 0},
    {"ScatterElements", infer_scatter, run_scatter_elements, NULL, 0, 0},
    {"Expand", infer_expand, run_expand, NULL, 0, 0},
    {"Tile", infer_tile, run_tile, NULL, 0, 0},
    {"Shape", infer_shape, run_shape, NULL, NN_OP_SHAPE_ONLY, 0},
    {"Size", infer_size, run_size, NULL, NN_OP_SHAPE_ONLY, 0},
    {"ConstantOfShape", infer_cos, run_cos, NULL, 0, 0},
    {"Range", infer_range, run_range, NULL, 0, 0},
    {"Pad", infer_pad, run_pad, NULL, 0, 0},
    {"DepthToSpace", infer_d2s, run_d2s, NULL, 0, 0},
    {"SpaceToDepth", infer_d2s, run_d2s, NULL, 0, 0},
    {"Trilu", infer_trilu, run_trilu, NULL, 0, 0},
    {"OneHot", infer_onehot, run_onehot, NULL, 0, 0},
    {"EyeLike", infer_eyelike, run_eyelike, NULL, 0, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
