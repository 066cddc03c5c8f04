/* The deterministic design-planning endpoints (CONTRACT §7.5-§7.11): proposals and their
 * keyword refinement, the image prompt, budget materials, upgrade reasoning, condition
 * estimates without a model, and rule-based advice. */
#include "design_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* dict.get(key, default) for values that are echoed as they came. */
static json_t *get_or(const json_t *o, const char *key, json_t *def)
{
    const json_t *v = json_object_get(o, key);
    if (!v) return def;
    json_decref(def);
    return json_deep_copy(v);
}

static const char *str_or(const json_t *o, const char *key, const char *def)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

json_t *design_proposal_initial(const design_kb *kb, const json_t *body, err *e)
{
    (void)kb;
    const json_t *dd;
    if (design_body_object(body, e) ||
        design_field_object(body, "detection_data", DESIGN_REQUIRED, &dd, e))
        return NULL;
    json_t *r = json_pack("{s:{s:s, s:{s:s,s:s,s:s}, s:{s:s,s:s,s:s}, s:{s:s,s:s}, s:[s,s,s,s]}}",
                          "base_design", "design_style", "Modern Minimalist", "color_palette",
                          "walls", "warm beige", "accent", "soft grey", "textiles", "off-white",
                          "materials", "curtains", "sheer linen", "bed", "upholstered fabric",
                          "wardrobe", "matte laminate", "lighting", "type", "warm ambient", "notes",
                          "soft indirect lighting", "constraints", "keep layout", "keep windows",
                          "keep camera angle", "preserve furniture positions");
    json_object_set_new(r, "summary",
                        json_string("Warm beige walls, sheer linen curtains and an upholstered "
                                    "fabric bed under warm ambient light give a calm, minimal "
                                    "room."));
    json_t *de = json_object();
    json_object_set_new(de, "room_type", get_or(dd, "room_type", json_string("bedroom")));
    json_object_set_new(de, "objects", get_or(dd, "objects_detected", json_array()));
    json_object_set_new(de, "lighting", get_or(dd, "lighting", json_string("natural")));
    json_object_set_new(de, "room_size", get_or(dd, "room_size", json_string("medium")));
    json_object_set_new(r, "detected_elements", de);
    json_object_set_new(r, "question", json_string("What would you like to change or add?"));
    json_object_set_new(r, "examples",
                        json_pack("[s,s,s,s]", "Make it more dark and cozy", "Add wooden tones",
                                  "I want a luxury hotel vibe",
                                  "I like it but want brighter lighting"));
    return r;
}

