/* The commerce endpoints' answers (CONTRACT §9) from the catalog. */
#include "catalog_impl.h"
#include "design/design.h"
#include "text/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 1000
#define MAX_CART  1000

json_t *catalog_products_json(const catalog *c, const char *category, const char *budget)
{
    char cat[256], tier[64];
    catalog_category(c, category, cat, sizeof cat);
    snprintf(tier, sizeof tier, "%s", budget ? budget : "");
    for (char *s = tier; *s; s++) *s = (char)tolower((unsigned char)*s);
    const catalog_product **ps;
    size_t n = c->ops->list(c->store, cat, budget ? tier : NULL, &ps);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(list, catalog_product_json(ps[i]));
    free(ps);
    /* Echoed as given; path and query text may not be UTF-8, JSON must be. */
    char *cat_text = text_utf8_clean(category, strlen(category));
    char *budget_text = budget ? text_utf8_clean(budget, strlen(budget)) : NULL;
    json_t *r = json_object();
    json_object_set_new(r, "category", json_string(cat_text));
    json_object_set_new(r, "budget", budget_text ? json_string(budget_text) : json_null());
    free(cat_text);
    free(budget_text);
    json_object_set_new(r, "products", list);
    json_object_set_new(r, "count", json_integer((json_int_t)n));
    return r;
}

/* Reads the five required strings of a ProductMatchRequest; loc names the element of a
 * batch ("body.3") or the body itself. */
static int read_query(const json_t *o, const char *loc, catalog_query *q, err *e)
{
    if (!json_is_object(o)) {
        err_set(e, 422, "%s: Input should be a valid dictionary", loc);
        return -1;
    }
    const char *keys[] = {"item_type", "style", "material", "color", "budget"};
    const char **slots[] = {&q->item_type, &q->style, &q->material, &q->color, &q->budget};
    for (size_t i = 0; i < ARRAY_LEN(keys); i++)
        if (design_field_str(o, keys[i], DESIGN_REQUIRED, slots[i], e)) {
            if (strcmp(loc, "body") != 0) {
                char msg[sizeof e->msg];
                snprintf(msg, sizeof msg, "%s", e->msg);
                /* "body.style: ..." → "body.3.style: ..." */
                err_set(e, 422, "%s.%s", loc, msg + 5);
            }
            return -1;
        }
    return 0;
}

static json_t *matches_json(const catalog *c, const catalog_query *q)
{
    catalog_hit hits[3];
    size_t n = catalog_rank(c, q, hits, 3);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const catalog_product *p = hits[i].product;
        json_t *m = json_object();
        json_object_set_new(m, "product_id", json_string(p->id));
        json_object_set_new(m, "name", json_string(p->name));
        json_object_set_new(m, "vendor", json_string(p->vendor));
        json_object_set_new(m, "price", json_string(p->price));
        json_object_set_new(m, "url", json_string(p->url));
        json_object_set_new(m, "image_url", json_string(p->image_url));
        json_object_set_new(m, "match_score", json_real(design_round(hits[i].score, 4)));
        json_object_set_new(m, "affiliate", json_boolean(p->affiliate));
        json_object_set_new(m, "description", json_string(p->description));
        if (p->price_inr >= 0) json_object_set_new(m, "price_inr", json_integer(p->price_inr));
        json_array_append_new(list, m);
    }
    return list;
}

json_t *catalog_match_products(const catalog *c, const json_t *body, err *e)
{
    catalog_query q;
    if (design_body_object(body, e) || read_query(body, "body", &q, e)) return NULL;
    json_t *matches = matches_json(c, &q);
    json_t *r = json_object();
    json_object_set_new(r, "matches", matches);
    json_object_set_new(r, "query",
                        json_pack("{s:s,s:s,s:s,s:s,s:s}", "item_type", q.item_type, "style",
                                  q.style, "material", q.material, "color", q.color, "budget",
                                  q.budget));
    json_object_set_new(r, "total_matches", json_integer((json_int_t)json_array_size(matches)));
    return r;
}

json_t *catalog_batch_match(const catalog *c, const json_t *body, err *e)
{
    if (!json_is_array(body)) {
        err_set(e, 422, "body: Input should be a valid list of match requests");
        return NULL;
    }
    if (json_array_size(body) > MAX_BATCH) {
        err_set(e, 413, "body: at most %d match requests per batch, got %zu", MAX_BATCH,
                json_array_size(body));
        return NULL;
    }
    catalog_query *qs = xcalloc(json_array_size(body) + 1, sizeof *qs);
    for (size_t i = 0; i < json_array_size(body); i++) {
        char loc[32];
        snprintf(loc, sizeof loc, "body.%zu", i);
        if (read_query(json_array_get(body, i), loc, &qs[i], e)) {
            free(qs);
            return NULL;
        }
    }
    /* Keyed by item_type as given: a later duplicate replaces an earlier one, as in the
     * original. */
    json_t *items = json_object();
    for (size_t i = 0; i < json_array_size(body); i++)
        json_object_set_new(items, qs[i].item_type, matches_json(c, &qs[i]));
    free(qs);
    json_t *r = json_object();
    json_object_set_new(r, "items", items);
    json_object_set_new(r, "total_items", json_integer((json_int_t)json_object_size(items)));
    return r;
}

