/* ONNX ModelProto -> graph IR, straight from the protobuf wire format.
 *
 * Why a reader of our own rather than protobuf-c: unpacking with protobuf-c copies every
 * `raw_data` into its own heap blocks, so a mapped model would sit in memory twice while
 * loading. Reading the wire format directly lets a tensor's data point into the mapped
 * file; only tensors that are misaligned, stored in typed repeated fields, or fp16 get a
 * buffer of their own. The subset of the format ONNX uses is small (varints, fixed32/64,
 * length-delimited fields) and every read is bounds-checked, which the fuzz target
 * (fuzz/fuzz_onnx.c) exercises. Field numbers are those of onnx.proto (ONNX 1.12+). */
#include "nn/nn_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- wire format */

typedef struct pb {
    const uint8_t *p, *end;
} pb;

typedef struct pb_field {
    uint32_t num;
    int wt;
    uint64_t u;          /* varint / fixed value */
    const uint8_t *data; /* length-delimited payload */
    size_t len;
} pb_field;

static bool pb_varint(pb *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return false;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static pb pb_of(const uint8_t *p, size_t n)
{
    pb r = {p, p ? p + n : p};
    return r;
}

/* 1: a field was read; 0: end of message; -1: malformed. */
static int pb_next(pb *r, pb_field *f)
{
    if (r->p >= r->end) return 0;
    uint64_t key;
    if (!pb_varint(r, &key)) return -1;
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    if (f->num == 0 || (key >> 3) > 0x1fffffff) return -1;
    switch (f->wt) {
    case 0:
        return pb_varint(r, &f->u) ? 1 : -1;
    case 1:
        if (r->end - r->p < 8) return -1;
        memcpy(&f->u, r->p, 8);
        r->p += 8;
        return 1;
    case 5: {
        if (r->end - r->p < 4) return -1;
        uint32_t v;
        memcpy(&v, r->p, 4);
        f->u = v;
        r->p += 4;
        return 1;
    }
    case 2: {
        uint64_t n;
        if (!pb_varint(r, &n) || n > (uint64_t)(r->end - r->p)) return -1;
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return 1;
    }
    default:
        return -1; /* groups (3, 4) are not used by ONNX */
    }
}

/* ---------------------------------------------------------------- loader state */

typedef struct slice {
    const uint8_t *p;
    size_t n;
} slice;

typedef struct slices {
    slice *v;
    int n, cap;
} slices;

static void slices_push(slices *s, const uint8_t *p, size_t n)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = xrealloc(s->v, (size_t)s->cap * sizeof *s->v);
    }
    s->v[s->n++] = (slice){p, n};
}

typedef struct loader {
    nn_graph *g;
    const char *file;
    const char *dir;
    const uint8_t *base; /* the main buffer, for alignment of in-place data */
    bool mapped;         /* base is a file mapping (its pages can be dropped) */
    nn_mapping **maps;
    int *n_maps;
    char **map_names; /* external files mapped so far, and their index in *maps */
    int *map_index;
    int n_names;
    err *e;
    /* value name -> index, open addressing */
    int *hash;
    size_t hash_cap;
    int anon;
} loader;

/* Sets "<file>: <message>" (400) and returns -1. */
static int AR_PRINTF(2, 3) bad(loader *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(L->e, 400, fmt, ap);
    va_end(ap);
    err_prefix(L->e, "%s: ", L->file);
    return -1;
}
#define BAD bad

static uint64_t name_hash(const char *s)
{
    return hash64(s, strlen(s));
}

static void hash_insert(loader *L, const char *name, int id)
{
    if ((size_t)L->g->nv * 2 >= L->hash_cap) {
        size_t cap = L->hash_cap ? L->hash_cap * 2 : 1024;
        int *h = xmalloc(cap * sizeof *h);
        for (size_t i = 0; i < cap; i++) h[i] = -1;
        for (size_t i = 0; i < L->hash_cap; i++) {
            if (L->hash[i] < 0) continue;
            size_t j = name_hash(L->g->v[L->hash[i]].name) & (cap - 1);
            while (h[j] >= 0) j = (j + 1) & (cap - 1);
            h[j] = L->hash[i];
        }
        free(L->hash);
        L->hash = h;
        L->hash_cap = cap;
    }
    size_t j = name_hash(name) & (L->hash_cap - 1);
    while (L->hash[j] >= 0) j = (j + 1) & (L->hash_cap - 1);
    L->hash[j] = id;
}

static int hash_find(loader *L, const char *name)
{
    if (!L->hash_cap) return -1;
    size_t j = name_hash(name) & (L->hash_cap - 1);
    while (L->hash[j] >= 0) {
        if (strcmp(L->g->v[L->hash[j]].name, name) == 0) return L->hash[j];
        j = (j + 1) & (L->hash_cap - 1);
    }
    return -1;
}

static int new_value(loader *L, const char *name)
{
    int id = graph_add_value(L->g, name);
    hash_insert(L, L->g->v[id].name, id);
    return id;
}

static const char *dup_str(loader *L, const uint8_t *p, size_t n)
{
    return p ? arena_strndup(L->g->a, (const char *)p, n) : "";
}

static bool known_dtype(uint64_t t)
{
    return (t >= 1 && t <= 13) || t == 16;
}

/* ---------------------------------------------------------------- tensors */

typedef struct tensor_raw {
    const char *name;
    int64_t dims[NN_MAX_RANK];
    int rank;
    int dtype;
    slice raw;
    bool has_raw;
    slice packed[5]; /* float_data, int32_data, int64_data, double_data, uint64_data */
    slices unpacked; /* unpacked repeated numbers: (field, value) pairs via p = field */
    slices strings;
    bool external;
    const char *ext_location;
    int64_t ext_offset, ext_length;
} tensor_raw;

static void tensor_raw_free(tensor_raw *t)
{
    free(t->unpacked.v);
    free(t->strings.v);
}