json_t *design_proposal_refine(const design_kb *kb, const json_t *body, err *e)
{
    (void)kb;
    const json_t *base, *va, *rc;
    const char *feedback;
    if (design_body_object(body, e) ||
        design_field_object(body, "base_design", DESIGN_REQUIRED, &base, e) ||
        design_field_str(body, "user_feedback", DESIGN_REQUIRED, &feedback, e) ||
        design_field_object(body, "vision_analysis", 0, &va, e) ||
        design_field_object(body, "room_context", 0, &rc, e))
        return NULL;
    const json_t *lighting = json_object_get(base, "lighting");
    const json_t *palette = json_object_get(base, "color_palette");
    const json_t *mats = json_object_get(base, "materials");
    if ((lighting && !json_is_object(lighting)) || (palette && !json_is_object(palette)) ||
        (mats && !json_is_object(mats))) {
        err_set(e, 422, "body.base_design: lighting, color_palette and materials must be objects");
        return NULL;
    }

    json_t *refined = json_object();
    json_object_set_new(refined, "style",
                        get_or(base, "design_style", json_string("Modern Minimalist")));
    json_t *changes = json_object();
    json_object_set_new(refined, "changes", changes);
    json_object_set_new(refined, "lighting", get_or(lighting, "type", json_string("warm ambient")));
    char *mood = xstrdup("calm and minimalist");

    size_t n = strlen(feedback);
    char *fb = xmalloc(n + 1);
    design_lower(feedback, fb, n + 1);
    /* The original's keyword rules, in order; later rules overwrite earlier ones and keys
     * keep their first position (jansson, like a Python dict, replaces in place). */
    if (strstr(fb, "dark") || strstr(fb, "cozy")) {
        json_object_set_new(changes, "walls", json_string("warm taupe with matte finish"));
        json_object_set_new(changes, "bed", json_string("dark fabric upholstered headboard"));
        json_object_set_new(changes, "curtains", json_string("thicker linen in charcoal tone"));
        json_object_set_new(refined, "lighting",
                            json_string("warm low-intensity ambient lighting"));
        free(mood);
        mood = xstrdup("cozy, intimate");
    }
    if (strstr(fb, "wood")) {
        json_object_set_new(changes, "wardrobe", json_string("dark wood laminate"));
        json_object_set_new(changes, "flooring", json_string("natural oak wood"));
        char *m = xasprintf("%s, natural", mood);
        free(mood);
        mood = m;
    }
    if (strstr(fb, "luxury") || strstr(fb, "hotel")) {
        json_object_set_new(changes, "bed", json_string("tufted velvet upholstered headboard"));
        json_object_set_new(changes, "curtains",
                            json_string("heavy linen drapes with brass hardware"));
        json_object_set_new(changes, "lighting",
                            json_string("statement pendant lights with warm glow"));
        free(mood);
        mood = xstrdup("luxurious, hotel-like");
        json_object_set_new(refined, "style", json_string("Luxury Modern"));
    }
    if (strstr(fb, "bright")) {
        json_object_set_new(changes, "walls", json_string("bright white with soft grey accent"));
        json_object_set_new(refined, "lighting",
                            json_string("bright natural lighting enhanced by mirrors"));
        free(mood);
        mood = xstrdup("bright, airy, spacious");
    }
    if (json_object_size(changes) == 0) {
        json_object_set_new(changes, "walls", get_or(palette, "walls", json_string("warm beige")));
        json_object_set_new(changes, "bed", get_or(mats, "bed", json_string("upholstered fabric")));
        json_object_set_new(changes, "curtains",
                            get_or(mats, "curtains", json_string("sheer linen")));
    }
    free(fb);
    json_object_set_new(refined, "mood", json_string(mood));
    free(mood);

    json_t *r = json_object();
    json_object_set_new(r, "refined_design", refined);
    json_object_set_new(r, "user_feedback_processed", json_string(feedback));
    json_object_set_new(r, "ready_for_generation", json_true());
    json_object_set_new(r, "message",
                        json_string("Design refined based on your feedback. Ready to generate!"));
    return r;
}

/* The text of a value for a prompt: strings as they are, anything else as JSON. */
static char *text_of(const json_t *v, const char *def)
{
    if (!v) return xstrdup(def);
    if (json_is_string(v)) return xstrdup(json_string_value(v));
    return http_json_dumps(v, NULL);
}

json_t *design_prompt_generate(const design_kb *kb, const json_t *body, err *e)
{
    (void)kb;
    if (design_body_object(body, e)) return NULL;
    const json_t *design = json_object_get(body, "refined_design");
    json_t *applied = design ? json_deep_copy(design) : json_object();
    const json_t *d = json_is_object(design) ? design : NULL;
    const json_t *ch = json_object_get(d, "changes");
    if (ch && !json_is_object(ch)) ch = NULL;
    char *style = text_of(json_object_get(d, "style"), "Modern Minimalist");
    char *walls = text_of(json_object_get(ch, "walls"), "warm beige with matte finish");
    char *bed = text_of(json_object_get(ch, "bed"), "upholstered fabric headboard");
    char *curtains = text_of(json_object_get(ch, "curtains"), "sheer linen curtains");
    char *wardrobe = text_of(json_object_get(ch, "wardrobe"), "matte laminate finish");
    char *lighting = text_of(json_object_get(d, "lighting"), "warm ambient");
    char *mood = text_of(json_object_get(d, "mood"), "calm");
    char *prompt = xasprintf(
        "Redesign this bedroom using the following interior design plan:\n\n- Style: %s\n- "
        "Walls: %s\n- Bed: %s\n- Curtains: %s\n- Wardrobe: %s\n- Lighting: %s\n- Mood: "
        "%s\n\nKeep the original room layout, camera angle, windows, and proportions.\n"
        "Photorealistic interior design, professional lighting, high detail.",
        style, walls, bed, curtains, wardrobe, lighting, mood);
    json_t *r = json_object();
    json_object_set_new(r, "image_prompt", json_string(prompt));
    json_object_set_new(r, "design_applied", applied);
    json_object_set_new(r, "ready_for_img2img", json_true());
    char *all[] = {style, walls, bed, curtains, wardrobe, lighting, mood, prompt};
    for (size_t i = 0; i < ARRAY_LEN(all); i++) free(all[i]);
    return r;
}

