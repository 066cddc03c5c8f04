/* Loading and validating the knowledge base under data/. Every check names the file and
 * the JSON path of the offending field, so a bad edit to the data is found at start-up
 * rather than as a wrong price in a response. */
#include "design_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const design_tiers[3] = {"low", "medium", "high"};

void design_lower(const char *s, char *out, size_t outsz)
{
    size_t i = 0;
    if (!outsz) return;
    for (; s && s[i] && i + 1 < outsz; i++) out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = 0;
}

/* ---------------------------------------------------------------- schema checks */

typedef struct vctx {
    const char *file;
    err *e;
} vctx;

static bool fail(vctx *c, const char *path, const char *what)
{
    err_set(c->e, 500, "%s: %s: %s", c->file, path, what);
    return false;
}

static const json_t *need(vctx *c, const json_t *o, const char *path, const char *key, json_type t,
                          bool optional)
{
    char p[256];
    snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", key);
    const json_t *v = json_object_get(o, key);
    if (!v) {
        if (!optional) fail(c, p, "missing");
        return NULL;
    }
    bool ok = json_typeof(v) == t || (t == JSON_REAL && json_is_integer(v)) ||
              (t == JSON_TRUE && json_is_boolean(v));
    if (!ok) {
        const char *want = t == JSON_OBJECT    ? "expected an object"
                           : t == JSON_ARRAY   ? "expected a list"
                           : t == JSON_STRING  ? "expected a string"
                           : t == JSON_INTEGER ? "expected an integer"
                           : t == JSON_REAL    ? "expected a number"
                                               : "expected a boolean";
        fail(c, p, want);
        return NULL;
    }
    return v;
}

#define NEED(o, path, key, t)                               \
    ({                                                      \
        const json_t *_v = need(c, o, path, key, t, false); \
        if (!_v) return false;                              \
        _v;                                                 \
    })

static bool check_str_list(vctx *c, const json_t *a, const char *path, bool nonempty)
{
    if (!json_is_array(a)) return fail(c, path, "expected a list");
    if (nonempty && json_array_size(a) == 0) return fail(c, path, "must not be empty");
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!json_is_string(json_array_get(a, i))) {
            char p[256];
            snprintf(p, sizeof p, "%s[%zu]", path, i);
            return fail(c, p, "expected a string");
        }
    return true;
}

static bool check_nonneg_int(vctx *c, const json_t *o, const char *path, const char *key)
{
    const json_t *v = NEED(o, path, key, JSON_INTEGER);
    if (json_integer_value(v) < 0) {
        char p[256];
        snprintf(p, sizeof p, "%s.%s", path, key);
        return fail(c, p, "must not be negative");
    }
    return true;
}

static bool check_price(vctx *c, const json_t *r, const char *path)
{
    if (!json_is_object(r)) return fail(c, path, "expected an object");
    if (!check_nonneg_int(c, r, path, "material_cost")) return false;
    if (!check_nonneg_int(c, r, path, "labor_cost")) return false;
    if (json_integer_value(json_object_get(r, "material_cost")) +
            json_integer_value(json_object_get(r, "labor_cost")) <=
        0)
        return fail(c, path, "material_cost + labor_cost must be positive");
    NEED(r, path, "description", JSON_STRING);
    char p[256];
    snprintf(p, sizeof p, "%s.where_to_buy", path);
    if (!check_str_list(c, NEED(r, path, "where_to_buy", JSON_ARRAY), p, true)) return false;
    const json_t *brands = need(c, r, path, "brands", JSON_ARRAY, true);
    snprintf(p, sizeof p, "%s.brands", path);
    if (brands && !check_str_list(c, brands, p, false)) return false;
    return true;
}

static bool check_timeline(vctx *c, const json_t *t, const char *path)
{
    if (!json_is_object(t)) return fail(c, path, "expected an object");
    const char *keys[] = {"diy", "professional"};
    for (int i = 0; i < 2; i++) {
        const json_t *v = NEED(t, path, keys[i], JSON_REAL);
        if (json_number_value(v) < 0) {
            char p[256];
            snprintf(p, sizeof p, "%s.%s", path, keys[i]);
            return fail(c, p, "must not be negative");
        }
    }
    return true;
}

