/* image decode: any bytes either decode to a sane upright RGB image or fail with a 4xx
 * status and a message; never a crash, a leak or a hang. Odd-length inputs take the
 * scaled-JPEG path (a 64 x 64 size hint). */
#include "image/image.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    img_decode_params p = img_decode_default_params();
    /* Keep single inputs within the fuzzer's memory limit; the limit logic is the same. */
    p.max_pixels = 4u << 20;
    if (size & 1) p.fit_w = p.fit_h = 64;
    err e = {0};
    img_info info;
    img *im = img_decode(data, size, &p, &info, &e);
    if (!im) {
        if (e.status != 400 && e.status != 413 && e.status != 415 && e.status != 422) abort();
        if (e.msg[0] == '\0') abort();
        return 0;
    }
    if (im->channels != 3 || im->w <= 0 || im->h <= 0) abort();
    if ((uint64_t)info.stored_w * (uint64_t)info.stored_h > p.max_pixels) abort();
    if (info.orientation < 1 || info.orientation > 8) abort();
    if (info.scale == 1.0 && (im->w != info.w || im->h != info.h)) abort();
    if (info.scale < 1.0 && (im->w > info.w || im->h > info.h)) abort();
    /* Read every pixel, so that a decoder that left rows unwritten shows up under the
     * sanitizers' eyes (and the compiler cannot drop the loop). */
    unsigned sum = 0;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w * 3; x++) sum += img_px(im, 0, y)[x];
    if (sum == 0xFFFFFFFFu) abort();
    img_free(im);
    return 0;
}
