/* Photos as the handlers use them: decoded once per upload (an LRU keyed by a keyed hash
 * of the bytes), with what depends on the photo alone made once and kept beside it: the
 * embedding cache's key (a hash of 5 MB of pixels for a 1500 x 1125 photo) and the edges
 * the refinement reads (Canny and dilation of the whole photo, ~20 ms). Segmenting box
 * after box of one photo, as the app does, then costs the decoder and little else. */
#include "segment/segment_impl.h"

#include <stdlib.h>

static lru *cache;

static void photo_free(void *v)
{
    segment_photo *p = v;
    img_free(p->photo);
    sam_edges_free(p->edges);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void segment_photos_init(size_t entries, size_t bytes)
{
    if (entries > 0) cache = lru_new(entries, bytes, photo_free);
}

void segment_photos_free(void)
{
    if (cache) lru_free(cache);
    cache = NULL;
}

/* What an entry holds: the photo, and its edges and near-edge maps once made. */
static size_t photo_bytes(const img *p)
{
    return p->stride * (size_t)p->h + 2 * (size_t)p->w * (size_t)p->h;
}

segment_photo *segment_photo_get(http_res *rs, const void *data, size_t len, bool *cached)
{
    uint64_t key = 0;
    *cached = false;
    if (cache) {
        key = hash64_keyed(data, len);
        segment_photo *p = lru_get(cache, key);
        if (p) {
            *cached = true;
            return p;
        }
    }
    img_decode_params dp = img_decode_default_params();
    err e = {0};
    img *photo = img_decode(data, len, &dp, NULL, &e);
    if (!photo) {
        http_res_err(rs, &e);
        return NULL;
    }
    segment_photo *p = xcalloc(1, sizeof *p);
    p->photo = photo;
    p->key = sam_photo_key(photo);
    pthread_mutex_init(&p->mu, NULL);
    return cache ? lru_put(cache, key, p, photo_bytes(photo)) : p;
}

const sam_edges *segment_photo_edges(segment_photo *p)
{
    pthread_mutex_lock(&p->mu);
    if (!p->edges) p->edges = sam_edges_new(p->photo);
    pthread_mutex_unlock(&p->mu);
    return p->edges;
}

void segment_photo_release(segment_photo *p)
{
    if (!p) return;
    if (cache)
        lru_release(cache, p);
    else
        photo_free(p);
}

void segment_photos_health(json_t *o)
{
    if (!cache) {
        json_object_set_new(o, "photos", json_null());
        return;
    }
    uint64_t hits, misses;
    lru_stats(cache, &hits, &misses);
    json_object_set_new(o, "photos",
                        json_pack("{s:I,s:I,s:I,s:I}", "entries", (json_int_t)lru_count(cache),
                                  "bytes", (json_int_t)lru_bytes(cache), "hits", (json_int_t)hits,
                                  "misses", (json_int_t)misses));
}
