/*
 * text — tokenizers (GPT-2's byte-level BPE, BERT's WordPiece as MiniLM and the
 * sentence-transformers models use it), a decoder-LM generation loop with a KV cache, and
 * sentence embeddings.
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
 * The decoder loop and the embedder run ONNX models on the nn engine:
 *
 *     text_lm *lm = text_lm_load("gpt2/model.onnx", 2, &e);     // vocab.json, merges.txt beside it
 *     text_lm_params p = text_lm_default_params();  p.seed = 42;
 *     char *advice = text_lm_generate(lm, "Suggestion:", &p, &e);  // free()
 *
 *     text_embedder *m = text_embedder_load("minilm/model.onnx", "minilm/vocab.txt", 2, &e);
 *     float *v; size_t dim;
 *     text_embed(m, "beige fabric bed", 16, &v, &dim, &e);       // unit length, free(v)
 *
 * Both tokenizers are read-only after loading and safe to share between threads. Input
 * text is UTF-8; invalid bytes are not an error: BPE encodes every byte losslessly, and
 * WordPiece treats an invalid byte as an unknown character.
 */
#ifndef ARTISTRY_TEXT_H
#define ARTISTRY_TEXT_H

#include "core/core.h"

#include <stdbool.h>
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

/* ---------------------------------------------------------------- decoder LM */

typedef struct text_lm text_lm;

typedef struct text_lm_params {
    int max_new_tokens;    /* default 150 */
    float temperature;     /* default 0.7; <= 0 is greedy */
    int top_k;             /* default 50 (Hugging Face's); <= 0 keeps all */
    float top_p;           /* default 1.0 (off) */
    uint64_t seed;         /* the same seed, prompt and model give the same text */
    bool use_cache;        /* default true: each step runs one token on the KV cache */
    int max_prompt_tokens; /* default 512: a longer prompt keeps its end */
} text_lm_params;

text_lm_params text_lm_default_params(void);
/* Loads a GPT-2-layout decoder with a KV cache (inputs input_ids and
 * past_key_values.N.key/value [batch, heads, past, head_size]; outputs logits and
 * present.N.key/value) and the vocab.json and merges.txt in its folder; config.json there,
 * when present, gives the context length (n_positions, else 1024). threads 0 = the
 * engine's default. NULL with e (400 for a model of another layout). Shared by threads. */
text_lm *text_lm_load(const char *onnx_path, int threads, err *e);
void text_lm_free(text_lm *lm);
const text_bpe *text_lm_tokenizer(const text_lm *lm);
size_t text_lm_vocab_size(const text_lm *lm);
/* The logits after ids (vocab floats into out): with the cache, one token per run; without,
 * one run over all of them. The two agree to rounding; tests hold them to it. */
int text_lm_last_logits(text_lm *lm, const int32_t *ids, size_t n, bool use_cache, float *out,
                        err *e);
/* One draw from logits (modified in place) under p, advancing *rng. */
int32_t text_lm_sample(const float *logits, size_t vocab, const text_lm_params *p, uint64_t *rng);
/* The text generated after prompt (malloc'ed; the prompt is not repeated), stopping at
 * <|endoftext|> or max_new_tokens. NULL with e when the model fails. */
char *text_lm_generate(text_lm *lm, const char *prompt, const text_lm_params *p, err *e);

/* ---------------------------------------------------------------- sentence embeddings */

typedef struct text_embedder text_embedder;

/* A sentence-transformers encoder in ONNX (inputs input_ids, attention_mask and, if it has
 * one, token_type_ids; first output the token states [1, T, dim]) with its uncased
 * WordPiece vocab.txt. NULL with e. Shared by threads. */
text_embedder *text_embedder_load(const char *onnx_path, const char *vocab_txt, int threads,
                                  err *e);
void text_embedder_free(text_embedder *m);
/* The mean of the token states, L2-normalised: *out (malloc'ed) holds *dim floats. Texts
 * are cut at 256 WordPiece tokens. */
int text_embed(text_embedder *m, const char *text, size_t len, float **out, size_t *dim, err *e);

#endif
