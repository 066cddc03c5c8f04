/* The segment service: configuration, the shared model, GET / and /health, /metrics. */
#include "segment/segment_impl.h"

#include "models/models.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

segment_config segment_cfg;

/* The model and what became of the last attempt to load it. A missing or broken file is
 * not a reason to refuse to start (the service answers 503 and /health says why); the
 * load is tried again once the files' size or time stamp change, so `artistry models
 * pull` while the service runs is enough. */
static struct {
    pthread_mutex_t mu;
    sam_params params;
    char *encoder_path, *decoder_path;
    sam_model *model;
    char error[600];
    char files_seen[128]; /* size and mtime of both files at the last failed load */
    bool tried;
    bool warm_up;
} holder = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void files_signature(char *out, size_t cap)
{
    struct stat a, b;
    bool ha = stat(holder.encoder_path, &a) == 0, hb = stat(holder.decoder_path, &b) == 0;
    snprintf(out, cap, "%d:%lld:%lld/%d:%lld:%lld", ha, ha ? (long long)a.st_size : 0,
             ha ? (long long)a.st_mtime : 0, hb, hb ? (long long)b.st_size : 0,
             hb ? (long long)b.st_mtime : 0);
}

/* Called under holder.mu. */
static void try_load(void)
{
    char sig[sizeof holder.files_seen];
    files_signature(sig, sizeof sig);
    if (holder.tried && strcmp(sig, holder.files_seen) == 0) return;
    holder.tried = true;
    snprintf(holder.files_seen, sizeof holder.files_seen, "%s", sig);
    err e = {0};
    double t0 = now_s();
    holder.model = sam_load(&holder.params, &e);
    if (holder.model) {
        holder.error[0] = 0;
        double t1 = now_s();
        if (holder.warm_up && sam_warm_up(holder.model, &e) != 0)
            log_warn("warm-up failed error=\"%s\"", e.msg);
        log_info("model loaded encoder=%s decoder=%s load_ms=%.0f warm_up_ms=%.0f",
                 holder.encoder_path, holder.decoder_path, (t1 - t0) * 1e3, (now_s() - t1) * 1e3);
        return;
    }
    /* Which file, and the sentence every service uses for it (models.h): the path, and
     * `artistry models pull mobilesam` or the variable to set. */
    bool enc_bad = strncmp(e.msg, "encoder: ", 9) == 0;
    const char *path = enc_bad ? holder.encoder_path : holder.decoder_path;
    char *msg = models_missing_message(path, enc_bad ? "SAM_ENCODER_PATH" : "SAM_DECODER_PATH",
                                       e.status == 404 ? NULL : "cannot be used");
    if (e.status == 404)
        snprintf(holder.error, sizeof holder.error, "%s", msg);
    else
        snprintf(holder.error, sizeof holder.error, "%s (%s)", msg, e.msg);
    free(msg);
    log_warn("model not loaded error=\"%s\"", e.msg);
}

sam_model *segment_model(http_res *rs)
{
    pthread_mutex_lock(&holder.mu);
    if (!holder.model) try_load();
    sam_model *m = holder.model;
    if (!m) {
        http_res_error(rs, 503, "%s", holder.error);
        http_res_header(rs, "Retry-After", "60");
    }
    pthread_mutex_unlock(&holder.mu);
    return m;
}

void segment_model_health(json_t *o)
{
    pthread_mutex_lock(&holder.mu);
    json_t *m = json_object();
    json_object_set_new(m, "encoder", json_string(holder.encoder_path));
    json_object_set_new(m, "decoder", json_string(holder.decoder_path));
    json_object_set_new(m, "loaded", json_boolean(holder.model != NULL));
    json_object_set_new(m, "error", holder.error[0] ? json_string(holder.error) : json_null());
    json_object_set_new(o, "model", m);
    json_t *c = json_object();
    sam_cache_stats st = {.capacity = holder.params.cache_entries};
    if (holder.model) sam_cache_stats_get(holder.model, &st);
    json_object_set_new(c, "entries", json_integer((json_int_t)st.entries));
    json_object_set_new(c, "capacity", json_integer((json_int_t)st.capacity));
    json_object_set_new(c, "hits", json_integer((json_int_t)st.hits));
    json_object_set_new(c, "misses", json_integer((json_int_t)st.misses));
    json_object_set_new(c, "encoder_runs", json_integer((json_int_t)st.encoder_runs));
    json_object_set_new(o, "cache", c);
    pthread_mutex_unlock(&holder.mu);
    segment_photos_health(o);
}

static json_t *status_body(void)
{
    return json_pack("{s:s,s:s,s:s}", "status", "ok", "service", SEGMENT_SERVICE_NAME, "device",
                     "cpu");
}

static void root(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    (void)ud;
    http_res_json(rs, 200, status_body());
}

static void health(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    (void)ud;
    json_t *o = status_body();
    segment_model_health(o);
    json_object_set_new(o, "rss_bytes", json_integer((json_int_t)proc_rss_bytes()));
    http_res_json(rs, 200, o);
}

