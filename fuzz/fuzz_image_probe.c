/* image probe: reading only the headers of any bytes gives a plausible size or a 4xx. */
#include "image/image.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    img_decode_params p = img_decode_default_params();
    err e = {0};
    img_info info;
    if (img_probe(data, size, &p, &info, &e) != 0) {
        if (e.status != 400 && e.status != 413 && e.status != 415 && e.status != 422) abort();
        if (e.msg[0] == '\0') abort();
        return 0;
    }
    if (info.format == IMG_FORMAT_UNKNOWN || info.w <= 0 || info.h <= 0) abort();
    if ((uint64_t)info.w * (uint64_t)info.h > p.max_pixels) abort();
    if (info.orientation < 1 || info.orientation > 8) abort();
    return 0;
}
