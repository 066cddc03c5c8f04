/* Box prompts of POST /segment: what the original accepted by accident, made explicit.
 *
 * The original read box["x1"] ... from whatever the list held, so a missing key or a
 * string was a 500. Here each problem is a 422 naming the box and the key. Boxes that
 * stick out of the photo are clipped to it: detectors and people dragging a rectangle
 * both produce them (YOLO's box of the bed in bedroom-chevron-curtains.jpg starts at
 * x = -2), and clipping keeps what they meant. Reversed corners (x2 < x1) are refused
 * rather than swapped: SAM gives the two corners different embeddings, so a reversed box
 * is a client bug that swapping would hide. A box with no point in the photo means
 * nothing and is refused. */
#include "segment/segment_impl.h"

#include <math.h>
#include <stdio.h>

static const char *const keys[4] = {"x1", "y1", "x2", "y2"};

static void box_error(json_t *errors, const char *type, json_t *item, const char *fmt, ...)
    AR_PRINTF(4, 5);

static void box_error(json_t *errors, const char *type, json_t *item, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(errors,
                          json_pack("{s:s,s:s,s:O?}", "type", type, "msg", msg, "input", item));
}

segment_box *segment_boxes_parse(json_t *list, long max, arena *a, json_t *errors, int *n)
{
    *n = 0;
    if (!list || json_is_null(list)) return NULL;
    size_t count = json_array_size(list);
    if ((long)count > max) {
        box_error(errors, "too_long", NULL,
                  "at most %ld boxes per request (SEGMENT_MAX_BOXES), got %zu", max, count);
        return NULL;
    }
    segment_box *boxes = arena_calloc(a, count ? count : 1, sizeof *boxes);
    for (size_t i = 0; i < count; i++) {
        json_t *item = json_array_get(list, i);
        if (!json_is_object(item)) {
            box_error(errors, "dict_type", item,
                      "bbox %zu must be an object with numbers x1, y1, x2, y2", i);
            continue;
        }
        double v[4];
        bool ok = true;
        for (int k = 0; k < 4; k++) {
            json_t *x = json_object_get(item, keys[k]);
            if (!x) {
                box_error(errors, "missing", item, "bbox %zu has no '%s'", i, keys[k]);
                ok = false;
            } else if (!json_is_number(x) || !isfinite(json_number_value(x))) {
                box_error(errors, "float_type", item, "bbox %zu: '%s' must be a finite number", i,
                          keys[k]);
                ok = false;
            } else {
                v[k] = json_number_value(x);
            }
        }
        if (!ok) continue;
        if (v[2] < v[0] || v[3] < v[1]) {
            box_error(errors, "value_error", item,
                      "bbox %zu: corners reversed (x1 %g, y1 %g, x2 %g, y2 %g): x2 must be >= x1 "
                      "and y2 >= y1",
                      i, v[0], v[1], v[2], v[3]);
            continue;
        }
        boxes[*n] = (segment_box){v[0], v[1], v[2], v[3], item};
        (*n)++;
    }
    return boxes;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void segment_boxes_clip(segment_box *b, int n, int w, int h, json_t *errors)
{
    for (int i = 0; i < n; i++) {
        if (b[i].x1 > w || b[i].y1 > h || b[i].x2 < 0 || b[i].y2 < 0) {
            box_error(errors, "value_error", b[i].given,
                      "bbox %d (x1 %g, y1 %g, x2 %g, y2 %g) lies outside the %d×%d photo", i,
                      b[i].x1, b[i].y1, b[i].x2, b[i].y2, w, h);
            continue;
        }
        b[i].x1 = clamp(b[i].x1, 0, w);
        b[i].x2 = clamp(b[i].x2, 0, w);
        b[i].y1 = clamp(b[i].y1, 0, h);
        b[i].y2 = clamp(b[i].y2, 0, h);
    }
}