/* Percent-encodes everything but RFC 3986 unreserved characters. */
static char *url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *o = xmalloc(3 * n + 1), *p = o;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if (isalnum(*q) || *q == '-' || *q == '_' || *q == '.' || *q == '~') {
            *p++ = (char)*q;
        } else {
            *p++ = '%';
            *p++ = hex[*q >> 4];
            *p++ = hex[*q & 15];
        }
    }
    *p = 0;
    return o;
}

static char *affiliate_url(const catalog *c, const catalog_product *p, const char *session)
{
    const json_t *t = json_object_get(c->affiliate, p->vendor);
    if (!json_is_string(t)) t = json_object_get(c->affiliate, "default");
    const char *tmpl = json_string_value(t);
    char *sess = url_encode(session), *pid = url_encode(p->id);
    size_t cap = strlen(tmpl) + strlen(p->url) + strlen(sess) + strlen(pid) + 1, n = 0;
    char *out = xmalloc(cap * 2);
    cap *= 2;
    for (const char *s = tmpl; *s;) {
        const char *v = NULL;
        size_t skip = 0;
        if (strncmp(s, "{url}", 5) == 0)
            v = p->url, skip = 5;
        else if (strncmp(s, "{session}", 9) == 0)
            v = sess, skip = 9;
        else if (strncmp(s, "{product_id}", 12) == 0)
            v = pid, skip = 12;
        size_t len = v ? strlen(v) : 1;
        if (n + len + 1 > cap) out = xrealloc(out, cap = (n + len + 1) * 2);
        memcpy(out + n, v ? v : s, len);
        n += len;
        s += v ? skip : 1;
    }
    out[n] = 0;
    free(sess);
    free(pid);
    return out;
}

json_t *catalog_affiliate_links(const catalog *c, const json_t *body, err *e)
{
    const json_t *items;
    const char *session;
    if (design_body_object(body, e)) return NULL;
    items = json_object_get(body, "items");
    if (!items) {
        err_set(e, 422, "body.items: Field required");
        return NULL;
    }
    if (!json_is_array(items)) {
        err_set(e, 422, "body.items: Input should be a valid list");
        return NULL;
    }
    if (json_array_size(items) > MAX_CART) {
        err_set(e, 413, "body.items: at most %d items per cart", MAX_CART);
        return NULL;
    }
    if (design_field_str(body, "session_id", DESIGN_REQUIRED, &session, e)) return NULL;
    /* Validate the whole cart before answering anything. */
    long *qty = xcalloc(json_array_size(items) + 1, sizeof *qty);
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        const char *pid;
        bool present;
        char loc[48];
        snprintf(loc, sizeof loc, "body.items.%zu", i);
        if (!json_is_object(it)) {
            err_set(e, 422, "%s: Input should be a valid dictionary", loc);
            free(qty);
            return NULL;
        }
        qty[i] = 1;
        if (design_field_str(it, "product_id", DESIGN_REQUIRED, &pid, e) ||
            design_field_int(it, "quantity", 0, &qty[i], &present, e)) {
            char msg[sizeof e->msg];
            snprintf(msg, sizeof msg, "%s", e->msg);
            err_set(e, 422, "%s.%s", loc, msg + 5);
            free(qty);
            return NULL;
        }
        if (qty[i] < 1 || qty[i] > 1000000) {
            err_set(e, 422, "%s.quantity: must be between 1 and 1000000, got %ld", loc, qty[i]);
            free(qty);
            return NULL;
        }
    }
    json_t *links = json_array();
    double total = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        const catalog_product *p =
            catalog_get(c, json_string_value(json_object_get(it, "product_id")));
        if (!p) continue; /* unknown ids are skipped, as in the original */
        char *aff = affiliate_url(c, p, session);
        json_t *l = json_object();
        json_object_set_new(l, "product_id", json_string(p->id));
        json_object_set_new(l, "product_name", json_string(p->name));
        json_object_set_new(l, "vendor", json_string(p->vendor));
        json_object_set_new(l, "original_url", json_string(p->url));
        json_object_set_new(l, "affiliate_url", json_string(aff));
        json_object_set_new(l, "price", json_string(p->price));
        json_object_set_new(l, "quantity", json_integer(qty[i]));
        json_object_set_new(l, "image_url", json_string(p->image_url));
        json_array_append_new(links, l);
        total += p->price_usd * (double)qty[i];
        free(aff);
    }
    free(qty);
    char est[64];
    snprintf(est, sizeof est, "$%.2f", total);
    json_t *r = json_object();
    json_object_set_new(r, "affiliate_links", links);
    json_object_set_new(r, "total_items", json_integer((json_int_t)json_array_size(links)));
    json_object_set_new(r, "estimated_total", json_string(est));
    json_object_set_new(r, "session_id", json_string(session));
    return r;
}
