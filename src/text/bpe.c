/* GPT-2's byte-level BPE. Every byte has a printable stand-in character (GPT-2's
 * bytes_to_unicode), so any input, valid UTF-8 or not, encodes losslessly. Merges run on
 * token ids with a heap of candidate pairs, O(n log n) per piece, instead of the
 * reference's rescans, which a long run of letters would make quadratic. */
#include "text_impl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pair_entry {
    uint64_t key; /* left id << 32 | right id, +1 so that 0 means empty */
    int32_t rank, merged;
} pair_entry;

struct text_bpe {
    text_map vocab;
    char **tokens; /* id → raw bytes (decoded from the stand-in alphabet) */
    size_t *token_len;
    size_t nids;
    int32_t byte_id[256]; /* the id of each byte's stand-in character */
    pair_entry *pairs;
    size_t pair_cap;
};

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others
 * are shifted to U+0100 and up, in byte order. */
static void byte_alphabet(uint32_t cps[256])
{
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        cps[b] = printable ? (uint32_t)b : (uint32_t)(256 + n++);
    }
}

static pair_entry *pair_slot(const text_bpe *b, uint64_t key)
{
    size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (b->pair_cap - 1);
    while (b->pairs[i].key && b->pairs[i].key != key) i = (i + 1) & (b->pair_cap - 1);
    return &b->pairs[i];
}

static uint64_t pair_key(int32_t l, int32_t r)
{
    return ((uint64_t)(uint32_t)l << 32 | (uint32_t)r) + 1;
}

void text_bpe_free(text_bpe *b)
{
    if (!b) return;
    text_map_free(&b->vocab);
    for (size_t i = 0; i < b->nids; i++) free(b->tokens[i]);
    free(b->tokens);
    free(b->token_len);
    free(b->pairs);
    free(b);
}

static int load_vocab(text_bpe *b, const char *path, const uint32_t alphabet[256], err *e)
{
    json_error_t je;
    json_t *v = json_load_file(path, 0, &je);
    if (!v || !json_is_object(v)) {
        err_set(e, 500, "%s: %s", path, v ? "expected an object of token → id" : je.text);
        json_decref(v);
        return -1;
    }
    int32_t rev[0x144];
    for (int i = 0; i < 0x144; i++) rev[i] = -1;
    for (int i = 0; i < 256; i++) rev[alphabet[i]] = i;
    size_t max_id = 0;
    const char *k;
    json_t *id;
    json_object_foreach(v, k, id)
    {
        json_int_t x = json_integer_value(id);
        if (!json_is_integer(id) || x < 0 || x > 10000000) {
            err_set(e, 500, "%s: token %s: expected a non-negative integer id", path, k);
            json_decref(v);
            return -1;
        }
        if ((size_t)x > max_id) max_id = (size_t)x;
    }
    b->nids = max_id + 1;
    b->tokens = xcalloc(b->nids, sizeof *b->tokens);
    b->token_len = xcalloc(b->nids, sizeof *b->token_len);
    json_object_foreach(v, k, id)
    {
        size_t klen = strlen(k);
        text_map_put(&b->vocab, k, klen, (int32_t)json_integer_value(id));
        /* The token's raw bytes: each stand-in character back to its byte. Tokens with
         * characters outside the alphabet (none in GPT-2's files) keep their UTF-8. */
        char *raw = xmalloc(klen + 1);
        size_t n = 0;
        for (size_t i = 0; i < klen;) {
            uint32_t cp;
            size_t l = text_utf8_next((const unsigned char *)k + i, klen - i, &cp);
            if (cp < 0x144 && rev[cp] >= 0) {
                raw[n++] = (char)rev[cp];
            } else {
                memcpy(raw + n, k + i, l);
                n += l;
            }
            i += l;
        }
        raw[n] = 0;
        size_t x = (size_t)json_integer_value(id);
        free(b->tokens[x]);
        b->tokens[x] = raw;
        b->token_len[x] = n;
    }
    json_decref(v);
    for (int i = 0; i < 256; i++) {
        char u[8];
        size_t l = text_utf8_put(alphabet[i], u);
        b->byte_id[i] = text_map_get(&b->vocab, u, l);
        if (b->byte_id[i] < 0) {
            err_set(e, 500, "%s: the vocabulary lacks the symbol for byte 0x%02x", path, i);
            return -1;
        }
    }
    return 0;
}

