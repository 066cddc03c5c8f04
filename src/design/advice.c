/* Rule-based advice: the first rule per category whose conditions hold, with its
 * placeholders filled from the facts and the knowledge base (data/advice.json). A rule
 * whose placeholder cannot be filled (no spec for that item) is skipped, so a response
 * never shows a half-filled sentence. */
#include "design_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void design_format_inr(long v, char *out, size_t outsz)
{
    /* Indian digit grouping: the last three digits, then pairs (₹1,03,000). */
    char digits[32], grouped[48];
    snprintf(digits, sizeof digits, "%ld", v < 0 ? -v : v);
    size_t n = strlen(digits), g = 0;
    for (size_t i = 0; i < n; i++) {
        size_t rest = n - i - 1; /* digits still to come after this one */
        grouped[g++] = digits[i];
        if (rest == 3 || (rest > 3 && (rest - 3) % 2 == 0)) grouped[g++] = ',';
    }
    grouped[g] = 0;
    snprintf(out, outsz, "%s₹%s", v < 0 ? "-" : "", grouped);
}

static const char *tier_of(const char *budget)
{
    char b[32];
    design_lower(budget ? budget : "", b, sizeof b);
    for (int i = 0; i < 3; i++)
        if (strcmp(b, design_tiers[i]) == 0) return design_tiers[i];
    return "medium";
}

static bool list_has(const json_t *list, const char *v)
{
    if (!v) return false;
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcasecmp(json_string_value(json_array_get(list, i)), v) == 0) return true;
    return false;
}

static bool has_object(const design_kb *kb, const design_facts *f, const json_t *wanted)
{
    for (size_t i = 0; i < json_array_size(f->objects); i++) {
        const char *o = json_string_value(json_array_get(f->objects, i));
        if (!o) continue;
        char canon[256];
        design_kb_canonical(kb, o, canon, sizeof canon);
        if (list_has(wanted, o) || list_has(wanted, canon)) return true;
    }
    return false;
}

static bool style_has(const design_facts *f, const json_t *words)
{
    if (!f->style) return false;
    size_t n = strlen(f->style);
    char *low = xmalloc(n + 1);
    design_lower(f->style, low, n + 1);
    bool hit = false;
    for (size_t i = 0; i < json_array_size(words) && !hit; i++)
        hit = strstr(low, json_string_value(json_array_get(words, i))) != NULL;
    free(low);
    return hit;
}

static bool rule_applies(const design_kb *kb, const json_t *when, const design_facts *f)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)when, k, v)
    {
        bool ok;
        if (strcmp(k, "lighting") == 0)
            ok = list_has(v, f->lighting);
        else if (strcmp(k, "room_type") == 0)
            ok = list_has(v, f->room_type);
        else if (strcmp(k, "room_size") == 0)
            ok = list_has(v, f->room_size);
        else if (strcmp(k, "objects_any") == 0)
            ok = has_object(kb, f, v);
        else if (strcmp(k, "style_any") == 0)
            ok = style_has(f, v);
        else if (strcmp(k, "palette") == 0)
            ok = f->palette_tone && strcmp(json_string_value(v), f->palette_tone) == 0;
        else
            ok = false;
        if (!ok) return false;
    }
    return true;
}

/* Expands one placeholder name into out; false when it cannot be filled. */
static bool expand(const design_kb *kb, const design_facts *f, const char *name, char *out,
                   size_t outsz)
{
    const char *tier = tier_of(f->budget);
    const char *colon = strchr(name, ':');
    if (colon) {
        char field[32], item[128];
        snprintf(field, sizeof field, "%.*s", (int)(colon - name), name);
        snprintf(item, sizeof item, "%s", colon + 1);
        if (strcmp(field, "cost") == 0) {
            const json_t *p = kb_price(kb, item, tier);
            if (!p) return false;
            design_format_inr((long)(json_integer_value(json_object_get(p, "material_cost")) +
                                     json_integer_value(json_object_get(p, "labor_cost"))),
                              out, outsz);
            return true;
        }
        const json_t *s = kb_spec(kb, item, tier);
        const json_t *v = json_object_get(s, field);
        if (!json_is_string(v)) return false;
        snprintf(out, outsz, "%s", json_string_value(v));
        return true;
    }
    const char *v = NULL;
    if (strcmp(name, "room_type") == 0)
        v = f->room_type ? f->room_type : "room";
    else if (strcmp(name, "style") == 0)
        v = f->style ? f->style : "modern";
    else if (strcmp(name, "budget") == 0)
        v = tier;
    else if (strcmp(name, "lighting") == 0)
        v = f->lighting ? f->lighting : "natural";
    else if (strcmp(name, "room_size") == 0)
        v = f->room_size ? f->room_size : "medium";
    else if (strcmp(name, "colors") == 0)
        v = f->colors ? f->colors : "neutral";
    if (!v) return false;
    snprintf(out, outsz, "%s", v);
    return true;
}