static int read_external_entry(loader *L, tensor_raw *t, const uint8_t *p, size_t n)
{
    pb r = pb_of(p, n);
    pb_field f;
    slice key = {0}, val = {0};
    int k;
    while ((k = pb_next(&r, &f)) > 0) {
        if (f.wt != 2) continue;
        if (f.num == 1) key = (slice){f.data, f.len};
        if (f.num == 2) val = (slice){f.data, f.len};
    }
    if (k < 0) return BAD(L, "malformed external_data entry");
    const char *v = dup_str(L, val.p, val.n);
    if (key.n == 8 && memcmp(key.p, "location", 8) == 0) {
        t->ext_location = v;
    } else if ((key.n == 6 && memcmp(key.p, "offset", 6) == 0) ||
               (key.n == 6 && memcmp(key.p, "length", 6) == 0)) {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || *end || x < 0)
            return BAD(L, "external_data %s '%s' is not a number",
                       key.p[0] == 'o' ? "offset" : "length", v);
        if (key.p[0] == 'o')
            t->ext_offset = x;
        else
            t->ext_length = x;
    }
    return 0;
}

static int read_tensor_raw_fields(loader *L, const uint8_t *p, size_t n, tensor_raw *t)
{
    memset(t, 0, sizeof *t);
    t->ext_length = -1;
    pb r = pb_of(p, n);
    pb_field f;
    int k;
    while ((k = pb_next(&r, &f)) > 0) {
        switch (f.num) {
        case 1: /* dims */
            if (f.wt == 0) {
                if (t->rank >= NN_MAX_RANK)
                    return BAD(L, "tensor has more than %d dimensions", NN_MAX_RANK);
                t->dims[t->rank++] = (int64_t)f.u;
            } else if (f.wt == 2) {
                pb q = pb_of(f.data, f.len);
                uint64_t d;
                while (q.p < q.end) {
                    if (!pb_varint(&q, &d)) return BAD(L, "malformed tensor dims");
                    if (t->rank >= NN_MAX_RANK)
                        return BAD(L, "tensor has more than %d dimensions", NN_MAX_RANK);
                    t->dims[t->rank++] = (int64_t)d;
                }
            }
            break;
        case 2:
            if (f.wt == 0) t->dtype = (int)f.u;
            break;
        case 8:
            if (f.wt == 2) t->name = dup_str(L, f.data, f.len);
            break;
        case 9:
            if (f.wt == 2) {
                t->raw = (slice){f.data, f.len};
                t->has_raw = true;
            }
            break;
        case 4:
        case 5:
        case 7:
        case 10:
        case 11: {
            int idx = f.num == 4 ? 0 : f.num == 5 ? 1 : f.num == 7 ? 2 : f.num == 10 ? 3 : 4;
            if (f.wt == 2) {
                if (t->packed[idx].n)
                    return BAD(L, "tensor data field %u repeated in packed form", f.num);
                t->packed[idx] = (slice){f.data, f.len};
            } else {
                /* unpacked repeated scalar: remember the value itself */
                slices_push(&t->unpacked, (const uint8_t *)(uintptr_t)f.num, (size_t)f.u);
            }
            break;
        }
        case 6:
            if (f.wt == 2) slices_push(&t->strings, f.data, f.len);
            break;
        case 13:
            if (f.wt == 2 && read_external_entry(L, t, f.data, f.len) != 0) return -1;
            break;
        case 14:
            if (f.wt == 0) t->external = f.u == 1;
            break;
        default:
            break;
        }
    }
    if (k < 0) return BAD(L, "malformed TensorProto");
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i] < 0)
            return BAD(L, "tensor '%s' has a negative dimension", t->name ? t->name : "");
    return 0;
}

/* Reads a TensorProto's fields; on failure nothing is left to free. */
static int read_tensor_raw(loader *L, const uint8_t *p, size_t n, tensor_raw *t)
{
    if (read_tensor_raw_fields(L, p, n, t) == 0) return 0;
    tensor_raw_free(t);
    memset(t, 0, sizeof *t);
    return -1;
}

/* Count of elements, or -1 on overflow beyond 2^40 (a terabyte-sized tensor is not a model
 * we load). */
static int64_t dims_count(const int64_t *d, int rank)
{
    int64_t c = 1;
    for (int i = 0; i < rank; i++) {
        if (d[i] != 0 && c > ((int64_t)1 << 40) / d[i]) return -1;
        c *= d[i];
    }
    return c;
}

/* Maps an external data file once per location. Returns 0 with addr and len (addr is NULL
 * for an empty file), or -1 with the error set. */
static int map_external(loader *L, const char *location, const uint8_t **addr_out, size_t *len)
{
    for (int i = 0; i < L->n_names; i++)
        if (strcmp(L->map_names[i], location) == 0) {
            *len = (*L->maps)[L->map_index[i]].len;
            *addr_out = (*L->maps)[L->map_index[i]].addr;
            return 0;
        }
    if (location[0] == '/' || strstr(location, "..")) {
        err_set(L->e, 400,
                "%s: external data location '%s' must be a relative path inside the model's folder",
                L->file, location);
        return -1;
    }
    if (!L->dir) {
        err_set(L->e, 400, "%s: external data '%s' needs the model to be loaded from a file",
                L->file, location);
        return -1;
    }
    char *path = xasprintf("%s/%s", L->dir, location);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        err_set(L->e, 400, "%s: external data file %s: %s", L->file, path, strerror(errno));
        if (fd >= 0) close(fd);
        free(path);
        return -1;
    }
    free(path);
    void *addr = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (st.st_size && addr == MAP_FAILED) {
        err_set(L->e, 500, "%s: cannot map external data '%s': %s", L->file, location,
                strerror(errno));
        return -1;
    }
    *L->maps = xrealloc(*L->maps, (size_t)(*L->n_maps + 1) * sizeof **L->maps);
    L->map_names = xrealloc(L->map_names, (size_t)(L->n_names + 1) * sizeof *L->map_names);
    L->map_index = xrealloc(L->map_index, (size_t)(L->n_names + 1) * sizeof *L->map_index);
    (*L->maps)[*L->n_maps] = (nn_mapping){addr, (size_t)st.st_size};
    L->map_names[L->n_names] = xstrdup(location);
    L->map_index[L->n_names++] = *L->n_maps;
    (*L->n_maps)++;
    *len = (size_t)st.st_size;
    *addr_out = st.st_size ? addr : NULL;
    return 0;
}

