/* Products in and out: JSON and CSV loading with validation that names the record and
 * field, and the product record as the original's JSON. */
#include "catalog_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static catalog *catalog_with(const catalog_store_ops *ops, void *st)
{
    catalog *c = xcalloc(1, sizeof *c);
    c->ops = ops;
    c->store = st;
    c->synonyms = json_object();
    c->category_aliases = json_object();
    c->affiliate = json_pack("{s:s}", "default", "{url}?ref=artistry&session={session}");
    return c;
}

catalog *catalog_new(void)
{
    return catalog_with(&catalog_memstore_ops, catalog_memstore_new());
}

catalog *catalog_open_store(struct store *db, err *e)
{
    void *st = catalog_sqlstore_open(db, e);
    catalog *c = st ? catalog_with(&catalog_sqlstore_ops, st) : NULL;
    if (c) c->db = db;
    return c;
}

void catalog_free(catalog *c)
{
    if (!c) return;
    c->ops->free(c->store);
    json_decref(c->synonyms);
    json_decref(c->category_aliases);
    json_decref(c->affiliate);
    free(c);
}

void catalog_product_free(catalog_product *p)
{
    if (!p) return;
    char *f[] = {p->id,    p->name,        p->category, p->style, p->material,  p->color,
                 p->price, p->budget_tier, p->vendor,   p->url,   p->image_url, p->description};
    for (size_t i = 0; i < ARRAY_LEN(f); i++) free(f[i]);
    free(p->embedding);
    free(p);
}

int catalog_copy_words(catalog *c, const catalog *from)
{
    json_object_update(c->synonyms, from->synonyms);
    json_object_update(c->category_aliases, from->category_aliases);
    return 0;
}

size_t catalog_count(const catalog *c)
{
    return c->ops->count(c->store);
}

const catalog_product *catalog_get(const catalog *c, const char *id)
{
    return id ? c->ops->get(c->store, id) : NULL;
}

void catalog_category(const catalog *c, const char *word, char *out, size_t outsz)
{
    size_t i = 0;
    for (; word && word[i] && i + 1 < outsz; i++) out[i] = (char)tolower((unsigned char)word[i]);
    out[i] = 0;
    const json_t *a = json_object_get(c->category_aliases, out);
    if (json_is_string(a)) snprintf(out, outsz, "%s", json_string_value(a));
}

void catalog_words(const char *text, void (*fn)(const char *word, void *ud), void *ud)
{
    char w[64];
    size_t n = 0;
    for (const char *p = text;; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch && (isalnum(ch) || ch >= 0x80)) {
            if (n + 1 < sizeof w) w[n++] = (char)tolower(ch);
            continue;
        }
        if (n) {
            if (n > 3 && w[n - 1] == 's' && w[n - 2] != 's') n--;
            w[n] = 0;
            fn(w, ud);
            n = 0;
        }
        if (!ch) break;
    }
}

json_t *catalog_product_json(const catalog_product *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(p->id));
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "category", json_string(p->category));
    json_object_set_new(o, "style", json_string(p->style));
    json_object_set_new(o, "material", json_string(p->material));
    json_object_set_new(o, "color", json_string(p->color));
    json_object_set_new(o, "price", json_string(p->price));
    json_object_set_new(o, "budget_tier", json_string(p->budget_tier));
    json_object_set_new(o, "vendor", json_string(p->vendor));
    json_object_set_new(o, "url", json_string(p->url));
    json_object_set_new(o, "image_url", json_string(p->image_url));
    json_object_set_new(o, "affiliate", json_boolean(p->affiliate));
    json_object_set_new(o, "description", json_string(p->description));
    if (p->price_inr >= 0) json_object_set_new(o, "price_inr", json_integer(p->price_inr));
    return o;
}

/* ---------------------------------------------------------------- validation */

/* "$1,299" or "$399.50" → 1299, 399.5; -1 when it is not a price. */
static double parse_usd(const char *s)
{
    if (*s == '$') s++;
    char digits[64];
    size_t n = 0;
    bool dot = false;
    for (; *s; s++) {
        if (*s == ',') continue;
        if (*s == '.' && !dot)
            dot = true;
        else if (!isdigit((unsigned char)*s))
            return -1;
        if (n + 1 >= sizeof digits) return -1;
        digits[n++] = *s;
    }
    if (n == 0 || (n == 1 && dot)) return -1;
    digits[n] = 0;
    return strtod(digits, NULL);
}

