/* POST /segment (JSON, box prompts) and POST /segment/ (multipart, a grid of point
 * prompts), CONTRACT.md §6. Both run on the worker pool. */
#include "segment/segment_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PNG_PREFIX "data:image/png;base64,"

/* Where a request's time went: the Server-Timing header and the log line. */
typedef struct timing {
    double start, decode, embed, decoder, refine, output;
    bool cached;       /* the embedding came from the cache */
    bool photo_cached; /* the decoded photo (and its edges) did */
} timing;

static double lap(double *t0)
{
    double t = now_s(), d = (t - *t0) * 1e3;
    *t0 = t;
    return d;
}

static void timing_report(http_res *rs, const timing *t, const char *what, int masks, int w, int h)
{
    char hdr[256];
    snprintf(hdr, sizeof hdr,
             "decode;dur=%.1f;desc=\"%s\", encoder;dur=%.1f;desc=\"%s\", decoder;dur=%.1f, "
             "refine;dur=%.1f, output;dur=%.1f",
             t->decode, t->photo_cached ? "cache hit" : "decoded", t->embed,
             t->cached ? "cache hit" : "ran", t->decoder, t->refine, t->output);
    http_res_header(rs, "Server-Timing", hdr);
    log_info("%s photo=%dx%d masks=%d cached=%d decode_ms=%.1f encoder_ms=%.1f decoder_ms=%.1f "
             "refine_ms=%.1f output_ms=%.1f",
             what, w, h, masks, t->cached, t->decode, t->embed, t->decoder, t->refine, t->output);
}

/* image_b64 must be raw base64 (CONTRACT §2.7); a data: URL gets its own message because
 * it is the mistake clients make. Records a 422 and returns NULL when it is not. */
static unsigned char *image_bytes(http_req *rq, const char *b64, size_t *len)
{
    json_t *in = json_string(strlen(b64) > 64 ? "<the first 64 characters>" : b64);
    unsigned char *bytes = NULL;
    if (strncmp(b64, "data:", 5) == 0) {
        http_req_error(rq, "value_error",
                       "image_b64 must be raw base64 without a 'data:...;base64,' prefix", "body",
                       "image_b64", in);
    } else {
        err e = {0};
        bytes = b64_decode(b64, strlen(b64), len, &e);
        if (!bytes) {
            char msg[600];
            snprintf(msg, sizeof msg, "image_b64 is not base64: %s", e.msg);
            http_req_error(rq, "value_error", msg, "body", "image_b64", in);
        }
    }
    json_decref(in);
    return bytes;
}

/* Characters of the base64 of n bytes. */
static size_t b64_size(size_t n)
{
    return 4 * ((n + 2) / 3);
}

static bool too_large(http_res *rs, size_t bytes, int w, int h, const char *hint)
{
    if (bytes <= segment_cfg.max_mask_json) return false;
    http_res_error(rs, 413,
                   "the masks of this %d×%d photo would take %zu MB of JSON, more than "
                   "SEGMENT_MAX_MASK_JSON (%zu MB)%s",
                   w, h, bytes >> 20, segment_cfg.max_mask_json >> 20, hint);
    return true;
}

static bool gave_up(http_req *rq, http_res *rs)
{
    if (!http_req_expired(rq)) return false;
    http_res_error(rs, 504, "segmentation took longer than the request's time limit");
    return true;
}

/* ---------------------------------------------------------------- POST /segment */

