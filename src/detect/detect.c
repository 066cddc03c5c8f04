/* The detect service: configuration, the model's life, health and the two routes. */
#include "detect/detect_impl.h"
#include "models/models.h"

#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

detect_cfg detect_conf;

static struct {
    char *model_path;
    _Atomic(yolo *) model;
    pthread_mutex_t mu;     /* held while loading */
    pthread_mutex_t err_mu; /* error: written holding both, read holding either */
    char *error;            /* why the model is not loaded, for 503s and /health */
    struct stat tried;      /* the file as it was at the last failed load */
    bool tried_exists;
    atomic_bool loading;
    pthread_t loader; /* the preload thread */
    bool has_loader;
} model = {.mu = PTHREAD_MUTEX_INITIALIZER, .err_mu = PTHREAD_MUTEX_INITIALIZER};

/* ---------------------------------------------------------------- the model */

/* A failed load is retried only when the file has changed since (appeared, replaced),
 * so a missing model costs one stat per request, not a parse. */
static bool worth_trying(void)
{
    struct stat st;
    bool exists = stat(model.model_path, &st) == 0;
    if (!model.error) return true;
    if (exists != model.tried_exists) return true;
    return exists && (st.st_mtim.tv_sec != model.tried.st_mtim.tv_sec ||
                      st.st_mtim.tv_nsec != model.tried.st_mtim.tv_nsec ||
                      st.st_size != model.tried.st_size || st.st_ino != model.tried.st_ino);
}

/* Runs one blank photo through, so the plan is built before the first user waits for it
 * and a model the engine cannot run is known before anyone asks. */
static int warm_up(yolo *y, err *e)
{
    img *blank = img_new_zero(64, 48, 3);
    yolo_input in;
    yolo_prepare(y, blank, &in);
    yolo_det *d;
    int n = yolo_detect(y, &in, 0.5f, 0.5f, &d, NULL, e);
    if (n > 0) free(d);
    yolo_input_free(&in);
    img_free(blank);
    return n < 0 ? -1 : 0;
}

static void set_error(char *msg)
{
    pthread_mutex_lock(&model.err_mu);
    free(model.error);
    model.error = msg;
    pthread_mutex_unlock(&model.err_mu);
}

/* With model.mu held. */
static void load_locked(void)
{
    atomic_store(&model.loading, true);
    model.tried_exists = stat(model.model_path, &model.tried) == 0;
    double t0 = now_s();
    err e = {0};
    yolo *y = yolo_load(model.model_path, &detect_conf.yolo, &e);
    if (y && warm_up(y, &e) != 0) {
        yolo_free(y);
        y = NULL;
        e.status = 500;
    }
    if (!y) {
        char *msg;
        if (e.status == 404) {
            msg = models_missing_message(model.model_path, "MODEL_PATH", NULL);
        } else {
            msg = xasprintf("model file %s cannot be used: %s; set MODEL_PATH to another "
                            "detection model",
                            model.model_path, e.msg);
        }
        set_error(msg);
        log_warn("model not loaded model=%s reason=\"%s\"", model.model_path, msg);
        atomic_store(&model.loading, false);
        return;
    }
    int w, h;
    yolo_input_size(y, &w, &h);
    log_info("model loaded model=%s family=%s input=%dx%d classes=%d names=%s "
             "precision=%s ms=%.0f",
             model.model_path, yolo_family_name(yolo_model_family(y)), w, h, yolo_class_count(y),
             yolo_names_source(y), yolo_precision(y), (now_s() - t0) * 1e3);
    set_error(NULL);
    atomic_store(&model.model, y);
    atomic_store(&model.loading, false);
}

/* Preloading in the background: the port opens at once and /health says "loading";
 * requests that come meanwhile wait for the model (detect_model takes the same lock). */
static void *preload(void *arg)
{
    (void)arg;
    log_set_request_id("preload");
    pthread_mutex_lock(&model.mu);
    if (!atomic_load(&model.model)) load_locked();
    pthread_mutex_unlock(&model.mu);
    return NULL;
}

yolo *detect_model(err *e)
{
    yolo *y = atomic_load(&model.model);
    if (y) return y;
    pthread_mutex_lock(&model.mu);
    if (!atomic_load(&model.model) && worth_trying()) load_locked();
    y = atomic_load(&model.model);
    if (!y) err_set(e, 503, "%s", model.error);
    pthread_mutex_unlock(&model.mu);
    return y;
}