static int load_merges(text_bpe *b, const char *path, err *e)
{
    size_t len;
    char *text = file_read(path, &len, e);
    if (!text) return -1;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    b->pair_cap = 16;
    while (b->pair_cap < lines * 2) b->pair_cap *= 2;
    b->pairs = xcalloc(b->pair_cap, sizeof *b->pairs);
    int32_t rank = 0;
    size_t lineno = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        lineno++;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r') line[--l] = 0;
        if (l == 0 || (lineno == 1 && strncmp(line, "#version", 8) == 0)) continue;
        char *sp = strchr(line, ' ');
        if (!sp || sp == line || !sp[1] || strchr(sp + 1, ' ')) {
            err_set(e, 500, "%s: line %zu: expected two symbols separated by one space", path,
                    lineno);
            free(text);
            return -1;
        }
        *sp = 0;
        int32_t l_id = text_map_get(&b->vocab, line, strlen(line));
        int32_t r_id = text_map_get(&b->vocab, sp + 1, strlen(sp + 1));
        char *joined = xasprintf("%s%s", line, sp + 1);
        int32_t m_id = text_map_get(&b->vocab, joined, strlen(joined));
        free(joined);
        if (l_id < 0 || r_id < 0 || m_id < 0) {
            err_set(e, 500, "%s: line %zu: '%s %s' uses or makes a token the vocabulary lacks",
                    path, lineno, line, sp + 1);
            free(text);
            return -1;
        }
        pair_entry *s = pair_slot(b, pair_key(l_id, r_id));
        if (!s->key) *s = (pair_entry){pair_key(l_id, r_id), rank, m_id};
        rank++;
    }
    free(text);
    return 0;
}

text_bpe *text_bpe_load(const char *vocab_json, const char *merges_txt, err *e)
{
    uint32_t alphabet[256];
    byte_alphabet(alphabet);
    text_bpe *b = xcalloc(1, sizeof *b);
    if (load_vocab(b, vocab_json, alphabet, e) || load_merges(b, merges_txt, e)) {
        text_bpe_free(b);
        return NULL;
    }
    return b;
}

size_t text_bpe_vocab_size(const text_bpe *b)
{
    return b->vocab.n;
}

int32_t text_bpe_token_id(const text_bpe *b, const char *token)
{
    return text_map_get(&b->vocab, token, strlen(token));
}

/* ---------------------------------------------------------------- pre-tokenizer */

enum { C_LETTER, C_NUMBER, C_SPACE, C_OTHER };

