/*
 * text — tokenizers: GPT-2's byte-level BPE and BERT's WordPiece (as MiniLM and the
 * sentence-transformers models use it). A decoder-LM generation loop and sentence
 * embeddings belong here too once the nn engine is on main.
 *
 *     err e = {0};
 *     text_bpe *bpe = text_bpe_load("vocab.json", "merges.txt", &e);  // or encoder.json, vocab.bpe
 *     int32_t *ids; size_t n;
 *     if (text_bpe_encode(bpe, "Hello world", 11, &ids, &n, &e) == 0) { ... free(ids); }
 *     char *s = text_bpe_decode(bpe, ids, n, &len);   // the same bytes back
 *     text_bpe_free(bpe);
 *
 *     text_wordpiece *wp = text_wordpiece_load("vocab.txt", true, &e);   // uncased
 *     text_wordpiece_encode(wp, "Héllo, world!", 13, 128, &ids, &n, &e);
 *     // [CLS] hello , world ! [SEP]
 *
 * Both tokenizers are read-only after loading and safe to share between threads. Input
 * text is UTF-8; invalid bytes are not an error: BPE encodes every byte losslessly, and
 * WordPiece treats an invalid byte as an unknown character.
 */
#ifndef ARTISTRY_TEXT_H
#define ARTISTRY_TEXT_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- UTF-8 */

/* A copy of s (len bytes) with every byte that does not begin a valid UTF-8 character
 * replaced by U+FFFD, so the result can go into JSON. malloc'ed, NUL-terminated. */
char *text_utf8_clean(const char *s, size_t len);

/* ---------------------------------------------------------------- byte-level BPE */

typedef struct text_bpe text_bpe;

/* Loads GPT-2's vocabulary (a JSON object token → id: encoder.json / vocab.json) and
 * merges (one "a b" pair per line after a "#version" header: vocab.bpe / merges.txt).
 * Returns NULL with e (the file and line or token at fault). */
text_bpe *text_bpe_load(const char *vocab_json, const char *merges_txt, err *e);
void text_bpe_free(text_bpe *b);
size_t text_bpe_vocab_size(const text_bpe *b);
/* The id of a token string as the vocabulary spells it ("<|endoftext|>"), or -1. */
int32_t text_bpe_token_id(const text_bpe *b, const char *token);

/* Splits text as GPT-2's pre-tokenizer does ('s 't 're 've 'm 'll 'd, ?\p{L}+, ?\p{N}+,
 * ?[^\s\p{L}\p{N}]+, \s+(?!\S), \s+), maps each piece's bytes to GPT-2's byte alphabet and
 * applies the merges. Special tokens are not recognised in the text (as gpt-3-encoder).
 * *ids is malloc'ed. Returns 0, or -1 with e only when the vocabulary lacks a symbol
 * (a vocabulary/merges mismatch: 500). */
int text_bpe_encode(const text_bpe *b, const char *text, size_t len, int32_t **ids, size_t *n,
                    err *e);
/* The bytes of the tokens, joined (malloc'ed, NUL-terminated, length in *len). Unknown ids
 * are skipped. */
char *text_bpe_decode(const text_bpe *b, const int32_t *ids, size_t n, size_t *len);

/* ---------------------------------------------------------------- WordPiece */

typedef struct text_wordpiece text_wordpiece;

/* Loads a BERT vocab.txt (one token per line, id = line number). lower_case selects the
 * uncased normalisation (lower-case and strip accents). The vocabulary must hold [UNK],
 * [CLS] and [SEP]. Returns NULL with e. */
text_wordpiece *text_wordpiece_load(const char *vocab_txt, int lower_case, err *e);
void text_wordpiece_free(text_wordpiece *w);
size_t text_wordpiece_vocab_size(const text_wordpiece *w);
int32_t text_wordpiece_token_id(const text_wordpiece *w, const char *token);

/* BERT's basic tokenizer (clean control characters, space out CJK ideographs, normalise,
 * split on whitespace and punctuation) then greedy longest-match WordPiece with "##"
 * continuations; a word longer than 100 characters or with no match is [UNK]. The ids
 * are wrapped in [CLS] ... [SEP] and truncated to max_len (>= 2; 0 = no limit), keeping
 * the final [SEP]. *ids is malloc'ed. Returns 0, or -1 with e for a max_len of 1. */
int text_wordpiece_encode(const text_wordpiece *w, const char *text, size_t len, size_t max_len,
                          int32_t **ids, size_t *n, err *e);

#endif
