/* JSON bodies: what jansson accepts, our Python-style encoder writes back as JSON that
 * parses to an equal value (floats compared by value: the text is their shortest form). */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    json_error_t je;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!v) return 0;
    size_t len;
    char *text = http_json_dumps(v, &len);
    json_t *again = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!again || !json_equal(v, again)) abort();
    /* and the encoding is a fixed point */
    size_t len2;
    char *text2 = http_json_dumps(again, &len2);
    if (len2 != len || memcmp(text, text2, len) != 0) abort();
    free(text2);
    free(text);
    json_decref(again);
    json_decref(v);
    return 0;
}
