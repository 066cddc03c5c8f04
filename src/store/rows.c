/* Result sets: cells copied out of the connection into one arena, so a result outlives the
 * connection it came from and is freed in one go. */
#include "store/store_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store_rows {
    arena *mem;
    size_t ncols, nrows, cap; /* cap in rows */
    char **names;
    store_value *cells; /* nrows x ncols, row-major */
};

store_value store_null(void)
{
    return (store_value){.type = STORE_NULL};
}

store_value store_int(int64_t v)
{
    return (store_value){.type = STORE_INT, .i = v};
}

store_value store_double(double v)
{
    return (store_value){.type = STORE_DOUBLE, .d = v};
}

store_value store_text(const char *s)
{
    if (!s) return store_null();
    return (store_value){.type = STORE_TEXT, .p = s, .len = strlen(s)};
}

store_value store_blob(const void *p, size_t len)
{
    return (store_value){.type = STORE_BLOB, .p = p ? p : "", .len = len};
}

store_rows *store_rows_new(size_t ncols)
{
    store_rows *r = xcalloc(1, sizeof *r);
    r->mem = arena_new(4096);
    r->ncols = ncols;
    r->names = arena_calloc(r->mem, ncols ? ncols : 1, sizeof(char *));
    return r;
}

void store_rows_set_name(store_rows *r, size_t col, const char *name)
{
    if (col < r->ncols) r->names[col] = arena_strdup(r->mem, name ? name : "");
}

store_value *store_rows_add(store_rows *r)
{
    if (r->nrows == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->cells = xrealloc(r->cells, r->cap * (r->ncols ? r->ncols : 1) * sizeof(store_value));
    }
    store_value *row = r->cells + r->nrows * r->ncols;
    for (size_t c = 0; c < r->ncols; c++) row[c] = store_null();
    r->nrows++;
    return row;
}

void *store_rows_copy(store_rows *r, const void *p, size_t n)
{
    char *dst = arena_alloc(r->mem, n + 1);
    if (n) memcpy(dst, p, n);
    dst[n] = '\0';
    return dst;
}

void store_rows_free(store_rows *r)
{
    if (!r) return;
    arena_free(r->mem);
    free(r->cells);
    free(r);
}

size_t store_rows_count(const store_rows *r)
{
    return r ? r->nrows : 0;
}

size_t store_rows_columns(const store_rows *r)
{
    return r ? r->ncols : 0;
}

const char *store_rows_name(const store_rows *r, size_t col)
{
    return r && col < r->ncols ? r->names[col] : NULL;
}

const store_value *store_rows_cell(const store_rows *r, size_t row, size_t col)
{
    static const store_value null_cell = {.type = STORE_NULL};
    if (!r || row >= r->nrows || col >= r->ncols) return &null_cell;
    return &r->cells[row * r->ncols + col];
}

bool store_rows_is_null(const store_rows *r, size_t row, size_t col)
{
    return store_rows_cell(r, row, col)->type == STORE_NULL;
}

int64_t store_rows_int(const store_rows *r, size_t row, size_t col)
{
    const store_value *v = store_rows_cell(r, row, col);
    switch (v->type) {
    case STORE_INT:
        return v->i;
    case STORE_DOUBLE:
        return (int64_t)v->d;
    case STORE_TEXT:
    case STORE_BLOB:
        return strtoll(v->p, NULL, 10);
    default:
        return 0;
    }
}

double store_rows_double(const store_rows *r, size_t row, size_t col)
{
    const store_value *v = store_rows_cell(r, row, col);
    switch (v->type) {
    case STORE_INT:
        return (double)v->i;
    case STORE_DOUBLE:
        return v->d;
    case STORE_TEXT:
    case STORE_BLOB:
        return strtod(v->p, NULL);
    default:
        return 0;
    }
}

const char *store_rows_text(const store_rows *r, size_t row, size_t col)
{
    store_value *v = (store_value *)store_rows_cell(r, row, col);
    if (v->type == STORE_NULL) return NULL;
    if (v->type == STORE_TEXT || v->type == STORE_BLOB || v->p) return v->p;
    /* A number read as text gets its decimal form once, kept beside it in the result (the
     * cell keeps its type; p is otherwise unused for numbers). */
    char buf[64];
    if (v->type == STORE_INT)
        snprintf(buf, sizeof buf, "%" PRId64, v->i);
    else
        snprintf(buf, sizeof buf, "%.17g", v->d);
    v->len = strlen(buf);
    v->p = store_rows_copy((store_rows *)r, buf, v->len);
    return v->p;
}

char *store_rows_dup(const store_rows *r, size_t row, size_t col)
{
    const store_value *v = store_rows_cell(r, row, col);
    if (v->type == STORE_BLOB) {
        char *b = xmalloc(v->len + 1);
        memcpy(b, v->p, v->len + 1); /* cells are NUL-terminated */
        return b;
    }
    const char *t = store_rows_text(r, row, col);
    return t ? xstrdup(t) : NULL;
}

const void *store_rows_blob(const store_rows *r, size_t row, size_t col, size_t *len)
{
    const char *t = store_rows_text(r, row, col);
    if (len) *len = t ? store_rows_cell(r, row, col)->len : 0;
    return t;
}