/* "$1,299" from 1299, "$399.5" kept as the caller wrote it otherwise. */
static char *format_usd(double v)
{
    if (v == floor(v) && v < 1e15) {
        char digits[32], out[48];
        snprintf(digits, sizeof digits, "%.0f", v);
        size_t n = strlen(digits), o = 0;
        out[o++] = '$';
        for (size_t i = 0; i < n; i++) {
            out[o++] = digits[i];
            size_t rest = n - i - 1;
            if (rest && rest % 3 == 0) out[o++] = ',';
        }
        out[o] = 0;
        return xstrdup(out);
    }
    return xasprintf("$%.2f", v);
}

static const char *const text_fields[] = {"id",       "name",      "category",    "style",
                                          "material", "color",     "budget_tier", "vendor",
                                          "url",      "image_url", "description"};

/* A record as strings (from JSON or CSV) → a product, or NULL with e naming where. */
typedef const char *(*field_fn)(void *rec, const char *key, bool *present, bool *is_string);

static catalog_product *make_product(const char *where, field_fn get, void *rec, err *e)
{
    catalog_product *p = xcalloc(1, sizeof *p);
    char **slots[] = {&p->id,       &p->name,      &p->category,    &p->style,
                      &p->material, &p->color,     &p->budget_tier, &p->vendor,
                      &p->url,      &p->image_url, &p->description};
    for (size_t i = 0; i < ARRAY_LEN(text_fields); i++) {
        bool present, is_str;
        const char *v = get(rec, text_fields[i], &present, &is_str);
        bool required = i < 3 || strcmp(text_fields[i], "budget_tier") == 0;
        if (present && !is_str) {
            err_set(e, 400, "%s: %s: expected a string", where, text_fields[i]);
            goto fail;
        }
        if (!present || !*v) {
            if (required) {
                err_set(e, 400, "%s: %s: required", where, text_fields[i]);
                goto fail;
            }
            v = "";
        }
        if (strlen(v) > 4096) {
            err_set(e, 400, "%s: %s: longer than 4096 bytes", where, text_fields[i]);
            goto fail;
        }
        *slots[i] = xstrdup(v);
    }
    for (char *s = p->category; *s; s++) *s = (char)tolower((unsigned char)*s);
    for (char *s = p->budget_tier; *s; s++) *s = (char)tolower((unsigned char)*s);
    if (strcmp(p->budget_tier, "low") && strcmp(p->budget_tier, "medium") &&
        strcmp(p->budget_tier, "high")) {
        err_set(e, 400, "%s: budget_tier: '%s' is not one of low, medium, high", where,
                p->budget_tier);
        goto fail;
    }
    bool present, is_str;
    const char *price = get(rec, "price", &present, &is_str);
    const char *inr = get(rec, "price_inr", &present, &is_str);
    p->price_inr = -1;
    if (present && *inr) {
        char *end;
        long v = strtol(inr, &end, 10);
        if (*end || v < 0) {
            err_set(e, 400, "%s: price_inr: '%s' is not a whole number of rupees", where, inr);
            goto fail;
        }
        p->price_inr = v;
    }
    price = get(rec, "price", &present, &is_str);
    if (!present || !*price) {
        if (p->price_inr < 0) {
            err_set(e, 400, "%s: price: required (or price_inr)", where);
            goto fail;
        }
        p->price_usd = 0;
        p->price = xstrdup("");
    } else {
        p->price_usd = parse_usd(price);
        if (p->price_usd < 0) {
            err_set(e, 400, "%s: price: '%s' is not a price like $1,299", where, price);
            goto fail;
        }
        p->price = is_str ? xstrdup(price) : format_usd(p->price_usd);
    }
    const char *aff = get(rec, "affiliate", &present, &is_str);
    p->affiliate = true;
    if (present && *aff) {
        if (!parse_bool(aff, &p->affiliate)) {
            err_set(e, 400, "%s: affiliate: '%s' is not a boolean", where, aff);
            goto fail;
        }
    }
    return p;
fail:
    catalog_product_free(p);
    return NULL;
}

/* JSON records: numbers and booleans are turned into text for make_product. */
typedef struct json_rec {
    const json_t *o;
    char buf[4][64];
    int next;
} json_rec;