static void metrics(http_strbuf *out, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&holder.mu);
    sam_cache_stats st = {0};
    if (holder.model) sam_cache_stats_get(holder.model, &st);
    http_strbuf_printf(out,
                       "# HELP artistry_segment_model_loaded Whether MobileSAM is loaded.\n"
                       "# TYPE artistry_segment_model_loaded gauge\n"
                       "artistry_segment_model_loaded %d\n"
                       "# HELP artistry_segment_embeddings_total Photo embeddings asked for, by "
                       "where they came from.\n"
                       "# TYPE artistry_segment_embeddings_total counter\n"
                       "artistry_segment_embeddings_total{source=\"cache\"} %llu\n"
                       "artistry_segment_embeddings_total{source=\"encoder\"} %llu\n"
                       "# HELP artistry_segment_cache_entries Embeddings in the cache.\n"
                       "# TYPE artistry_segment_cache_entries gauge\n"
                       "artistry_segment_cache_entries %zu\n",
                       holder.model != NULL, (unsigned long long)st.hits,
                       (unsigned long long)st.misses, st.entries);
    pthread_mutex_unlock(&holder.mu);
}

static int read_config(err *e)
{
    /* Defaults: where `artistry models pull mobilesam` puts the files (data/models.json). */
    const char *enc = cfg_str("SAM_ENCODER_PATH", NULL), *dec = cfg_str("SAM_DECODER_PATH", NULL);
    holder.encoder_path = enc ? xstrdup(enc) : models_path("mobilesam-encoder.onnx");
    holder.decoder_path = dec ? xstrdup(dec) : models_path("mobilesam-decoder.onnx");
    holder.params = sam_default_params();
    holder.params.encoder_path = holder.encoder_path;
    holder.params.decoder_path = holder.decoder_path;
    long v;
    if (cfg_int("SEGMENT_THREADS", 0, 0, 1024, &v, e) != 0) return -1;
    holder.params.threads = (int)v;
    if (cfg_bool("SEGMENT_WARMUP", true, &holder.warm_up, e) != 0) return -1;
    if (cfg_int("SEGMENT_CACHE_ENTRIES", (long)holder.params.cache_entries, 0, 4096, &v, e) != 0)
        return -1;
    holder.params.cache_entries = (size_t)v;
    if (cfg_bool("SEGMENT_KEEP_ENCODER_MEMORY", false, &holder.params.keep_encoder_memory, e) != 0)
        return -1;
    if (cfg_int("SEGMENT_PHOTO_CACHE", 4, 0, 4096, &v, e) != 0) return -1;
    segment_cfg.photo_cache = (size_t)v;
    if (cfg_size("SEGMENT_PHOTO_CACHE_BYTES", (size_t)64 << 20, 0, (size_t)1 << 40,
                 &segment_cfg.photo_cache_bytes, e) != 0)
        return -1;
    if (cfg_int("SEGMENT_MAX_BOXES", 100, 0, 100000, &segment_cfg.max_boxes, e) != 0) return -1;
    if (cfg_int("SEGMENT_MAX_SAMPLES", 100, 0, 100000, &segment_cfg.max_samples, e) != 0) return -1;
    if (cfg_size("SEGMENT_MAX_MASK_JSON", (size_t)1 << 30, 1024, (size_t)1 << 40,
                 &segment_cfg.max_mask_json, e) != 0)
        return -1;
    return 0;
}

static void segment_fini(void)
{
    segment_photos_free();
    pthread_mutex_lock(&holder.mu);
    sam_free(holder.model);
    holder.model = NULL;
    holder.tried = false;
    holder.error[0] = 0;
    free(holder.encoder_path);
    free(holder.decoder_path);
    holder.encoder_path = holder.decoder_path = NULL;
    pthread_mutex_unlock(&holder.mu);
}

static int segment_init(http_server *s, err *e)
{
    if (read_config(e) != 0) return -1;
    segment_photos_init(segment_cfg.photo_cache, segment_cfg.photo_cache_bytes);
    /* Every request here allocates and frees buffers of megabytes (masks, logits, base64,
     * the overlay). glibc raises its mmap threshold after the first such free and then
     * keeps them in per-thread heaps it seldom returns: the same seven requests left the
     * service at 481 MB with the default and 381 MB with a fixed 256 KiB threshold, where
     * large buffers are mapped and unmapped each time. This process runs only this
     * service, so the setting is ours to make. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024);
    bool preload;
    if (cfg_bool("SEGMENT_PRELOAD", true, &preload, e) != 0) return -1;
    if (preload) {
        pthread_mutex_lock(&holder.mu);
        try_load();
        pthread_mutex_unlock(&holder.mu);
    }
    http_route(s, "GET", "/", root, NULL, &(http_route_opts){.summary = "Service status"});
    http_route(s, "GET", "/health", health, NULL,
               &(http_route_opts){.summary = "Health check, with the model and its cache"});
    segment_routes(s);
    http_server_metrics(s, metrics, NULL);
    return 0;
}

const http_service segment_service = {
    .name = "segment",
    .title = "MobileSAM Service (Optimized)",
    .port = 8002,
    .init = segment_init,
    .fini = segment_fini,
};