/* Fills "{...}" placeholders of tmpl; returns malloc'ed text or NULL. The first letter is
 * upper-cased, since a placeholder may open the sentence. */
static char *fill(const design_kb *kb, const design_facts *f, const char *tmpl)
{
    size_t cap = strlen(tmpl) + 256, n = 0;
    char *out = xmalloc(cap);
    for (const char *p = tmpl; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        char piece[512];
        size_t len;
        if (close) {
            char name[160];
            snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
            if (!expand(kb, f, name, piece, sizeof piece)) {
                free(out);
                return NULL;
            }
            len = strlen(piece);
            p = close + 1;
        } else {
            piece[0] = *p++;
            len = 1;
        }
        if (n + len + 1 > cap) {
            cap = (n + len + 1) * 2;
            out = xrealloc(out, cap);
        }
        memcpy(out + n, piece, len);
        n += len;
    }
    out[n] = 0;
    if (n) out[0] = (char)toupper((unsigned char)out[0]);
    return out;
}

json_t *design_recommend(const design_kb *kb, const design_facts *f)
{
    const json_t *rules = json_object_get(kb->advice, "rules");
    size_t max = (size_t)json_integer_value(json_object_get(kb->advice, "max_recommendations"));
    json_t *out = json_array();
    json_t *done = json_object(); /* categories already answered */
    for (size_t i = 0; i < json_array_size(rules) && json_array_size(out) < max; i++) {
        const json_t *r = json_array_get(rules, i);
        const char *cat = json_string_value(json_object_get(r, "category"));
        if (json_object_get(done, cat)) continue;
        if (!rule_applies(kb, json_object_get(r, "when"), f)) continue;
        char *sugg = fill(kb, f, json_string_value(json_object_get(r, "suggestion")));
        char *why = fill(kb, f, json_string_value(json_object_get(r, "reason")));
        if (sugg && why) {
            json_t *o = json_object();
            json_object_set_new(o, "category", json_string(cat));
            json_object_set_new(o, "suggestion", json_string(sugg));
            json_object_set_new(o, "reason", json_string(why));
            json_object_set_new(o, "icon", json_deep_copy(json_object_get(r, "icon")));
            json_array_append_new(out, o);
            json_object_set_new(done, cat, json_true());
        }
        free(sugg);
        free(why);
    }
    json_decref(done);
    return out;
}

char *design_recommend_text(const json_t *recs)
{
    char *text = xstrdup("");
    for (size_t i = 0; i < json_array_size(recs); i++) {
        const json_t *r = json_array_get(recs, i);
        char *next = xasprintf("%s%s%s: %s. %s.", text, i ? "\n" : "",
                               json_string_value(json_object_get(r, "category")),
                               json_string_value(json_object_get(r, "suggestion")),
                               json_string_value(json_object_get(r, "reason")));
        free(text);
        text = next;
    }
    return text;
}

char *design_lm_prompt(const json_t *answer, const char *user_prompt)
{
    const json_t *facts = json_object_get(answer, "metadata");
    if (!facts) facts = json_object_get(answer, "input_data");
    const char *room = json_string_value(json_object_get(facts, "room_type"));
    const char *light = json_string_value(json_object_get(facts, "lighting"));
    const char *size = json_string_value(json_object_get(facts, "room_size"));
    const json_t *objs = json_object_get(facts, "objects_detected");
    char *objects = xstrdup("");
    for (size_t i = 0; i < json_array_size(objs); i++) {
        char *next =
            xasprintf("%s%s%s", objects, i ? ", " : "", json_string_value(json_array_get(objs, i)));
        free(objects);
        objects = next;
    }
    char *context = design_recommend_text(json_object_get(answer, "recommendations"));
    char *p = xasprintf("User request: %s\nContext:\nA %s %s with %s light%s%s.\n%s\n"
                        "Suggestion:",
                        user_prompt ? user_prompt : "Interior design recommendations",
                        size ? size : "medium", room ? room : "room", light ? light : "natural",
                        *objects ? "; it has " : "", objects, context);
    free(objects);
    free(context);
    return p;
}
