/* BERT WordPiece against npm @huggingface/tokenizers@0.2.0 (Hugging Face's BertNormalizer,
 * BertPreTokenizer and WordPiece) on the same vocabulary and texts, plus the rules that
 * matter on their own: accents, punctuation, CJK, [UNK], truncation. */
#include "text/text.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REF SOURCE_ROOT "/.cache/reference/node_modules"

static char vocab_path[] = "/tmp/artistry-vocab-XXXXXX";

/* A small BERT-style vocabulary: specials, punctuation, single characters with their
 * "##" forms, some words and suffixes, a few CJK and jamo characters. */
static const char *build_vocab(void)
{
    int fd = mkstemp(vocab_path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    const char *specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (size_t i = 0; i < 5; i++) fprintf(f, "%s\n", specials[i]);
    for (int c = 33; c < 127; c++)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            fprintf(f, "%c\n", c);
    const char *extra_punct[] = {"¿", "¡", "«", "»", "“", "”", "—", "…", "、", "。"};
    for (size_t i = 0; i < ARRAY_LEN(extra_punct); i++) fprintf(f, "%s\n", extra_punct[i]);
    for (int c = 'a'; c <= 'z'; c++) fprintf(f, "%c\n##%c\n", c, c);
    for (int c = '0'; c <= '9'; c++) fprintf(f, "%c\n##%c\n", c, c);
    const char *words[] = {"the",   "quick",   "brown", "fox",    "jump",  "##s",    "##ed",
                           "##ing", "over",    "lazy",  "dog",    "hello", "world",  "cafe",
                           "naive", "resume",  "bed",   "##room", "room",  "warm",   "beige",
                           "wall",  "curtain", "linen", "un",     "##aff", "##able", "zurich",
                           "д",     "ом",      "##ом",  "привет", "中",    "文",     "ᄒ",
                           "##ᅡ",  "##ᆫ",    "β",     "##ε",    "é",     "ß",      "hello##"};
    for (size_t i = 0; i < ARRAY_LEN(words); i++) fprintf(f, "%s\n", words[i]);
    fclose(f);
    return vocab_path;
}

static json_t *reference(const char *vocab, int lower, json_t *texts)
{
    char tmp[] = "/tmp/artistry-wp-XXXXXX";
    int fd = mkstemp(tmp);
    FILE *f = fdopen(fd, "w");
    json_dumpf(texts, f, 0);
    fclose(f);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "node %s/tests/text/wordpiece_reference.js %s %s %d < %s",
             SOURCE_ROOT, REF, vocab, lower, tmp);
    FILE *p = popen(cmd, "r");
    json_error_t je;
    json_t *out = json_loadf(p, 0, &je);
    pclose(p);
    unlink(tmp);
    cr_assert_not_null(out, "node gave no JSON (deploy/install-deps.sh --test): %s", je.text);
    return out;
}

static const char *const corpus[] = {
    "Hello, world!",
    "The QUICK brown fox jumped over the lazy dogs.",
    "Café naïve résumé, Zürich!",
    "unaffable bedroom rooms",
    "  multiple   spaces\tand\ttabs\nand\r\nnewlines  ",
    "中文 and 中文字 mixed中文text",
    "Привет дом домом",
    "한 한국",
    "βε ΒΕ",
    "emoji 😀 unknown ☃ chars",
    "punct: ¿que? ¡si! «quote» “smart” — dash… 、。",
    "a$b^c`d~e|f\\g",
    "zero\u200bwidth soft\u00adhyphen ctrl\x01\x07char",
    "straße STRASSE",
    "numbers 123 45.67 8,9",
    "hello##world",
    "",
    "   ",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaa",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaa",
};

static void compare(int lower)
{
    const char *vocab = build_vocab();
    err e = {0};
    text_wordpiece *w = text_wordpiece_load(vocab, lower, &e);
    cr_assert_not_null(w, "%s", e.msg);
    json_t *texts = json_array();
    for (size_t i = 0; i < ARRAY_LEN(corpus); i++)
        json_array_append_new(texts, json_string(corpus[i]));
    json_t *ref = reference(vocab, lower, texts);
    for (size_t i = 0; i < ARRAY_LEN(corpus); i++) {
        int32_t *ids;
        size_t n;
        cr_assert_eq(text_wordpiece_encode(w, corpus[i], strlen(corpus[i]), 0, &ids, &n, &e), 0);
        json_t *want = json_array_get(ref, i);
        bool same = n == json_array_size(want);
        for (size_t k = 0; same && k < n; k++)
            same = ids[k] == json_integer_value(json_array_get(want, k));
        if (!same) {
            char *ws = json_dumps(want, JSON_COMPACT);
            fprintf(stderr, "lower=%d text %zu \"%s\": want %s got", lower, i, corpus[i], ws);
            for (size_t k = 0; k < n; k++) fprintf(stderr, " %d", ids[k]);
            fprintf(stderr, "\n");
            free(ws);
        }
        cr_expect(same, "text %zu differs from @huggingface/tokenizers", i);
        free(ids);
    }
    json_decref(ref);
    json_decref(texts);
    text_wordpiece_free(w);
    unlink(vocab);
}

Test(wordpiece, matches_huggingface_uncased)
{
    compare(1);
}

Test(wordpiece, matches_huggingface_cased)
{
    compare(0);
}

static size_t encode(text_wordpiece *w, const char *t, size_t max_len, int32_t *out)
{
    int32_t *ids;
    size_t n;
    err e = {0};
    cr_assert_eq(text_wordpiece_encode(w, t, strlen(t), max_len, &ids, &n, &e), 0);
    memcpy(out, ids, n * sizeof *ids);
    free(ids);
    return n;
}

Test(wordpiece, rules_and_truncation)
{
    const char *vocab = build_vocab();
    err e = {0};
    text_wordpiece *w = text_wordpiece_load(vocab, 1, &e);
    cr_assert_not_null(w);
    int32_t cls = text_wordpiece_token_id(w, "[CLS]"), sep = text_wordpiece_token_id(w, "[SEP]");
    int32_t unk = text_wordpiece_token_id(w, "[UNK]"), bed = text_wordpiece_token_id(w, "bed");
    int32_t room = text_wordpiece_token_id(w, "##room"), cafe = text_wordpiece_token_id(w, "cafe");
    int32_t comma = text_wordpiece_token_id(w, ",");
    int32_t out[256];
    size_t n = encode(w, "BEDROOM, Café", 0, out);
    int32_t want[] = {cls, bed, room, comma, cafe, sep};
    cr_assert_eq(n, 6);
    cr_assert_arr_eq(out, want, sizeof want);
    n = encode(w, "bedroom ☃ bed", 0, out);
    int32_t want2[] = {cls, bed, room, unk, bed, sep};
    cr_assert_arr_eq(out, want2, sizeof want2);
    n = encode(w, "bed bed bed bed bed", 4, out); /* truncation keeps [SEP] */
    int32_t want3[] = {cls, bed, bed, sep};
    cr_assert_eq(n, 4);
    cr_assert_arr_eq(out, want3, sizeof want3);
    int32_t *ids;
    cr_assert_eq(text_wordpiece_encode(w, "x", 1, 1, &ids, &n, &e), -1);
    /* Invalid UTF-8 bytes are dropped like U+FFFD. */
    n = encode(w, "bed\xff\xfe", 0, out);
    cr_assert_eq(n, 3);
    text_wordpiece_free(w);
    unlink(vocab);
    cr_assert_null(text_wordpiece_load("/nonexistent/vocab.txt", 1, &e));
}
