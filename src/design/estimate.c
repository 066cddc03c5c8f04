/* Cost estimates and DIY guides (CONTRACT §7.13, §7.14): the original's arithmetic,
 * rounding and int/float typing, over the knowledge base. */
#include "design_impl.h"

#include <stdio.h>
#include <string.h>

/* A Python number as the original's sums produced it: an int until a float is added. */
typedef struct pynum {
    bool is_real;
    double v;
} pynum;

static void pynum_add(pynum *a, const json_t *x)
{
    if (json_is_real(x)) a->is_real = true;
    a->v += json_number_value(x);
}

/* round(x, 1) keeps an int an int and a float a float. */
static json_t *pynum_round1(pynum a)
{
    if (!a.is_real) return json_integer((json_int_t)a.v);
    return json_real(design_round(a.v, 1));
}

static json_t *percent(long part, long whole)
{
    if (whole == 0) return json_real(0.0);
    return json_real(design_round((double)part / (double)whole * 100.0, 1));
}

json_t *design_estimate_total_cost(const design_kb *kb, const json_t *body, err *e)
{
    const json_t *objects;
    const char *budget;
    long sqft = 150;
    bool sqft_present;
    if (design_body_object(body, e) ||
        design_field_str_list(body, "detected_objects", DESIGN_REQUIRED, &objects, e) ||
        design_field_str(body, "budget", DESIGN_REQUIRED, &budget, e) ||
        design_field_int(body, "room_size_sqft", DESIGN_NULLABLE, &sqft, &sqft_present, e))
        return NULL;
    bool sqft_null = json_is_null(json_object_get(body, "room_size_sqft"));
    if (!sqft_present && !sqft_null) sqft = 150;

    char tier[64];
    design_lower(budget, tier, sizeof tier);
    const json_t *timelines_default = json_object_get(kb->pricing, "default_timeline_days");
    const json_t *items = json_object_get(kb->pricing, "items");

    long materials = 0, labor = 0;
    pynum diy_days = {0}, pro_days = {0};
    json_t *per_item = json_array();
    for (size_t i = 0; i < json_array_size(objects); i++) {
        const char *item = json_string_value(json_array_get(objects, i));
        kb_cost c;
        kb_cost_get(kb, item, tier, &c);
        materials += c.material;
        labor += c.labor;
        /* Timelines are looked up by the lower-cased name without the alias map, as in
         * the original ("couch" takes the default). */
        char item_l[256];
        design_lower(item, item_l, sizeof item_l);
        const json_t *tl = json_object_get(json_object_get(items, item_l), "timeline_days");
        if (!tl) tl = timelines_default;
        pynum_add(&diy_days, json_object_get(tl, "diy"));
        pynum_add(&pro_days, json_object_get(tl, "professional"));

        json_t *row = json_object();
        json_object_set_new(row, "item", json_string(item));
        json_object_set_new(row, "budget_tier", json_string(tier));
        json_object_set_new(row, "material_cost_inr", json_integer(c.material));
        json_object_set_new(row, "labor_cost_inr", json_integer(c.labor));
        json_object_set_new(row, "total_cost_inr", json_integer(c.material + c.labor));
        json_object_set_new(row, "description", json_string(c.description));
        json_object_set_new(row, "where_to_buy", json_deep_copy(c.where));
        json_object_set_new(row, "diy_savings_inr", json_integer(c.labor));
        json_object_set_new(row, "diy_savings_percentage", percent(c.labor, c.material + c.labor));
        json_array_append_new(per_item, row);
    }
    long grand = materials + labor;

    json_t *r = json_object();
    json_object_set_new(r, "budget_tier", json_string(tier));
    json_object_set_new(r, "total_cost_inr", json_integer(grand));
    json_t *bd = json_object();
    json_object_set_new(bd, "materials_total_inr", json_integer(materials));
    json_object_set_new(bd, "labor_total_inr", json_integer(labor));
    json_object_set_new(bd, "grand_total_inr", json_integer(grand));
    json_object_set_new(bd, "timeline_days", json_real(design_round(pro_days.v, 1)));
    json_object_set_new(r, "breakdown", bd);
    json_object_set_new(r, "per_item_costs", per_item);
    json_t *dvp = json_object();
    json_object_set_new(dvp, "diy_total_inr", json_integer(materials));
    json_object_set_new(dvp, "professional_total_inr", json_integer(grand));
    json_object_set_new(dvp, "savings_diy_inr", json_integer(labor));
    json_object_set_new(dvp, "savings_percentage", grand ? percent(labor, grand) : json_integer(0));
    json_object_set_new(dvp, "diy_timeline_days", pynum_round1(diy_days));
    json_object_set_new(dvp, "professional_timeline_days", pynum_round1(pro_days));
    json_object_set_new(r, "diy_vs_professional", dvp);
    json_object_set_new(r, "room_size_sqft", sqft_null ? json_null() : json_integer(sqft));
    json_object_set_new(r, "items_count", json_integer((json_int_t)json_array_size(objects)));
    json_object_set_new(r, "currency", json_string("INR"));
    return r;
}

/* The guide for an item: the DIY alias map, then full guides, then quick guides, then
 * the generic entry. *kind says which. */
enum { GUIDE_FULL, GUIDE_QUICK, GUIDE_GENERIC };

