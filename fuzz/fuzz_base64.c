/* base64: our codec against libsodium's, used as the oracle. Decoding arbitrary text
 * never crashes; it succeeds exactly when libsodium's strict decoder (standard alphabet,
 * ASCII whitespace ignored, padding optional but exact when present, canonical final
 * bits) does, with the same bytes; failures are a 400 that says "invalid base64"; and
 * encoding any bytes gives libsodium's text. */
#include "core/core.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* libsodium with our rules: padding present means the padded variant, whose '=' count it
 * checks; absent means the unpadded one. */
static unsigned char *oracle(const char *text, size_t len, size_t *n)
{
    /* libsodium skips NUL bytes (strchr finds its ignore list's terminator) and takes
     * some bytes over 0x7f for letters; both are errors here. Its verdict is asked only
     * of text made of the alphabet, '=' and the four whitespace bytes. */
    for (size_t i = 0; i < len; i++)
        if (!text[i] || !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789+/= \t\r\n",
                                text[i]))
            return NULL;
    size_t pad = 0;
    for (size_t i = 0; i < len; i++) pad += text[i] == '=';
    int variant = pad ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
    unsigned char *out = malloc(len / 4 * 3 + 3);
    const char *end = NULL;
    if (sodium_base642bin(out, len / 4 * 3 + 3, text, len, " \t\r\n", n, &end, variant) != 0 ||
        (end && end != text + len)) {
        free(out);
        return NULL;
    }
    return out;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    err e = {0};
    size_t n, want_n = 0;
    unsigned char *bin = b64_decode((const char *)data, size, &n, &e);
    unsigned char *want = oracle((const char *)data, size, &want_n);
    if (!bin != !want) abort();
    if (!bin) {
        if (e.status != 400 || strncmp(e.msg, "invalid base64", 14) != 0) abort();
    } else if (n != want_n || memcmp(bin, want, n) != 0 || n > b64_decoded_max(size)) {
        abort();
    }
    free(bin);
    free(want);
    /* the input as bytes, encoded by both */
    size_t m;
    char *text = b64_encode(data, size, &m);
    size_t cap = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL);
    char *ref = malloc(cap);
    sodium_bin2base64(ref, cap, data, size, sodium_base64_VARIANT_ORIGINAL);
    if (m != cap - 1 || strcmp(text, ref) != 0) abort();
    free(ref);
    free(text);
    return 0;
}
