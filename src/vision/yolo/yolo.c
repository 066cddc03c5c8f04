/* Loading a detector, preparing photos for it and running it. */
#include "vision/yolo/yolo.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One engine session with the input buffer it reads, reused across calls. */
typedef struct slot {
    nn_session *s;
    float *x;
} slot;

struct yolo {
    nn_model *m;
    yolo_family family;
    int in_w, in_h, nc, anchors, max_det;
    const char *in_name;
    char **names; /* one allocation (yolo_parse_names layout), or NULL for the COCO table */
    char names_source[256];
    const char *precision;
    atomic_int yolox_decoded; /* -1 until the first run tells */
    pthread_mutex_t mu;
    slot *pool;
    int n_pool, cap_pool;
};

yolo_params yolo_default_params(void)
{
    return (yolo_params){.threads = 0, .precision = NN_PRECISION_FP32, .max_det = 300};
}

const char *yolo_family_name(yolo_family f)
{
    return f == YOLO_YOLOX ? "yolox" : "ultralytics";
}

/* Ultralytics writes imgsz as "[640, 640]" (height, width). */
static bool meta_imgsz(const nn_model *m, int *w, int *h)
{
    const char *s = nn_model_meta(m, "imgsz");
    int a, b;
    if (!s || sscanf(s, " [ %d , %d ]", &a, &b) != 2 || a <= 0 || b <= 0 || a > 8192 || b > 8192)
        return false;
    *h = a;
    *w = b;
    return true;
}

/* A names file: one name per line, blank lines at the end ignored. */
static int read_names_file(const char *path, char ***names, err *e)
{
    size_t len;
    char *text = file_read(path, &len, e);
    if (!text) return -1;
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        text[--len] = 0;
    int n = len ? 1 : 0;
    for (size_t i = 0; i < len; i++) n += text[i] == '\n';
    char **out = xmalloc((size_t)n * sizeof(char *) + len + 1);
    char *strings = (char *)(out + n);
    memcpy(strings, text, len + 1);
    free(text);
    char *p = strings;
    for (int i = 0; i < n; i++) {
        out[i] = p;
        char *nl = strchr(p, '\n');
        if (nl) {
            *nl = 0;
            p = nl + 1;
        }
        size_t l = strlen(out[i]);
        if (l && out[i][l - 1] == '\r') out[i][l - 1] = 0;
    }
    *names = out;
    return n;
}

static int load_names(yolo *y, const char *model_path, const yolo_params *p, err *e)
{
    const char *meta = nn_model_meta(y->m, "names");
    if (meta) {
        err pe = {0};
        char **names;
        int n = yolo_parse_names(meta, strlen(meta), &names, &pe);
        if (n == y->nc) {
            y->names = names;
            snprintf(y->names_source, sizeof y->names_source, "metadata");
            return 0;
        }
        if (n >= 0) free(names);
        log_warn("ignoring the names metadata model=%s reason=\"%s\"", model_path,
                 n < 0 ? pe.msg : "count differs from the model's classes");
    }
    char *beside = NULL;
    const char *file = p->names_path;
    if (!file) {
        const char *slash = strrchr(model_path, '/');
        beside = slash ? xasprintf("%.*s/coco.names", (int)(slash - model_path), model_path)
                       : xstrdup("coco.names");
        struct stat st;
        if (stat(beside, &st) == 0) file = beside;
    }
    if (file) {
        char **names;
        int n = read_names_file(file, &names, e);
        if (n >= 0 && n != y->nc) {
            err_set(e, 400, "%s has %d names but the model has %d classes", file, n, y->nc);
            free(names);
            n = -1;
        }
        if (n < 0) {
            free(beside);
            return -1;
        }
        y->names = names;
        snprintf(y->names_source, sizeof y->names_source, "%s", file);
        free(beside);
        return 0;
    }
    free(beside);
    if (y->nc == 80) {
        snprintf(y->names_source, sizeof y->names_source, "coco");
        return 0;
    }
    /* "class0", "class1", ...: at most 12 bytes each. */
    y->names = xmalloc((size_t)y->nc * (sizeof(char *) + 12));
    char *strings = (char *)(y->names + y->nc);
    for (int i = 0; i < y->nc; i++) {
        y->names[i] = strings + (size_t)i * 12;
        snprintf(y->names[i], 12, "class%d", i);
    }
    snprintf(y->names_source, sizeof y->names_source, "numbers");
    return 0;
}

