/* Room analysis (CONTRACT §7.12) and the photo advice endpoint (§7.4): room type from the
 * detected objects by the rules of data/rooms.json, room size from how much of the frame
 * the furniture covers, lighting and palette from the pixels. Every fact carries how it
 * was derived. */
#include "design_impl.h"
#include "text/text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PALETTE_K 8

static bool has(const json_t *objects, const char *name)
{
    for (size_t i = 0; i < json_array_size(objects); i++) {
        const char *o = json_string_value(json_array_get(objects, i));
        if (o && strcmp(o, name) == 0) return true;
    }
    return false;
}

/* The first matching rule's room, and a sentence saying which rule it was. */
static const char *room_from_objects(const design_kb *kb, const json_t *objects, char *why,
                                     size_t whysz)
{
    const json_t *rules = json_object_get(kb->rooms, "rules");
    for (size_t i = 0; i < json_array_size(rules); i++) {
        const json_t *r = json_array_get(rules, i);
        const json_t *all = json_object_get(r, "all"), *any = json_object_get(r, "any");
        const json_t *list = all ? all : any;
        bool ok = all != NULL;
        const char *hit = NULL;
        for (size_t j = 0; j < json_array_size(list); j++) {
            const char *o = json_string_value(json_array_get(list, j));
            bool h = has(objects, o);
            if (all && !h) ok = false;
            if (any && h && !hit) {
                hit = o;
                ok = true;
            }
        }
        if (!ok) continue;
        char *names = all ? http_json_dumps(all, NULL) : xasprintf("\"%s\"", hit);
        snprintf(why, whysz, "detected objects include %s (rule %zu of data/rooms.json)", names,
                 i + 1);
        free(names);
        return json_string_value(json_object_get(r, "room"));
    }
    snprintf(why, whysz, "no rule of data/rooms.json matched the detected objects; default");
    return json_string_value(json_object_get(kb->rooms, "default"));
}

/* Share of the frame covered by the union of the furniture boxes, on a 128×128 grid.
 * boxes: detect's "bounding_boxes" ([{x1,y1,x2,y2}], parallel to objects) or its JSON
 * endpoint's "bboxes" ([{label,x1,y1,x2,y2}]). Returns -1 when there are no boxes. */
static double furniture_coverage(const design_kb *kb, const json_t *dd, const json_t *objects,
                                 int width, int height)
{
    const json_t *furniture = json_object_get(json_object_get(kb->rooms, "room_size"), "furniture");
    const json_t *boxes = json_object_get(dd, "bounding_boxes");
    bool labelled = false;
    if (!json_is_array(boxes)) {
        boxes = json_object_get(dd, "bboxes");
        labelled = true;
    }
    if (!json_is_array(boxes) || json_array_size(boxes) == 0 || width <= 0 || height <= 0)
        return -1;
    enum { G = 128 };
    unsigned char *grid = xcalloc(G * G, 1);
    size_t used = 0;
    for (size_t i = 0; i < json_array_size(boxes); i++) {
        const json_t *b = json_array_get(boxes, i);
        const char *label = labelled ? json_string_value(json_object_get(b, "label"))
                                     : json_string_value(json_array_get(objects, i));
        if (!label || !has(furniture, label)) continue;
        double c[4];
        const char *keys[] = {"x1", "y1", "x2", "y2"};
        bool ok = true;
        for (int k = 0; k < 4; k++) {
            const json_t *v = json_object_get(b, keys[k]);
            ok = ok && json_is_number(v);
            c[k] = json_number_value(v);
        }
        if (!ok) continue;
        /* A cell counts when the box covers its centre. */
        int gx1 = (int)lround(fmax(0, fmin(c[0], c[2])) / width * G);
        int gx2 = (int)lround(fmin(width, fmax(c[0], c[2])) / width * G);
        int gy1 = (int)lround(fmax(0, fmin(c[1], c[3])) / height * G);
        int gy2 = (int)lround(fmin(height, fmax(c[1], c[3])) / height * G);
        for (int y = MAX(gy1, 0); y < MIN(gy2, G); y++)
            for (int x = MAX(gx1, 0); x < MIN(gx2, G); x++) grid[y * G + x] = 1;
        used++;
    }
    size_t on = 0;
    for (size_t i = 0; i < G * G; i++) on += grid[i];
    free(grid);
    return used ? (double)on / (G * G) : 0.0;
}

