/* POST /workflow/enhanced (CONTRACT.md §4.5): the gateway runs the whole redesign of one
 * photo through the other services, with the preferences collected for the session.
 *
 *   detect /detect → advise /condition/detect → advise /advise/reason-upgrades
 *   → segment /segment (only the boxes of the items to replace) → advise /advise/refine-budget
 *   → generate /generate/budget-aware → generate /generate/analyze-output
 *
 * The original never completed this (§10): it built its URLs wrongly, read `objects` where
 * detect answers `bboxes`, and passed segment's raw masks where generate wants images. Here
 * the URLs are the services' documented paths, objects come from the boxes, and each mask
 * of a replaced item is turned into a PNG (the union of the masks of that item's boxes).
 * A failing step answers with its service named: a 4xx of the upstream (a bad photo) keeps
 * its status, no answer is 502/504. */
#include "gateway/gateway_impl.h"
#include "image/image.h"

#include <stdlib.h>
#include <string.h>

/* One step of the workflow: the service's answer, or NULL after answering rs with its error. */
static json_t *call(upstream u, const char *path, json_t *body, http_res *rs)
{
    err e = {0};
    json_t *out = gateway_call(u, path, body, &e);
    if (!out) http_res_err(rs, &e);
    return out;
}

/* Appends s to the array unless it is there already. */
static void add_unique(json_t *arr, const char *s)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (strcmp(json_string_value(json_array_get(arr, i)), s) == 0) return;
    json_array_append_new(arr, json_string(s));
}

static bool in_list(json_t *arr, const char *s)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *v = json_string_value(json_array_get(arr, i));
        if (v && strcmp(v, s) == 0) return true;
    }
    return false;
}

/* The photo's upright size, from its header. */
static bool photo_size(const char *b64, int *w, int *h, http_res *rs)
{
    err e = {0};
    size_t n;
    unsigned char *bytes = b64_decode(b64, strlen(b64), &n, &e);
    if (!bytes) {
        http_res_error(rs, 400, "image_b64: %s", e.msg);
        return false;
    }
    img_info info;
    int rc = img_probe(bytes, n, NULL, &info, &e);
    free(bytes);
    if (rc != 0) {
        http_res_error(rs, e.status ? e.status : 422, "image_b64: %s", e.msg);
        return false;
    }
    *w = info.w;
    *h = info.h;
    return true;
}

/* {item: base64 PNG} for the replaced items, from segment's raw 0/255 masks. */
static json_t *mask_images(json_t *masks, json_t *replace, int w, int h, http_res *rs)
{
    json_t *out = json_object();
    size_t npix = (size_t)w * (size_t)h;
    json_t *labels = json_array();
    img **planes = NULL;
    for (size_t i = 0; i < json_array_size(masks); i++) {
        json_t *m = json_array_get(masks, i);
        const char *label = json_string_value(json_object_get(json_object_get(m, "bbox"), "label"));
        const char *b64 = json_string_value(json_object_get(m, "mask_b64"));
        if (!label || !b64 || !in_list(replace, label)) continue;
        err e = {0};
        size_t n;
        unsigned char *raw = b64_decode(b64, strlen(b64), &n, &e);
        if (!raw || n != npix) {
            free(raw);
            http_res_error(rs, 502, "segment service error: the mask for '%s' is not %d×%d bytes",
                           label, w, h);
            goto fail;
        }
        size_t k = 0;
        while (k < json_array_size(labels) &&
               strcmp(json_string_value(json_array_get(labels, k)), label))
            k++;
        if (k == json_array_size(labels)) {
            json_array_append_new(labels, json_string(label));
            planes = xrealloc(planes, (k + 1) * sizeof *planes);
            planes[k] = img_new_zero(w, h, 1);
        }
        uint8_t *dst = planes[k]->data;
        for (size_t p = 0; p < npix; p++) dst[p] |= raw[p];
        free(raw);
    }
    for (size_t k = 0; k < json_array_size(labels); k++) {
        err e = {0};
        size_t len;
        unsigned char *png = img_encode_png(planes[k], -1, &len, &e);
        if (!png) {
            http_res_err(rs, &e);
            goto fail;
        }
        char *b64 = b64_encode(png, len, NULL);
        free(png);
        json_object_set_new(out, json_string_value(json_array_get(labels, k)), json_string(b64));
        free(b64);
    }
    for (size_t k = 0; k < json_array_size(labels); k++) img_free(planes[k]);
    free(planes);
    json_decref(labels);
    return out;
fail:
    for (size_t k = 0; k < json_array_size(labels); k++) img_free(planes[k]);
    free(planes);
    json_decref(labels);
    json_decref(out);
    return NULL;
}

