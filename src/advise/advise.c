/* The advise service's routes: each handler reads the request, calls the design module
 * and answers. The knowledge base is loaded and validated once at start-up; a broken
 * data file stops the service with a message naming file and field. */
#include "advise/advise.h"

#include "design/design.h"
#include "image/image.h"
#include "text/text.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static design_kb *kb;
/* The optional language model (ADVISE_LM_PATH): free text instead of the rules' text. */
static text_lm *lm;
static text_lm_params lm_params;
static bool lm_seeded; /* ADVISE_LM_SEED set: every answer reproducible */

/* Replaces the text fields of a rules answer with the model's, when there is a model. */
static int add_lm_text(json_t *r, const char *user_prompt, const char *const *fields,
                       size_t nfields, err *e)
{
    if (!lm) return 0;
    char *prompt = design_lm_prompt(r, user_prompt);
    text_lm_params p = lm_params;
    if (!lm_seeded) random_bytes(&p.seed, sizeof p.seed);
    char *text = text_lm_generate(lm, prompt, &p, e);
    free(prompt);
    if (!text) return -1;
    /* Strip the spaces and newlines a model leaves around its text, as the original did. */
    char *a = text, *z = text + strlen(text);
    while (*a == ' ' || *a == '\n') a++;
    while (z > a && (z[-1] == ' ' || z[-1] == '\n')) *--z = 0;
    char *clean = text_utf8_clean(a, strlen(a));
    for (size_t i = 0; i < nfields; i++) json_object_set_new(r, fields[i], json_string(clean));
    json_object_set_new(r, "source", json_string("lm"));
    free(clean);
    free(text);
    return 0;
}

typedef json_t *(*design_fn)(const design_kb *, const json_t *, err *);

static void answer(http_res *rs, http_req *rq, json_t *r, const err *e)
{
    if (r)
        http_res_json(rs, 200, r);
    else
        design_http_error(rq, rs, e);
}

/* One handler for every JSON route: ud is the design function. */
static void json_route(http_req *rq, http_res *rs, void *ud)
{
    design_fn fn = (design_fn)ud;
    err e = {0};
    json_t *body = http_req_json(rq);
    json_t *r = fn(kb, body, &e);
    if (r && fn == design_advise_json) {
        const char *f[] = {"advice"};
        if (add_lm_text(r, json_string_value(json_object_get(body, "prompt")), f, 1, &e)) {
            json_decref(r);
            r = NULL;
        }
    } else if (r && fn == design_advise_structured) {
        const char *f[] = {"raw_text"};
        if (add_lm_text(r, json_string_value(json_object_get(body, "style_intent")), f, 1, &e)) {
            json_decref(r);
            r = NULL;
        }
    }
    answer(rs, rq, r, &e);
}

static void health(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    (void)ud;
    http_res_json(rs, 200,
                  json_pack("{s:s,s:s,s:s,s:s,s:i}", "status", "ok", "service", "Advise (LLaVA)",
                            "device", "cpu", "advice_source", lm ? "lm" : "rules",
                            "knowledge_items", (int)design_kb_item_count(kb)));
}

/* ADVISE_LM_PATH and its settings (the original's sampling by default). */
static int load_lm(err *e)
{
    const char *path = cfg_str("ADVISE_LM_PATH", NULL);
    if (!path || !*path) return 0;
    long max_new, threads, seed;
    double temp, top_p;
    bool has_seed = cfg_str("ADVISE_LM_SEED", NULL) != NULL;
    if (cfg_int("ADVISE_LM_MAX_NEW_TOKENS", 200, 1, 2048, &max_new, e) ||
        cfg_double("ADVISE_LM_TEMPERATURE", 0.7, 0, 10, &temp, e) ||
        cfg_double("ADVISE_LM_TOP_P", 0.9, 0, 1, &top_p, e) ||
        cfg_int("ADVISE_LM_SEED", 0, 0, LONG_MAX, &seed, e) ||
        cfg_int("ADVISE_LM_THREADS", 0, 0, 256, &threads, e))
        return -1;
    lm = text_lm_load(path, (int)threads, e);
    if (!lm) {
        err_prefix(e, "ADVISE_LM_PATH: ");
        return -1;
    }
    lm_params = text_lm_default_params();
    lm_params.max_new_tokens = (int)max_new;
    lm_params.temperature = (float)temp;
    lm_params.top_p = (float)top_p;
    lm_params.seed = (uint64_t)seed;
    lm_seeded = has_seed;
    log_info("language model loaded path=%s", path);
    return 0;
}

/* The photo, decoded upright (EXIF) and small: the analysis samples at most 20,000
 * pixels. A part that is not an image is the decoder's 4xx (415, 422, 413), where the
 * original crashed with a 500. */
typedef struct photo {
    design_pixels px;
    void *owner;
} photo;