static double r4(double x)
{
    return design_round(x, 4);
}

/* Weighted palette tone for the advice rules. */
static const char *palette_tone(const design_color *c, int n)
{
    double l = 0, b = 0, w = 0;
    for (int i = 0; i < n; i++) {
        l += c[i].lab[0] * c[i].share;
        b += c[i].lab[2] * c[i].share;
        w += c[i].share;
    }
    if (w <= 0) return NULL;
    l /= w;
    b /= w;
    if (l < 35) return "dark";
    if (l > 75) return "light";
    if (b > 12) return "warm";
    if (b < -3) return "cool";
    return NULL;
}

/* "beige, brown and green" from the first three distinct names. */
static char *palette_words(const design_color *c, int n)
{
    const char *names[3];
    int m = 0;
    for (int i = 0; i < n && m < 3; i++) {
        bool dup = false;
        for (int j = 0; j < m; j++) dup = dup || strcmp(names[j], c[i].name) == 0;
        if (!dup && c[i].name) names[m++] = c[i].name;
    }
    if (m == 0) return xstrdup("neutral");
    if (m == 1) return xstrdup(names[0]);
    if (m == 2) return xasprintf("%s and %s", names[0], names[1]);
    return xasprintf("%s, %s and %s", names[0], names[1], names[2]);
}

typedef struct photo_facts {
    design_lighting light;
    design_color palette[PALETTE_K];
    int npalette;
} photo_facts;

static int analyse_photo(const design_kb *kb, const design_pixels *px, photo_facts *pf, err *e)
{
    if (design_analyze_lighting(px, &pf->light, e)) return -1;
    pf->npalette = design_palette(kb, px, PALETTE_K, pf->palette, e);
    return pf->npalette < 0 ? -1 : 0;
}

static json_t *analysis_json(const photo_facts *pf, const char *room, const char *room_why,
                             const char *size, double coverage)
{
    const design_lighting *l = &pf->light;
    json_t *a = json_object();
    json_t *lj = json_object();
    json_object_set_new(lj, "value", json_string(design_lighting_name(l->kind)));
    json_object_set_new(
        lj, "derived_from",
        json_string("pixel statistics: mean and 90th-percentile relative luminance (dim below "
                    "0.04 and 0.12), and the colour temperature (McCamy) of the lit pale "
                    "surfaces between the median and the 90th percentile of luminance: "
                    "natural when at least half read above 4800 K and under 20% below 3600 K, "
                    "artificial the other way round, mixed otherwise"));
    json_object_set_new(lj, "mean_luminance", json_real(r4(l->mean_luminance)));
    json_object_set_new(lj, "p90_luminance", json_real(r4(l->p90_luminance)));
    json_object_set_new(lj, "dark_fraction", json_real(r4(l->dark_fraction)));
    json_object_set_new(lj, "color_temperature_k", json_integer(lround(l->cct_kelvin)));
    json_object_set_new(lj, "warm_fraction", json_real(r4(l->warm_fraction)));
    json_object_set_new(lj, "cool_fraction", json_real(r4(l->cool_fraction)));
    json_object_set_new(a, "lighting", lj);

    json_t *pal = json_array();
    for (int i = 0; i < pf->npalette; i++) {
        const design_color *c = &pf->palette[i];
        char hex[8];
        snprintf(hex, sizeof hex, "#%02x%02x%02x", c->rgb[0], c->rgb[1], c->rgb[2]);
        json_array_append_new(
            pal, json_pack("{s:s,s:s,s:f,s:[f,f,f]}", "name", c->name ? c->name : "", "hex", hex,
                           "share", r4(c->share), "lab", design_round(c->lab[0], 2),
                           design_round(c->lab[1], 2), design_round(c->lab[2], 2)));
    }
    json_t *pj = json_object();
    json_object_set_new(pj, "colors", pal);
    json_object_set_new(pj, "derived_from",
                        json_string("k-means (k=8, k-means++ seeding, lightness weighted one half) "
                                    "in CIELAB over a uniform "
                                    "sample of up to 20,000 pixels; names are the nearest entry "
                                    "of data/colors.json"));
    json_object_set_new(a, "palette", pj);

    json_object_set_new(a, "room_type",
                        json_pack("{s:s,s:s}", "value", room, "derived_from", room_why));
    json_t *sj = json_object();
    json_object_set_new(sj, "value", json_string(size));
    if (coverage >= 0) {
        json_object_set_new(sj, "furniture_coverage", json_real(r4(coverage)));
        json_object_set_new(sj, "derived_from",
                            json_string("share of the frame covered by the furniture boxes: "
                                        "the more the furniture fills the frame, the smaller "
                                        "the room (thresholds in data/rooms.json)"));
    } else {
        json_object_set_new(sj, "derived_from",
                            json_string("default: no bounding boxes were given in "
                                        "detection_data"));
    }
    json_object_set_new(a, "room_size", sj);
    return a;
}