static void run_boxes(http_req *rq, http_res *rs, sam_model *m, segment_photo *sp,
                      const segment_box *boxes, int n, bool refine, timing *t)
{
    const img *photo = sp->photo;
    int w = photo->w, h = photo->h;
    err e = {0};
    double t0 = now_s();
    sam_embedding *emb = sam_embed_keyed(m, photo, sp->key, &t->cached, &e);
    t->embed = lap(&t0);
    if (!emb) return http_res_err(rs, &e);
    const sam_edges *ed = refine ? segment_photo_edges(sp) : NULL;
    t->refine += lap(&t0);
    uint8_t *mask = xmalloc((size_t)w * (size_t)h);
    http_strbuf out = {0};
    segment_append(&out, "{\"masks\":[");
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        if (gave_up(rq, rs)) {
            ok = false;
            break;
        }
        sam_prompt p =
            sam_box((float)boxes[i].x1, (float)boxes[i].y1, (float)boxes[i].x2, (float)boxes[i].y2);
        if (sam_decode(m, emb, &p, mask, &e) != 0) {
            http_res_err(rs, &e);
            ok = false;
            break;
        }
        t->decoder += lap(&t0);
        if (ed) sam_refine(ed, mask);
        t->refine += lap(&t0);
        size_t blen, b64len;
        char *bbox = http_json_dumps(boxes[i].given, &blen);
        char *b64 = b64_encode(mask, (size_t)w * (size_t)h, &b64len);
        segment_append(&out, i ? ",{\"bbox\":" : "{\"bbox\":");
        http_strbuf_append(&out, bbox, blen);
        segment_append(&out, ",\"mask_b64\":\"");
        http_strbuf_append(&out, b64, b64len);
        segment_append(&out, "\"}");
        free(bbox);
        free(b64);
        t->output += lap(&t0);
    }
    if (ok) {
        segment_append(&out, "]}");
        http_res_take(rs, 200, "application/json", out.data, out.len);
    } else {
        free(out.data);
    }
    free(mask);
    sam_embedding_release(m, emb);
}

/* Records the box problems as 422 errors at ["body", "bboxes"]; takes errors. */
static void box_errors(http_req *rq, json_t *errors)
{
    size_t i;
    json_t *x;
    json_array_foreach(errors, i, x)
    {
        http_req_error(rq, json_string_value(json_object_get(x, "type")),
                       json_string_value(json_object_get(x, "msg")), "body", "bboxes",
                       json_object_get(x, "input"));
    }
    json_decref(errors);
}

static void segment_json(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    json_t *body = http_req_json(rq);
    const char *b64 = http_json_str(rq, body, "image_b64", HTTP_REQUIRED, NULL);
    json_t *list = http_json_list(rq, body, "bboxes", HTTP_NULLABLE, false);
    bool refine;
    http_json_bool(rq, body, "enable_edge_refinement", HTTP_OPTIONAL, true, &refine);
    int n = 0;
    json_t *errors = json_array();
    segment_box *boxes =
        segment_boxes_parse(list, segment_cfg.max_boxes, http_req_arena(rq), errors, &n);
    box_errors(rq, errors);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);

    sam_model *m = NULL;
    if (n > 0 && !(m = segment_model(rs))) return;
    timing t = {.start = now_s()};
    double t0 = t.start;
    size_t len;
    unsigned char *bytes = image_bytes(rq, b64, &len);
    if (!bytes) return http_res_invalid(rs, rq);
    segment_photo *sp = segment_photo_get(rs, bytes, len, &t.photo_cached);
    free(bytes);
    t.decode = lap(&t0);
    if (!sp) return;
    const img *photo = sp->photo;
    errors = json_array();
    segment_boxes_clip(boxes, n, photo->w, photo->h, errors);
    box_errors(rq, errors);
    if (http_req_invalid(rq)) {
        http_res_invalid(rs, rq);
    } else if (n == 0) {
        http_res_json(rs, 200, json_pack("{s:[]}", "masks"));
    } else if (!too_large(rs, (size_t)n * b64_size((size_t)photo->w * (size_t)photo->h), photo->w,
                          photo->h, "")) {
        run_boxes(rq, rs, m, sp, boxes, n, refine, &t);
        timing_report(rs, &t, "segment", n, photo->w, photo->h);
    }
    segment_photo_release(sp);
}

/* ---------------------------------------------------------------- POST /segment/ */

typedef enum mask_format { MASKS_BOOL, MASKS_RLE, MASKS_NONE } mask_format;