/* Fills value v's dtype, shape and data from a TensorProto. Data points into the mapped
 * file when it is raw, little-endian and aligned; else it gets an owned buffer. fp16 and
 * bf16 tensors become fp32 when `widen` (initializers), converted once here. */
static int tensor_to_value(loader *L, tensor_raw *t, int vid, bool widen)
{
    nn_value *v = &L->g->v[vid];
    const char *tname = t->name ? t->name : v->name;
    if (!known_dtype((uint64_t)t->dtype))
        return BAD(L, "tensor '%s' has unsupported data type %d", tname, t->dtype);
    int64_t count = dims_count(t->dims, t->rank);
    if (count < 0) return BAD(L, "tensor '%s' is too large", tname);
    v->dtype = (nn_dtype)t->dtype;
    v->rank = t->rank;
    memcpy(v->dims, t->dims, sizeof v->dims);
    v->kind = NN_V_CONST;
    size_t esz = nn_dtype_size(v->dtype);
    size_t bytes = (size_t)count * esz;

    if (v->dtype == NN_STRING) {
        if (t->strings.n != count)
            return BAD(L, "tensor '%s' holds %d strings for %lld elements", tname, t->strings.n,
                       (long long)count);
        const char **src = xcalloc((size_t)count + 1, sizeof *src);
        size_t *lens = xcalloc((size_t)count + 1, sizeof *lens);
        for (int64_t i = 0; i < count; i++) {
            src[i] = (const char *)t->strings.v[i].p;
            lens[i] = strnlen(src[i], t->strings.v[i].n);
        }
        v->data = nn_strings_pack(src, lens, count);
        v->owned = true;
        free(src);
        free(lens);
        return 0;
    }

    const uint8_t *src = NULL;
    size_t src_len = 0;
    if (t->external) {
        if (!t->ext_location)
            return BAD(L, "tensor '%s' has external data without a location", tname);
        size_t flen = 0;
        const uint8_t *f = NULL;
        if (map_external(L, t->ext_location, &f, &flen) != 0) return -1;
        size_t want = t->ext_length >= 0 ? (size_t)t->ext_length : bytes;
        if ((uint64_t)t->ext_offset > flen || want > flen - (size_t)t->ext_offset)
            return BAD(
                L,
                "tensor '%s': external data (offset %lld, %zu bytes) lies outside '%s' (%zu bytes)",
                tname, (long long)t->ext_offset, want, t->ext_location, flen);
        static const uint8_t none[8];
        src = f ? f + t->ext_offset : none;
        src_len = want;
    } else if (t->has_raw) {
        src = t->raw.p;
        src_len = t->raw.n;
    }

    if (src || t->has_raw || t->external) {
        if (src_len != bytes)
            return BAD(L, "tensor '%s' has %zu bytes of data for shape with %lld %s elements",
                       tname, src_len, (long long)count, nn_dtype_name(v->dtype));
        bool mapped = t->external || L->mapped;
        v->src = src;
        v->src_len = src_len;
        v->src_dtype = (uint8_t)v->dtype;
        v->src_kind = mapped ? NN_SRC_MAPPED : NN_SRC_BUFFER;
        bool f16 = v->dtype == NN_F16 || v->dtype == NN_BF16;
        if (widen && f16) {
            float *d = xmalloc(count ? (size_t)count * 4 : 1);
            for (int64_t i = 0; i < count; i++) {
                uint16_t h;
                memcpy(&h, src + 2 * i, 2);
                d[i] = v->dtype == NN_F16 ? nn_f16_to_f32(h) : nn_bf16_to_f32(h);
            }
            v->dtype = NN_F32;
            v->data = d;
            v->owned = true;
            if (mapped) nn_drop_pages(src, src_len);
        } else if ((uintptr_t)src % esz == 0) {
            v->data = (void *)src;
        } else {
            /* misaligned in the file: one aligned copy, and the file's pages can go */
            void *d = NULL;
            if (posix_memalign(&d, 64, bytes ? bytes : 64) != 0) abort();
            memcpy(d, src, bytes);
            v->data = d;
            v->owned = true;
            if (mapped) nn_drop_pages(src, src_len);
        }
        return 0;
    }

    /* typed repeated fields: every value takes at least one byte of the message, so a
     * shape promising more values than that is refused before allocating for it */
    size_t avail = (size_t)t->unpacked.n;
    for (int k = 0; k < 5; k++) avail += t->packed[k].n;
    if ((uint64_t)count > avail)
        return BAD(L, "tensor '%s' declares %lld elements but holds data for fewer", tname,
                   (long long)count);
    void *d = NULL;
    if (posix_memalign(&d, 64, bytes ? bytes : 64) != 0) abort();
    v->data = d;
    v->owned = true;
    int field;
    switch (v->dtype) {
    case NN_F32:
        field = 4;
        break;
    case NN_I64:
        field = 7;
        break;
    case NN_F64:
        field = 10;
        break;
    case NN_U32:
    case NN_U64:
        field = 11;
        break;
    default:
        field = 5;
        break; /* int32, int16, int8, uint8, uint16, bool, f16 bits */
    }
    int idx = field == 4 ? 0 : field == 5 ? 1 : field == 7 ? 2 : field == 10 ? 3 : 4;
    slice pk = t->packed[idx];
    int64_t got = 0;
    bool fixed = field == 4 || field == 10;
    size_t fsz = field == 4 ? 4 : 8;
    if (pk.n) {
        pb q = pb_of(pk.p, pk.n);
        while (q.p < q.end) {
            if (got >= count) return BAD(L, "tensor '%s' holds more values than its shape", tname);
            uint64_t u = 0;
            if (fixed) {
                if ((size_t)(q.end - q.p) < fsz)
                    return BAD(L, "tensor '%s': truncated data", tname);
                memcpy(&u, q.p, fsz);
                q.p += fsz;
            } else if (!pb_varint(&q, &u)) {
                return BAD(L, "tensor '%s': malformed data", tname);
            }
            memcpy((uint8_t *)d + got * esz, &u, esz); /* little-endian truncation */
            got++;
        }
    }
    for (int i = 0; i < t->unpacked.n; i++) {
        if ((int)(uintptr_t)t->unpacked.v[i].p != field) continue;
        if (got >= count) return BAD(L, "tensor '%s' holds more values than its shape", tname);
        uint64_t u = (uint64_t)t->unpacked.v[i].n;
        memcpy((uint8_t *)d + got * esz, &u, esz);
        got++;
    }
    if (got != count)
        return BAD(L, "tensor '%s' holds %lld values for a shape of %lld", tname, (long long)got,
                   (long long)count);
    if (widen && (v->dtype == NN_F16 || v->dtype == NN_BF16)) {
        float *w = xmalloc(count ? (size_t)count * 4 : 1);
        for (int64_t i = 0; i < count; i++) {
            uint16_t h = ((uint16_t *)d)[i];
            w[i] = v->dtype == NN_F16 ? nn_f16_to_f32(h) : nn_bf16_to_f32(h);
        }
        free(d);
        v->data = w;
        v->dtype = NN_F32;
    }
    return 0;
}

