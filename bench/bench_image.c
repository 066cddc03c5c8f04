/* bench_image: time the image library on the shared photos, the work a detect or
 * segment request does before and after its model runs.
 *
 *   bench_image [--iters N] [--photos DIR]
 *
 * Prints one line per measurement: name, median ms, p90 ms (tab-separated). Run it
 * through bench/image.sh, which puts the same steps in Pillow/OpenCV beside it. */
#include "image/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int iters = 30;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef void (*step_fn)(void *ctx);

static void measure(const char *name, step_fn fn, void *ctx)
{
    double *t = malloc(sizeof(double) * (size_t)iters);
    for (int i = 0; i < 3; i++) fn(ctx); /* warm caches and the allocator */
    for (int i = 0; i < iters; i++) {
        uint64_t t0 = now_ns();
        fn(ctx);
        t[i] = (double)(now_ns() - t0) * 1e-6;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_double);
    printf("%s\t%.3f\t%.3f\n", name, t[iters / 2], t[(iters * 9) / 10]);
    fflush(stdout);
    free(t);
}

typedef struct job {
    const unsigned char *data;
    size_t len;
    img *rgb;      /* decoded once, for the steps that start from pixels */
    float *tensor; /* 3 x 1024 x 1024, big enough for both models */
    img_decode_params dp;
} job;

static img *must_decode(job *j)
{
    err e = {0};
    img *im = img_decode(j->data, j->len, &j->dp, NULL, &e);
    if (!im) {
        fprintf(stderr, "bench_image: %s\n", e.msg);
        exit(1);
    }
    return im;
}

static void step_decode(void *p)
{
    img_free(must_decode(p));
}

static void step_letterbox(void *p)
{
    job *j = p;
    img_free(img_letterbox_apply(j->rgb, 640, 640, 114, NULL));
}

static void step_tensor(void *p)
{
    job *j = p;
    img_tensor_params tp = img_tensor_default_params();
    img *lb = img_letterbox_apply(j->rgb, 640, 640, 114, NULL);
    img_to_tensor(lb, j->tensor, 640, 640, &tp);
    img_free(lb);
}

/* The whole detect preprocessing: bytes to the model's input tensor. */
static void step_detect_pre(void *p)
{
    job *j = p;
    img *im = must_decode(j);
    img *lb = img_letterbox_apply(im, 640, 640, 114, NULL);
    img_tensor_params tp = img_tensor_default_params();
    img_to_tensor(lb, j->tensor, 640, 640, &tp);
    img_free(lb);
    img_free(im);
}

/* The whole segment preprocessing: bytes to SAM's 1024 x 1024 normalised tensor. */
static void step_sam_pre(void *p)
{
    job *j = p;
    img *im = must_decode(j);
    img *r = img_resize_longest_side(im, 1024);
    img_tensor_params tp = img_tensor_sam_params();
    img_to_tensor(r, j->tensor, 1024, 1024, &tp);
    img_free(r);
    img_free(im);
}

static void step_jpeg(void *p)
{
    job *j = p;
    size_t n;
    err e = {0};
    free(img_encode_jpeg(j->rgb, 85, &n, &e));
}

static void step_png(void *p)
{
    job *j = p;
    size_t n;
    err e = {0};
    free(img_encode_png(j->rgb, -1, &n, &e));
}

static void step_png6(void *p)
{
    job *j = p;
    size_t n;
    err e = {0};
    free(img_encode_png(j->rgb, 6, &n, &e));
}

static void step_canny(void *p)
{
    job *j = p;
    img *g = img_to_gray(j->rgb);
    img *e = img_canny(g, 50, 150, false);
    img *d = img_dilate(e, 3, 3, 1);
    img_free(d);
    img_free(e);
    img_free(g);
}

static void bench_photo(const char *dir, const char *name, bool all)
{
    char path[1024], label[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    err e = {0};
    job j = {.dp = img_decode_default_params()};
    j.data = (unsigned char *)file_read(path, &j.len, &e);
    if (!j.data) {
        fprintf(stderr, "bench_image: %s (set ARTISTRY_SHARED)\n", e.msg);
        exit(1);
    }
    j.rgb = must_decode(&j);
    j.tensor = xmalloc(sizeof(float) * 3 * 1024 * 1024);
#define RUN(step, fn)                                       \
    do {                                                    \
        snprintf(label, sizeof label, "%s:%s", step, name); \
        measure(label, fn, &j);                             \
    } while (0)
    RUN("decode", step_decode);
    RUN("letterbox640", step_letterbox);
    RUN("letterbox640+tensor", step_tensor);
    RUN("detect_pre", step_detect_pre);
    if (all) {
        RUN("sam_pre", step_sam_pre);
        RUN("encode_jpeg85", step_jpeg);
        RUN("encode_png_fast", step_png);
        RUN("encode_png_level6", step_png6);
        RUN("canny+dilate", step_canny);
    }
    img_free(j.rgb);
    free(j.tensor);
    free((void *)j.data);
}

/* A 12-megapixel phone-sized JPEG made here: full decode against the scaled decode the
 * size hint allows (fit 640 x 640, margin 2: decoded at 1/2). */
static void bench_large(void)
{
    img *big = img_new(4000, 3000, 3);
    for (int y = 0; y < 3000; y++)
        for (int x = 0; x < 4000; x++) {
            uint8_t *p = img_px(big, x, y);
            p[0] = (uint8_t)((x * 7) ^ (y * 3)), p[1] = (uint8_t)(x + y), p[2] = (uint8_t)(y / 12);
        }
    err e = {0};
    job j = {.dp = img_decode_default_params()};
    j.data = img_encode_jpeg(big, 85, &j.len, &e);
    img_free(big);
    j.tensor = xmalloc(sizeof(float) * 3 * 1024 * 1024);
    measure("decode:synthetic-4000x3000.jpg", step_decode, &j);
    measure("detect_pre:synthetic-4000x3000.jpg", step_detect_pre, &j);
    j.dp.fit_w = j.dp.fit_h = 640;
    measure("decode_fit640:synthetic-4000x3000.jpg", step_decode, &j);
    measure("detect_pre_fit640:synthetic-4000x3000.jpg", step_detect_pre, &j);
    free(j.tensor);
    free((void *)j.data);
}

int main(int argc, char **argv)
{
    const char *shared = getenv("ARTISTRY_SHARED");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/photos", shared && *shared ? shared : "../shared");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
            iters = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--photos") == 0 && i + 1 < argc) {
            snprintf(dir, sizeof dir, "%s", argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_image [--iters N] [--photos DIR]\n");
            return 2;
        }
    }
    if (iters < 5) iters = 5;
    bench_photo(dir, "bedroom-wardrobe.webp", true);
    bench_photo(dir, "bedroom-chevron-curtains.jpg", true);
    bench_photo(dir, "dog-bicycle-truck.jpg", false);
    bench_photo(dir, "person-dog-horse.jpg", false);
    bench_photo(dir, "bedroom-render.png", false);
    bench_large();
    return 0;
}