static const char *json_field(void *rec, const char *key, bool *present, bool *is_string)
{
    json_rec *r = rec;
    const json_t *v = json_object_get(r->o, key);
    *present = v && !json_is_null(v);
    *is_string = json_is_string(v);
    if (!*present) return "";
    if (json_is_string(v)) return json_string_value(v);
    /* Numbers and booleans as text for the fields that may hold them (price, price_inr,
     * affiliate); anything else fails their parse, and text fields refuse non-strings. */
    char *b = r->buf[r->next++ % 4];
    if (json_is_integer(v))
        snprintf(b, 64, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(b, 64, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(b, 64, "%s", json_is_true(v) ? "true" : "false");
    else
        snprintf(b, 64, "?");
    return b;
}

/* ---------------------------------------------------------------- CSV */

typedef struct csv_row {
    char **cells;
    size_t n;
} csv_row;

/* RFC 4180: quoted cells may hold commas, quotes ("") and newlines. Returns the rows
 * (malloc'ed) or NULL with e at the line where the text stops being CSV. */
static csv_row *csv_parse(const char *name, const char *s, size_t len, size_t *nrows, err *e)
{
    csv_row *rows = NULL;
    size_t nr = 0, cap = 0, line = 1;
    size_t i = 0;
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) i = 3; /* a BOM from spreadsheets */
    while (i < len) {
        csv_row row = {0};
        size_t ccap = 0;
        size_t row_line = line;
        for (;;) {
            size_t ccap2 = 32, cn = 0;
            char *cell = xmalloc(ccap2);
#define CELL_PUT(ch)                                            \
    do {                                                        \
        if (cn + 1 >= ccap2) cell = xrealloc(cell, ccap2 *= 2); \
        cell[cn++] = (ch);                                      \
    } while (0)
            if (i < len && s[i] == '"') {
                i++;
                for (;;) {
                    if (i >= len) {
                        free(cell);
                        err_set(e, 400, "%s: line %zu: unterminated quoted field", name, row_line);
                        goto fail_row;
                    }
                    if (s[i] == '"') {
                        if (i + 1 < len && s[i + 1] == '"') {
                            CELL_PUT('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (s[i] == '\n') line++;
                    CELL_PUT(s[i]);
                    i++;
                }
                if (i < len && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
                    free(cell);
                    err_set(e, 400, "%s: line %zu: text after a closing quote", name, line);
                    goto fail_row;
                }
            } else {
                while (i < len && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
                    CELL_PUT(s[i]);
                    i++;
                }
            }
#undef CELL_PUT
            cell[cn] = 0;
            if (memchr(cell, 0, cn)) {
                free(cell);
                err_set(e, 400, "%s: line %zu: NUL byte in a field", name, line);
                goto fail_row;
            }
            if (row.n == ccap) {
                ccap = ccap ? ccap * 2 : 16;
                row.cells = xrealloc(row.cells, ccap * sizeof *row.cells);
            }
            row.cells[row.n++] = cell;
            if (i < len && s[i] == ',') {
                i++;
                continue;
            }
            if (i < len && s[i] == '\r') i++;
            if (i < len && s[i] == '\n') i++;
            line++;
            break;
        }
        /* Blank lines are skipped. */
        if (row.n == 1 && row.cells[0][0] == 0) {
            free(row.cells[0]);
            free(row.cells);
            continue;
        }
        if (nr == cap) {
            cap = cap ? cap * 2 : 64;
            rows = xrealloc(rows, cap * sizeof *rows);
        }
        rows[nr++] = row;
        continue;
    fail_row:
        for (size_t k = 0; k < row.n; k++) free(row.cells[k]);
        free(row.cells);
        for (size_t r = 0; r < nr; r++) {
            for (size_t k = 0; k < rows[r].n; k++) free(rows[r].cells[k]);
            free(rows[r].cells);
        }
        free(rows);
        return NULL;
    }
    *nrows = nr;
    if (!rows) rows = xmalloc(sizeof *rows);
    return rows;
}

typedef struct csv_rec {
    const csv_row *header, *row;
} csv_rec;

static const char *csv_field(void *rec, const char *key, bool *present, bool *is_string)
{
    csv_rec *r = rec;
    *is_string = true;
    for (size_t i = 0; i < r->header->n; i++)
        if (strcasecmp(r->header->cells[i], key) == 0) {
            *present = i < r->row->n && r->row->cells[i][0];
            return i < r->row->n ? r->row->cells[i] : "";
        }
    *present = false;
    return "";
}

/* ---------------------------------------------------------------- loading */

static bool is_csv(const char *name)
{
    size_t n = strlen(name);
    return n >= 4 && strcasecmp(name + n - 4, ".csv") == 0;
}

static int check_word_map(const char *name, const json_t *m, const char *key, bool lists, err *e)
{
    if (!m) return 0;
    if (!json_is_object(m)) {
        err_set(e, 400, "%s: %s: expected an object", name, key);
        return -1;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)m, k, v)
    {
        bool ok = lists ? json_is_array(v) : json_is_string(v);
        for (size_t i = 0; ok && lists && i < json_array_size(v); i++)
            ok = json_is_string(json_array_get(v, i));
        if (!ok) {
            err_set(e, 400, "%s: %s.%s: expected %s", name, key, k,
                    lists ? "a list of strings" : "a string");
            return -1;
        }
    }
    return 0;
}

int catalog_load_text(catalog *c, const char *name, const char *text, size_t len, err *e)
{
    catalog_product **ps = NULL;
    size_t np = 0;
    json_t *root = NULL;
    int rc = -1;
    if (is_csv(name)) {
        size_t nrows;
        csv_row *rows = csv_parse(name, text, len, &nrows, e);
        if (!rows) return -1;
        if (nrows == 0) {
            err_set(e, 400, "%s: no header row", name);
        } else {
            ps = xcalloc(nrows, sizeof *ps);
            bool ok = true;
            for (size_t r = 1; r < nrows && ok; r++) {
                char where[512];
                snprintf(where, sizeof where, "%s: row %zu", name, r);
                csv_rec rec = {&rows[0], &rows[r]};
                ps[np] = make_product(where, csv_field, &rec, e);
                ok = ps[np++] != NULL;
                if (!ok) np--;
            }
            if (ok) rc = 0;
        }
        for (size_t r = 0; r < nrows; r++) {
            for (size_t k = 0; k < rows[r].n; k++) free(rows[r].cells[k]);
            free(rows[r].cells);
        }
        free(rows);
    } else {
        json_error_t je;
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!root) {
            err_set(e, 400, "%s: line %d column %d: %s", name, je.line, je.column, je.text);
            return -1;
        }
        const json_t *list = json_is_array(root) ? root : json_object_get(root, "products");
        if (!json_is_array(list)) {
            err_set(e, 400, "%s: expected a list of products or an object with \"products\"", name);
            goto out;
        }
        if (json_is_object(root) &&
            (check_word_map(name, json_object_get(root, "synonyms"), "synonyms", true, e) ||
             check_word_map(name, json_object_get(root, "category_aliases"), "category_aliases",
                            false, e)))
            goto out;
        ps = xcalloc(json_array_size(list) + 1, sizeof *ps);
        for (size_t i = 0; i < json_array_size(list); i++) {
            char where[512];
            snprintf(where, sizeof where, "%s: products[%zu]", name, i);
            const json_t *o = json_array_get(list, i);
            if (!json_is_object(o)) {
                err_set(e, 400, "%s: expected an object", where);
                goto out;
            }
            json_rec rec = {.o = o};
            if (!(ps[np] = make_product(where, json_field, &rec, e))) goto out;
            np++;
        }
        rc = 0;
    }
out:
    if (rc == 0) {
        size_t count = np;
        np = 0; /* the store owns them now, stored or not */
        const char **ids = xcalloc(count + 1, sizeof *ids);
        for (size_t i = 0; i < count; i++) ids[i] = xstrdup(ps[i]->id);
        rc = c->ops->put(c->store, ps, count, e);
        if (rc == 0 && c->embedder) rc = catalog_embed_ids(c, ids, count, e);
        for (size_t i = 0; i < count; i++) free((char *)ids[i]);
        free(ids);
        if (rc == 0 && json_is_object(root)) {
            json_object_update(c->synonyms, json_object_get(root, "synonyms"));
            json_object_update(c->category_aliases, json_object_get(root, "category_aliases"));
        }
        if (rc == 0) rc = (int)count;
    } else {
        for (size_t i = 0; i < np; i++) catalog_product_free(ps[i]);
    }
    free(ps);
    json_decref(root);
    return rc;
}

int catalog_load_file(catalog *c, const char *path, err *e)
{
    size_t len;
    char *text = file_read(path, &len, e);
    if (!text) return -1;
    int n = catalog_load_text(c, path, text, len, e);
    free(text);
    return n;
}

int catalog_set_affiliate_templates(catalog *c, const json_t *templates, err *e)
{
    if (!json_is_object(templates)) {
        err_set(e, 400, "affiliate templates: expected an object of vendor → template");
        return -1;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)templates, k, v)
    {
        if (!json_is_string(v) || !strstr(json_string_value(v), "{url}")) {
            err_set(e, 400, "affiliate templates: %s: expected a string containing {url}", k);
            return -1;
        }
    }
    json_object_update(c->affiliate, (json_t *)templates);
    return 0;
}