static const char *size_from_coverage(const design_kb *kb, double coverage)
{
    const json_t *rs = json_object_get(kb->rooms, "room_size");
    if (coverage < 0) return "medium";
    if (coverage > json_number_value(json_object_get(rs, "small_above"))) return "small";
    if (coverage < json_number_value(json_object_get(rs, "large_below"))) return "large";
    return "medium";
}

static json_t *constraints(void)
{
    return json_pack("[s,s,s,s,s]", "keep original layout", "keep camera angle",
                     "keep window positions", "keep proportions", "preserve room geometry");
}

json_t *design_vision_analyze(const design_kb *kb, const char *detection_data,
                              const design_pixels *px, err *e)
{
    json_t *dd = detection_data ? json_loads(detection_data, 0, NULL) : NULL;
    if (dd && !json_is_object(dd)) {
        json_decref(dd);
        dd = NULL;
    }
    json_t *objects = json_object_get(dd, "objects");
    if (!json_is_array(objects)) objects = NULL;
    char why[512];
    const char *room = room_from_objects(kb, objects, why, sizeof why);

    json_t *r = json_object();
    json_object_set_new(r, "room_type", json_string(room));
    if (!px) {
        json_object_set_new(r, "room_size", json_string("medium"));
        json_object_set_new(r, "lighting", json_string("natural"));
        json_object_set_new(r, "constraints", constraints());
        json_decref(dd);
        return r;
    }
    photo_facts pf;
    if (analyse_photo(kb, px, &pf, e)) {
        json_decref(r);
        json_decref(dd);
        return NULL;
    }
    double coverage = furniture_coverage(kb, dd, objects, px->width, px->height);
    const char *size = size_from_coverage(kb, coverage);
    json_object_set_new(r, "room_size", json_string(size));
    json_object_set_new(r, "lighting", json_string(design_lighting_name(pf.light.kind)));
    json_object_set_new(r, "constraints", constraints());
    json_object_set_new(r, "analysis", analysis_json(&pf, room, why, size, coverage));
    json_decref(dd);
    return r;
}

/* Python's str.capitalize(): first character upper, the rest lower (ASCII). */
static char *capitalize(const char *s)
{
    char *o = xstrdup(s);
    design_lower(s, o, strlen(s) + 1);
    if (o[0] >= 'a' && o[0] <= 'z') o[0] = (char)(o[0] - 'a' + 'A');
    return o;
}

static json_t *advise_photo(const design_kb *kb, const design_advise_params *p,
                            const design_pixels *px, err *e);

/* Query strings are not checked for UTF-8 by anyone before us; JSON needs it. */
static const char *clean(const char *s, char **keep)
{
    *keep = s ? text_utf8_clean(s, strlen(s)) : NULL;
    return *keep;
}

json_t *design_advise_photo(const design_kb *kb, const design_advise_params *given,
                            const design_pixels *px, err *e)
{
    char *owned[6];
    design_advise_params cp = {
        clean(given->prompt, &owned[0]),           clean(given->room_type, &owned[1]),
        clean(given->objects_detected, &owned[2]), clean(given->lighting, &owned[3]),
        clean(given->room_size, &owned[4]),        clean(given->budget, &owned[5])};
    json_t *r = advise_photo(kb, &cp, px, e);
    for (int i = 0; i < 6; i++) free(owned[i]);
    return r;
}