static int read_tensor_value(loader *L, const uint8_t *p, size_t n, int vid, bool widen)
{
    tensor_raw t;
    int rc = read_tensor_raw(L, p, n, &t);
    if (rc == 0) rc = tensor_to_value(L, &t, vid, widen);
    tensor_raw_free(&t);
    return rc;
}

/* ---------------------------------------------------------------- value info */

static int read_shape(loader *L, const uint8_t *p, size_t n, nn_value_info *vi)
{
    pb r = pb_of(p, n);
    pb_field f;
    int k;
    vi->rank = 0;
    while ((k = pb_next(&r, &f)) > 0) {
        if (f.num != 1 || f.wt != 2) continue;
        if (vi->rank >= NN_MAX_RANK)
            return BAD(L, "'%s' has more than %d dimensions", vi->name, NN_MAX_RANK);
        int d = vi->rank++;
        vi->shape[d] = -1;
        vi->dim_names[d] = NULL;
        pb q = pb_of(f.data, f.len);
        pb_field g;
        int k2;
        while ((k2 = pb_next(&q, &g)) > 0) {
            if (g.num == 1 && g.wt == 0 && (int64_t)g.u > 0) vi->shape[d] = (int64_t)g.u;
            if (g.num == 1 && g.wt == 0 && (int64_t)g.u == 0) vi->shape[d] = 0;
            if (g.num == 2 && g.wt == 2) vi->dim_names[d] = dup_str(L, g.data, g.len);
        }
        if (k2 < 0) return BAD(L, "malformed shape of '%s'", vi->name);
        if (vi->shape[d] == 0 && vi->dim_names[d]) vi->shape[d] = -1;
    }
    if (k < 0) return BAD(L, "malformed shape of '%s'", vi->name);
    return 0;
}

static int read_value_info(loader *L, const uint8_t *p, size_t n, nn_value_info *vi)
{
    memset(vi, 0, sizeof *vi);
    vi->rank = -1;
    pb r = pb_of(p, n);
    pb_field f;
    int k;
    slice type = {0};
    while ((k = pb_next(&r, &f)) > 0) {
        if (f.num == 1 && f.wt == 2) vi->name = dup_str(L, f.data, f.len);
        if (f.num == 2 && f.wt == 2) type = (slice){f.data, f.len};
    }
    if (k < 0 || !vi->name) return BAD(L, "malformed ValueInfoProto");
    if (!type.p) return 0;
    pb t = pb_of(type.p, type.n);
    while ((k = pb_next(&t, &f)) > 0) {
        if (f.num != 1 || f.wt != 2) {
            if (f.wt == 2 && (f.num == 4 || f.num == 5 || f.num == 8 || f.num == 9))
                return BAD(L,
                           "'%s' is not a tensor (sequences, maps and optionals are not supported)",
                           vi->name);
            continue;
        }
        pb tt = pb_of(f.data, f.len);
        pb_field g;
        int k2;
        while ((k2 = pb_next(&tt, &g)) > 0) {
            if (g.num == 1 && g.wt == 0) vi->dtype = (nn_dtype)g.u;
            if (g.num == 2 && g.wt == 2 && read_shape(L, g.data, g.len, vi) != 0) return -1;
        }
        if (k2 < 0) return BAD(L, "malformed type of '%s'", vi->name);
    }
    if (k < 0) return BAD(L, "malformed type of '%s'", vi->name);
    if (vi->dtype && !known_dtype(vi->dtype))
        return BAD(L, "'%s' has unsupported element type %d", vi->name, vi->dtype);
    return 0;
}

/* ---------------------------------------------------------------- nodes */

