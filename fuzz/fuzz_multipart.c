/* Multipart and urlencoded parsing: arbitrary bodies never crash, and every part the
 * parser returns lies inside the body and respects the limits. */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    /* the first line (up to '\n') is the Content-Type, the rest the body */
    const unsigned char *nl = memchr(data, '\n', size);
    size_t ctlen = nl ? (size_t)(nl - data) : 0;
    char *ct = malloc(ctlen + 40);
    memcpy(ct, "multipart/form-data; ", 21);
    memcpy(ct + 21, data, ctlen);
    ct[21 + ctlen] = '\0';
    const unsigned char *body = nl ? nl + 1 : data;
    size_t len = size - (size_t)(body - data);
    /* an exact-size copy so reads past the end are caught */
    unsigned char *copy = malloc(len ? len : 1);
    memcpy(copy, body, len);
    http_part *parts;
    err e = {0};
    const size_t max_part = 512, max_parts = 8;
    int n = http_multipart_parse(ct, copy, len, max_part, max_parts, &parts, &e);
    if (n < 0) {
        if (e.status != 400 && e.status != 413) abort();
    } else {
        if ((size_t)n > max_parts) abort();
        for (int i = 0; i < n; i++)
            if (!parts[i].name || parts[i].len > max_part || parts[i].data < copy ||
                parts[i].data + parts[i].len > copy + len)
                abort();
        http_multipart_free(parts, n);
    }
    arena *a = arena_new(0);
    http_kv *kv;
    int m = http_urlencoded_parse(a, (const char *)copy, len, &kv);
    for (int i = 0; i < m; i++)
        if (strlen(kv[i].value) > kv[i].value_len) abort();
    arena_free(a);
    free(copy);
    free(ct);
    return 0;
}
