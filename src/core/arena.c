/* Arenas: a chain of blocks, bump-allocated, released together. */
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct block {
    struct block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} block;

struct arena {
    block *head;
    size_t first;
    size_t total; /* bytes handed out */
};

static block *block_new(size_t size)
{
    block *b = xmalloc(sizeof *b + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

arena *arena_new(size_t first_block)
{
    arena *a = xcalloc(1, sizeof *a);
    a->first = first_block ? first_block : 16 * 1024;
    return a;
}

void arena_free(arena *a)
{
    if (!a) return;
    for (block *b = a->head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(a);
}

void arena_reset(arena *a)
{
    block *keep = NULL;
    for (block *b = a->head, *n; b; b = n) {
        n = b->next;
        if (!keep || b->size > keep->size) {
            if (keep) free(keep);
            keep = b;
        } else {
            free(b);
        }
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
    a->total = 0;
}

/* Offset into b->data at which an allocation aligned to `align` may start. */
static size_t aligned_offset(const block *b, size_t align)
{
    uintptr_t p = (uintptr_t)(b->data + b->used);
    return b->used + ((align - (p & (align - 1))) & (align - 1));
}

void *arena_alloc_aligned(arena *a, size_t n, size_t align)
{
    if (align < 16) align = 16;
    block *b = a->head;
    size_t off = b ? aligned_offset(b, align) : 0;
    if (!b || off + n > b->size || off + n < off) {
        size_t want = b ? b->size * 2 : a->first;
        if (want < n + align) want = n + align;
        block *nb = block_new(want);
        nb->next = a->head;
        a->head = b = nb;
        off = aligned_offset(b, align);
    }
    b->used = off + n;
    a->total += n;
    return b->data + off;
}

void *arena_alloc(arena *a, size_t n)
{
    return arena_alloc_aligned(a, n, 16);
}

void *arena_calloc(arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    void *p = arena_alloc(a, n * size);
    memset(p, 0, n * size);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *d = arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *arena_strdup(arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_sprintf(arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    char *s = arena_alloc(a, (size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

size_t arena_used(const arena *a)
{
    return a->total;
}