static const char *precision_of(const nn_model *m, nn_precision p)
{
    static const char *const quant[] = {"ConvInteger",           "MatMulInteger",
                                        "QLinearConv",           "QLinearMatMul",
                                        "DynamicQuantizeLinear", "DequantizeLinear"};
    nn_model_stats st;
    nn_model_stats_get(m, &st);
    for (int i = 0; i < st.n_ops; i++)
        for (size_t q = 0; q < ARRAY_LEN(quant); q++)
            if (strcmp(st.ops[i].op, quant[q]) == 0) return "int8";
    return p == NN_PRECISION_BF16 ? "bf16" : "fp32";
}

static bool dim_is(int64_t d, int64_t want)
{
    return d == want || d < 0;
}

static int pick_family(yolo *y, const char *path, err *e)
{
    const nn_value_info *out = nn_model_output(y->m, 0);
    y->anchors = yolo_anchor_count(y->in_w, y->in_h);
    if (out->rank == 3 && dim_is(out->shape[0], 1) && out->dtype == NN_F32) {
        int64_t a = out->shape[1], b = out->shape[2];
        if (a > 4 && dim_is(b, y->anchors)) {
            y->family = YOLO_ULTRALYTICS;
            y->nc = (int)a - 4;
            return 0;
        }
        if (b > 5 && dim_is(a, y->anchors)) {
            y->family = YOLO_YOLOX;
            y->nc = (int)b - 5;
            return 0;
        }
    }
    char shape[64];
    nn_shape_str(out->shape, out->rank, shape, sizeof shape);
    err_set(e, 400,
            "%s: output '%s' %s is neither an Ultralytics detection head [1, 4+classes, %d] "
            "nor a YOLOX head [1, %d, 5+classes] for a %dx%d input",
            path, out->name, shape, y->anchors, y->anchors, y->in_w, y->in_h);
    return -1;
}

yolo *yolo_load(const char *path, const yolo_params *p, err *e)
{
    yolo_params defaults = yolo_default_params();
    if (!p) p = &defaults;
    nn_model_params mp = nn_model_default_params();
    mp.threads = p->threads;
    mp.precision = p->precision;
    nn_model *m = nn_model_load(path, &mp, e);
    if (!m) return NULL;
    yolo *y = xcalloc(1, sizeof *y);
    y->m = m;
    y->max_det = p->max_det > 0 ? p->max_det : 300;
    atomic_init(&y->yolox_decoded, -1);
    pthread_mutex_init(&y->mu, NULL);
    const nn_value_info *in = nn_model_input(m, 0);
    if (nn_model_input_count(m) != 1 || nn_model_output_count(m) < 1 || in->rank != 4 ||
        in->dtype != NN_F32 || !dim_is(in->shape[0], 1) || !dim_is(in->shape[1], 3)) {
        char shape[64];
        nn_shape_str(in->shape, in->rank, shape, sizeof shape);
        err_set(e, 400, "%s: expected one float input [1, 3, height, width], found '%s' %s", path,
                in->name, shape);
        goto fail;
    }
    y->in_name = in->name;
    y->in_h = (int)in->shape[2];
    y->in_w = (int)in->shape[3];
    if (y->in_h <= 0 || y->in_w <= 0) {
        /* A dynamic input: the size it was exported for, else Ultralytics' default. */
        if (!meta_imgsz(m, &y->in_w, &y->in_h)) y->in_w = y->in_h = 640;
    }
    if (y->in_w % 32 || y->in_h % 32 || y->in_w > 8192 || y->in_h > 8192) {
        err_set(e, 400, "%s: input size %dx%d is not a multiple of 32", path, y->in_w, y->in_h);
        goto fail;
    }
    if (pick_family(y, path, e) != 0) goto fail;
    if (load_names(y, path, p, e) != 0) goto fail;
    y->precision = precision_of(m, p->precision);
    return y;
fail:
    yolo_free(y);
    return NULL;
}