static const json_t *find_guide(const design_kb *kb, const char *item_l, int *kind)
{
    const json_t *alias = json_object_get(json_object_get(kb->diy, "aliases"), item_l);
    const char *name = alias ? json_string_value(alias) : item_l;
    const json_t *g = json_object_get(json_object_get(kb->diy, "guides"), name);
    if (g) {
        *kind = GUIDE_FULL;
        return g;
    }
    g = json_object_get(json_object_get(kb->diy, "quick_guides"), name);
    if (g) {
        *kind = GUIDE_QUICK;
        return g;
    }
    *kind = GUIDE_GENERIC;
    return json_object_get(kb->diy, "generic");
}

static json_t *copy_or(const json_t *g, const char *key, json_t *def)
{
    const json_t *v = json_object_get(g, key);
    if (!v) return def;
    json_decref(def);
    return json_deep_copy(v);
}

static json_t *steps_json(const json_t *steps)
{
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(steps); i++) {
        const json_t *s = json_array_get(steps, i);
        json_t *o = json_object();
        json_object_set_new(o, "step", json_integer((json_int_t)i + 1));
        json_object_set_new(o, "title", copy_or(s, "title", json_string("")));
        json_object_set_new(o, "description", copy_or(s, "description", json_string("")));
        json_object_set_new(o, "duration_minutes",
                            copy_or(s, "duration_minutes", json_integer(30)));
        json_object_set_new(o, "tips", copy_or(s, "tips", json_array()));
        json_object_set_new(o, "video_url", copy_or(s, "video_url", json_null()));
        json_object_set_new(o, "safety_warning", copy_or(s, "safety_warning", json_null()));
        json_array_append_new(out, o);
    }
    return out;
}

static json_t *tools_json(const json_t *tools)
{
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(tools); i++) {
        const json_t *t = json_array_get(tools, i);
        json_t *o = json_object();
        json_object_set_new(o, "name", copy_or(t, "name", json_string("")));
        json_object_set_new(o, "cost_inr", copy_or(t, "cost_inr", json_integer(0)));
        json_object_set_new(o, "where", copy_or(t, "where", json_string("Hardware Store")));
        json_object_set_new(o, "optional", copy_or(t, "optional", json_false()));
        json_array_append_new(out, o);
    }
    return out;
}

static json_t *materials_json(const json_t *mats)
{
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(mats); i++) {
        const json_t *m = json_array_get(mats, i);
        json_t *o = json_object();
        json_object_set_new(o, "item", copy_or(m, "item", json_string("")));
        json_object_set_new(o, "budget_range", copy_or(m, "budget_range", json_string("")));
        json_object_set_new(o, "where", copy_or(m, "where", json_string("")));
        json_array_append_new(out, o);
    }
    return out;
}

json_t *design_diy_instructions(const design_kb *kb, const json_t *body, err *e)
{
    const char *item, *budget, *skill;
    if (design_body_object(body, e) || design_field_str(body, "item", DESIGN_REQUIRED, &item, e) ||
        design_field_str(body, "budget", DESIGN_REQUIRED, &budget, e) ||
        design_field_str(body, "skill_level", DESIGN_NULLABLE, &skill, e))
        return NULL;
    char item_l[256], tier[64];
    design_lower(item, item_l, sizeof item_l);
    design_lower(budget, tier, sizeof tier);
    int kind;
    const json_t *g = find_guide(kb, item_l, &kind);
    kb_cost c;
    kb_cost_get(kb, item_l, tier, &c);
    long total = c.material + c.labor;

    json_t *r = json_object();
    json_object_set_new(r, "item", json_string(item_l));
    json_t *difficulty = copy_or(g, "difficulty", json_string("intermediate"));
    const char *d = json_string_value(difficulty);
    bool pro = d && (strcmp(d, "advanced") == 0 || strcmp(d, "expert") == 0);
    json_object_set_new(r, "difficulty", difficulty);
    /* Quick guides store time_hours, which the original never read: they report 2 h. */
    json_object_set_new(r, "estimated_time_hours",
                        copy_or(g, "estimated_time_hours", json_integer(2)));
    json_object_set_new(r, "skill_level", copy_or(g, "skill_level", json_string("Moderate")));
    json_object_set_new(r, "total_cost_diy_inr", json_integer(c.material));
    json_object_set_new(r, "total_cost_professional_inr", json_integer(total));
    json_object_set_new(r, "savings_inr", json_integer(c.labor));
    bool full = kind == GUIDE_FULL;
    json_object_set_new(r, "steps", steps_json(full ? json_object_get(g, "steps") : NULL));
    json_object_set_new(r, "tools_needed",
                        tools_json(full ? json_object_get(g, "tools_needed") : NULL));
    json_object_set_new(r, "materials_checklist",
                        materials_json(full ? json_object_get(g, "materials_checklist") : NULL));
    if (full) {
        const char *lists[] = {"safety_tips", "common_mistakes", "pro_tips"};
        for (int i = 0; i < 3; i++) {
            const json_t *v = json_object_get(g, lists[i]);
            if (v) json_object_set_new(r, lists[i], json_deep_copy(v));
        }
    }
    if (kind == GUIDE_QUICK)
        json_object_set_new(r, "quick_instructions",
                            json_deep_copy(json_object_get(g, "instructions")));
    json_t *po = json_object();
    json_object_set_new(po, "cost_inr", json_integer(total));
    json_object_set_new(po, "recommended_for", json_boolean(pro));
    json_object_set_new(po, "note",
                        json_string("Hire a professional if you are not confident doing this "
                                    "yourself"));
    json_object_set_new(r, "professional_option", po);
    return r;
}
