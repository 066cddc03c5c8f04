#include "golden.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef SOURCE_ROOT
#error "SOURCE_ROOT must be defined by the build"
#endif

const char *golden_source_path(const char *rel)
{
    static __thread char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", SOURCE_ROOT, rel);
    return buf;
}

const char *golden_shared_dir(void)
{
    static char buf[4096];
    const char *env = getenv("ARTISTRY_SHARED");
    if (env && *env) return env;
    snprintf(buf, sizeof buf, "%s/../shared", SOURCE_ROOT);
    return buf;
}

json_t *golden_load(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/contract-goldens.jsonl", golden_shared_dir());
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    json_t *all = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *r = json_loads(line, 0, NULL);
        if (r) json_array_append_new(all, r);
    }
    free(line);
    fclose(f);
    return all;
}

/* Follows "a.b[3].c" to the parent container of its last step; sets *key or *index. */
static json_t *walk(json_t *root, const char *path, char *key, size_t keysz, long *index)
{
    json_t *cur = root;
    const char *p = path;
    for (;;) {
        char name[128];
        size_t n = strcspn(p, ".[");
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        p += n;
        long idx = -1;
        if (*p == '[') {
            idx = strtol(p + 1, (char **)&p, 10);
            p++; /* ']' */
        }
        bool last = *p == 0;
        if (*p == '.') p++;
        if (idx < 0 && last) {
            snprintf(key, keysz, "%s", name);
            *index = -1;
            return cur;
        }
        if (*name) cur = json_object_get(cur, name);
        if (idx >= 0 && last) {
            *key = 0;
            *index = idx;
            return cur;
        }
        if (idx >= 0) cur = json_array_get(cur, (size_t)idx);
        if (!cur) return NULL;
    }
}

static bool subset_matches(const json_t *want, const json_t *have)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v)
    {
        if (!json_equal(v, json_object_get(have, k))) {
            /* A list field matches when the record's list equals it. */
            return false;
        }
    }
    return true;
}

int golden_apply_deviations(json_t *records)
{
    json_error_t je;
    json_t *doc = json_load_file(golden_source_path("tests/design/golden-deviations.json"), 0, &je);
    if (!doc) return -1;
    json_t *devs = json_object_get(doc, "deviations");
    int changed = 0;
    for (size_t i = 0; i < json_array_size(records); i++) {
        json_t *r = json_array_get(records, i);
        for (size_t j = 0; j < json_array_size(devs); j++) {
            json_t *d = json_array_get(devs, j);
            if (strcmp(json_string_value(json_object_get(d, "path")),
                       json_string_value(json_object_get(r, "path"))) != 0)
                continue;
            json_t *rq = json_object_get(d, "request"), *q = json_object_get(d, "query");
            if (rq && !subset_matches(rq, json_object_get(r, "request"))) continue;
            if (q && !subset_matches(q, json_object_get(r, "query"))) continue;
            json_t *resp = json_object_get(r, "response");
            const char *path;
            json_t *v;
            json_object_foreach(json_object_get(d, "set"), path, v)
            {
                char key[128];
                long idx;
                json_t *parent = walk(resp, path, key, sizeof key, &idx);
                if (!parent) return -1;
                if (idx >= 0)
                    json_array_set_new(parent, (size_t)idx, json_deep_copy(v));
                else
                    json_object_set_new(parent, key, json_deep_copy(v));
            }
            changed++;
        }
    }
    json_decref(doc);
    return changed;
}

/* ---------------------------------------------------------------- matching */

static const char *const free_text[] = {
    "description", "title",
    "tips",        "safety_warning",
    "safety_tips", "common_mistakes",
    "pro_tips",    "quick_instructions",
    "skill_level", "note",
    "summary",     "video_url",
};

static bool is_free_text(const char *path, const char *key)
{
    if (!key) return false;
    for (size_t i = 0; i < sizeof free_text / sizeof free_text[0]; i++)
        if (strcmp(key, free_text[i]) == 0) return true;
    /* Tool and material names in DIY guides are wording, too. */
    if ((strstr(path, "tools_needed") || strstr(path, "materials_checklist")) &&
        (strcmp(key, "name") == 0 || strcmp(key, "where") == 0 || strcmp(key, "item") == 0))
        return true;
    return false;
}

static const char *kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "null";
    }
}

typedef struct mctx {
    const char *endpoint;
    char *why;
    size_t whysz;
} mctx;

__attribute__((format(printf, 3, 4))) static bool fail(mctx *c, const char *path, const char *fmt,
                                                       ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->why, c->whysz, "%s: %s", *path ? path : "$", msg);
    return false;
}

static bool match(mctx *c, const char *path, const char *key, const json_t *want,
                  const json_t *got);