static int read_attr(loader *L, const uint8_t *p, size_t n, nn_attr *a, const char *node)
{
    memset(a, 0, sizeof *a);
    a->tensor = -1;
    pb r = pb_of(p, n);
    pb_field f;
    int k;
    slice floats_pk = {0}, ints_pk = {0};
    slices floats_u = {0}, ints_u = {0}, strs = {0};
    slice tensor = {0};
    bool has_f = false, has_i = false, has_s = false, has_g = false;
    int rc = 0;
    while ((k = pb_next(&r, &f)) > 0) {
        switch (f.num) {
        case 1:
            if (f.wt == 2) a->name = dup_str(L, f.data, f.len);
            break;
        case 20:
            if (f.wt == 0) a->type = (int)f.u;
            break;
        case 2:
            if (f.wt == 5) {
                uint32_t u = (uint32_t)f.u;
                memcpy(&a->f, &u, 4);
                has_f = true;
            }
            break;
        case 3:
            if (f.wt == 0) {
                a->i = (int64_t)f.u;
                has_i = true;
            }
            break;
        case 4:
            if (f.wt == 2) {
                a->s = dup_str(L, f.data, f.len);
                has_s = true;
            }
            break;
        case 5:
            if (f.wt == 2) tensor = (slice){f.data, f.len};
            break;
        case 6:
        case 11:
            has_g = true;
            break;
        case 7:
            if (f.wt == 2)
                floats_pk = (slice){f.data, f.len};
            else if (f.wt == 5)
                slices_push(&floats_u, NULL, (size_t)f.u);
            break;
        case 8:
            if (f.wt == 2)
                ints_pk = (slice){f.data, f.len};
            else if (f.wt == 0)
                slices_push(&ints_u, NULL, (size_t)f.u);
            break;
        case 9:
            if (f.wt == 2) slices_push(&strs, f.data, f.len);
            break;
        default:
            break;
        }
    }
    if (k < 0 || !a->name) {
        rc = BAD(L, "node '%s': malformed attribute", node);
        goto out;
    }
    if (a->type == NN_AT_UNDEF) {
        a->type = has_g                         ? NN_AT_GRAPH
                  : tensor.p                    ? NN_AT_TENSOR
                  : has_s                       ? NN_AT_STRING
                  : has_f                       ? NN_AT_FLOAT
                  : has_i                       ? NN_AT_INT
                  : (floats_pk.p || floats_u.n) ? NN_AT_FLOATS
                  : (ints_pk.p || ints_u.n)     ? NN_AT_INTS
                  : strs.n                      ? NN_AT_STRINGS
                                                : NN_AT_UNDEF;
    }
    if (a->type == NN_AT_FLOATS) {
        if (floats_pk.n % 4) {
            rc = BAD(L, "node '%s': attribute '%s' has truncated floats", node, a->name);
            goto out;
        }
        int cnt = (int)(floats_pk.n / 4) + floats_u.n;
        float *fl = arena_alloc(L->g->a, (size_t)(cnt + 1) * sizeof *fl);
        int j = 0;
        for (size_t i = 0; i < floats_pk.n / 4; i++) memcpy(&fl[j++], floats_pk.p + 4 * i, 4);
        for (int i = 0; i < floats_u.n; i++) {
            uint32_t u = (uint32_t)floats_u.v[i].n;
            memcpy(&fl[j++], &u, 4);
        }
        a->floats = fl;
        a->n = cnt;
    } else if (a->type == NN_AT_INTS) {
        int cap = (int)ints_pk.n + ints_u.n;
        int64_t *iv = arena_alloc(L->g->a, (size_t)(cap + 1) * sizeof *iv);
        int j = 0;
        pb q = pb_of(ints_pk.p, ints_pk.n);
        uint64_t u;
        while (q.p < q.end) {
            if (!pb_varint(&q, &u)) {
                rc = BAD(L, "node '%s': attribute '%s' has malformed ints", node, a->name);
                goto out;
            }
            iv[j++] = (int64_t)u;
        }
        for (int i = 0; i < ints_u.n; i++) iv[j++] = (int64_t)ints_u.v[i].n;
        a->ints = iv;
        a->n = j;
    } else if (a->type == NN_AT_STRINGS) {
        const char **sv = arena_alloc(L->g->a, (size_t)(strs.n + 1) * sizeof *sv);
        for (int i = 0; i < strs.n; i++) sv[i] = dup_str(L, strs.v[i].p, strs.v[i].n);
        a->strings = sv;
        a->n = strs.n;
    } else if (a->type == NN_AT_TENSOR) {
        if (!tensor.p) {
            rc = BAD(L, "node '%s': attribute '%s' has no tensor", node, a->name);
            goto out;
        }
        char *nm = arena_sprintf(L->g->a, "%s:%s#%d", node, a->name, L->anon++);
        int vid = new_value(L, nm);
        a->tensor = vid;
        if (read_tensor_value(L, tensor.p, tensor.n, vid, false) != 0) {
            err_prefix(L->e, "node '%s' attribute '%s': ", node, a->name);
            rc = -1;
            goto out;
        }
    }
out:
    free(floats_u.v);
    free(ints_u.v);
    free(strs.v);
    return rc;
}

typedef struct node_raw {
    slices in, out, attrs;
    const char *name, *op_type, *domain;
} node_raw;

static int read_node_raw(loader *L, const uint8_t *p, size_t n, node_raw *nr)
{
    memset(nr, 0, sizeof *nr);
    pb r = pb_of(p, n);
    pb_field f;
    int k;
    while ((k = pb_next(&r, &f)) > 0) {
        if (f.wt != 2) continue;
        switch (f.num) {
        case 1:
            slices_push(&nr->in, f.data, f.len);
            break;
        case 2:
            slices_push(&nr->out, f.data, f.len);
            break;
        case 3:
            nr->name = dup_str(L, f.data, f.len);
            break;
        case 4:
            nr->op_type = dup_str(L, f.data, f.len);
            break;
        case 7:
            nr->domain = dup_str(L, f.data, f.len);
            break;
        case 5:
            slices_push(&nr->attrs, f.data, f.len);
            break;
        default:
            break;
        }
    }
    if (k < 0) return BAD(L, "malformed NodeProto");
    if (!nr->op_type || !nr->op_type[0])
        return BAD(L, "node '%s' has no op_type", nr->name ? nr->name : "");
    return 0;
}

/* Whether any of a node's attributes carries a graph. */
static bool has_subgraph(const slices *attrs)
{
    for (int i = 0; i < attrs->n; i++) {
        pb r = pb_of(attrs->v[i].p, attrs->v[i].n);
        pb_field f;
        while (pb_next(&r, &f) > 0) {
            if ((f.num == 6 || f.num == 11) && f.wt == 2) return true;
            if (f.num == 20 && f.wt == 0 && (f.u == NN_AT_GRAPH || f.u == 10)) return true;
        }
    }
    return false;
}

static void node_raw_free(node_raw *nr)
{
    free(nr->in.v);
    free(nr->out.v);
    free(nr->attrs.v);
}

/* ---------------------------------------------------------------- Constant nodes */

