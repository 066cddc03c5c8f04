/* The segment service's box prompts: any JSON value as `bboxes` and any photo size either
 * give errors (each with a type and a message) or boxes that are ordered, finite and,
 * once clipped, inside the photo. Input: two bytes of width, two of height, then JSON. */
#include "segment/segment_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void check_errors(json_t *errors)
{
    size_t i;
    json_t *x;
    json_array_foreach(errors, i, x)
    {
        const char *type = json_string_value(json_object_get(x, "type"));
        const char *msg = json_string_value(json_object_get(x, "msg"));
        if (!type || !msg || !*msg || !json_object_get(x, "input")) abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 4) return 0;
    int w = 1 + (data[0] | data[1] << 8), h = 1 + (data[2] | data[3] << 8);
    json_error_t je;
    json_t *list = json_loadb((const char *)data + 4, size - 4, JSON_DECODE_ANY, &je);
    if (!list) return 0;
    arena *a = arena_new(0);
    json_t *errors = json_array();
    int n = -1;
    segment_box *b = segment_boxes_parse(json_is_array(list) ? list : NULL, 8, a, errors, &n);
    check_errors(errors);
    if (n < 0 || (size_t)n > json_array_size(list) || n > 8) abort();
    if (json_array_size(errors) == 0) {
        segment_boxes_clip(b, n, w, h, errors);
        check_errors(errors);
        for (int i = 0; i < n && json_array_size(errors) == 0; i++) {
            if (!(b[i].x1 >= 0 && b[i].x1 <= b[i].x2 && b[i].x2 <= w)) abort();
            if (!(b[i].y1 >= 0 && b[i].y1 <= b[i].y2 && b[i].y2 <= h)) abort();
            if (!json_is_object(b[i].given)) abort();
        }
    }
    json_decref(errors);
    arena_free(a);
    json_decref(list);
    return 0;
}
