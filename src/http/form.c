/* Form bodies: multipart/form-data (RFC 7578) and application/x-www-form-urlencoded,
 * which is also the syntax of query strings. Both parse a complete, size-limited body
 * held in memory; parts point into it. */
#include "http/http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Percent- and plus-decodes src[0..n) into a new arena string. */
static char *url_decode(arena *a, const char *src, size_t n, size_t *out_len)
{
    char *d = arena_alloc(a, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '+') {
            d[k++] = ' ';
        } else if (src[i] == '%' && i + 2 < n && hexval(src[i + 1]) >= 0 &&
                   hexval(src[i + 2]) >= 0) {
            d[k++] = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
            i += 2;
        } else {
            d[k++] = src[i];
        }
    }
    d[k] = '\0';
    if (out_len) *out_len = k;
    return d;
}

int http_urlencoded_parse(arena *a, const char *text, size_t len, http_kv **out)
{
    size_t cap = 1;
    for (size_t i = 0; i < len; i++) cap += text[i] == '&';
    http_kv *kv = arena_alloc(a, cap * sizeof *kv);
    int n = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '&') j++;
        if (j > i) {
            const char *eq = memchr(text + i, '=', j - i);
            size_t klen = eq ? (size_t)(eq - (text + i)) : j - i;
            kv[n].key = url_decode(a, text + i, klen, NULL);
            if (eq)
                kv[n].value = url_decode(a, eq + 1, (size_t)(text + j - eq - 1), &kv[n].value_len);
            else {
                kv[n].value = "";
                kv[n].value_len = 0;
            }
            n++;
        }
        i = j + 1;
    }
    *out = kv;
    return n;
}

/* Finds needle in hay[0..n). */
static const unsigned char *find(const unsigned char *hay, size_t n, const char *needle, size_t m)
{
    if (m == 0 || n < m) return NULL;
    const unsigned char *end = hay + n - m;
    for (const unsigned char *p = hay; p <= end; p++) {
        p = memchr(p, needle[0], (size_t)(end - p) + 1);
        if (!p) return NULL;
        if (memcmp(p, needle, m) == 0) return p;
    }
    return NULL;
}

/* Reads a parameter (boundary=, name=, filename=) from a header value, quoted or not.
 * Returns a malloc'ed string or NULL. */
static char *header_param(const char *v, size_t vlen, const char *key)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (i < vlen) {
        while (i < vlen && v[i] != ';') i++;
        if (i >= vlen) break;
        i++;
        while (i < vlen && (v[i] == ' ' || v[i] == '\t')) i++;
        if (vlen - i > klen && strncasecmp(v + i, key, klen) == 0 && v[i + klen] == '=') {
            i += klen + 1;
            if (i < vlen && v[i] == '"') {
                i++;
                char *out = xmalloc(vlen - i + 1);
                size_t k = 0;
                while (i < vlen && v[i] != '"') {
                    if (v[i] == '\\' && i + 1 < vlen) i++;
                    out[k++] = v[i++];
                }
                if (i >= vlen) {
                    free(out);
                    return NULL; /* unterminated quote */
                }
                out[k] = '\0';
                return out;
            }
            size_t j = i;
            while (j < vlen && v[j] != ';' && v[j] != ' ' && v[j] != '\t') j++;
            return xstrndup(v + i, j - i);
        }
    }
    return NULL;
}

void http_multipart_free(http_part *parts, int n)
{
    for (int i = 0; i < n; i++) {
        free((char *)parts[i].name);
        free((char *)parts[i].filename);
        free((char *)parts[i].content_type);
    }
    free(parts);
}

int http_multipart_parse(const char *content_type, const unsigned char *body, size_t len,
                         size_t max_part, size_t max_parts, http_part **out, err *e)
{
    *out = NULL;
    if (!content_type || strncasecmp(content_type, "multipart/form-data", 19) != 0) {
        err_set(e, 400, "expected Content-Type multipart/form-data");
        return -1;
    }
    char *boundary = header_param(content_type, strlen(content_type), "boundary");
    if (!boundary || !*boundary || strlen(boundary) > 200) {
        free(boundary);
        err_set(e, 400, "multipart body without a valid boundary parameter");
        return -1;
    }
    /* delimiter = CRLF "--" boundary; the first one may come without the CRLF */
    size_t blen = strlen(boundary);
    char *delim = xmalloc(blen + 5);
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, blen + 1);
    size_t dlen = blen + 4;
    free(boundary);

    http_part *parts = NULL;
    int n = 0, cap = 0;
    const unsigned char *p;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
        p = body + dlen - 2;
    else {
        const unsigned char *first = find(body, len, delim, dlen);
        if (!first) goto malformed;
        p = first + dlen;
    }
    const unsigned char *end = body + len;
    for (;;) {
        /* after a delimiter: "--" closes the body, CRLF opens a part */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') break;
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') goto malformed;
        p += 2;
        http_part part = {0};
        /* headers until an empty line */
        for (;;) {
            const unsigned char *eol = find(p, (size_t)(end - p), "\r\n", 2);
            if (!eol) goto malformed_part;
            if (eol == p) {
                p += 2;
                break;
            }
            size_t hl = (size_t)(eol - p);
            const char *h = (const char *)p;
            if (hl > 19 && strncasecmp(h, "Content-Disposition:", 20) == 0) {
                free((char *)part.name);
                free((char *)part.filename);
                part.name = header_param(h, hl, "name");
                part.filename = header_param(h, hl, "filename");
            } else if (hl > 12 && strncasecmp(h, "Content-Type:", 13) == 0) {
                size_t i = 13;
                while (i < hl && (h[i] == ' ' || h[i] == '\t')) i++;
                free((char *)part.content_type);
                part.content_type = xstrndup(h + i, hl - i);
            }
            p = eol + 2;
        }
        const unsigned char *next = find(p, (size_t)(end - p), delim, dlen);
        if (!next) {
            free((char *)part.name);
            free((char *)part.filename);
            free((char *)part.content_type);
            goto malformed;
        }
        if (!part.name) {
            free((char *)part.filename);
            free((char *)part.content_type);
            err_set(e, 400, "multipart part %d has no Content-Disposition name", n + 1);
            goto fail;
        }
        part.data = p;
        part.len = (size_t)(next - p);
        if (part.len > max_part) {
            err_set(e, 413, "multipart part '%s' is %zu bytes, over the %zu byte limit", part.name,
                    part.len, max_part);
            free((char *)part.name);
            free((char *)part.filename);
            free((char *)part.content_type);
            goto fail;
        }
        if ((size_t)n >= max_parts) {
            err_set(e, 413, "more than %zu multipart parts", max_parts);
            free((char *)part.name);
            free((char *)part.filename);
            free((char *)part.content_type);
            goto fail;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            parts = xrealloc(parts, (size_t)cap * sizeof *parts);
        }
        parts[n++] = part;
        p = next + dlen;
        continue;
    malformed_part:
        free((char *)part.name);
        free((char *)part.filename);
        free((char *)part.content_type);
        goto malformed;
    }
    free(delim);
    *out = parts;
    return n;
malformed:
    err_set(e, 400, "malformed multipart body: %s",
            n ? "a part is not terminated by the "
                "boundary"
              : "no boundary line found");
fail:
    free(delim);
    http_multipart_free(parts, n);
    return -1;
}