/* num_samples: the query parameter as the original reads it, else the form field the
 * frontend sends (CONTRACT §16), else 10. */
static long num_samples(http_req *rq)
{
    long n = 10;
    bool in_query = http_req_query(rq, "num_samples") != NULL;
    bool ok = in_query ? http_query_int(rq, "num_samples", HTTP_OPTIONAL, 10, &n)
                       : http_form_int(rq, "num_samples", HTTP_OPTIONAL, 10, &n);
    if (ok && (n < 0 || n > segment_cfg.max_samples)) {
        char msg[160], v[32];
        snprintf(msg, sizeof msg, "num_samples must be between 0 and %ld (SEGMENT_MAX_SAMPLES)",
                 segment_cfg.max_samples);
        snprintf(v, sizeof v, "%ld", n);
        json_t *in = json_string(v);
        http_req_error(rq, "value_error", msg, in_query ? "query" : "body", "num_samples", in);
        json_decref(in);
    }
    return n;
}

static mask_format masks_param(http_req *rq)
{
    const char *f = http_query_str(rq, "masks", HTTP_OPTIONAL, "bool");
    if (strcmp(f, "bool") == 0) return MASKS_BOOL;
    if (strcmp(f, "rle") == 0) return MASKS_RLE;
    if (strcmp(f, "none") == 0) return MASKS_NONE;
    json_t *in = json_string(f);
    http_req_error(rq, "enum", "masks must be 'bool' (the default), 'rle' or 'none'", "query",
                   "masks", in);
    json_decref(in);
    return MASKS_BOOL;
}

static int isqrt(long n)
{
    long g = (long)sqrt((double)n);
    while (g * g > n) g--;
    while ((g + 1) * (g + 1) <= n) g++;
    return (int)g;
}

/* The answer, key order as the original's: segmented_image, num_segments, masks,
 * edge_refinement. Boolean masks are written straight into one buffer of their exact
 * size; the others go through a string buffer. */
static void grid_answer(http_res *rs, const char *png_b64, size_t png_len, int n, mask_format f,
                        uint8_t *const *masks, char *const *rles, int w, int h)
{
    char head[64], tail[] = ",\"edge_refinement\":true}";
    snprintf(head, sizeof head, "\",\"num_segments\":%d,\"masks\":", n);
    const char *open = "{\"segmented_image\":\"" PNG_PREFIX;
    if (f == MASKS_BOOL) {
        size_t mlen = segment_bool_masks_size(masks, n, w, h);
        size_t total = strlen(open) + png_len + strlen(head) + mlen + strlen(tail);
        char *buf = xmalloc(total), *p = buf;
        p = stpcpy(p, open);
        memcpy(p, png_b64, png_len);
        p = stpcpy(p + png_len, head);
        p = segment_bool_masks_write(p, masks, n, w, h);
        memcpy(p, tail, strlen(tail));
        return http_res_take(rs, 200, "application/json", buf, total);
    }
    http_strbuf out = {0};
    segment_append(&out, open);
    http_strbuf_append(&out, png_b64, png_len);
    segment_append(&out, head);
    segment_append(&out, "[");
    for (int i = 0; f == MASKS_RLE && i < n; i++) {
        http_strbuf_printf(&out, "%s{\"size\":[%d,%d],\"counts\":", i ? "," : "", h, w);
        segment_append_json_string(&out, rles[i], strlen(rles[i]));
        segment_append(&out, "}");
    }
    segment_append(&out, "]");
    segment_append(&out, tail);
    http_res_take(rs, 200, "application/json", out.data, out.len);
}