json_t *design_refine_budget(const design_kb *kb, const json_t *body, err *e)
{
    const json_t *base, *items;
    const char *budget;
    if (design_body_object(body, e) ||
        design_field_object(body, "base_design", DESIGN_REQUIRED, &base, e) ||
        design_field_str(body, "budget", DESIGN_REQUIRED, &budget, e) ||
        design_field_str_list(body, "item_selection", DESIGN_REQUIRED, &items, e))
        return NULL;
    char tier[64];
    design_lower(budget, tier, sizeof tier);
    /* An unknown tier uses the medium specs but echoes the budget it was given. */
    const char *spec_tier = "medium";
    for (int i = 0; i < 3; i++)
        if (strcmp(tier, design_tiers[i]) == 0) spec_tier = design_tiers[i];

    json_t *materials = json_object(), *specs = json_array();
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *item = json_string_value(json_array_get(items, i));
        char item_l[256];
        design_lower(item, item_l, sizeof item_l);
        const json_t *s = kb_spec(kb, item_l, spec_tier);
        json_t *spec = json_object();
        json_object_set_new(spec, "item", json_string(item));
        if (s) {
            json_object_set_new(materials, item, json_deep_copy(json_object_get(s, "material")));
            const char *keys[] = {"material", "finish", "quality_tier", "estimated_cost"};
            for (int k = 0; k < 4; k++)
                json_object_set_new(spec, keys[k], json_deep_copy(json_object_get(s, keys[k])));
        } else {
            char *m = xasprintf("standard %s suitable for %s budget", item_l, tier);
            json_object_set_new(materials, item, json_string(m));
            free(m);
            m = xasprintf("standard %s", item_l);
            json_object_set_new(spec, "material", json_string(m));
            free(m);
            json_object_set_new(spec, "finish", json_string("standard finish"));
            json_object_set_new(spec, "quality_tier", json_string(tier));
            json_object_set_new(spec, "estimated_cost", json_string("Estimate not available"));
        }
        json_array_append_new(specs, spec);
    }
    json_t *r = json_object();
    json_object_set_new(r, "budget_tier", json_string(tier));
    json_object_set_new(r, "materials", materials);
    json_object_set_new(r, "detailed_specs", specs);
    json_object_set_new(r, "base_design", json_deep_copy(base));
    json_object_set_new(r, "items_refined", json_deep_copy(items));
    json_object_set_new(r, "cost_estimate", json_string(tier));
    json_object_set_new(r, "realism_score", json_real(0.85));
    return r;
}

/* The condition as text for the reasoning template (Python's str() of a JSON value). */
static char *cond_text(const json_t *v)
{
    return text_of(v, "acceptable");
}

