/* NumPy .npy files: the exchange format with reference runtimes (and any Python tool). */
#include "nn/nn_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *descr;
    nn_dtype t;
} descrs[] = {
    {"f4", NN_F32}, {"f8", NN_F64}, {"f2", NN_F16}, {"i1", NN_I8},  {"u1", NN_U8},  {"i2", NN_I16},
    {"u2", NN_U16}, {"i4", NN_I32}, {"u4", NN_U32}, {"i8", NN_I64}, {"u8", NN_U64}, {"b1", NN_BOOL},
};

/* Finds `'key':` in the header dict and returns the text after it (spaces skipped). */
static const char *dict_value(const char *h, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

nn_tensor *nn_npy_parse(const void *buf, size_t len, err *e)
{
    const unsigned char *b = buf;
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        err_set(e, 400, "not a .npy file (no \\x93NUMPY magic)");
        return NULL;
    }
    int major = b[6];
    size_t hlen, hoff;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hoff = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) {
            err_set(e, 400, "truncated .npy header");
            return NULL;
        }
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hoff = 12;
    } else {
        err_set(e, 400, ".npy version %d is not supported", major);
        return NULL;
    }
    if (hlen > len - hoff || hlen > 65536) {
        err_set(e, 400, "truncated .npy header");
        return NULL;
    }
    char *h = xstrndup((const char *)b + hoff, hlen);
    nn_tensor *t = NULL;
    const char *d = dict_value(h, "descr");
    const char *fo = dict_value(h, "fortran_order");
    const char *sh = dict_value(h, "shape");
    if (!d || !fo || !sh || *d != '\'' || *sh != '(') {
        err_set(e, 400, ".npy header lacks descr, fortran_order or shape");
        goto out;
    }
    if (strncmp(fo, "False", 5) != 0) {
        err_set(e, 400, ".npy arrays in Fortran order are not supported");
        goto out;
    }
    char order = d[1];
    nn_dtype dt = NN_UNDEFINED;
    for (size_t i = 0; i < ARRAY_LEN(descrs); i++)
        if (!strncmp(d + 2, descrs[i].descr, 2) && d[4] == '\'') dt = descrs[i].t;
    if (dt == NN_UNDEFINED || (order == '>' && nn_dtype_size(dt) > 1) ||
        (order != '<' && order != '|' && order != '=' && order != '>')) {
        char tmp[16] = {0};
        for (int i = 0; i < 12 && d[i] && d[i] != ','; i++) tmp[i] = d[i];
        err_set(e, 400,
                ".npy element type %s is not supported (little-endian numbers and bool are)", tmp);
        goto out;
    }
    int64_t shape[NN_MAX_RANK];
    int rank = 0;
    const char *p = sh + 1;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || rank >= NN_MAX_RANK) {
            err_set(e, 400, ".npy shape is malformed or has more than %d dimensions", NN_MAX_RANK);
            goto out;
        }
        shape[rank++] = v;
        p = end;
    }
    int64_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] && count > ((int64_t)1 << 40) / shape[i]) {
            err_set(e, 400, ".npy array is too large");
            goto out;
        }
        count *= shape[i];
    }
    size_t bytes = (size_t)count * nn_dtype_size(dt);
    if (len - hoff - hlen < bytes) {
        err_set(e, 400, ".npy data is truncated: %zu bytes for %zu expected", len - hoff - hlen,
                bytes);
        goto out;
    }
    size_t hdr = (sizeof *t + 63) & ~(size_t)63;
    t = xcalloc(1, hdr + bytes + 64);
    t->dtype = dt;
    t->rank = rank;
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)rank);
    t->data = (char *)t + hdr;
    memcpy(t->data, b + hoff + hlen, bytes);
out:
    free(h);
    return t;
}

nn_tensor *nn_npy_read(const char *path, err *e)
{
    size_t len;
    char *buf = file_read(path, &len, e);
    if (!buf) return NULL;
    nn_tensor *t = nn_npy_parse(buf, len, e);
    free(buf);
    if (!t) err_prefix(e, "%s: ", path);
    return t;
}

int nn_npy_write(const char *path, const nn_tensor *t, err *e)
{
    const char *descr = NULL;
    for (size_t i = 0; i < ARRAY_LEN(descrs); i++)
        if (descrs[i].t == t->dtype) descr = descrs[i].descr;
    if (!descr) {
        err_set(e, 400, "%s: cannot write %s tensors as .npy", path, nn_dtype_name(t->dtype));
        return -1;
    }
    char shape[256];
    size_t o = 0;
    for (int i = 0; i < t->rank; i++)
        o += (size_t)snprintf(shape + o, sizeof shape - o, "%lld%s", (long long)t->shape[i],
                              t->rank == 1      ? ","
                              : i + 1 < t->rank ? ", "
                                                : "");
    shape[o < sizeof shape ? o : sizeof shape - 1] = 0;
    char header[512];
    int n = snprintf(header, sizeof header,
                     "{'descr': '%c%s', 'fortran_order': False, 'shape': (%s), }",
                     nn_dtype_size(t->dtype) == 1 ? '|' : '<', descr, shape);
    /* pad with spaces so that magic + header is a multiple of 64, ending in a newline */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    size_t bytes = (size_t)nn_tensor_count(t) * nn_dtype_size(t->dtype);
    unsigned char *buf = xmalloc(10 + hlen + bytes);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, header, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    if (bytes) memcpy(buf + 10 + hlen, t->data, bytes);
    int rc = file_write(path, buf, 10 + hlen + bytes, e);
    free(buf);
    return rc;
}
