/* BERT's WordPiece, as its reference BasicTokenizer + WordpieceTokenizer define it:
 * drop NUL, U+FFFD and control characters, whitespace to spaces, space out CJK
 * ideographs, (uncased) lower-case and strip accents, split off punctuation, then greedy
 * longest-match-first pieces with "##" continuations. All of the per-character work is
 * one pass over the text into a normalised buffer of space-separated words. */
#include "text_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORD_CHARS 100

struct text_wordpiece {
    text_map vocab;
    int lower;
    int32_t unk, cls, sep;
};

text_wordpiece *text_wordpiece_load(const char *vocab_txt, int lower_case, err *e)
{
    size_t len;
    char *text = file_read(vocab_txt, &len, e);
    if (!text) return NULL;
    text_wordpiece *w = xcalloc(1, sizeof *w);
    w->lower = lower_case;
    int32_t id = 0;
    for (char *line = text, *next; line && (size_t)(line - text) < len; line = next, id++) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r') line[--l] = 0;
        if (!next && l == 0) break; /* the newline at the end of the file */
        text_map_put(&w->vocab, line, l, id);
    }
    free(text);
    w->unk = text_map_get(&w->vocab, "[UNK]", 5);
    w->cls = text_map_get(&w->vocab, "[CLS]", 5);
    w->sep = text_map_get(&w->vocab, "[SEP]", 5);
    if (w->unk < 0 || w->cls < 0 || w->sep < 0) {
        err_set(e, 500, "%s: the vocabulary needs [UNK], [CLS] and [SEP]", vocab_txt);
        text_wordpiece_free(w);
        return NULL;
    }
    return w;
}

void text_wordpiece_free(text_wordpiece *w)
{
    if (!w) return;
    text_map_free(&w->vocab);
    free(w);
}

size_t text_wordpiece_vocab_size(const text_wordpiece *w)
{
    return w->vocab.n;
}

int32_t text_wordpiece_token_id(const text_wordpiece *w, const char *token)
{
    return text_map_get(&w->vocab, token, strlen(token));
}

static bool is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static bool is_space(uint32_t c)
{
    /* BERT: space, tab, newline, carriage return, or Unicode category Zs. */
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x205F || c == 0x3000;
}

static bool is_punct(uint32_t c)
{
    /* All non-letter, non-number ASCII is punctuation to BERT ("$", "^", "`"), as is
     * every Unicode P* character. */
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126))
        return true;
    return text_in(text_punct, text_punct_len, c);
}

static const char *norm_of(uint32_t cp)
{
    size_t lo = 0, hi = text_bert_norm_len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < text_bert_norm[mid].cp)
            hi = mid;
        else if (cp > text_bert_norm[mid].cp)
            lo = mid + 1;
        else
            return text_bert_norm[mid].to;
    }
    return NULL;
}

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void put_cp(buf *b, uint32_t cp)
{
    char u[4];
    if (is_punct(cp) || is_cjk(cp)) {
        put(b, " ", 1);
        put(b, u, text_utf8_put(cp, u));
        put(b, " ", 1);
    } else {
        put(b, u, text_utf8_put(cp, u));
    }
}

/* The cleaned, normalised text with words separated by spaces. */
static void normalise(const text_wordpiece *w, const unsigned char *s, size_t len, buf *out)
{
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += text_utf8_next(s + i, len - i, &cp);
        if (cp == 0 || cp == 0xFFFD) continue;
        if (is_space(cp)) {
            put(out, " ", 1);
            continue;
        }
        if (text_in(text_control, text_control_len, cp)) continue;
        if (!w->lower) {
            put_cp(out, cp);
            continue;
        }
        if (cp >= 0xAC00 && cp <= 0xD7A3) {
            /* Hangul syllables decompose to their jamo (Unicode 3.12), none of them marks. */
            uint32_t k = cp - 0xAC00;
            put_cp(out, 0x1100 + k / 588);
            put_cp(out, 0x1161 + (k % 588) / 28);
            if (k % 28) put_cp(out, 0x11A7 + k % 28);
            continue;
        }
        const char *to = norm_of(cp);
        if (!to) {
            put_cp(out, cp);
            continue;
        }
        for (size_t j = 0, tl = strlen(to); j < tl;) {
            uint32_t c2;
            j += text_utf8_next((const unsigned char *)to + j, tl - j, &c2);
            put_cp(out, c2);
        }
    }
}

/* Appends the pieces of one word (or [UNK]) to ids. */
static void word_pieces(const text_wordpiece *w, const char *word, size_t len, int32_t *ids,
                        size_t *n)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) chars += ((unsigned char)word[i] & 0xC0) != 0x80;
    if (chars > MAX_WORD_CHARS) {
        ids[(*n)++] = w->unk;
        return;
    }
    size_t first = *n, start = 0;
    char *tmp = xmalloc(len + 3);
    while (start < len) {
        size_t end = len;
        int32_t found = -1;
        while (end > start) {
            size_t tl = 0;
            if (start > 0) {
                memcpy(tmp, "##", 2);
                tl = 2;
            }
            memcpy(tmp + tl, word + start, end - start);
            tl += end - start;
            found = text_map_get(&w->vocab, tmp, tl);
            if (found >= 0) break;
            do end--; /* back to the previous character boundary */
            while (end > start && ((unsigned char)word[end] & 0xC0) == 0x80);
        }
        if (found < 0) {
            *n = first;
            ids[(*n)++] = w->unk;
            break;
        }
        ids[(*n)++] = found;
        start = end;
    }
    free(tmp);
}

int text_wordpiece_encode(const text_wordpiece *w, const char *text, size_t len, size_t max_len,
                          int32_t **ids, size_t *n, err *e)
{
    if (max_len == 1) {
        err_set(e, 422, "max_len must be 0 (no limit) or at least 2 for [CLS] and [SEP]");
        return -1;
    }
    buf b = {0};
    normalise(w, (const unsigned char *)text, len, &b);
    put(&b, "", 0);
    /* At most one piece per byte, plus [CLS] and [SEP]. */
    *ids = xmalloc((b.n + 2) * sizeof **ids);
    *n = 0;
    (*ids)[(*n)++] = w->cls;
    for (size_t i = 0; i < b.n;) {
        while (i < b.n && b.p[i] == ' ') i++;
        size_t j = i;
        while (j < b.n && b.p[j] != ' ') j++;
        if (j > i) word_pieces(w, b.p + i, j - i, *ids, n);
        i = j;
    }
    if (max_len && *n + 1 > max_len) *n = max_len - 1;
    (*ids)[(*n)++] = w->sep;
    free(b.p);
    return 0;
}
