/* text: any bytes through GPT-2 BPE (lossless: decode gives the input back) and through
 * WordPiece, on small vocabularies written at start-up. */
#include "text/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static text_bpe *bpe;
static text_wordpiece *wp;

/* GPT-2's byte alphabet as UTF-8 (bytes_to_unicode). */
static void symbol(int b, char *out)
{
    int n = 0, cp = -1;
    for (int x = 0; x < 256; x++) {
        int printable = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE;
        int c = printable ? x : 256 + n++;
        if (x == b) cp = c;
    }
    if (cp < 0x80)
        sprintf(out, "%c", cp);
    else
        sprintf(out, "%c%c", 0xC0 | cp >> 6, 0x80 | (cp & 0x3F));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char vocab[] = "/tmp/fuzz-vocab-XXXXXX", merges[] = "/tmp/fuzz-merges-XXXXXX",
         wvocab[] = "/tmp/fuzz-wvocab-XXXXXX";
    FILE *v = fdopen(mkstemp(vocab), "w"), *m = fdopen(mkstemp(merges), "w");
    fprintf(v, "{");
    for (int b = 0; b < 256; b++) {
        char s[8];
        symbol(b, s);
        fprintf(v, "%s\"%s%s\":%d", b ? "," : "",
                strcmp(s, "\"") == 0 || strcmp(s, "\\") == 0 ? "\\" : "", s, b);
    }
    /* A few merges, including chains, over common letters. */
    const char *pairs[][2] = {{"t", "h"}, {"th", "e"},  {"e", "r"}, {"Ġ", "the"},
                              {"a", "a"}, {"aa", "aa"}, {"i", "n"}, {"in", "g"}};
    fprintf(m, "#version: 0.2\n");
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        fprintf(v, ",\"%s%s\":%zu", pairs[i][0], pairs[i][1], 256 + i);
        fprintf(m, "%s %s\n", pairs[i][0], pairs[i][1]);
    }
    fprintf(v, "}");
    fclose(v);
    fclose(m);
    FILE *w = fdopen(mkstemp(wvocab), "w");
    fprintf(w, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n##s\nbed\n##room\n,\n.\na\n##a\n");
    fclose(w);
    err e = {0};
    bpe = text_bpe_load(vocab, merges, &e);
    wp = text_wordpiece_load(wvocab, 1, &e);
    unlink(vocab);
    unlink(merges);
    unlink(wvocab);
    if (!bpe || !wp) {
        fprintf(stderr, "fuzz_tokenizers: %s\n", e.msg);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int32_t *ids;
    size_t n, len;
    err e = {0};
    if (text_bpe_encode(bpe, (const char *)data, size, &ids, &n, &e)) abort();
    char *back = text_bpe_decode(bpe, ids, n, &len);
    if (len != size || memcmp(back, data, size) != 0) abort();
    free(back);
    free(ids);
    if (text_wordpiece_encode(wp, (const char *)data, size, 16, &ids, &n, &e)) abort();
    if (n < 2 || n > 16 || ids[0] != 2 || ids[n - 1] != 3) abort();
    free(ids);
    return 0;
}