static bool check_string_map(vctx *c, const json_t *m, const char *path)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)m, k, v)
    {
        char p[256];
        snprintf(p, sizeof p, "%s.%s", path, k);
        if (!json_is_string(v)) return fail(c, p, "expected a string");
        for (const char *s = k; *s; s++)
            if (isupper((unsigned char)*s)) return fail(c, p, "keys must be lower-case");
    }
    return true;
}

static bool check_pricing(vctx *c, const json_t *root)
{
    if (!check_string_map(c, NEED(root, "", "aliases", JSON_OBJECT), "aliases")) return false;
    if (!check_price(c, NEED(root, "", "default", JSON_OBJECT), "default")) return false;
    if (!check_timeline(c, NEED(root, "", "default_timeline_days", JSON_OBJECT),
                        "default_timeline_days"))
        return false;
    const json_t *items = NEED(root, "", "items", JSON_OBJECT);
    if (json_object_size(items) == 0) return fail(c, "items", "must not be empty");
    const char *name;
    const json_t *it;
    json_object_foreach((json_t *)items, name, it)
    {
        char p[256], q[320];
        snprintf(p, sizeof p, "items.%s", name);
        for (const char *s = name; *s; s++)
            if (isupper((unsigned char)*s)) return fail(c, p, "item names must be lower-case");
        if (!json_is_object(it)) return fail(c, p, "expected an object");
        const json_t *tiers = NEED(it, p, "tiers", JSON_OBJECT);
        snprintf(q, sizeof q, "%s.tiers", p);
        for (int t = 0; t < 3; t++) {
            char r[400];
            snprintf(r, sizeof r, "%s.%s", q, design_tiers[t]);
            const json_t *rec = json_object_get(tiers, design_tiers[t]);
            if (!rec) return fail(c, r, "missing");
            if (!check_price(c, rec, r)) return false;
        }
        snprintf(q, sizeof q, "%s.timeline_days", p);
        const json_t *tl = need(c, it, p, "timeline_days", JSON_OBJECT, true);
        if (!tl && c->e->status) return false;
        if (tl && !check_timeline(c, tl, q)) return false;
        const json_t *mats = need(c, it, p, "materials", JSON_OBJECT, true);
        if (!mats && c->e->status) return false;
        for (int t = 0; mats && t < 3; t++) {
            char r[400];
            snprintf(r, sizeof r, "%s.materials.%s", p, design_tiers[t]);
            const json_t *s = json_object_get(mats, design_tiers[t]);
            if (!s) return fail(c, r, "missing");
            if (!json_is_object(s)) return fail(c, r, "expected an object");
            const char *keys[] = {"material", "finish", "quality_tier", "estimated_cost"};
            for (int k = 0; k < 4; k++) NEED(s, r, keys[k], JSON_STRING);
        }
    }
    return true;
}