static json_t *advise_photo(const design_kb *kb, const design_advise_params *p,
                            const design_pixels *px, err *e)
{
    const char *prompt = p->prompt ? p->prompt : "Provide interior design recommendations";
    json_t *objects = json_array();
    if (p->objects_detected) {
        const char *s = p->objects_detected;
        while (*s) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            const char *a = s, *b = s + len;
            while (a < b && (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')) a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n' || b[-1] == '\r')) b--;
            if (b > a) json_array_append_new(objects, json_stringn(a, (size_t)(b - a)));
            s += len + (comma ? 1 : 0);
        }
    }
    photo_facts pf = {0};
    bool have_photo = px != NULL;
    if (have_photo && analyse_photo(kb, px, &pf, e)) {
        json_decref(objects);
        return NULL;
    }
    char why[512] = "given by the caller";
    const char *room = p->room_type;
    if (!room) {
        if (json_array_size(objects)) {
            room = room_from_objects(kb, objects, why, sizeof why);
        } else {
            room = "bedroom";
            snprintf(why, sizeof why, "default: no room type or objects were given");
        }
    }
    const char *lighting = p->lighting;
    if (!lighting) lighting = have_photo ? design_lighting_name(pf.light.kind) : "natural";
    const char *size = p->room_size ? p->room_size : "medium";

    char *sp;
    if (json_array_size(objects)) {
        char *list = xstrdup("");
        for (size_t i = 0; i < json_array_size(objects); i++) {
            char *next = xasprintf("%s%s%s", list, i ? ", " : "",
                                   json_string_value(json_array_get(objects, i)));
            free(list);
            list = next;
        }
        sp = xasprintf("Redesign this %s in a %s style.\n\nIMPORTANT - Preserve the following:\n"
                       "- Keep the original layout and room dimensions\n- Maintain %s in their "
                       "current positions\n- Preserve the camera angle and perspective\n- Keep "
                       "windows and doors in the same locations\n\nStyle requirements:\n- %s\n- "
                       "%s lighting with warm tones\n- Suitable for a %s space\n- "
                       "Photorealistic interior rendering\n\nFocus on changing: colors, "
                       "materials, textures, accessories, and finishes while maintaining the "
                       "structural layout.",
                       room, prompt, list, prompt, lighting, size);
        free(list);
    } else {
        char *cap = capitalize(lighting);
        sp = xasprintf("Redesign this %s in a %s style.\nKeep the original layout, furniture "
                       "positions, and camera angle.\n%s lighting, %s space.\nPhotorealistic "
                       "interior rendering.",
                       room, prompt, cap, size);
        free(cap);
    }

    char *colors = have_photo ? palette_words(pf.palette, pf.npalette) : NULL;
    char lighting_l[64];
    design_lower(lighting, lighting_l, sizeof lighting_l);
    design_facts f = {.room_type = room,
                      .style = prompt,
                      .budget = p->budget ? p->budget : "medium",
                      .lighting = lighting_l,
                      .room_size = size,
                      .palette_tone = have_photo ? palette_tone(pf.palette, pf.npalette) : NULL,
                      .colors = colors,
                      .objects = objects};
    json_t *recs = design_recommend(kb, &f);
    char *advice = design_recommend_text(recs);

    json_t *r = json_object();
    json_object_set_new(r, "advice", json_string(advice));
    json_object_set_new(r, "prompt", json_string(prompt));
    json_object_set_new(r, "structured_prompt", json_string(sp));
    json_object_set_new(r, "response", json_string(advice));
    json_t *meta = json_object();
    json_object_set_new(meta, "room_type", json_string(room));
    json_object_set_new(meta, "objects_detected", objects);
    json_object_set_new(meta, "lighting", json_string(lighting));
    json_object_set_new(meta, "room_size", json_string(size));
    json_object_set_new(r, "metadata", meta);
    if (have_photo) json_object_set_new(r, "analysis", analysis_json(&pf, room, why, size, -1));
    json_object_set_new(r, "recommendations", recs);
    json_object_set_new(r, "source", json_string("rules"));
    free(advice);
    free(colors);
    free(sp);
    return r;
}