typedef struct prefs {
    char *budget, *tips;
    json_t *selection;
} prefs;

static bool load_prefs(http_res *rs, const char *session, prefs *p)
{
    store *s = gateway_db(rs);
    if (!s) return false;
    store_prefs sp;
    err e = {0};
    if (store_prefs_get(s, session, &sp, &e) != 0) {
        if (e.status == 404)
            http_res_error(rs, 404,
                           "Session not found: send the preferences to "
                           "/api/collect-preferences first");
        else
            http_res_err(rs, &e);
        return false;
    }
    p->budget = xstrdup(sp.budget_range ? sp.budget_range : "medium");
    p->tips = xstrdup(sp.design_tips ? sp.design_tips : "");
    p->selection = sp.item_replacement ? gateway_loads(sp.item_replacement) : json_array();
    if (!json_is_array(p->selection)) {
        json_decref(p->selection);
        p->selection = json_array();
    }
    store_prefs_clear(&sp);
    return true;
}

static void enhanced(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    json_t *body = http_req_json(rq);
    const char *image = gateway_str(rq, body, "image_b64", HTTP_REQUIRED, NULL);
    const char *session = gateway_str(rq, body, "session_id", HTTP_REQUIRED, NULL);
    const char *base_prompt =
        gateway_str(rq, body, "base_prompt", HTTP_NULLABLE, "Modern interior design");
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    if (!base_prompt) base_prompt = "Modern interior design";
    int w, h;
    if (!photo_size(image, &w, &h, rs)) return;
    prefs pf = {0};
    if (!load_prefs(rs, session, &pf)) return;

    json_t *det = NULL, *cond = NULL, *plan = NULL, *seg = NULL, *masks = NULL, *refined = NULL,
           *gen = NULL, *analysis = NULL, *req;
    json_t *objects = json_array(), *boxes_to_cut = json_array(), *specs = json_object();

    req = json_pack("{s:s}", "image_b64", image);
    det = call(UPSTREAM_DETECT, "/detect", req, rs);
    json_decref(req);
    if (!det) goto done;
    json_t *bboxes = json_object_get(det, "bboxes");
    for (size_t i = 0; i < json_array_size(bboxes); i++) {
        const char *label = json_string_value(json_object_get(json_array_get(bboxes, i), "label"));
        if (label) add_unique(objects, label);
    }

    req = json_pack("{s:s,s:O}", "image_b64", image, "objects_detected", objects);
    cond = call(UPSTREAM_ADVISE, "/condition/detect", req, rs);
    json_decref(req);
    if (!cond) goto done;
    json_t *conditions = json_object_get(cond, "condition_estimates");
    if (!json_is_object(conditions)) {
        conditions = json_object();
        json_object_set_new(cond, "condition_estimates", conditions);
    }

    req = json_pack("{s:O,s:O,s:s}", "item_conditions", conditions, "user_selection", pf.selection,
                    "budget", pf.budget);
    plan = call(UPSTREAM_ADVISE, "/advise/reason-upgrades", req, rs);
    json_decref(req);
    if (!plan) goto done;
    json_t *replace = json_object_get(plan, "replace"), *keep = json_object_get(plan, "keep");
    if (!json_is_array(replace) || !json_is_array(keep)) {
        http_res_error(rs, 502,
                       "advise service error: /advise/reason-upgrades answered without "
                       "replace and keep lists");
        goto done;
    }

    /* Only the replaced items are repainted, so only their boxes are segmented. */
    for (size_t i = 0; i < json_array_size(bboxes); i++) {
        json_t *b = json_array_get(bboxes, i);
        const char *label = json_string_value(json_object_get(b, "label"));
        if (label && in_list(replace, label)) json_array_append(boxes_to_cut, b);
    }
    if (json_array_size(boxes_to_cut)) {
        req = json_pack("{s:s,s:O}", "image_b64", image, "bboxes", boxes_to_cut);
        seg = call(UPSTREAM_SEGMENT, "/segment", req, rs);
        json_decref(req);
        if (!seg) goto done;
        masks = mask_images(json_object_get(seg, "masks"), replace, w, h, rs);
        if (!masks) goto done;
    }

    json_t *materials = json_object();
    for (size_t i = 0; i < json_array_size(replace); i++)
        json_object_set_new(materials, json_string_value(json_array_get(replace, i)),
                            json_string("standard material"));
    json_t *base_design = json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:o}", "design_style", "Modern Minimalist", "color_palette", "walls",
        "warm beige", "accent", "soft grey", "textiles", "off-white", "materials", materials);
    req = json_pack("{s:o,s:s,s:O}", "base_design", base_design, "budget", pf.budget,
                    "item_selection", replace);
    refined = call(UPSTREAM_ADVISE, "/advise/refine-budget", req, rs);
    json_decref(req);
    if (!refined) goto done;
    json_t *detailed = json_object_get(refined, "detailed_specs");
    for (size_t i = 0; i < json_array_size(detailed); i++) {
        json_t *d = json_array_get(detailed, i);
        const char *item = json_string_value(json_object_get(d, "item"));
        if (!item) continue;
        json_object_set_new(specs, item,
                            json_pack("{s:O,s:O}", "material", json_object_get(d, "material"),
                                      "finish", json_object_get(d, "finish")));
    }

    char *prompt = xasprintf("%s. %s", base_prompt, pf.tips);
    req = json_pack("{s:s,s:s,s:O,s:O,s:s,s:O,s:s}", "image_b64", image, "base_prompt", prompt,
                    "material_specs", specs, "replace_items", replace, "budget", pf.budget, "masks",
                    masks ? masks : json_null(), "mode", "balanced");
    free(prompt);
    gen = call(UPSTREAM_GENERATE, "/generate/budget-aware", req, rs);
    json_decref(req);
    if (!gen) goto done;
    const char *generated = json_string_value(json_object_get(gen, "image_b64"));
    if (!generated) {
        http_res_error(rs, 502,
                       "generate service error: /generate/budget-aware returned no "
                       "image_b64");
        goto done;
    }
    req = json_pack("{s:s,s:O}", "generated_image_b64", generated, "replaced_items", replace);
    analysis = call(UPSTREAM_GENERATE, "/generate/analyze-output", req, rs);
    json_decref(req);
    if (!analysis) goto done;

    json_t *shopping = json_array();
    json_t *items = json_object_get(analysis, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        json_array_append_new(shopping, json_pack("{s:O,s:O,s:O,s:O,s:O}", "item_type",
                                                  json_object_get(it, "item_type"), "style",
                                                  json_object_get(it, "style"), "material",
                                                  json_object_get(it, "material"), "color",
                                                  json_object_get(it, "color"), "confidence",
                                                  json_object_get(it, "confidence")));
    }
    json_t *style = json_object_get(analysis, "overall_style");
    json_t *palette = json_object_get(analysis, "color_palette");
    json_t *out = json_object();
    json_object_set_new(out, "generated_image", json_string(generated));
    json_object_set(out, "objects_detected", objects);
    json_object_set(out, "condition_analysis", conditions);
    json_object_set(out, "items_replaced", replace);
    json_object_set(out, "items_kept", keep);
    json_object_set_new(out, "budget_applied", json_string(pf.budget));
    json_object_set(out, "materials_used", specs);
    json_object_set_new(out, "shopping_metadata", shopping);
    json_object_set_new(out, "overall_style",
                        style ? json_incref(style) : json_string("Modern Minimalist"));
    json_object_set_new(out, "color_palette", palette ? json_incref(palette) : json_array());
    http_res_json(rs, 200, out);

done:
    json_decref(det);
    json_decref(cond);
    json_decref(plan);
    json_decref(seg);
    json_decref(masks);
    json_decref(refined);
    json_decref(gen);
    json_decref(analysis);
    json_decref(objects);
    json_decref(boxes_to_cut);
    json_decref(specs);
    json_decref(pf.selection);
    free(pf.budget);
    free(pf.tips);
}

void gateway_workflow_routes(http_server *s)
{
    http_route(s, "POST", "/workflow/enhanced", enhanced, NULL,
               &(http_route_opts){.body = HTTP_BODY_JSON,
                                  .heavy = true,
                                  .timeout = 900,
                                  .summary = "Redesign a photo with the session's preferences: "
                                             "detect, assess, segment, budget, generate"});
}
