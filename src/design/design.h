/*
 * design — the advise service's knowledge: budget tiers and material specs, INR pricing
 * with labour and DIY savings, DIY guides, upgrade reasoning, and room analysis from the
 * detections and from the photo's pixels. Every function here is pure: request JSON in,
 * response JSON out, no I/O beyond loading the knowledge base once.
 *
 *     err e = {0};
 *     design_kb *kb = design_kb_load("data", &e);          // validates every file
 *     if (!kb) { fprintf(stderr, "%s\n", e.msg); return 1; } // "data/pricing.json: items.bed..."
 *     json_t *req = json_loads("{\"detected_objects\":[\"bed\"],\"budget\":\"medium\"}", 0, NULL);
 *     json_t *resp = design_estimate_total_cost(kb, req, &e);   // NULL + e.status 422 on bad input
 *     char *text = http_json_dumps(resp, NULL);             // Python-compatible JSON text
 *     ...
 *     free(text); json_decref(resp); json_decref(req); design_kb_free(kb);
 *
 * Conventions:
 * - Request bodies are validated the way the original's pydantic models did (CONTRACT §2.3):
 *   a missing required field, a number where a string belongs, a bare string where a list
 *   belongs, a non-integral number for an int field → NULL with e->status 422 and a
 *   message naming the field ("body.budget: Field required").
 * - Responses are new references the caller json_decref's. Keys are in the contract's
 *   order; integers and reals are kept apart exactly as the original's Python did.
 * - A design_kb is read-only after loading and may be shared by any number of threads.
 */
#ifndef ARTISTRY_DESIGN_H
#define ARTISTRY_DESIGN_H

#include "core/core.h"
#include "http/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- knowledge base */

typedef struct design_kb design_kb;

/* Loads and validates dir/pricing.json, dir/diy.json, dir/rooms.json, dir/colors.json and
 * dir/advice.json. Every problem is reported with the file and the JSON path of the field
 * ("data/pricing.json: items.sofa.tiers.low.labor_cost: expected a non-negative integer").
 * Returns NULL with e->status 500 on failure. */
design_kb *design_kb_load(const char *dir, err *e);
void design_kb_free(design_kb *kb);
/* Number of priced items (the original's ten plus our extensions). */
size_t design_kb_item_count(const design_kb *kb);
/* The item name pricing uses for `item` (lower-cased, alias-mapped), whether or not it is
 * priced. Writes at most outsz bytes. */
void design_kb_canonical(const design_kb *kb, const char *item, char *out, size_t outsz);
/* True when `item` (any case, aliases allowed) has its own prices, i.e. it does not fall
 * to the generic "Standard <item>" line. */
bool design_kb_has_item(const design_kb *kb, const char *item);

/* ---------------------------------------------------------------- endpoints (§7) */

/* POST /estimate/total-cost (§7.13). */
json_t *design_estimate_total_cost(const design_kb *kb, const json_t *body, err *e);
/* POST /diy/instructions (§7.14). Always has steps, tools_needed and materials_checklist
 * (empty lists when no full guide exists), so the /mvp page cannot crash. */
json_t *design_diy_instructions(const design_kb *kb, const json_t *body, err *e);
/* POST /proposal/initial (§7.6). */
json_t *design_proposal_initial(const design_kb *kb, const json_t *body, err *e);
/* POST /proposal/refine (§7.7). A base_design.lighting that is not an object is a 422
 * (the original crashed with a 500). */
json_t *design_proposal_refine(const design_kb *kb, const json_t *body, err *e);
/* POST /prompt/generate (§7.8). The body must be a JSON object. */
json_t *design_prompt_generate(const design_kb *kb, const json_t *body, err *e);
/* POST /advise/refine-budget (§7.10). */
json_t *design_refine_budget(const design_kb *kb, const json_t *body, err *e);
/* POST /advise/reason-upgrades (§7.11). Items come in a deterministic order: the keys of
 * item_conditions in request order, then user_selection entries not already listed. */
json_t *design_reason_upgrades(const design_kb *kb, const json_t *body, err *e);
/* POST /condition/detect (§7.9) without a vision-language model: every item is
 * "acceptable" with confidence 0.5 and reasoning saying no condition model is configured.
 * image_b64 must be valid base64 (422 otherwise); its pixels are not judged. */
json_t *design_condition_detect(const design_kb *kb, const json_t *body, err *e);
/* POST /advise/structured (§7.5): recommendations composed by rules from the input and
 * the knowledge base ("source":"rules"), designer_prompt, and its copy
 * structured_prompt_for_generation (§16). */
json_t *design_advise_structured(const design_kb *kb, const json_t *body, err *e);
/* POST /advise (§7.3, JSON): {"advice": text, "source": "rules"}. */
json_t *design_advise_json(const design_kb *kb, const json_t *body, err *e);

/* ---------------------------------------------------------------- photo analysis */

/* Packed 8-bit RGB pixels, row stride in bytes (>= 3 * width). Not owned. */
typedef struct design_pixels {
    const uint8_t *rgb;
    int width, height;
    size_t stride;
} design_pixels;

typedef enum design_lighting_kind {
    DESIGN_LIGHT_NATURAL,
    DESIGN_LIGHT_ARTIFICIAL,
    DESIGN_LIGHT_MIXED,
    DESIGN_LIGHT_DIM,
} design_lighting_kind;

