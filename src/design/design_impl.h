/* design — private: the loaded knowledge base and helpers shared by its files. */
#ifndef ARTISTRY_DESIGN_IMPL_H
#define ARTISTRY_DESIGN_IMPL_H

#include "design/design.h"

typedef struct kb_color {
    char *name;
    double lab[3];
} kb_color;

struct design_kb {
    json_t *pricing; /* data/pricing.json, validated */
    json_t *diy;     /* data/diy.json */
    json_t *rooms;   /* data/rooms.json */
    json_t *advice;  /* data/advice.json */
    kb_color *colors;
    size_t ncolors;
};

/* The three budget tiers the data knows, in order. */
extern const char *const design_tiers[3];

/* Lower-cases ASCII into out (always NUL-terminated, truncated to outsz). */
void design_lower(const char *s, char *out, size_t outsz);
/* The price record of item at tier (both lower-cased by the caller), after the pricing
 * alias map; NULL when the item or tier is unknown (the caller uses the default). */
const json_t *kb_price(const design_kb *kb, const char *item_l, const char *tier_l);
/* The material spec (refine-budget) of item at tier, after aliases; NULL when none. */
const json_t *kb_spec(const design_kb *kb, const char *item_l, const char *tier_l);

/* A price as the estimator sees it: the record's figures, or the default line. */
typedef struct kb_cost {
    long material, labor;
    const char *description; /* borrowed, or desc_buf for the default */
    const json_t *where;     /* borrowed array */
    char desc_buf[256];
} kb_cost;
void kb_cost_get(const design_kb *kb, const char *item, const char *tier, kb_cost *out);

/* Rule-based advice (advice.c). facts: room_type, style, budget, lighting, room_size,
 * palette tone ("dark", "light", "warm", "cool" or NULL), colour names, objects. */
typedef struct design_facts {
    const char *room_type, *style, *budget, *lighting, *room_size, *palette_tone;
    const char *colors;    /* "beige, brown and green" or NULL */
    const json_t *objects; /* array of strings, may be NULL */
} design_facts;
/* A new array of {category, suggestion, reason, icon}. */
json_t *design_recommend(const design_kb *kb, const design_facts *f);
/* The recommendations as newline-separated advice text (malloc'ed). */
char *design_recommend_text(const json_t *recs);
/* "₹20,500" into out. */
void design_format_inr(long v, char *out, size_t outsz);

#endif