static int read_photo(const http_part *part, photo *out, err *e)
{
    memset(out, 0, sizeof *out);
    if (!part || part->len == 0) {
        err_set(e, 400, "the uploaded file is empty");
        return -1;
    }
    img_decode_params dp = img_decode_default_params();
    dp.fit_w = dp.fit_h = 512; /* analysis samples 20,000 pixels: a small decode will do */
    img *im = img_decode(part->data, part->len, &dp, NULL, e);
    if (!im) return -1;
    out->px = (design_pixels){im->data, im->w, im->h, im->stride};
    out->owner = im;
    return 0;
}

static void photo_free(photo *p)
{
    img_free(p->owner);
}

/* A query parameter, or the form field of the same name (the frontend sends prompt as a
 * form field, which the original ignored: CONTRACT §16). */
static const char *param(http_req *rq, const char *name)
{
    const char *v = http_query_str(rq, name, HTTP_OPTIONAL, NULL);
    if (v) return v;
    const http_part *p = http_req_part(rq, name);
    if (p && !p->filename) return http_form_str(rq, name, HTTP_OPTIONAL, NULL);
    return NULL;
}

static void advise_photo(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    const http_part *file = http_form_file(rq, "file", HTTP_REQUIRED);
    design_advise_params p = {param(rq, "prompt"),           param(rq, "room_type"),
                              param(rq, "objects_detected"), param(rq, "lighting"),
                              param(rq, "room_size"),        param(rq, "budget")};
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    err e = {0};
    photo ph;
    int got = read_photo(file, &ph, &e);
    if (got < 0) return http_res_err(rs, &e);
    json_t *r = design_advise_photo(kb, &p, got == 0 ? &ph.px : NULL, &e);
    if (got == 0) photo_free(&ph);
    const char *f[] = {"advice", "response"};
    if (r && add_lm_text(r, json_string_value(json_object_get(r, "prompt")), f, 2, &e)) {
        json_decref(r);
        r = NULL;
    }
    answer(rs, rq, r, &e);
}

static void vision_analyze(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    const char *dd = http_query_str(rq, "detection_data", HTTP_OPTIONAL, NULL);
    /* Any body is accepted; a multipart "file" part, when there is one, is analysed. */
    const http_part *file = http_req_part(rq, "file");
    err e = {0};
    photo ph;
    int got = file && file->filename ? read_photo(file, &ph, &e) : 1;
    if (got < 0) return http_res_err(rs, &e);
    json_t *r = design_vision_analyze(kb, dd, got == 0 ? &ph.px : NULL, &e);
    if (got == 0) photo_free(&ph);
    answer(rs, rq, r, &e);
}

static int advise_init(http_server *s, err *e)
{
    const char *dir = design_data_dir();
    kb = design_kb_load(dir, e);
    if (!kb || load_lm(e)) return -1;
    log_info("knowledge base loaded dir=%s items=%zu", dir, design_kb_item_count(kb));
    const http_route_opts light_json = {.body = HTTP_BODY_JSON};
    struct {
        const char *path, *summary;
        design_fn fn;
    } routes[] = {
        {"/advise", "Design advice for a prompt (rules)", design_advise_json},
        {"/advise/structured", "Structured recommendations", design_advise_structured},
        {"/proposal/initial", "Initial design proposal", design_proposal_initial},
        {"/proposal/refine", "Refine a proposal from feedback", design_proposal_refine},
        {"/prompt/generate", "Image prompt from a refined design", design_prompt_generate},
        {"/condition/detect", "Item condition (no model: says so)", design_condition_detect},
        {"/advise/refine-budget", "Materials for a budget", design_refine_budget},
        {"/advise/reason-upgrades", "Replace or keep, per item", design_reason_upgrades},
        {"/estimate/total-cost", "Cost estimate in INR", design_estimate_total_cost},
        {"/diy/instructions", "DIY guide for an item", design_diy_instructions},
    };
    http_route(s, "GET", "/", health, NULL, &(http_route_opts){.summary = "Service status"});
    http_route(s, "GET", "/health", health, NULL, &(http_route_opts){.summary = "Health check"});
    for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
        http_route_opts o = light_json;
        o.summary = routes[i].summary;
        /* The language model runs on the worker pool, never on an HTTP thread. */
        o.heavy = routes[i].fn == design_advise_json || routes[i].fn == design_advise_structured;
        http_route(s, "POST", routes[i].path, json_route, (void *)routes[i].fn, &o);
    }
    http_route(s, "POST", "/advise/", advise_photo, NULL,
               &(http_route_opts){.body = HTTP_BODY_FORM,
                                  .heavy = true,
                                  .summary = "Advice for an uploaded photo"});
    http_route(s, "POST", "/vision/analyze", vision_analyze, NULL,
               &(http_route_opts){.body = HTTP_BODY_FORM,
                                  .heavy = true,
                                  .summary = "Room analysis from detections and the photo"});
    return 0;
}

static void advise_fini(void)
{
    design_kb_free(kb);
    kb = NULL;
    text_lm_free(lm);
    lm = NULL;
}

const http_service advise_service = {
    .name = "advise",
    .title = "LLaVA Advice Service",
    .port = 8003,
    .init = advise_init,
    .fini = advise_fini,
};