void detect_model_health(json_t *o)
{
    const char *slash = strrchr(model.model_path, '/');
    json_object_set_new(o, "model", json_string(slash ? slash + 1 : model.model_path));
    json_object_set_new(o, "model_path", json_string(model.model_path));
    yolo *y = atomic_load(&model.model);
    json_object_set_new(o, "loaded", json_boolean(y != NULL));
    json_object_set_new(o, "loading", json_boolean(!y && atomic_load(&model.loading)));
    if (y) {
        int w, h;
        yolo_input_size(y, &w, &h);
        json_object_set_new(o, "input_size", json_pack("[i,i]", w, h));
        json_object_set_new(o, "precision", json_string(yolo_precision(y)));
        json_object_set_new(o, "family", json_string(yolo_family_name(yolo_model_family(y))));
        json_object_set_new(o, "classes", json_integer(yolo_class_count(y)));
        json_object_set_new(o, "threads", json_integer(nn_model_threads(yolo_nn(y))));
        json_object_set_new(o, "error", json_null());
        return;
    }
    json_object_set_new(o, "input_size", json_null());
    json_object_set_new(o, "precision", json_null());
    pthread_mutex_lock(&model.err_mu);
    json_object_set_new(o, "error", model.error ? json_string(model.error) : json_null());
    pthread_mutex_unlock(&model.err_mu);
}

/* ---------------------------------------------------------------- handlers */

static void health(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    (void)ud;
    json_t *o =
        json_pack("{s:s,s:s,s:s}", "status", "ok", "service", "Detect (YOLOv8)", "device", "cpu");
    detect_model_health(o);
    /* Up but unable to detect: still 200 (the process answers), and it says why. */
    if (json_is_string(json_object_get(o, "error")))
        json_object_set_new(o, "status", json_string("degraded"));
    json_object_set_new(o, "interior_filter", json_boolean(detect_conf.interior));
    detect_cache_health(o);
    http_res_json(rs, 200, o);
}

/* conf_threshold / iou_threshold: floats in [0, 1] (the original took anything; NaN or a
 * negative threshold is a client's mistake worth a 422). */
static double threshold(http_req *rq, json_t *body, const char *key, double def)
{
    double v;
    if (!http_json_num(rq, body, key, HTTP_OPTIONAL, def, &v)) return def;
    json_t *in = json_object_get(body, key);
    if (!isfinite(v))
        http_req_error(rq, "finite_number", "Input should be a finite number", "body", key, in);
    else if (v < 0)
        http_req_error(rq, "greater_than_equal", "Input should be greater than or equal to 0",
                       "body", key, in);
    else if (v > 1)
        http_req_error(rq, "less_than_equal", "Input should be less than or equal to 1", "body",
                       key, in);
    return v;
}

static void server_timing(http_res *rs, const detect_timing *t)
{
    char h[256];
    snprintf(h, sizeof h,
             "decode;dur=%.2f, prep;dur=%.2f, tensor;dur=%.2f, infer;dur=%.2f, post;dur=%.2f, "
             "annotate;dur=%.2f, total;dur=%.2f%s",
             t->decode, t->prep, t->tensor, t->infer, t->post, t->annotate, t->total,
             t->cached ? ", cache;desc=hit" : "");
    http_res_header(rs, "Server-Timing", h);
    log_info("detected cached=%s decode_ms=%.2f prep_ms=%.2f tensor_ms=%.2f infer_ms=%.2f "
             "post_ms=%.2f annotate_ms=%.2f total_ms=%.2f",
             t->cached ? "true" : "false", t->decode, t->prep, t->tensor, t->infer, t->post,
             t->annotate, t->total);
}

/* Decodes (or finds) the photo and runs the model; fills the shown detections (the
 * interior filter and renames applied when configured). Returns their count, or -1 having
 * answered the request. *photo is the caller's to release. */
