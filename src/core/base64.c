/* Base64 over libsodium's constant-time codec. */
#include "core/core.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

char *b64_encode(const void *data, size_t len, size_t *out_len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *s = xmalloc(cap);
    sodium_bin2base64(s, cap, data, len, sodium_base64_VARIANT_ORIGINAL);
    if (out_len) *out_len = cap - 1;
    return s;
}

size_t b64_decoded_max(size_t text_len)
{
    return text_len / 4 * 3 + 3;
}

/* Describes why text is not base64, naming the first offending byte. */
static void explain(const char *text, size_t len, err *e)
{
    if (len >= 5 && strncmp(text, "data:", 5) == 0) {
        err_set(e, 400,
                "invalid base64: found a 'data:' URL prefix; send the raw base64 text "
                "without 'data:...;base64,'");
        return;
    }
    size_t sig = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '+' || c == '/';
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        if (c == '=') {
            /* padding must come last: only '=' and whitespace may follow */
            for (size_t j = i; j < len; j++)
                if (text[j] != '=' && text[j] != ' ' && text[j] != '\n' && text[j] != '\r' &&
                    text[j] != '\t') {
                    err_set(e, 400,
                            "invalid base64: padding '=' at offset %zu is followed by "
                            "more data",
                            i);
                    return;
                }
            break;
        }
        if (!alpha) {
            if (c >= 0x20 && c < 0x7f)
                err_set(e, 400, "invalid base64: character '%c' at offset %zu", c, i);
            else
                err_set(e, 400, "invalid base64: byte 0x%02x at offset %zu", c, i);
            return;
        }
        sig++;
    }
    if (sig % 4 == 1)
        err_set(e, 400,
                "invalid base64: the input ends in the middle of a group (%zu "
                "characters, a truncated upload?)",
                sig);
    else
        err_set(e, 400, "invalid base64: wrong padding at the end of the input");
}

unsigned char *b64_decode(const char *text, size_t len, size_t *out_len, err *e)
{
    size_t cap = b64_decoded_max(len) + 1;
    unsigned char *out = xmalloc(cap);
    size_t n = 0;
    const char *end = NULL;
    /* Count significant characters to decide whether the padding is present. */
    size_t sig = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '=')
            pad++;
        else if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            sig++;
    }
    int variant = pad ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
    if (sodium_base642bin(out, cap, text, len, " \t\r\n", &n, &end, variant) != 0 ||
        (end && end != text + len) || (pad && (sig + pad) % 4 != 0)) {
        free(out);
        explain(text, len, e);
        return NULL;
    }
    out[n] = '\0';
    if (out_len) *out_len = n;
    return out;
}