static bool check_guide(vctx *c, const json_t *g, const char *p)
{
    char q[320];
    NEED(g, p, "difficulty", JSON_STRING);
    NEED(g, p, "estimated_time_hours", JSON_REAL);
    NEED(g, p, "skill_level", JSON_STRING);
    const json_t *steps = NEED(g, p, "steps", JSON_ARRAY);
    if (json_array_size(steps) == 0) return fail(c, p, "steps must not be empty");
    for (size_t i = 0; i < json_array_size(steps); i++) {
        const json_t *s = json_array_get(steps, i);
        snprintf(q, sizeof q, "%s.steps[%zu]", p, i);
        if (!json_is_object(s)) return fail(c, q, "expected an object");
        NEED(s, q, "title", JSON_STRING);
        NEED(s, q, "description", JSON_STRING);
        if (!check_nonneg_int(c, s, q, "duration_minutes")) return false;
        char r[400];
        snprintf(r, sizeof r, "%s.tips", q);
        if (!check_str_list(c, NEED(s, q, "tips", JSON_ARRAY), r, false)) return false;
        const json_t *v = json_object_get(s, "video_url");
        if (v && !json_is_string(v) && !json_is_null(v)) {
            snprintf(r, sizeof r, "%s.video_url", q);
            return fail(c, r, "expected a string or null");
        }
        if (!need(c, s, q, "safety_warning", JSON_STRING, true) && c->e->status) return false;
    }
    const json_t *tools = NEED(g, p, "tools_needed", JSON_ARRAY);
    for (size_t i = 0; i < json_array_size(tools); i++) {
        const json_t *t = json_array_get(tools, i);
        snprintf(q, sizeof q, "%s.tools_needed[%zu]", p, i);
        if (!json_is_object(t)) return fail(c, q, "expected an object");
        NEED(t, q, "name", JSON_STRING);
        if (!check_nonneg_int(c, t, q, "cost_inr")) return false;
        NEED(t, q, "where", JSON_STRING);
        if (!need(c, t, q, "optional", JSON_TRUE, true) && c->e->status) return false;
    }
    const json_t *mats = NEED(g, p, "materials_checklist", JSON_ARRAY);
    for (size_t i = 0; i < json_array_size(mats); i++) {
        const json_t *m = json_array_get(mats, i);
        snprintf(q, sizeof q, "%s.materials_checklist[%zu]", p, i);
        if (!json_is_object(m)) return fail(c, q, "expected an object");
        NEED(m, q, "item", JSON_STRING);
        NEED(m, q, "budget_range", JSON_STRING);
        NEED(m, q, "where", JSON_STRING);
    }
    const char *lists[] = {"safety_tips", "common_mistakes", "pro_tips"};
    for (int i = 0; i < 3; i++) {
        snprintf(q, sizeof q, "%s.%s", p, lists[i]);
        if (!check_str_list(c, NEED(g, p, lists[i], JSON_ARRAY), q, false)) return false;
    }
    return true;
}

static bool check_diy(vctx *c, const json_t *root)
{
    if (!check_string_map(c, NEED(root, "", "aliases", JSON_OBJECT), "aliases")) return false;
    const json_t *guides = NEED(root, "", "guides", JSON_OBJECT);
    const char *name;
    const json_t *g;
    json_object_foreach((json_t *)guides, name, g)
    {
        char p[256];
        snprintf(p, sizeof p, "guides.%s", name);
        if (!json_is_object(g)) return fail(c, p, "expected an object");
        if (!check_guide(c, g, p)) return false;
    }
    const json_t *quick = NEED(root, "", "quick_guides", JSON_OBJECT);
    json_object_foreach((json_t *)quick, name, g)
    {
        char p[256], q[320];
        snprintf(p, sizeof p, "quick_guides.%s", name);
        if (!json_is_object(g)) return fail(c, p, "expected an object");
        NEED(g, p, "difficulty", JSON_STRING);
        NEED(g, p, "time_hours", JSON_REAL);
        snprintf(q, sizeof q, "%s.instructions", p);
        if (!check_str_list(c, NEED(g, p, "instructions", JSON_ARRAY), q, true)) return false;
    }
    const json_t *gen = NEED(root, "", "generic", JSON_OBJECT);
    NEED(gen, "generic", "difficulty", JSON_STRING);
    NEED(gen, "generic", "estimated_time_hours", JSON_REAL);
    return true;
}

static bool check_rooms(vctx *c, const json_t *root)
{
    NEED(root, "", "default", JSON_STRING);
    const json_t *rules = NEED(root, "", "rules", JSON_ARRAY);
    for (size_t i = 0; i < json_array_size(rules); i++) {
        char p[64], q[96];
        snprintf(p, sizeof p, "rules[%zu]", i);
        const json_t *r = json_array_get(rules, i);
        if (!json_is_object(r)) return fail(c, p, "expected an object");
        NEED(r, p, "room", JSON_STRING);
        const json_t *all = json_object_get(r, "all"), *any = json_object_get(r, "any");
        if (!all == !any) return fail(c, p, "needs exactly one of 'all' or 'any'");
        snprintf(q, sizeof q, "%s.%s", p, all ? "all" : "any");
        if (!check_str_list(c, all ? all : any, q, true)) return false;
    }
    const json_t *size = NEED(root, "", "room_size", JSON_OBJECT);
    if (!check_str_list(c, NEED(size, "room_size", "furniture", JSON_ARRAY), "room_size.furniture",
                        true))
        return false;
    double small = json_number_value(NEED(size, "room_size", "small_above", JSON_REAL));
    double large = json_number_value(NEED(size, "room_size", "large_below", JSON_REAL));
    if (!(large >= 0 && large < small && small <= 1))
        return fail(c, "room_size", "need 0 <= large_below < small_above <= 1");
    return true;
}