static int run(http_res *rs, const void *bytes, size_t len, double conf, double iou,
               detect_photo **photo, detect_shown **shown, detect_timing *t)
{
    err e = {0};
    yolo *y = detect_model(&e);
    if (!y) {
        http_res_err(rs, &e);
        return -1;
    }
    detect_photo *p = detect_photo_get(y, bytes, len, t, &e);
    if (!p) {
        http_res_err(rs, &e);
        return -1;
    }
    yolo_det *d;
    yolo_timing yt = {0};
    int n = yolo_detect(y, &p->in, (float)conf, (float)iou, &d, &yt, &e);
    if (n < 0) {
        detect_photo_release(p);
        log_error("inference failed error=\"%s\"", e.msg);
        http_res_err(rs, &e);
        return -1;
    }
    t->tensor = yt.tensor_ms;
    t->infer = yt.infer_ms;
    t->post = yt.post_ms;
    detect_shown *s = xcalloc((size_t)MAX(n, 1), sizeof *s);
    int k = 0;
    for (int i = 0; i < n; i++) {
        const char *raw = yolo_class_name(y, d[i].cls);
        const char *label = detect_conf.interior ? yolo_interior_label(raw) : raw;
        if (!label) continue;
        /* Python's int(): toward zero; the boxes are clipped to the photo, so >= 0. */
        s[k++] = (detect_shown){label,        (int)d[i].x1, (int)d[i].y1,
                                (int)d[i].x2, (int)d[i].y2, d[i].score};
    }
    free(d);
    *photo = p;
    *shown = s;
    return k;
}

static const char *const data_prefix = "data:";

static void detect_json(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    double t0 = now_s();
    json_t *body = http_req_json(rq);
    const char *b64 = http_json_str(rq, body, "image_b64", HTTP_REQUIRED, NULL);
    double conf = threshold(rq, body, "conf_threshold", detect_conf.conf);
    double iou = threshold(rq, body, "iou_threshold", detect_conf.iou);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    if (strncmp(b64, data_prefix, strlen(data_prefix)) == 0)
        return http_res_error(rs, 400,
                              "image_b64 must be raw base64, without a 'data:...;base64,' prefix");
    size_t len;
    err e = {0};
    unsigned char *bytes = b64_decode(b64, strlen(b64), &len, &e);
    if (!bytes) return http_res_error(rs, 400, "image_b64 is not valid base64: %s", e.msg);
    if (len == 0) {
        free(bytes);
        return http_res_error(rs, 400, "image_b64 is empty");
    }
    detect_timing t = {0};
    detect_photo *p;
    detect_shown *s;
    int n = run(rs, bytes, len, conf, iou, &p, &s, &t);
    free(bytes);
    if (n < 0) return;
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s,s:i,s:i,s:i,s:i,s:f}", "label", s[i].label,
                                              "x1", s[i].x1, "y1", s[i].y1, "x2", s[i].x2, "y2",
                                              s[i].y2, "score", (double)s[i].score));
    free(s);
    detect_photo_release(p);
    t.total = (now_s() - t0) * 1e3;
    server_timing(rs, &t);
    http_res_json(rs, 200, json_pack("{s:o}", "bboxes", list));
}

static void detect_form(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    double t0 = now_s();
    const http_part *file = http_form_file(rq, "file", HTTP_REQUIRED);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    if (file->len == 0) return http_res_error(rs, 400, "file is empty");
    detect_timing t = {0};
    detect_photo *p;
    detect_shown *s;
    int n = run(rs, file->data, file->len, detect_conf.conf, detect_conf.iou, &p, &s, &t);
    if (n < 0) return;
    double ta = now_s();
    err e = {0};
    json_t *annotated = detect_annotate(p, s, n, &e);
    detect_photo_release(p);
    if (!annotated) {
        free(s);
        log_error("annotation failed error=\"%s\"", e.msg);
        return http_res_err(rs, &e);
    }
    t.annotate = (now_s() - ta) * 1e3;
    json_t *objects = json_array(), *boxes = json_array(), *confidence = json_array();
    for (int i = 0; i < n; i++) {
        json_array_append_new(objects, json_string(s[i].label));
        json_array_append_new(boxes, json_pack("{s:i,s:i,s:i,s:i}", "x1", s[i].x1, "y1", s[i].y1,
                                               "x2", s[i].x2, "y2", s[i].y2));
        json_array_append_new(confidence, json_real((double)s[i].score));
    }
    free(s);
    t.total = (now_s() - t0) * 1e3;
    server_timing(rs, &t);
    http_res_json(rs, 200,
                  json_pack("{s:o,s:o,s:o,s:o}", "objects", objects, "annotated_image", annotated,
                            "bounding_boxes", boxes, "confidence", confidence));
}

/* ---------------------------------------------------------------- configuration */