/* JavaScript's \s (the reference is gpt-3-encoder's regex with the u flag). */
static bool js_space(uint32_t c)
{
    return (c >= 9 && c <= 13) || c == ' ' || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

static int cls(uint32_t cp)
{
    if (cp < 128) {
        if ((cp | 32) >= 'a' && (cp | 32) <= 'z') return C_LETTER;
        if (cp >= '0' && cp <= '9') return C_NUMBER;
        return js_space(cp) ? C_SPACE : C_OTHER;
    }
    if (js_space(cp)) return C_SPACE;
    if (text_in(text_letters, text_letters_len, cp)) return C_LETTER;
    if (text_in(text_numbers, text_numbers_len, cp)) return C_NUMBER;
    return C_OTHER;
}

/* Class of the character at i, and its length; an invalid byte is "other". */
static int cls_at(const unsigned char *s, size_t n, size_t i, size_t *len)
{
    uint32_t cp;
    *len = text_utf8_next(s + i, n - i, &cp);
    return cls(cp);
}

/* End of the run of characters of class c starting at i. */
static size_t run(const unsigned char *s, size_t n, size_t i, int c)
{
    size_t l;
    while (i < n && cls_at(s, n, i, &l) == c) i += l;
    return i;
}

/* Length of the piece starting at i (GPT-2's pattern, alternatives in order). */
static size_t piece(const unsigned char *s, size_t n, size_t i)
{
    static const char *const contractions[] = {"s", "t", "re", "ve", "m", "ll", "d"};
    if (s[i] == '\'')
        for (size_t k = 0; k < ARRAY_LEN(contractions); k++) {
            size_t cl = strlen(contractions[k]);
            if (i + 1 + cl <= n && memcmp(s + i + 1, contractions[k], cl) == 0) return 1 + cl;
        }
    size_t l;
    /* " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+" */
    size_t j = s[i] == ' ' && i + 1 < n ? i + 1 : i;
    int c = cls_at(s, n, j, &l);
    if (c != C_SPACE) return run(s, n, j, c) - i;
    /* "\s+(?!\S)" then "\s+": a whitespace run followed by a non-space leaves its last
     * character to lead the next piece. */
    size_t end = run(s, n, i, C_SPACE);
    if (end == n) return end - i;
    size_t last = i, k = i;
    while (k < end) {
        last = k;
        k += text_utf8_next(s + k, n - k, &(uint32_t){0});
    }
    return last > i ? last - i : end - i;
}

/* ---------------------------------------------------------------- merges */

typedef struct cand {
    int32_t rank;
    int32_t pos; /* index of the left symbol */
} cand;

static bool cand_less(cand a, cand b)
{
    return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static void heap_push(cand *h, size_t *n, cand c)
{
    size_t i = (*n)++;
    h[i] = c;
    while (i && cand_less(h[i], h[(i - 1) / 2])) {
        cand t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static cand heap_pop(cand *h, size_t *n)
{
    cand top = h[0];
    h[0] = h[--*n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && cand_less(h[l], h[m])) m = l;
        if (r < *n && cand_less(h[r], h[m])) m = r;
        if (m == i) break;
        cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
    return top;
}

/* Merges the symbols of one piece in place; returns the new count. */
static size_t merge_piece(const text_bpe *b, int32_t *sym, size_t n, int32_t *next, int32_t *prev,
                          cand *heap)
{
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
        prev[i] = (int32_t)i - 1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        pair_entry *p = pair_slot(b, pair_key(sym[i], sym[i + 1]));
        if (p->key) heap_push(heap, &hn, (cand){p->rank, (int32_t)i});
    }
    while (hn) {
        cand c = heap_pop(heap, &hn);
        int32_t l = c.pos, r = next[l];
        if (sym[l] < 0 || r < 0) continue;
        pair_entry *p = pair_slot(b, pair_key(sym[l], sym[r]));
        if (!p->key || p->rank != c.rank) continue; /* stale: a neighbour changed */
        sym[l] = p->merged;
        sym[r] = -1;
        next[l] = next[r];
        if (next[r] >= 0) prev[next[r]] = l;
        if (prev[l] >= 0) {
            pair_entry *q = pair_slot(b, pair_key(sym[prev[l]], sym[l]));
            if (q->key) heap_push(heap, &hn, (cand){q->rank, prev[l]});
        }
        if (next[l] >= 0) {
            pair_entry *q = pair_slot(b, pair_key(sym[l], sym[next[l]]));
            if (q->key) heap_push(heap, &hn, (cand){q->rank, l});
        }
    }
    size_t m = 0;
    for (int32_t i = 0; i >= 0 && (size_t)i < n; i = next[i]) sym[m++] = sym[i];
    return m;
}

int text_bpe_encode(const text_bpe *b, const char *text, size_t len, int32_t **ids, size_t *n,
                    err *e)
{
    (void)e;
    const unsigned char *s = (const unsigned char *)text;
    *ids = xmalloc((len + 1) * sizeof **ids);
    *n = 0;
    /* Work arrays sized for the longest piece possible (the whole text). Each merge adds
     * at most two candidates, so the heap never holds more than 3 per symbol. */
    int32_t *next = xmalloc((len + 1) * sizeof *next), *prev = xmalloc((len + 1) * sizeof *prev);
    cand *heap = xmalloc((3 * len + 1) * sizeof *heap);
    for (size_t i = 0; i < len;) {
        size_t pl = piece(s, len, i);
        int32_t *sym = *ids + *n;
        for (size_t k = 0; k < pl; k++) sym[k] = b->byte_id[s[i + k]];
        *n += merge_piece(b, sym, pl, next, prev, heap);
        i += pl;
    }
    free(next);
    free(prev);
    free(heap);
    return 0;
}

char *text_bpe_decode(const text_bpe *b, const int32_t *ids, size_t n, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0 && (size_t)ids[i] < b->nids && b->tokens[ids[i]])
            total += b->token_len[ids[i]];
    char *out = xmalloc(total + 1), *p = out;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0 && (size_t)ids[i] < b->nids && b->tokens[ids[i]]) {
            memcpy(p, b->tokens[ids[i]], b->token_len[ids[i]]);
            p += b->token_len[ids[i]];
        }
    *p = 0;
    if (len) *len = total;
    return out;
}
