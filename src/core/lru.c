/* A thread-safe LRU cache of reference-counted values.
 *
 * Each entry sits in two intrusive hash chains, one by key (live entries only) and one
 * by value pointer (live and evicted-but-referenced entries), plus the recency list.
 * The value chain is what lets lru_release find an entry from the pointer it handed out. */
#include "core/core.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct entry {
    uint64_t key;
    void *value;
    size_t bytes;
    int refs;                  /* the cache's own reference counts as one while live */
    bool live;                 /* still findable by key */
    struct entry *prev, *next; /* recency list, most recent first */
    struct entry *knext, *vnext;
} entry;

struct lru {
    pthread_mutex_t mu;
    size_t max_entries, max_bytes;
    lru_free_fn free_fn;
    entry **kbuckets, **vbuckets;
    size_t nbuckets;
    entry *head, *tail;
    size_t count, bytes;
    uint64_t hits, misses;
};

static size_t vslot(const lru *c, const void *v)
{
    return (size_t)(hash64(&v, sizeof v) & (c->nbuckets - 1));
}

static size_t kslot(const lru *c, uint64_t k)
{
    return (size_t)((k ^ (k >> 29)) * 0x9E3779B97F4A7C15ull >> 7) & (c->nbuckets - 1);
}

lru *lru_new(size_t max_entries, size_t max_bytes, lru_free_fn free_fn)
{
    lru *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->max_entries = max_entries ? max_entries : 1;
    c->max_bytes = max_bytes;
    c->free_fn = free_fn;
    c->nbuckets = 16;
    while (c->nbuckets < c->max_entries * 2 && c->nbuckets < (1u << 20)) c->nbuckets <<= 1;
    c->kbuckets = xcalloc(c->nbuckets, sizeof *c->kbuckets);
    c->vbuckets = xcalloc(c->nbuckets, sizeof *c->vbuckets);
    return c;
}

static void list_unlink(lru *c, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(lru *c, entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head) c->head->prev = e;
    c->head = e;
    if (!c->tail) c->tail = e;
}

static void key_unlink(lru *c, entry *e)
{
    entry **p = &c->kbuckets[kslot(c, e->key)];
    while (*p && *p != e) p = &(*p)->knext;
    if (*p) *p = e->knext;
}

static void val_unlink(lru *c, entry *e)
{
    entry **p = &c->vbuckets[vslot(c, e->value)];
    while (*p && *p != e) p = &(*p)->vnext;
    if (*p) *p = e->vnext;
}

/* Drops one reference; returns the value to free (outside the lock) or NULL. */
static void *unref(lru *c, entry *e)
{
    if (--e->refs > 0) return NULL;
    val_unlink(c, e);
    void *v = e->value;
    free(e);
    return v;
}

/* Takes e out of the cache (it may live on while referenced). */
static void *evict(lru *c, entry *e)
{
    list_unlink(c, e);
    key_unlink(c, e);
    e->live = false;
    c->count--;
    c->bytes -= e->bytes;
    return unref(c, e);
}

static void drop(lru *c, void **victims, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (victims[i] && c->free_fn) c->free_fn(victims[i]);
}

void lru_free(lru *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (entry *e = c->vbuckets[i], *n; e; e = n) {
            n = e->vnext;
            if (c->free_fn) c->free_fn(e->value);
            free(e);
        }
    }
    free(c->kbuckets);
    free(c->vbuckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void *lru_get(lru *c, uint64_t key)
{
    pthread_mutex_lock(&c->mu);
    entry *e = c->kbuckets[kslot(c, key)];
    while (e && e->key != key) e = e->knext;
    void *v = NULL;
    if (e) {
        e->refs++;
        list_unlink(c, e);
        list_push_front(c, e);
        v = e->value;
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->mu);
    return v;
}

void *lru_put(lru *c, uint64_t key, void *value, size_t bytes)
{
    entry *e = xcalloc(1, sizeof *e);
    e->key = key;
    e->value = value;
    e->bytes = bytes;
    e->refs = 1; /* the caller's */
    void *victims[64];
    size_t nv = 0;

    pthread_mutex_lock(&c->mu);
    bool cacheable = !c->max_bytes || bytes <= c->max_bytes;
    if (cacheable) {
        entry *old = c->kbuckets[kslot(c, key)];
        while (old && old->key != key) old = old->knext;
        if (old) victims[nv++] = evict(c, old);
        e->refs++;
        e->live = true;
        list_push_front(c, e);
        size_t s = kslot(c, key);
        e->knext = c->kbuckets[s];
        c->kbuckets[s] = e;
        c->count++;
        c->bytes += bytes;
        while ((c->count > c->max_entries || (c->max_bytes && c->bytes > c->max_bytes)) &&
               c->tail != e && nv < ARRAY_LEN(victims))
            victims[nv++] = evict(c, c->tail);
    }
    size_t s = vslot(c, value);
    e->vnext = c->vbuckets[s];
    c->vbuckets[s] = e;
    pthread_mutex_unlock(&c->mu);
    drop(c, victims, nv);
    return value;
}

void lru_release(lru *c, void *value)
{
    if (!value) return;
    pthread_mutex_lock(&c->mu);
    entry *e = c->vbuckets[vslot(c, value)];
    while (e && e->value != value) e = e->vnext;
    void *v = e ? unref(c, e) : NULL;
    pthread_mutex_unlock(&c->mu);
    if (v && c->free_fn) c->free_fn(v);
}

size_t lru_count(lru *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->count;
    pthread_mutex_unlock(&c->mu);
    return n;
}

size_t lru_bytes(lru *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->bytes;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void lru_stats(lru *c, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&c->mu);
    if (hits) *hits = c->hits;
    if (misses) *misses = c->misses;
    pthread_mutex_unlock(&c->mu);
}
