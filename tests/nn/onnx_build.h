/* A minimal ONNX writer for tests: builds ModelProto bytes in memory from nodes,
 * initializers and value infos, so tests can make exactly the graph they need.
 *
 *     ob g = {0}, m = {0};
 *     ob_input(&g, "x", NN_F32, (int64_t[]){1, 4}, 2);
 *     ob_output(&g, "y", NN_F32, NULL, -1);
 *     ob_node(&g, "Relu", "r", (const char *[]){"x"}, 1, (const char *[]){"y"}, 1, NULL);
 *     ob_model(&m, &g, 17);   // m.buf, m.len: the file
 *
 * Header-only; every function is static. */
#ifndef ARTISTRY_TESTS_ONNX_BUILD_H
#define ARTISTRY_TESTS_ONNX_BUILD_H

#include "nn/nn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct ob {
    uint8_t *buf;
    size_t len, cap;
} ob;

static inline void ob_put(ob *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->buf = realloc(b->buf, b->cap);
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static inline void ob_varint(ob *b, uint64_t v)
{
    uint8_t t[10];
    int n = 0;
    do {
        t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    ob_put(b, t, (size_t)n);
}

static inline void ob_key(ob *b, unsigned field, unsigned wt)
{
    ob_varint(b, (uint64_t)field << 3 | wt);
}

static inline void ob_bytes(ob *b, unsigned field, const void *p, size_t n)
{
    ob_key(b, field, 2);
    ob_varint(b, n);
    ob_put(b, p, n);
}

static inline void ob_str(ob *b, unsigned field, const char *s)
{
    ob_bytes(b, field, s, strlen(s));
}

static inline void ob_int(ob *b, unsigned field, int64_t v)
{
    ob_key(b, field, 0);
    ob_varint(b, (uint64_t)v);
}

static inline void ob_msg(ob *b, unsigned field, ob *sub)
{
    ob_bytes(b, field, sub->buf, sub->len);
    free(sub->buf);
    memset(sub, 0, sizeof *sub);
}

/* TensorProto with raw_data (data may be NULL for zeros). */
static inline void ob_tensor_into(ob *t, const char *name, nn_dtype dt, const int64_t *dims,
                                  int rank, const void *data)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        ob_int(t, 1, dims[i]);
        n *= dims[i];
    }
    ob_int(t, 2, dt);
    if (name) ob_str(t, 8, name);
    size_t bytes = (size_t)n * nn_dtype_size(dt);
    void *z = data ? NULL : calloc(1, bytes + 1);
    ob_bytes(t, 9, data ? data : z, bytes);
    free(z);
}

static inline void ob_initializer(ob *g, const char *name, nn_dtype dt, const int64_t *dims,
                                  int rank, const void *data)
{
    ob t = {0};
    ob_tensor_into(&t, name, dt, dims, rank, data);
    ob_msg(g, 5, &t);
}

/* ValueInfoProto; rank -1 leaves the shape out, a dimension < 0 is symbolic ("N"). */
static inline void ob_value_info(ob *g, unsigned field, const char *name, nn_dtype dt,
                                 const int64_t *dims, int rank)
{
    ob vi = {0}, tp = {0}, tt = {0}, sh = {0};
    ob_str(&vi, 1, name);
    ob_int(&tt, 1, dt);
    for (int i = 0; i < rank; i++) {
        ob d = {0};
        if (dims[i] >= 0)
            ob_int(&d, 1, dims[i]);
        else
            ob_str(&d, 2, "N");
        ob_msg(&sh, 1, &d);
    }
    if (rank >= 0) ob_msg(&tt, 2, &sh);
    ob_msg(&tp, 1, &tt);
    ob_msg(&vi, 2, &tp);
    ob_msg(g, field, &vi);
}

static inline void ob_input(ob *g, const char *name, nn_dtype dt, const int64_t *dims, int rank)
{
    ob_value_info(g, 11, name, dt, dims, rank);
}

static inline void ob_output(ob *g, const char *name, nn_dtype dt, const int64_t *dims, int rank)
{
    ob_value_info(g, 12, name, dt, dims, rank);
}

/* Attributes are built into an ob with these and handed to ob_node. */
static inline void ob_attr_i(ob *attrs, const char *name, int64_t v)
{
    ob a = {0};
    ob_str(&a, 1, name);
    ob_int(&a, 20, 2);
    ob_int(&a, 3, v);
    ob_msg(attrs, 5, &a);
}

static inline void ob_attr_f(ob *attrs, const char *name, float v)
{
    ob a = {0};
    ob_str(&a, 1, name);
    ob_int(&a, 20, 1);
    ob_key(&a, 2, 5);
    ob_put(&a, &v, 4);
    ob_msg(attrs, 5, &a);
}

static inline void ob_attr_ints(ob *attrs, const char *name, const int64_t *v, int n)
{
    ob a = {0}, packed = {0};
    ob_str(&a, 1, name);
    ob_int(&a, 20, 7);
    for (int i = 0; i < n; i++) ob_varint(&packed, (uint64_t)v[i]);
    ob_bytes(&a, 8, packed.buf, packed.len);
    free(packed.buf);
    ob_msg(attrs, 5, &a);
}

static inline void ob_attr_s(ob *attrs, const char *name, const char *s)
{
    ob a = {0};
    ob_str(&a, 1, name);
    ob_int(&a, 20, 3);
    ob_str(&a, 4, s);
    ob_msg(attrs, 5, &a);
}

static inline void ob_attr_t(ob *attrs, const char *name, nn_dtype dt, const int64_t *dims,
                             int rank, const void *data)
{
    ob a = {0}, t = {0};
    ob_str(&a, 1, name);
    ob_int(&a, 20, 4);
    ob_tensor_into(&t, NULL, dt, dims, rank, data);
    ob_msg(&a, 5, &t);
    ob_msg(attrs, 5, &a);
}

/* A node; `attrs` (may be NULL) holds field-5 AttributeProtos and is consumed. An empty
 * input name stands for an omitted optional input. */
static inline void ob_node(ob *g, const char *op, const char *name, const char *const *ins,
                           int n_in, const char *const *outs, int n_out, ob *attrs)
{
    ob n = {0};
    for (int i = 0; i < n_in; i++) ob_str(&n, 1, ins[i]);
    for (int i = 0; i < n_out; i++) ob_str(&n, 2, outs[i]);
    if (name) ob_str(&n, 3, name);
    ob_str(&n, 4, op);
    if (attrs && attrs->len) {
        ob_put(&n, attrs->buf, attrs->len);
        free(attrs->buf);
        memset(attrs, 0, sizeof *attrs);
    }
    ob_msg(g, 1, &n);
}

static inline void ob_meta(ob *m, const char *key, const char *value)
{
    ob e = {0};
    ob_str(&e, 1, key);
    ob_str(&e, 2, value);
    ob_msg(m, 14, &e);
}

/* Wraps a graph into a model with the default-domain opset; consumes g. */
static inline void ob_model(ob *m, ob *g, int opset)
{
    ob_int(m, 1, 8);
    ob os = {0};
    ob_str(&os, 1, "");
    ob_int(&os, 2, opset);
    ob_msg(m, 8, &os);
    ob_str(g, 2, "test");
    ob_msg(m, 7, g);
}

#endif