json_t *design_reason_upgrades(const design_kb *kb, const json_t *body, err *e)
{
    (void)kb;
    const json_t *conds, *sel;
    const char *budget;
    if (design_body_object(body, e) ||
        design_field_object(body, "item_conditions", DESIGN_REQUIRED, &conds, e) ||
        design_field_str_list(body, "user_selection", DESIGN_REQUIRED, &sel, e) ||
        design_field_str(body, "budget", DESIGN_REQUIRED, &budget, e))
        return NULL;
    char tier[64];
    design_lower(budget, tier, sizeof tier);

    /* The original iterated a Python set (random order per process); ours is the order
     * the caller gave: condition keys first, then selected items not already listed. */
    json_t *order = json_object();
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)conds, k, v) json_object_set_new(order, k, json_true());
    for (size_t i = 0; i < json_array_size(sel); i++)
        json_object_set_new(order, json_string_value(json_array_get(sel, i)), json_true());

    json_t *replace = json_array(), *keep = json_array(), *reasoning = json_object();
    json_t *detailed = json_array();
    json_object_foreach(order, k, v)
    {
        const json_t *cv = json_object_get(conds, k);
        char *cond = cond_text(cv);
        bool selected = false;
        for (size_t i = 0; i < json_array_size(sel) && !selected; i++)
            selected = strcmp(json_string_value(json_array_get(sel, i)), k) == 0;
        bool replace_it = false;
        int priority = 1;
        char *why;
        bool is_str = !cv || json_is_string(cv);
        if (selected && is_str && strcmp(cond, "old") == 0) {
            replace_it = true;
            priority = 5;
            why = xasprintf("Item is in poor condition and user requested replacement. High "
                            "priority for %s budget.",
                            tier);
        } else if (selected && is_str && strcmp(cond, "acceptable") == 0) {
            replace_it = true;
            priority = 3;
            why = xstrdup("User requested replacement. Item is functional but update will "
                          "improve overall design.");
        } else if (selected && is_str && strcmp(cond, "new") == 0) {
            replace_it = true;
            priority = 2;
            why = xstrdup("User requested replacement despite good condition. Consider style "
                          "preference change.");
        } else if (selected) {
            why = xasprintf("Default keep decision for %s.", k);
        } else if (is_str && strcmp(cond, "old") == 0) {
            priority = 4;
            why = xstrdup("Item shows wear but user chose to keep. Consider suggesting in final "
                          "recommendations.");
        } else {
            why = xasprintf("Item in %s condition and user chose to keep.", cond);
        }
        json_array_append_new(replace_it ? replace : keep, json_string(k));
        json_object_set_new(reasoning, k, json_string(why));
        json_t *d = json_object();
        json_object_set_new(d, "item", json_string(k));
        json_object_set_new(d, "decision", json_string(replace_it ? "replace" : "keep"));
        json_object_set_new(d, "reasoning", json_string(why));
        json_object_set_new(d, "priority", json_integer(priority));
        json_array_append_new(detailed, d);
        free(why);
        free(cond);
    }
    json_decref(order);
    json_t *r = json_object();
    json_object_set_new(r, "replace", replace);
    json_object_set_new(r, "keep", keep);
    json_object_set_new(r, "reasoning", reasoning);
    json_object_set_new(r, "detailed_decisions", detailed);
    json_object_set_new(r, "budget", json_string(tier));
    json_object_set_new(r, "user_selection", json_deep_copy(sel));
    json_object_set_new(r, "condition_input", json_deep_copy(conds));
    return r;
}

json_t *design_condition_detect(const design_kb *kb, const json_t *body, err *e)
{
    (void)kb;
    const char *image;
    const json_t *objects;
    if (design_body_object(body, e) ||
        design_field_str(body, "image_b64", DESIGN_REQUIRED, &image, e) ||
        design_field_str_list(body, "objects_detected", DESIGN_REQUIRED, &objects, e))
        return NULL;
    size_t n;
    unsigned char *bytes = b64_decode(image, strlen(image), &n, e);
    if (!bytes) {
        err_prefix(e, "body.image_b64: ");
        e->status = 422;
        return NULL;
    }
    free(bytes);
    const char *why = "No condition model is configured, so the condition was not judged from "
                      "the photo; treat this item as acceptable until inspected";
    json_t *est = json_object(), *detailed = json_array();
    for (size_t i = 0; i < json_array_size(objects); i++) {
        const char *o = json_string_value(json_array_get(objects, i));
        json_object_set_new(est, o, json_string("acceptable"));
        json_array_append_new(detailed,
                              json_pack("{s:s,s:s,s:s,s:f}", "item", o, "condition", "acceptable",
                                        "reasoning", why, "confidence", 0.5));
    }
    json_t *r = json_object();
    json_object_set_new(r, "condition_estimates", est);
    json_object_set_new(r, "detailed_conditions", detailed);
    json_object_set_new(r, "raw_analysis",
                        json_string("Condition analysis needs a vision-language model; none is "
                                    "configured on this server."));
    json_object_set_new(r, "objects_analyzed", json_deep_copy(objects));
    json_object_set_new(r, "source", json_string("rules"));
    return r;
}