static const char *const advice_conditions[] = {"lighting",    "room_type", "room_size",
                                                "objects_any", "style_any", "palette"};

static bool check_advice(vctx *c, const json_t *root)
{
    const json_t *max = NEED(root, "", "max_recommendations", JSON_INTEGER);
    if (json_integer_value(max) < 1 || json_integer_value(max) > 20)
        return fail(c, "max_recommendations", "must be between 1 and 20");
    const json_t *rules = NEED(root, "", "rules", JSON_ARRAY);
    if (json_array_size(rules) == 0) return fail(c, "rules", "must not be empty");
    for (size_t i = 0; i < json_array_size(rules); i++) {
        char p[64], q[128];
        snprintf(p, sizeof p, "rules[%zu]", i);
        const json_t *r = json_array_get(rules, i);
        if (!json_is_object(r)) return fail(c, p, "expected an object");
        const char *keys[] = {"category", "icon", "suggestion", "reason"};
        for (int k = 0; k < 4; k++) NEED(r, p, keys[k], JSON_STRING);
        const json_t *when = NEED(r, p, "when", JSON_OBJECT);
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)when, k, v)
        {
            snprintf(q, sizeof q, "%s.when.%s", p, k);
            size_t j = 0;
            while (j < ARRAY_LEN(advice_conditions) && strcmp(k, advice_conditions[j]) != 0) j++;
            if (j == ARRAY_LEN(advice_conditions)) return fail(c, q, "unknown condition");
            if (strcmp(k, "palette") == 0) {
                if (!json_is_string(v)) return fail(c, q, "expected a string");
            } else if (!check_str_list(c, v, q, true)) {
                return false;
            }
        }
    }
    return true;
}

static bool parse_hex(const char *s, uint8_t rgb[3])
{
    if (!s || s[0] != '#' || strlen(s) != 7) return false;
    for (int i = 0; i < 3; i++) {
        char b[3] = {s[1 + 2 * i], s[2 + 2 * i], 0};
        char *end;
        long v = strtol(b, &end, 16);
        if (*end || !isxdigit((unsigned char)b[0]) || !isxdigit((unsigned char)b[1])) return false;
        rgb[i] = (uint8_t)v;
    }
    return true;
}

static bool load_colors(vctx *c, const json_t *root, design_kb *kb)
{
    const json_t *list = NEED(root, "", "colors", JSON_ARRAY);
    if (json_array_size(list) == 0) return fail(c, "colors", "must not be empty");
    kb->colors = xcalloc(json_array_size(list), sizeof *kb->colors);
    for (size_t i = 0; i < json_array_size(list); i++) {
        char p[64];
        snprintf(p, sizeof p, "colors[%zu]", i);
        const json_t *col = json_array_get(list, i);
        if (!json_is_object(col)) return fail(c, p, "expected an object");
        const json_t *name = NEED(col, p, "name", JSON_STRING);
        const json_t *hex = NEED(col, p, "hex", JSON_STRING);
        uint8_t rgb[3];
        if (!parse_hex(json_string_value(hex), rgb)) {
            char q[96];
            snprintf(q, sizeof q, "%s.hex", p);
            return fail(c, q, "expected #rrggbb");
        }
        kb->colors[i].name = xstrdup(json_string_value(name));
        design_rgb_to_lab(rgb, kb->colors[i].lab);
        kb->ncolors = i + 1;
    }
    return true;
}

