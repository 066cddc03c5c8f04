/* Photos: decoded once per content (the original's LRU of decoded images, here keyed by a
 * keyed hash of the bytes so one client cannot make another's photo collide with
 * theirs), the model input made from them, and the annotated JPEG. */
#include "detect/detect_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lru *cache;
static img_font *font;

static void photo_free(void *v)
{
    detect_photo *p = v;
    img_free(p->photo);
    yolo_input_free(&p->in);
    free(p->annotated);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int detect_cache_init(err *e)
{
    (void)e;
    if (detect_conf.cache_entries > 0)
        cache = lru_new((size_t)detect_conf.cache_entries, detect_conf.cache_bytes, photo_free);
    err fe = {0};
    font = img_font_load(NULL, 16, &fe);
    if (!font) log_warn("annotated images will have no captions reason=\"%s\"", fe.msg);
    return 0;
}

void detect_cache_free(void)
{
    if (cache) lru_free(cache);
    cache = NULL;
    img_font_free(font);
    font = NULL;
}

static size_t photo_bytes(const detect_photo *p)
{
    return p->photo->stride * (size_t)p->photo->h + yolo_input_bytes(&p->in);
}

detect_photo *detect_photo_get(yolo *y, const void *bytes, size_t len, detect_timing *t, err *e)
{
    uint64_t key = 0;
    if (cache) {
        key = hash64_keyed(bytes, len);
        detect_photo *p = lru_get(cache, key);
        if (p) {
            t->cached = true;
            return p;
        }
    }
    double t0 = now_s();
    /* Full size (no fit hint): the boxes then match the Python reference's pixel for
     * pixel, and the annotated image is the photo's own size. */
    img_decode_params dp = img_decode_default_params();
    img *photo = img_decode(bytes, len, &dp, NULL, e);
    if (!photo) return NULL;
    double t1 = now_s();
    detect_photo *p = xcalloc(1, sizeof *p);
    p->photo = photo;
    pthread_mutex_init(&p->mu, NULL);
    yolo_prepare(y, photo, &p->in);
    t->decode = (t1 - t0) * 1e3;
    t->prep = (now_s() - t1) * 1e3;
    return cache ? lru_put(cache, key, p, photo_bytes(p)) : p;
}

void detect_photo_release(detect_photo *p)
{
    if (!p) return;
    if (cache)
        lru_release(cache, p);
    else
        photo_free(p);
}

void detect_cache_health(json_t *o)
{
    if (!cache) {
        json_object_set_new(o, "cache", json_null());
        return;
    }
    uint64_t hits, misses;
    lru_stats(cache, &hits, &misses);
    json_object_set_new(o, "cache",
                        json_pack("{s:I,s:I,s:I,s:I}", "entries", (json_int_t)lru_count(cache),
                                  "bytes", (json_int_t)lru_bytes(cache), "hits", (json_int_t)hits,
                                  "misses", (json_int_t)misses));
}

void detect_cache_metrics(http_strbuf *out, void *ud)
{
    (void)ud;
    if (!cache) return;
    uint64_t hits, misses;
    lru_stats(cache, &hits, &misses);
    http_strbuf_printf(out,
                       "# TYPE detect_photo_cache_hits_total counter\n"
                       "detect_photo_cache_hits_total %llu\n"
                       "# TYPE detect_photo_cache_misses_total counter\n"
                       "detect_photo_cache_misses_total %llu\n"
                       "# TYPE detect_photo_cache_entries gauge\n"
                       "detect_photo_cache_entries %zu\n"
                       "# TYPE detect_photo_cache_bytes gauge\n"
                       "detect_photo_cache_bytes %zu\n",
                       (unsigned long long)hits, (unsigned long long)misses, lru_count(cache),
                       lru_bytes(cache));
}

static uint64_t shown_key(const detect_shown *d, int n)
{
    uint64_t k = hash64(&n, sizeof n);
    for (int i = 0; i < n; i++) {
        int v[5];
        v[0] = d[i].x1, v[1] = d[i].y1, v[2] = d[i].x2, v[3] = d[i].y2;
        memcpy(&v[4], &d[i].score, sizeof(float));
        k = k * 0x9e3779b97f4a7c15ull ^ hash64(v, sizeof v);
        k = k * 0x9e3779b97f4a7c15ull ^ hash64(d[i].label, strlen(d[i].label));
    }
    return k;
}

static char *render(const img *photo, const detect_shown *d, int n, err *e)
{
    img *im = img_clone(photo);
    const img_rgb green = IMG_RGB(0, 255, 0);
    for (int i = 0; i < n; i++) {
        img_draw_rect(im, d[i].x1, d[i].y1, d[i].x2, d[i].y2, green, 2);
        if (!font) continue;
        char caption[160];
        snprintf(caption, sizeof caption, "%s %.2f", d[i].label, (double)d[i].score);
        img_draw_text(im, font, d[i].x1, d[i].y1 - 10, caption, green);
    }
    size_t jlen;
    unsigned char *jpeg = img_encode_jpeg(im, 85, &jlen, e);
    img_free(im);
    if (!jpeg) return NULL;
    size_t blen;
    char *b64 = b64_encode(jpeg, jlen, &blen);
    free(jpeg);
    static const char prefix[] = "data:image/jpeg;base64,";
    char *url = xmalloc(sizeof prefix + blen);
    memcpy(url, prefix, sizeof prefix - 1);
    memcpy(url + sizeof prefix - 1, b64, blen + 1);
    free(b64);
    return url;
}

json_t *detect_annotate(detect_photo *p, const detect_shown *d, int n, err *e)
{
    uint64_t key = shown_key(d, n);
    pthread_mutex_lock(&p->mu);
    if (!p->annotated || p->annotated_key != key) {
        char *url = render(p->photo, d, n, e);
        if (!url) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        free(p->annotated);
        p->annotated = url;
        p->annotated_key = key;
    }
    json_t *out = json_string_nocheck(p->annotated);
    pthread_mutex_unlock(&p->mu);
    return out;
}