static int read_config(err *e)
{
    detect_cfg *c = &detect_conf;
    memset(c, 0, sizeof *c);
    c->yolo = yolo_default_params();
    free(model.model_path);
    const char *path = cfg_str("MODEL_PATH", NULL);
    model.model_path = path ? xstrdup(path) : models_path("yolov8n.onnx");
    c->model_path = model.model_path;
    long threads, entries;
    if (cfg_bool("DETECT_PRELOAD", true, &c->preload, e) != 0 ||
        cfg_bool("DETECT_INTERIOR_FILTER", true, &c->interior, e) != 0 ||
        cfg_double("CONF_THRESHOLD", 0.1, 0, 1, &c->conf, e) != 0 ||
        cfg_double("IOU_THRESHOLD", 0.3, 0, 1, &c->iou, e) != 0 ||
        cfg_int("DETECT_THREADS", 0, 0, 1024, &threads, e) != 0 ||
        cfg_int("DETECT_CACHE_SIZE", 128, 0, 1000000, &entries, e) != 0 ||
        cfg_size("DETECT_CACHE_BYTES", 64u << 20, 0, (size_t)1 << 40, &c->cache_bytes, e) != 0)
        return -1;
    c->yolo.threads = (int)threads;
    c->cache_entries = entries;
    c->yolo.names_path = cfg_str("DETECT_NAMES", NULL);
    const char *prec = cfg_str("DETECT_PRECISION", "fp32");
    if (strcmp(prec, "fp32") == 0) {
        c->yolo.precision = NN_PRECISION_FP32;
    } else if (strcmp(prec, "bf16") == 0) {
        c->yolo.precision = NN_PRECISION_BF16;
    } else {
        err_set(e, 400, "DETECT_PRECISION: '%s' is not fp32 or bf16", prec);
        return -1;
    }
    /* The original picked CUDA when torch saw a GPU; we have the CPU engine only. */
    const char *device = cfg_str("DEVICE", "cpu");
    if (strncmp(device, "cuda", 4) == 0 || strcmp(device, "gpu") == 0)
        log_warn("no GPU backend yet, running on the CPU DEVICE=%s", device);
    else if (strcmp(device, "cpu") != 0 && strcmp(device, "auto") != 0) {
        err_set(e, 400, "DEVICE: '%s' is not cpu, cuda or auto", device);
        return -1;
    }
    return 0;
}

static void detect_fini(void)
{
    if (model.has_loader) pthread_join(model.loader, NULL);
    model.has_loader = false;
    yolo_free(atomic_exchange(&model.model, NULL));
    free(model.error);
    model.error = NULL;
    free(model.model_path);
    model.model_path = NULL;
    detect_cache_free();
}

static int detect_init(http_server *s, err *e)
{
    if (read_config(e) != 0) return -1;
    if (detect_cache_init(e) != 0) return -1;
    /* A request for a new photo allocates and frees the same few buffers of megabytes
     * (the decoded photo, its annotated copy, libjpeg's coefficients for the optimised
     * tables). glibc maps and unmaps such buffers each time until a free raises its
     * threshold, and gives heap memory back as soon as 2x that is free, so each request
     * paid ~4,000 page faults: 6 ms of a 1500x1125 WebP's 19 ms of drawing and encoding.
     * Kept in the worker's heap they are reused; the cost is that each worker keeps its
     * largest request's buffers (segment, with its much larger ones, chose the opposite). */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    if (detect_conf.preload) {
        if (pthread_create(&model.loader, NULL, preload, NULL) != 0) {
            err_set(e, 500, "cannot start the model loading thread");
            return -1;
        }
        model.has_loader = true;
    }
    http_route(s, "GET", "/", health, NULL, &(http_route_opts){.summary = "Service status"});
    http_route(s, "GET", "/health", health, NULL,
               &(http_route_opts){.summary = "Health: model, input size, precision, loaded"});
    http_route(s, "POST", "/detect", detect_json, NULL,
               &(http_route_opts){.summary = "Detect objects in a base64 image (JSON)",
                                  .body = HTTP_BODY_JSON,
                                  .heavy = true});
    http_route(s, "POST", "/detect/", detect_form, NULL,
               &(http_route_opts){.summary = "Detect objects in an uploaded photo (multipart)",
                                  .body = HTTP_BODY_FORM,
                                  .heavy = true});
    http_server_metrics(s, detect_cache_metrics, NULL);
    return 0;
}

const http_service detect_service = {
    .name = "detect",
    .title = "YOLOv8 Detection Service (Optimized)",
    .port = 8001,
    .init = detect_init,
    .fini = detect_fini,
};
