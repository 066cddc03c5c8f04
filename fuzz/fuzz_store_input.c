/* store_input: what the store reads from clients before any SQL. Email normalisation
 * never crashes and is idempotent, the password and name checks agree with their rules,
 * every image string comes back byte for byte from its stored form, and base64 that
 * round-trips exactly is always the form kept decoded. */
#include "store/store_impl.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *s = xstrndup((const char *)data, size);
    char out[255], again[255];
    err e = {0};
    if (store_email_normalize(s, out, &e) == 0) {
        if (strlen(out) > 254 || !strchr(out, '@')) abort();
        if (store_email_normalize(out, again, NULL) != 0 || strcmp(out, again) != 0) abort();
    } else if (e.status != 422 || strncmp(e.msg, "email: ", 7) != 0) {
        abort();
    }
    if (store_password_check(s, NULL) == 0 && strlen(s) > 1024) abort();
    if (store_name_check(s, NULL) == 0 && !*s) abort();

    store_image im;
    if (store_image_prepare("f", s, 1 << 20, &im, NULL) == 0) {
        char *back = store_image_restore(im.form, im.data, im.len);
        if (!back || strcmp(back, s) != 0) abort();
        if (strcmp(im.form, "text") != 0 && strncmp(im.form, "base64:", 7) != 0) abort();
        free(back);
        size_t n, m;
        unsigned char *bin = b64_decode(s, strlen(s), &n, NULL);
        char *text = bin ? b64_encode(bin, n, &m) : NULL;
        bool exact = text && strcmp(text, s) == 0;
        if (exact != (strcmp(im.form, "base64:") == 0) && strncmp(s, "data:", 5) != 0) abort();
        free(bin);
        free(text);
    }
    store_image_free(&im);
    free(s);
    return 0;
}
