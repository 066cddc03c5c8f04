/* Private to src/segment: configuration, the model holder, request pieces and the mask
 * encodings the handlers share. */
#ifndef ARTISTRY_SEGMENT_IMPL_H
#define ARTISTRY_SEGMENT_IMPL_H

#include "image/image.h"
#include "segment/segment.h"
#include "vision/sam/sam.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEGMENT_SERVICE_NAME "Segment (MobileSAM)"

typedef struct segment_config {
    long max_boxes;           /* SEGMENT_MAX_BOXES: boxes per /segment request */
    long max_samples;         /* SEGMENT_MAX_SAMPLES: num_samples of /segment/ */
    size_t max_mask_json;     /* SEGMENT_MAX_MASK_JSON: bytes of masks in one answer */
    size_t photo_cache;       /* SEGMENT_PHOTO_CACHE: decoded photos kept */
    size_t photo_cache_bytes; /* SEGMENT_PHOTO_CACHE_BYTES: their bytes, at most */
} segment_config;

extern segment_config segment_cfg;

/* The shared model, loaded on first use (or at start-up) and retried when its files
 * change. Returns NULL after answering 503 with what is missing and how to get it. */
sam_model *segment_model(http_res *rs);
/* The model's state for /health: adds "model" and "cache" to o. */
void segment_model_health(json_t *o);

void segment_routes(http_server *s);

/* ---------------------------------------------------------------- photos (photo.c) */

/* A decoded photo, shared by the requests that upload the same bytes while it is in the
 * cache (SEGMENT_PHOTO_CACHE entries, SEGMENT_PHOTO_CACHE_BYTES), with its embedding
 * key and, once asked for, its edges. Read-only apart from edges, which mu guards. */
typedef struct segment_photo {
    img *photo;
    uint64_t key; /* sam_photo_key */
    pthread_mutex_t mu;
    sam_edges *edges;
} segment_photo;

void segment_photos_init(size_t entries, size_t bytes);
void segment_photos_free(void);
/* Decodes photo bytes with the configured limits into an upright RGB image (or finds
 * them decoded, *cached set), or answers the image library's 4xx and returns NULL. The
 * caller gives it back with segment_photo_release. */
segment_photo *segment_photo_get(http_res *rs, const void *data, size_t len, bool *cached);
/* Its edges for sam_refine, made on the first call. */
const sam_edges *segment_photo_edges(segment_photo *p);
void segment_photo_release(segment_photo *p);
/* "photos": {entries, bytes, hits, misses}, or null when the cache is off. */
void segment_photos_health(json_t *o);

/* ---------------------------------------------------------------- boxes (boxes.c) */

typedef struct segment_box {
    double x1, y1, x2, y2; /* as given */
    json_t *given;         /* the item, echoed back (borrowed from the request) */
} segment_box;

/* Reads the `bboxes` list (NULL or JSON null: none). Every item must be an object with
 * numeric x1, y1, x2, y2 (other keys are kept for the echo) and x1 <= x2, y1 <= y2;
 * at most max items. Each problem is appended to errors as {"type", "msg", "input"}
 * (pydantic-like type, a message naming the box, the item). Returns the valid boxes,
 * allocated in a, and their count in *n. */
segment_box *segment_boxes_parse(json_t *list, long max, arena *a, json_t *errors, int *n);
/* Clips each box to the w x h photo; a box with no point in it is an error. */
void segment_boxes_clip(segment_box *b, int n, int w, int h, json_t *errors);

/* ---------------------------------------------------------------- mask encodings (masks.c) */

/* Bytes of masks written as JSON: a list of h rows of w `true`/`false` (masks 0/255). */
size_t segment_bool_masks_size(uint8_t *const *masks, int n, int w, int h);
/* The largest that can be for n masks of w x h (every pixel false). */
size_t segment_bool_masks_max(int n, int w, int h);
/* Writes exactly segment_bool_masks_size bytes at out; returns the end. */
char *segment_bool_masks_write(char *out, uint8_t *const *masks, int n, int w, int h);
/* COCO's compressed run-length encoding of a w x h mask, as pycocotools' mask.encode
 * gives in "counts": runs in column-major order, the first of zeros; each count
 * LEB128-like in 5-bit groups, one character each from '0'; counts from the fourth on as
 * differences from the count two before. Returns a malloc'ed NUL-terminated string. */
char *segment_rle_encode(const uint8_t *mask, int w, int h, size_t *len);

/* A growable answer written as text (the http layer's string buffer). */
void segment_append(http_strbuf *b, const char *s);
/* s as a JSON string literal with quotes (only '"', '\\' and control bytes escaped). */
void segment_append_json_string(http_strbuf *b, const char *s, size_t n);

#endif