void yolo_free(yolo *y)
{
    if (!y) return;
    for (int i = 0; i < y->n_pool; i++) {
        nn_session_free(y->pool[i].s);
        free(y->pool[i].x);
    }
    free(y->pool);
    pthread_mutex_destroy(&y->mu);
    free(y->names);
    nn_model_free(y->m);
    free(y);
}

yolo_family yolo_model_family(const yolo *y)
{
    return y->family;
}

void yolo_input_size(const yolo *y, int *w, int *h)
{
    *w = y->in_w;
    *h = y->in_h;
}

int yolo_class_count(const yolo *y)
{
    return y->nc;
}

const char *yolo_class_name(const yolo *y, int cls)
{
    if (cls < 0 || cls >= y->nc) return "?";
    return y->names ? y->names[cls] : yolo_coco_names[cls];
}

const char *yolo_names_source(const yolo *y)
{
    return y->names_source;
}

const char *yolo_precision(const yolo *y)
{
    return y->precision;
}

const nn_model *yolo_nn(const yolo *y)
{
    return y->m;
}

/* ---------------------------------------------------------------- input */

void yolo_prepare(const yolo *y, const img *photo, yolo_input *in)
{
    memset(in, 0, sizeof *in);
    in->family = y->family;
    in->photo_w = photo->w;
    in->photo_h = photo->h;
    if (y->family == YOLO_ULTRALYTICS) {
        in->canvas = img_letterbox_apply(photo, y->in_w, y->in_h, 114, &in->lb);
        in->scale = in->lb.scale;
        in->pad_x = in->lb.left;
        in->pad_y = in->lb.top;
        return;
    }
    /* YOLOX's preproc: r = min(H/h, W/w), resized to int(w r) x int(h r) at the top left. */
    double r = MIN((double)y->in_h / photo->h, (double)y->in_w / photo->w);
    int nw = MAX(1, MIN(y->in_w, (int)(photo->w * r)));
    int nh = MAX(1, MIN(y->in_h, (int)(photo->h * r)));
    in->canvas = img_new(y->in_w, y->in_h, photo->channels);
    memset(in->canvas->data, 114, in->canvas->stride * (size_t)y->in_h);
    img inner = img_sub(in->canvas, 0, 0, nw, nh);
    img_resize_into(photo, &inner);
    in->scale = r;
}

void yolo_input_free(yolo_input *in)
{
    img_free(in->canvas);
    in->canvas = NULL;
}

size_t yolo_input_bytes(const yolo_input *in)
{
    return in->canvas ? in->canvas->stride * (size_t)in->canvas->h : 0;
}

void yolo_tensor(const yolo *y, const yolo_input *in, float *dst)
{
    img_tensor_params tp = img_tensor_default_params();
    if (y->family == YOLO_YOLOX) {
        tp.bgr = true;
        for (int c = 0; c < 3; c++) tp.std[c] = 1.0f;
    }
    img_to_tensor(in->canvas, dst, y->in_w, y->in_h, &tp);
}

/* ---------------------------------------------------------------- running */

static int acquire(yolo *y, slot *out, err *e)
{
    pthread_mutex_lock(&y->mu);
    bool have = y->n_pool > 0;
    if (have) *out = y->pool[--y->n_pool];
    pthread_mutex_unlock(&y->mu);
    if (have) return 0;
    out->s = nn_session_new(y->m, e);
    if (!out->s) return -1;
    out->x = xmalloc((size_t)3 * (size_t)y->in_w * (size_t)y->in_h * sizeof(float));
    return 0;
}