static int cmp_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Arrays compared as multisets (reason-upgrades' order was random in the original). */
static bool match_as_set(mctx *c, const char *path, const json_t *want, const json_t *got)
{
    size_t n = json_array_size(want);
    if (n != json_array_size(got)) return fail(c, path, "set sizes differ");
    char **a = calloc(n + 1, sizeof *a), **b = calloc(n + 1, sizeof *b);
    for (size_t i = 0; i < n; i++) {
        a[i] = json_dumps(json_array_get(want, i), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        b[i] = json_dumps(json_array_get(got, i), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    }
    qsort(a, n, sizeof *a, cmp_text);
    qsort(b, n, sizeof *b, cmp_text);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
        if (strcmp(a[i], b[i]) != 0)
            ok = fail(c, path, "set member %s not in answer (%s)", a[i], b[i]);
    for (size_t i = 0; i < n; i++) {
        free(a[i]);
        free(b[i]);
    }
    free(a);
    free(b);
    return ok;
}

static bool allowed_extra(const mctx *c, const char *path, const char *k)
{
    /* §16: /diy/instructions always carries these three lists, possibly empty. */
    return strcmp(c->endpoint, "/diy/instructions") == 0 && *path == 0 &&
           (strcmp(k, "steps") == 0 || strcmp(k, "tools_needed") == 0 ||
            strcmp(k, "materials_checklist") == 0);
}

static bool match_object(mctx *c, const char *path, const json_t *want, const json_t *got)
{
    bool unordered = strcmp(c->endpoint, "/advise/reason-upgrades") == 0;
    /* Keys in order: the answer's keys, less the allowed extras, must be the record's. */
    const char *wk[64], *gk[64];
    size_t nw = 0, ng = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v) if (nw < 64) wk[nw++] = k;
    json_object_foreach((json_t *)got, k, v)
    {
        if (!json_object_get(want, k) && allowed_extra(c, path, k)) continue;
        if (ng < 64) gk[ng++] = k;
    }
    if (nw != ng) {
        char a[600] = "", b[600] = "";
        for (size_t i = 0; i < nw; i++) strncat(a, wk[i], sizeof a - strlen(a) - 2), strcat(a, " ");
        for (size_t i = 0; i < ng; i++) strncat(b, gk[i], sizeof b - strlen(b) - 2), strcat(b, " ");
        return fail(c, path, "keys differ: want [%s] got [%s]", a, b);
    }
    for (size_t i = 0; i < nw; i++) {
        if (!json_object_get(got, wk[i])) return fail(c, path, "missing key %s", wk[i]);
        if (!unordered && strcmp(wk[i], gk[i]) != 0)
            return fail(c, path, "key order: want %s got %s", wk[i], gk[i]);
    }
    json_object_foreach((json_t *)want, k, v)
    {
        char sub[512];
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k);
        if (!match(c, sub, k, v, json_object_get(got, k))) return false;
    }
    return true;
}

static bool match(mctx *c, const char *path, const char *key, const json_t *want, const json_t *got)
{
    if (!got) return fail(c, path, "missing (want %s)", kind(want));
    if (strcmp(kind(want), kind(got)) != 0)
        return fail(c, path, "type: want %s got %s", kind(want), kind(got));
    bool free_txt = is_free_text(path, key);
    switch (json_typeof(want)) {
    case JSON_OBJECT:
        return match_object(c, path, want, got);
    case JSON_ARRAY:
        if (strcmp(c->endpoint, "/advise/reason-upgrades") == 0 &&
            (strcmp(key ? key : "", "replace") == 0 || strcmp(key ? key : "", "keep") == 0 ||
             strcmp(key ? key : "", "detailed_decisions") == 0))
            return match_as_set(c, path, want, got);
        if (json_array_size(want) != json_array_size(got)) {
            char a[32], b[32];
            snprintf(a, sizeof a, "%zu", json_array_size(want));
            snprintf(b, sizeof b, "%zu", json_array_size(got));
            return fail(c, path, "length: want %s got %s", a, b);
        }
        for (size_t i = 0; i < json_array_size(want); i++) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            /* Items of a free-text list are free text; items of other lists are data. */
            if (!match(c, sub, free_txt ? key : NULL, json_array_get(want, i),
                       json_array_get(got, i)))
                return false;
        }
        return true;
    case JSON_STRING:
        if (free_txt) return true;
        if (strcmp(json_string_value(want), json_string_value(got)) != 0)
            return fail(c, path, "want \"%s\" got \"%s\"", json_string_value(want),
                        json_string_value(got));
        return true;
    case JSON_INTEGER:
    case JSON_REAL:
        if (json_number_value(want) != json_number_value(got)) {
            char a[64], b[64];
            snprintf(a, sizeof a, "%.17g", json_number_value(want));
            snprintf(b, sizeof b, "%.17g", json_number_value(got));
            return fail(c, path, "want %s got %s", a, b);
        }
        return true;
    default:
        return true;
    }
}

bool golden_match(const char *endpoint, const json_t *want, const json_t *got, char *why,
                  size_t whysz)
{
    mctx c = {endpoint, why, whysz};
    return match(&c, "", NULL, want, got);
}
