/* base64: decoding arbitrary text never crashes, and whatever decodes re-encodes to an
 * equivalent text that decodes to the same bytes. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    err e = {0};
    size_t n;
    unsigned char *bin = b64_decode((const char *)data, size, &n, &e);
    if (!bin) {
        if (e.status != 400 || strncmp(e.msg, "invalid base64", 14) != 0) abort();
        return 0;
    }
    if (n > b64_decoded_max(size)) abort();
    size_t m;
    char *text = b64_encode(bin, n, &m);
    unsigned char *again = b64_decode(text, m, &m, &e);
    if (!again || m != n || memcmp(again, bin, n) != 0) abort();
    free(again);
    free(text);
    free(bin);
    return 0;
}