/* A Constant node becomes a constant value directly (no node is kept). */
static int constant_node(loader *L, node_raw *nr, int out)
{
    const char *nm = nr->name ? nr->name : "";
    if (nr->attrs.n != 1) return BAD(L, "node '%s' (Constant): needs exactly one attribute", nm);
    nn_attr a;
    if (read_attr(L, nr->attrs.v[0].p, nr->attrs.v[0].n, &a, nm) != 0) return -1;
    nn_value *v = &L->g->v[out];
    v->kind = NN_V_CONST;
    if (a.type == NN_AT_TENSOR) {
        nn_value *t = &L->g->v[a.tensor];
        v->dtype = t->dtype;
        v->rank = t->rank;
        memcpy(v->dims, t->dims, sizeof v->dims);
        v->data = t->data;
        v->owned = t->owned;
        t->owned = false;
        t->data = NULL;
        t->kind = NN_V_ACT;
        t->rank = -1;
        return 0;
    }
    if (strcmp(a.name, "value_float") == 0 || strcmp(a.name, "value_int") == 0) {
        v->rank = 0;
        v->dtype = a.name[6] == 'f' ? NN_F32 : NN_I64;
        v->data = xmalloc(8);
        v->owned = true;
        if (v->dtype == NN_F32)
            *(float *)v->data = a.f;
        else
            *(int64_t *)v->data = a.i;
        return 0;
    }
    if (strcmp(a.name, "value_floats") == 0 || strcmp(a.name, "value_ints") == 0) {
        v->rank = 1;
        v->dims[0] = a.n;
        bool fl = a.name[6] == 'f';
        v->dtype = fl ? NN_F32 : NN_I64;
        size_t es = fl ? 4 : 8;
        v->data = xmalloc((size_t)a.n * es + 8);
        v->owned = true;
        memcpy(v->data, fl ? (const void *)a.floats : (const void *)a.ints, (size_t)a.n * es);
        return 0;
    }
    if (strcmp(a.name, "value_string") == 0 || strcmp(a.name, "value_strings") == 0) {
        bool one = a.type == NN_AT_STRING;
        int cnt = one ? 1 : a.n;
        v->rank = one ? 0 : 1;
        v->dims[0] = cnt;
        v->dtype = NN_STRING;
        const char **src = xcalloc((size_t)cnt + 1, sizeof *src);
        size_t *lens = xcalloc((size_t)cnt + 1, sizeof *lens);
        for (int i = 0; i < cnt; i++) {
            src[i] = one ? a.s : a.strings[i];
            lens[i] = strlen(src[i]);
        }
        v->data = nn_strings_pack(src, lens, cnt);
        v->owned = true;
        free(src);
        free(lens);
        return 0;
    }
    return BAD(L, "node '%s' (Constant): unsupported attribute '%s'", nm, a.name);
}

/* ---------------------------------------------------------------- graph */

static int opset_for(const char *domain, const int64_t *versions, const char **domains, int n)
{
    const char *d = domain ? domain : "";
    if (strcmp(d, "ai.onnx") == 0) d = "";
    for (int i = 0; i < n; i++)
        if (strcmp(domains[i], d) == 0) return (int)versions[i];
    return -1;
}

typedef struct unsupported {
    const char *op;
    int count;
    const char *first;
} unsupported;