typedef struct design_lighting {
    design_lighting_kind kind;
    double mean_luminance; /* relative luminance Y of the sRGB pixels, 0..1 */
    double p90_luminance;  /* 90th percentile of Y */
    double dark_fraction;  /* share of pixels with Y < 0.05 */
    double cct_kelvin;     /* correlated colour temperature of the bright pixels */
    double warm_fraction;  /* share of bright pixels with CCT below 3600 K */
    double cool_fraction;  /* share of bright pixels with CCT above 4800 K */
} design_lighting;

/* Classifies the scene's lighting from luminance statistics and the colour temperature
 * of its lit, pale surfaces (McCamy's formula on CIE xy): dim when the mean and 90th
 * percentile luminance are low; natural when at least half of them read above 4800 K
 * and under a fifth below 3600 K; artificial the other way round; mixed otherwise. Never fails on
 * non-empty pixels; returns -1 with e (422) for an empty or inconsistent image. */
int design_analyze_lighting(const design_pixels *px, design_lighting *out, err *e);
const char *design_lighting_name(design_lighting_kind k);

typedef struct design_color {
    double lab[3];    /* CIELAB, D65 */
    uint8_t rgb[3];   /* the cluster centre back in sRGB */
    double share;     /* fraction of sampled pixels in this cluster */
    const char *name; /* nearest named colour of the knowledge base (borrowed from kb) */
} design_color;

/* Dominant colours by k-means (k-means++ seeding with a fixed seed, so the answer is
 * reproducible) in CIELAB over a uniform sample of at most 20,000 pixels. Writes up to k
 * colours sorted by share, largest first; returns how many (clusters that end up empty
 * are dropped), or -1 with e on an empty image or k outside 1..16. */
int design_palette(const design_kb *kb, const design_pixels *px, int k, design_color *out, err *e);
/* sRGB 8-bit to CIELAB (D65) and CIEDE76 distance; exposed for tests. */
void design_rgb_to_lab(const uint8_t rgb[3], double lab[3]);
double design_delta_e(const double a[3], const double b[3]);
/* The knowledge base's name for the colour nearest to lab. */
const char *design_color_name(const design_kb *kb, const double lab[3]);

/* POST /vision/analyze (§7.12). detection_data is the query parameter's raw JSON text (may
 * be NULL; unparsable text counts as no objects, as in the original). px may be NULL (no
 * file). Without pixels the answer has exactly the original's keys; with pixels,
 * lighting comes from the photo, room_size from how much of the frame the detected
 * boxes fill (when detection_data carries bounding_boxes), and an "analysis" object says
 * how each fact was derived and holds the palette. */
json_t *design_vision_analyze(const design_kb *kb, const char *detection_data,
                              const design_pixels *px, err *e);

/* Query parameters of POST /advise/ (§7.4); NULL members take the contract's defaults
 * ("Provide interior design recommendations", "bedroom", "", "natural", "medium"). */
typedef struct design_advise_params {
    const char *prompt;
    const char *room_type;
    const char *objects_detected; /* comma-separated */
    const char *lighting;
    const char *room_size;
    const char *budget; /* ours: "low" | "medium" | "high"; default medium */
} design_advise_params;

/* POST /advise/ (§7.4). With pixels, lighting and room type not given by the caller are
 * read from the photo and the objects; the response adds "analysis" (when pixels were
 * given), "recommendations" and "source":"rules" after the original's keys. */
json_t *design_advise_photo(const design_kb *kb, const design_advise_params *p,
                            const design_pixels *px, err *e);

/* The prompt for a language model's free text, from an answer of design_advise_json,
 * design_advise_photo or design_advise_structured (its metadata or input_data) and the
 * user's request: the room's facts and the rule-based recommendations as context, in the
 * original's "User request / Context / Suggestion" shape. malloc'ed. */
char *design_lm_prompt(const json_t *answer, const char *user_prompt);

/* ---------------------------------------------------------------- JSON helpers */

/* Python's round(x, ndigits) for floats: correctly rounded, ties to even on the exact
 * binary value. */
double design_round(double x, int ndigits);

/* Field validation with pydantic-v2 semantics, shared by the services' handlers. */
enum {
    DESIGN_REQUIRED = 1, /* absent → 422 "Field required" */
    DESIGN_NULLABLE = 2, /* explicit null allowed (reported as absent: *out = NULL) */
};
/* The body must be a JSON object (422 otherwise). */
int design_body_object(const json_t *body, err *e);
/* A str field: *out is borrowed from o, or NULL when absent/null and allowed. */
int design_field_str(const json_t *o, const char *key, int flags, const char **out, err *e);
/* A list[str] field: *out is the borrowed array (NULL when absent and allowed). */
int design_field_str_list(const json_t *o, const char *key, int flags, const json_t **out, err *e);
/* A dict field: *out borrowed. */
int design_field_object(const json_t *o, const char *key, int flags, const json_t **out, err *e);
/* An int field (accepts 3, 3.0 and "3"; refuses 3.5, true and other strings). *present is
 * false when absent or null. */
int design_field_int(const json_t *o, const char *key, int flags, long *out, bool *present, err *e);

/* Answers an err from a design or catalog function: a 422 naming a body field in
 * FastAPI's validation shape ({"detail":[{"type","loc","msg","input"}]}), anything else
 * as {"detail": message} with its status. */
void design_http_error(http_req *rq, http_res *rs, const err *e);
/* The knowledge-base directory: $ARTISTRY_KB_DIR, else ./data when it holds
 * pricing.json, else data/ beside the binary's tree (build/artistry → data/). */
const char *design_data_dir(void);

#endif