json_t *design_advise_structured(const design_kb *kb, const json_t *body, err *e)
{
    const char *room, *lighting, *size, *style, *user;
    const json_t *objects;
    if (design_body_object(body, e) ||
        design_field_str(body, "room_type", DESIGN_REQUIRED, &room, e) ||
        design_field_str_list(body, "objects_detected", DESIGN_REQUIRED, &objects, e) ||
        design_field_str(body, "lighting", DESIGN_REQUIRED, &lighting, e) ||
        design_field_str(body, "room_size", DESIGN_REQUIRED, &size, e) ||
        design_field_str(body, "style_intent", DESIGN_REQUIRED, &style, e) ||
        design_field_str(body, "user_prompt", DESIGN_NULLABLE, &user, e))
        return NULL;
    char *style_text = user ? xasprintf("%s %s", style, user) : xstrdup(style);
    char lighting_l[64];
    design_lower(lighting, lighting_l, sizeof lighting_l);
    design_facts f = {.room_type = room,
                      .style = style_text,
                      .budget = "medium",
                      .lighting = lighting_l,
                      .room_size = size,
                      .objects = objects};
    json_t *recs = design_recommend(kb, &f);
    char *text = design_recommend_text(recs);
    /* The prompt for the image model: one line per suggestion, as the original's
     * designer_prompt, built from our recommendations instead of a constant. */
    char *prompt = xasprintf("%s %s redesign.", style, room);
    for (size_t i = 0; i < json_array_size(recs); i++) {
        char *next =
            xasprintf("%s\n%s.", prompt,
                      json_string_value(json_object_get(json_array_get(recs, i), "suggestion")));
        free(prompt);
        prompt = next;
    }
    char *full = xasprintf("%s\nPhotorealistic interior design photography.", prompt);
    json_t *r = json_object();
    json_object_set_new(r, "recommendations", recs);
    json_object_set_new(r, "raw_text", json_string(text));
    json_object_set_new(r, "designer_prompt", json_string(full));
    json_object_set_new(r, "input_data",
                        json_pack("{s:s,s:O,s:s,s:s,s:s}", "room_type", room, "objects_detected",
                                  objects, "lighting", lighting, "room_size", size, "style_intent",
                                  style));
    json_object_set_new(r, "structured_prompt_for_generation", json_string(full));
    json_object_set_new(r, "source", json_string("rules"));
    free(full);
    free(prompt);
    free(text);
    free(style_text);
    return r;
}

json_t *design_advise_json(const design_kb *kb, const json_t *body, err *e)
{
    const char *prompt;
    const json_t *masks, *dd;
    if (design_body_object(body, e) ||
        design_field_str(body, "prompt", DESIGN_REQUIRED, &prompt, e) ||
        design_field_object(body, "detection_data", DESIGN_NULLABLE, &dd, e))
        return NULL;
    masks = json_object_get(body, "masks");
    if (masks && !json_is_array(masks) && !json_is_null(masks)) {
        err_set(e, 422, "body.masks: Input should be a valid list");
        return NULL;
    }
    const json_t *objs = json_object_get(dd, "objects_detected");
    design_facts f = {.room_type = str_or(dd, "room_type", "room"),
                      .style = prompt,
                      .budget = str_or(dd, "budget", "medium"),
                      .lighting = str_or(dd, "lighting", "natural"),
                      .room_size = str_or(dd, "room_size", "medium"),
                      .objects = json_is_array(objs) ? objs : NULL};
    json_t *recs = design_recommend(kb, &f);
    char *text = design_recommend_text(recs);
    json_t *r = json_object();
    json_object_set_new(r, "advice", json_string(text));
    json_object_set_new(r, "recommendations", recs);
    json_object_set_new(r, "source", json_string("rules"));
    free(text);
    return r;
}