static json_t *load_file(const char *dir, const char *name, char *path, size_t pathsz, err *e)
{
    snprintf(path, pathsz, "%s/%s", dir, name);
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        err_set(e, 500, "%s: line %d column %d: %s", path, je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        err_set(e, 500, "%s: the top level must be an object", path);
        json_decref(root);
        return NULL;
    }
    return root;
}

design_kb *design_kb_load(const char *dir, err *e)
{
    err local = {0};
    if (!e) e = &local;
    design_kb *kb = xcalloc(1, sizeof *kb);
    char path[1024];
    vctx c = {path, e};
    json_t *colors = NULL;
    bool ok = (kb->pricing = load_file(dir, "pricing.json", path, sizeof path, e)) &&
              check_pricing(&c, kb->pricing) &&
              (kb->diy = load_file(dir, "diy.json", path, sizeof path, e)) &&
              check_diy(&c, kb->diy) &&
              (kb->rooms = load_file(dir, "rooms.json", path, sizeof path, e)) &&
              check_rooms(&c, kb->rooms) &&
              (kb->advice = load_file(dir, "advice.json", path, sizeof path, e)) &&
              check_advice(&c, kb->advice) &&
              (colors = load_file(dir, "colors.json", path, sizeof path, e)) &&
              load_colors(&c, colors, kb);
    json_decref(colors);
    if (!ok) {
        design_kb_free(kb);
        return NULL;
    }
    return kb;
}

void design_kb_free(design_kb *kb)
{
    if (!kb) return;
    json_decref(kb->pricing);
    json_decref(kb->diy);
    json_decref(kb->rooms);
    json_decref(kb->advice);
    for (size_t i = 0; i < kb->ncolors; i++) free(kb->colors[i].name);
    free(kb->colors);
    free(kb);
}

size_t design_kb_item_count(const design_kb *kb)
{
    return json_object_size(json_object_get(kb->pricing, "items"));
}

void design_kb_canonical(const design_kb *kb, const char *item, char *out, size_t outsz)
{
    design_lower(item, out, outsz);
    const json_t *a = json_object_get(json_object_get(kb->pricing, "aliases"), out);
    if (a) snprintf(out, outsz, "%s", json_string_value(a));
}

bool design_kb_has_item(const design_kb *kb, const char *item)
{
    char name[256];
    design_kb_canonical(kb, item, name, sizeof name);
    return json_object_get(json_object_get(kb->pricing, "items"), name) != NULL;
}

static const json_t *item_entry(const design_kb *kb, const char *item_l)
{
    char name[256];
    design_kb_canonical(kb, item_l, name, sizeof name);
    return json_object_get(json_object_get(kb->pricing, "items"), name);
}

const json_t *kb_price(const design_kb *kb, const char *item_l, const char *tier_l)
{
    return json_object_get(json_object_get(item_entry(kb, item_l), "tiers"), tier_l);
}

const json_t *kb_spec(const design_kb *kb, const char *item_l, const char *tier_l)
{
    return json_object_get(json_object_get(item_entry(kb, item_l), "materials"), tier_l);
}

void kb_cost_get(const design_kb *kb, const char *item, const char *tier, kb_cost *out)
{
    char item_l[256], tier_l[64];
    design_lower(item, item_l, sizeof item_l);
    design_lower(tier, tier_l, sizeof tier_l);
    const json_t *r = kb_price(kb, item_l, tier_l);
    if (!r) {
        /* The original's default line, named with the item as the caller spelled it. */
        r = json_object_get(kb->pricing, "default");
        const char *tmpl = json_string_value(json_object_get(r, "description"));
        const char *at = strstr(tmpl, "{item}");
        if (at)
            snprintf(out->desc_buf, sizeof out->desc_buf, "%.*s%s%s", (int)(at - tmpl), tmpl, item,
                     at + 6);
        else
            snprintf(out->desc_buf, sizeof out->desc_buf, "%s", tmpl);
        out->description = out->desc_buf;
    } else {
        out->description = json_string_value(json_object_get(r, "description"));
    }
    out->material = (long)json_integer_value(json_object_get(r, "material_cost"));
    out->labor = (long)json_integer_value(json_object_get(r, "labor_cost"));
    out->where = json_object_get(r, "where_to_buy");
}