static void run_grid(http_req *rq, http_res *rs, sam_model *m, segment_photo *sp, int g,
                     mask_format f, timing *t)
{
    const img *photo = sp->photo;
    int w = photo->w, h = photo->h, n = g * g;
    size_t px = (size_t)w * (size_t)h;
    err e = {0};
    double t0 = now_s();
    sam_embedding *emb = NULL;
    if (n > 0) {
        emb = sam_embed_keyed(m, photo, sp->key, &t->cached, &e);
        t->embed = lap(&t0);
        if (!emb) return http_res_err(rs, &e);
    }
    const sam_edges *ed = n > 0 ? segment_photo_edges(sp) : NULL;
    t->refine += lap(&t0);
    img *overlay = img_clone(photo);
    uint8_t **masks = xcalloc((size_t)n + 1, sizeof *masks);
    char **rles = xcalloc((size_t)n + 1, sizeof *rles);
    uint8_t *scratch = f == MASKS_BOOL ? NULL : xmalloc(px);
    bool ok = true;
    for (int k = 0; k < n && ok; k++) {
        if (gave_up(rq, rs)) {
            ok = false;
            break;
        }
        int i = k / g, j = k % g;
        /* The original's grid: int((j + 0.5) * w / g), int((i + 0.5) * h / g). */
        sam_prompt p = sam_point((float)(int)((j + 0.5) * w / g), (float)(int)((i + 0.5) * h / g));
        uint8_t *mask = f == MASKS_BOOL ? (masks[k] = xmalloc(px)) : scratch;
        if (sam_decode(m, emb, &p, mask, &e) != 0) {
            http_res_err(rs, &e);
            ok = false;
            break;
        }
        t->decoder += lap(&t0);
        sam_refine(ed, mask);
        t->refine += lap(&t0);
        uint8_t rgb[3];
        random_bytes(rgb, sizeof rgb);
        /* numpy's randint(0, 255): 0..254 */
        img_overlay_mask(overlay, mask, (size_t)w,
                         IMG_RGB(rgb[0] % 255, rgb[1] % 255, rgb[2] % 255), 0.5f);
        if (f == MASKS_RLE) rles[k] = segment_rle_encode(mask, w, h, NULL);
        t->output += lap(&t0);
    }
    if (ok) {
        size_t png_len, b64_len;
        unsigned char *png = img_encode_png(overlay, -1, &png_len, &e);
        if (!png) {
            http_res_err(rs, &e);
        } else {
            char *b64 = b64_encode(png, png_len, &b64_len);
            free(png);
            grid_answer(rs, b64, b64_len, n, f, masks, rles, w, h);
            free(b64);
        }
        t->output += lap(&t0);
    }
    for (int k = 0; k < n; k++) {
        free(masks[k]);
        free(rles[k]);
    }
    free(masks);
    free(rles);
    free(scratch);
    img_free(overlay);
    sam_embedding_release(m, emb);
}

static void segment_file(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    const http_part *file = http_form_file(rq, "file", HTTP_REQUIRED);
    long samples = num_samples(rq);
    mask_format f = masks_param(rq);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    int g = isqrt(samples);

    sam_model *m = NULL;
    if (g > 0 && !(m = segment_model(rs))) return;
    timing t = {.start = now_s()};
    double t0 = t.start;
    segment_photo *sp = segment_photo_get(rs, file->data, file->len, &t.photo_cached);
    t.decode = lap(&t0);
    if (!sp) return;
    const img *photo = sp->photo;
    if (f != MASKS_BOOL || !too_large(rs, segment_bool_masks_max(g * g, photo->w, photo->h),
                                      photo->w, photo->h, ": ask with ?masks=rle or ?masks=none")) {
        run_grid(rq, rs, m, sp, g, f, &t);
        timing_report(rs, &t, "segment_grid", g * g, photo->w, photo->h);
    }
    segment_photo_release(sp);
}

void segment_routes(http_server *s)
{
    http_route(s, "POST", "/segment", segment_json, NULL,
               &(http_route_opts){.body = HTTP_BODY_JSON,
                                  .heavy = true,
                                  .summary = "Masks for box prompts (raw base64 H×W bytes)"});
    http_route(
        s, "POST", "/segment/", segment_file, NULL,
        &(http_route_opts){.body = HTTP_BODY_FORM,
                           .heavy = true,
                           .summary = "Masks for a grid of points, with a coloured overlay"});
}