static void release(yolo *y, slot *s)
{
    pthread_mutex_lock(&y->mu);
    if (y->n_pool == y->cap_pool) {
        y->cap_pool = y->cap_pool ? y->cap_pool * 2 : 4;
        y->pool = xrealloc(y->pool, (size_t)y->cap_pool * sizeof *y->pool);
    }
    y->pool[y->n_pool++] = *s;
    pthread_mutex_unlock(&y->mu);
}

static float clampf(float v, float hi)
{
    return v < 0 ? 0 : v > hi ? hi : v;
}

/* Input pixels to photo pixels, clipped to the photo (Ultralytics' scale_boxes and
 * clip_boxes; YOLOX's division by its ratio). */
static void to_photo(const yolo_input *in, yolo_det *d)
{
    if (in->family == YOLO_ULTRALYTICS) {
        img_letterbox_unmap(&in->lb, &d->x1, &d->y1);
        img_letterbox_unmap(&in->lb, &d->x2, &d->y2);
    } else {
        d->x1 = (float)(d->x1 / in->scale);
        d->y1 = (float)(d->y1 / in->scale);
        d->x2 = (float)(d->x2 / in->scale);
        d->y2 = (float)(d->y2 / in->scale);
    }
    d->x1 = clampf(d->x1, (float)in->photo_w);
    d->x2 = clampf(d->x2, (float)in->photo_w);
    d->y1 = clampf(d->y1, (float)in->photo_h);
    d->y2 = clampf(d->y2, (float)in->photo_h);
}

static int decode(yolo *y, const nn_tensor *o, float conf, yolo_det *dst, err *e)
{
    int64_t want = (int64_t)y->anchors * (y->family == YOLO_YOLOX ? 5 + y->nc : 4 + y->nc);
    if (o->dtype != NN_F32 || nn_tensor_count(o) != want) {
        char shape[64];
        nn_shape_str(o->shape, o->rank, shape, sizeof shape);
        err_set(e, 500, "the model's output is %s %s, expected %lld floats",
                nn_dtype_name(o->dtype), shape, (long long)want);
        return -1;
    }
    const float *p = o->data;
    if (y->family == YOLO_ULTRALYTICS)
        return yolo_decode_ultralytics(p, y->nc, y->anchors, conf, dst, y->anchors);
    int decoded = atomic_load(&y->yolox_decoded);
    if (decoded < 0) {
        decoded = yolo_yolox_is_decoded(p, y->nc, y->anchors);
        atomic_store(&y->yolox_decoded, decoded);
    }
    return yolo_decode_yolox(p, y->nc, y->in_w, y->in_h, decoded, conf, dst, y->anchors);
}

int yolo_detect(yolo *y, const yolo_input *in, float conf, float iou, yolo_det **out,
                yolo_timing *t, err *e)
{
    *out = NULL;
    double t0 = now_s();
    slot s;
    if (acquire(y, &s, e) != 0) return -1;
    yolo_tensor(y, in, s.x);
    double t1 = now_s();
    nn_tensor x = {.dtype = NN_F32, .rank = 4, .shape = {1, 3, y->in_h, y->in_w}, .data = s.x};
    int n = -1;
    yolo_det *d = NULL;
    if (nn_session_set_input(s.s, y->in_name, &x, e) != 0 || nn_session_run(s.s, e) != 0) {
        e->status = 500;
        goto done;
    }
    double t2 = now_s();
    d = xmalloc((size_t)y->anchors * sizeof *d);
    n = decode(y, nn_session_output_at(s.s, 0), conf, d, e);
    if (n > 0) n = yolo_nms(d, MIN(n, y->anchors), iou, y->max_det);
    for (int i = 0; i < n; i++) to_photo(in, &d[i]);
    if (t) {
        t->tensor_ms = (t1 - t0) * 1e3;
        t->infer_ms = (t2 - t1) * 1e3;
        t->post_ms = (now_s() - t2) * 1e3;
    }
done:
    release(y, &s);
    if (n > 0) {
        *out = xrealloc(d, (size_t)n * sizeof *d);
    } else {
        free(d);
    }
    return n;
}