static int read_graph(loader *L, const uint8_t *p, size_t n, nn_loaded *out, const int64_t *vers,
                      const char **doms, int n_opsets)
{
    nn_graph *g = L->g;
    pb r = pb_of(p, n);
    pb_field f;
    int k;
    slices nodes = {0}, inits = {0}, inputs = {0}, outputs = {0};
    unsupported *uns = NULL;
    int n_uns = 0;
    int rc = -1;
    while ((k = pb_next(&r, &f)) > 0) {
        if (f.wt != 2) continue;
        switch (f.num) {
        case 1:
            slices_push(&nodes, f.data, f.len);
            break;
        case 5:
            slices_push(&inits, f.data, f.len);
            break;
        case 11:
            slices_push(&inputs, f.data, f.len);
            break;
        case 12:
            slices_push(&outputs, f.data, f.len);
            break;
        case 15:
            BAD(L, "sparse initializers are not supported");
            goto out;
        default:
            break;
        }
    }
    if (k < 0) {
        BAD(L, "malformed GraphProto");
        goto out;
    }

    for (int i = 0; i < inits.n; i++) {
        tensor_raw t;
        if (read_tensor_raw(L, inits.v[i].p, inits.v[i].n, &t) != 0) goto out;
        if (!t.name || !t.name[0]) {
            tensor_raw_free(&t);
            BAD(L, "initializer %d has no name", i);
            goto out;
        }
        if (hash_find(L, t.name) >= 0) {
            BAD(L, "initializer '%s' is defined twice", t.name);
            tensor_raw_free(&t);
            goto out;
        }
        int vid = new_value(L, t.name);
        int rc2 = tensor_to_value(L, &t, vid, true);
        tensor_raw_free(&t);
        if (rc2 != 0) goto out;
    }

    out->inputs = arena_calloc(g->a, (size_t)inputs.n + 1, sizeof *out->inputs);
    g->inputs = arena_calloc(g->a, (size_t)inputs.n + 1, sizeof *g->inputs);
    for (int i = 0; i < inputs.n; i++) {
        nn_value_info vi;
        if (read_value_info(L, inputs.v[i].p, inputs.v[i].n, &vi) != 0) goto out;
        int vid = hash_find(L, vi.name);
        if (vid >= 0 && g->v[vid].kind == NN_V_CONST) continue; /* an initializer's declaration */
        if (vid >= 0) {
            BAD(L, "graph input '%s' is declared twice", vi.name);
            goto out;
        }
        if (vi.dtype == NN_UNDEFINED) {
            BAD(L, "graph input '%s' has no element type", vi.name);
            goto out;
        }
        vid = new_value(L, vi.name);
        nn_value *v = &g->v[vid];
        v->kind = NN_V_INPUT;
        v->dtype = vi.dtype;
        v->rank = vi.rank;
        for (int d = 0; d < vi.rank && d < NN_MAX_RANK; d++) v->dims[d] = vi.shape[d];
        out->inputs[out->n_inputs++] = vi;
        g->inputs[g->n_inputs++] = vid;
    }

    /* nodes: outputs first (so inputs may refer to any node), then inputs */
    node_raw *raws = xcalloc((size_t)nodes.n + 1, sizeof *raws);
    int n_raw = 0;
    bool ok = true;
    for (int i = 0; i < nodes.n && ok; i++) {
        node_raw *nr = &raws[n_raw];
        if (read_node_raw(L, nodes.v[i].p, nodes.v[i].n, nr) != 0) {
            node_raw_free(nr);
            ok = false;
            break;
        }
        n_raw++;
        if (!nr->name || !nr->name[0]) nr->name = arena_sprintf(g->a, "%s_%d", nr->op_type, i);
        for (int j = 0; j < nr->out.n; j++) {
            if (nr->out.v[j].n == 0) continue;
            const char *nm = dup_str(L, nr->out.v[j].p, nr->out.v[j].n);
            if (hash_find(L, nm) >= 0) {
                BAD(L, "node '%s' (%s): output '%s' is already defined", nr->name, nr->op_type, nm);
                ok = false;
                break;
            }
            new_value(L, nm);
        }
    }
    for (int i = 0; i < n_raw && ok; i++) {
        node_raw *nr = &raws[i];
        const char *dom = nr->domain ? nr->domain : "";
        int opset = opset_for(dom, vers, doms, n_opsets);
        if (strcmp(nr->op_type, "Constant") == 0 && !dom[0]) {
            if (nr->out.n != 1 || nr->in.n != 0) {
                BAD(L, "node '%s' (Constant): needs no inputs and one output", nr->name);
                ok = false;
                break;
            }
            int vid = hash_find(L, dup_str(L, nr->out.v[0].p, nr->out.v[0].n));
            if (vid < 0 || constant_node(L, nr, vid) != 0) {
                if (vid < 0) BAD(L, "node '%s' (Constant): has no output", nr->name);
                ok = false;
            }
            continue;
        }
        int nid = graph_add_node(g, nr->op_type, nr->name, nr->in.n, nr->out.n);
        nn_node *nd = &g->n[nid];
        nd->domain = nr->domain;
        nd->opset = opset;
        nd->op = nn_op_find(dom, nr->op_type);
        if (nd->op && nd->op->min_opset && opset >= 0 && opset < nd->op->min_opset) nd->op = NULL;
        if (nd->op && has_subgraph(&nr->attrs)) nd->op = NULL; /* If, Loop, Scan bodies */
        if (!nd->op) {
            char full[160];
            snprintf(full, sizeof full, "%s%s%s", dom[0] ? dom : "", dom[0] ? "." : "",
                     nr->op_type);
            int u;
            for (u = 0; u < n_uns; u++)
                if (strcmp(uns[u].op, full) == 0) break;
            if (u == n_uns) {
                uns = xrealloc(uns, (size_t)(n_uns + 1) * sizeof *uns);
                uns[n_uns++] = (unsupported){arena_strdup(g->a, full), 0, nr->name};
            }
            uns[u].count++;
        }
        if (opset < 0 && dom[0]) {
            /* a custom domain without an opset_import entry: still report it as unsupported */
        }
        for (int j = 0; j < nr->out.n; j++)
            nd->out[j] =
                nr->out.v[j].n ? hash_find(L, dup_str(L, nr->out.v[j].p, nr->out.v[j].n)) : -1;
        if (nd->out[0] < 0) { /* every operator's first output is required */
            BAD(L, "node '%s' (%s): has no output", nr->name, nr->op_type);
            ok = false;
            break;
        }
        for (int j = 0; j < nr->in.n; j++) {
            if (!nr->in.v[j].n) {
                nd->in[j] = -1;
                continue;
            }
            const char *nm = dup_str(L, nr->in.v[j].p, nr->in.v[j].n);
            int vid = hash_find(L, nm);
            if (vid < 0) {
                BAD(L,
                    "node '%s' (%s): input '%s' is not produced by any node, input or initializer",
                    nr->name, nr->op_type, nm);
                ok = false;
                break;
            }
            g->n[nid].in[j] = vid;
        }
        if (!ok) break;
        nd = &g->n[nid];
        nd->attrs = arena_calloc(g->a, (size_t)nr->attrs.n + 1, sizeof *nd->attrs);
        for (int j = 0; j < nr->attrs.n; j++) {
            nn_attr a;
            if (read_attr(L, nr->attrs.v[j].p, nr->attrs.v[j].n, &a, nr->name) != 0) {
                ok = false;
                break;
            }
            nd = &g->n[nid]; /* read_attr may grow the value array only */
            nd->attrs[nd->n_attrs++] = a;
        }
        for (int j = 0; j < nr->out.n && ok; j++)
            if (nd->out[j] >= 0) g->v[nd->out[j]].producer = nid;
    }
    for (int i = 0; i < n_raw; i++) node_raw_free(&raws[i]);
    free(raws);
    if (!ok) goto out;

    if (n_uns) {
        char msg[400];
        size_t o = 0;
        for (int u = 0; u < n_uns && o < sizeof msg; u++)
            o += (size_t)snprintf(msg + o, sizeof msg - o, "%s%s (%d node%s, first '%s')",
                                  u ? ", " : "", uns[u].op, uns[u].count,
                                  uns[u].count > 1 ? "s" : "", uns[u].first);
        err_set(L->e, 400, "%s: unsupported operator%s: %s", L->file, n_uns > 1 ? "s" : "", msg);
        goto out;
    }

    out->outputs = arena_calloc(g->a, (size_t)outputs.n + 1, sizeof *out->outputs);
    g->outputs = arena_calloc(g->a, (size_t)outputs.n + 1, sizeof *g->outputs);
    for (int i = 0; i < outputs.n; i++) {
        nn_value_info vi;
        if (read_value_info(L, outputs.v[i].p, outputs.v[i].n, &vi) != 0) goto out;
        int vid = hash_find(L, vi.name);
        if (vid < 0) {
            BAD(L, "graph output '%s' is not produced by any node", vi.name);
            goto out;
        }
        g->v[vid].is_output = true;
        out->outputs[out->n_outputs++] = vi;
        g->outputs[g->n_outputs++] = vid;
    }
    if (out->n_outputs == 0) {
        BAD(L, "the graph has no outputs");
        goto out;
    }
    rc = 0;
out:
    free(uns);
    free(nodes.v);
    free(inits.v);
    free(inputs.v);
    free(outputs.v);
    return rc;
}

int onnx_parse_model(const uint8_t *buf, size_t len, const char *file, const char *dir,
                     nn_loaded *out, nn_mapping **maps, int *n_maps, err *e)
{
    memset(out, 0, sizeof *out);
    nn_graph *g = &out->g;
    g->a = arena_new(1 << 16);
    g->file = file;
    loader L = {.g = g,
                .file = file,
                .dir = dir,
                .base = buf,
                .mapped = dir != NULL,
                .maps = maps,
                .n_maps = n_maps,
                .e = e};
    pb r = pb_of(buf, len);
    pb_field f;
    int k;
    slice graph = {0};
    slices metas = {0};
    int64_t vers[32];
    const char *doms[32];
    int n_opsets = 0;
    int rc = -1;
    while ((k = pb_next(&r, &f)) > 0) {
        if (f.num == 1 && f.wt == 0) out->ir_version = (int64_t)f.u;
        if (f.num == 7 && f.wt == 2) graph = (slice){f.data, f.len};
        if (f.num == 14 && f.wt == 2) slices_push(&metas, f.data, f.len);
        if (f.num == 8 && f.wt == 2 && n_opsets < 32) {
            pb q = pb_of(f.data, f.len);
            pb_field h;
            int k2;
            const char *d = "";
            int64_t v = 1;
            while ((k2 = pb_next(&q, &h)) > 0) {
                if (h.num == 1 && h.wt == 2) d = dup_str(&L, h.data, h.len);
                if (h.num == 2 && h.wt == 0) v = (int64_t)h.u;
            }
            if (k2 < 0) {
                BAD(&L, "malformed opset_import");
                goto out;
            }
            if (strcmp(d, "ai.onnx") == 0) d = "";
            doms[n_opsets] = d;
            vers[n_opsets++] = v;
        }
    }
    if (k < 0) {
        BAD(&L, "not an ONNX model (malformed protobuf at byte %zu)", (size_t)(r.p - buf));
        goto out;
    }
    if (!graph.p) {
        BAD(&L, "not an ONNX model (no graph)");
        goto out;
    }
    out->opset = opset_for("", vers, doms, n_opsets);
    if (out->opset < 0) {
        /* IR version 3+ must declare it; the oldest models meant opset 1 */
        out->opset = 1;
        if (n_opsets < 32) {
            doms[n_opsets] = "";
            vers[n_opsets++] = 1;
        }
    }
    out->meta = arena_calloc(g->a, (size_t)metas.n + 1, sizeof *out->meta);
    for (int i = 0; i < metas.n; i++) {
        pb q = pb_of(metas.v[i].p, metas.v[i].n);
        pb_field h;
        int k2;
        nn_meta m = {"", ""};
        while ((k2 = pb_next(&q, &h)) > 0) {
            if (h.num == 1 && h.wt == 2) m.key = dup_str(&L, h.data, h.len);
            if (h.num == 2 && h.wt == 2) m.value = dup_str(&L, h.data, h.len);
        }
        if (k2 < 0) {
            BAD(&L, "malformed metadata_props");
            goto out;
        }
        out->meta[out->n_meta++] = m;
    }
    rc = read_graph(&L, graph.p, graph.n, out, vers, doms, n_opsets);
out:
    free(metas.v);
    free(L.hash);
    for (int i = 0; i < L.n_names; i++) free(L.map_names[i]);
    free(L.map_names);
    free(L.map_index);
    return rc;
}

/* ---------------------------------------------------------------- standalone tensors */

nn_tensor *nn_tensor_proto_parse(const void *buf, size_t len, char **name, err *e)
{
    nn_graph g = {0};
    g.a = arena_new(4096);
    g.file = "tensor";
    nn_mapping *maps = NULL;
    int n_maps = 0;
    loader L = {.g = &g, .file = "TensorProto", .maps = &maps, .n_maps = &n_maps, .e = e};
    nn_tensor *t = NULL;
    int vid = new_value(&L, "t");
    tensor_raw tr;
    if (read_tensor_raw(&L, buf, len, &tr) != 0) goto out;
    if (tensor_to_value(&L, &tr, vid, false) != 0) {
        tensor_raw_free(&tr);
        goto out;
    }
    tensor_raw_free(&tr);
    nn_value *v = &g.v[vid];
    size_t bytes = value_bytes(v);
    t = xcalloc(1, sizeof *t + bytes + 64);
    t->dtype = v->dtype;
    t->rank = v->rank;
    memcpy(t->shape, v->dims, sizeof t->shape);
    t->data = (char *)(t + 1);
    if (v->dtype == NN_STRING) {
        /* keep the strings alive with the tensor: pack them after the pointers (the value's
         * own block is packed the same way, pointers first) */
        char **src = v->data;
        size_t total = 0;
        int64_t cnt = value_count(v);
        for (int64_t i = 0; i < cnt; i++) total += strlen(src[i]) + 1;
        free(t);
        t = xcalloc(1, sizeof *t + (size_t)cnt * sizeof(char *) + total + 8);
        t->dtype = v->dtype;
        t->rank = v->rank;
        memcpy(t->shape, v->dims, sizeof t->shape);
        t->data = (char *)(t + 1);
        char **dst = t->data;
        char *pool = (char *)(dst + cnt);
        for (int64_t i = 0; i < cnt; i++) {
            dst[i] = pool;
            size_t l = strlen(src[i]) + 1;
            memcpy(pool, src[i], l);
            pool += l;
        }
    } else if (bytes) {
        memcpy(t->data, v->data, bytes);
    }
    if (name) *name = xstrdup(tr.name ? tr.name : "");
out:
    graph_free_data(&g, 0);
    free(g.v);
    free(g.n);
    arena_free(g.a);
    free(L.hash);
    free(maps);
    return t;
}

void nn_drop_pages(const void *p, size_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) return;
    uintptr_t a = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t b = ((uintptr_t)p + len) & ~((uintptr_t)page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

void nn_const_restore(nn_value *v)
{
    if (!v->released || !v->src) return;
    int64_t n = value_count(v);
    void *d = NULL;
    if (posix_memalign(&d, 64, value_bytes(v) ? value_bytes(v) : 64) != 0) abort();
    if (v->src_dtype == NN_F16 || v->src_dtype == NN_BF16) {
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, (const uint8_t *)v->src + 2 * i, 2);
            ((float *)d)[i] = v->src_dtype == NN_F16 ? nn_f16_to_f32(h) : nn_bf16_to_f32(h);
        }
    } else {
        memcpy(d, v->src, value_bytes(v));
    }
    v->data = d;
    v->owned = true;
    v->released = false;
}
