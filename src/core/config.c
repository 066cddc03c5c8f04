/* Configuration: the environment, then per-service and global .env files. */
#include "core/core.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool valid_key(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.')) return false;
    return true;
}

/* Parses one line of a .env file. Returns 1 with key/value set, 0 for blank lines and
 * comments, -1 when malformed. key and value point into `line`, which is modified. */
static int parse_env_line(char *line, char **key, char **value, const char **why)
{
    char *p = line;
    while (isspace((unsigned char)*p)) p++;
    if (*p == '\0' || *p == '#') return 0;
    if (strncmp(p, "export ", 7) == 0) {
        p += 7;
        while (isspace((unsigned char)*p)) p++;
    }
    char *eq = strchr(p, '=');
    if (!eq) {
        *why = "expected KEY=value";
        return -1;
    }
    char *kend = eq;
    while (kend > p && isspace((unsigned char)kend[-1])) kend--;
    if (!valid_key(p, (size_t)(kend - p))) {
        *why = "the name must be letters, digits and underscores";
        return -1;
    }
    *kend = '\0';
    *key = p;

    char *v = eq + 1;
    while (*v == ' ' || *v == '\t') v++;
    if (*v == '"' || *v == '\'') {
        char q = *v++;
        char *out = v, *in = v;
        for (; *in && *in != q; in++) {
            if (q == '"' && *in == '\\' && in[1]) {
                in++;
                *out++ = *in == 'n' ? '\n' : *in == 't' ? '\t' : *in;
            } else {
                *out++ = *in;
            }
        }
        if (*in != q) {
            *why = "unterminated quoted value";
            return -1;
        }
        char *rest = in + 1;
        while (isspace((unsigned char)*rest)) rest++;
        if (*rest && *rest != '#') {
            *why = "text after the closing quote";
            return -1;
        }
        *out = '\0';
    } else {
        /* Unquoted: an inline comment starts at " #". */
        char *c = v;
        for (; *c; c++)
            if (*c == '#' && c > v && isspace((unsigned char)c[-1])) break;
        *c = '\0';
        char *end = v + strlen(v);
        while (end > v && isspace((unsigned char)end[-1])) end--;
        *end = '\0';
    }
    *value = v;
    return 1;
}

int cfg_load_file(const char *path, err *e)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0; /* optional */
    char line[8192];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            err_set(e, 500, "%s:%d: line longer than %zu bytes", path, lineno, sizeof line - 2);
            rc = -1;
            break;
        }
        char *key, *value;
        const char *why = "";
        int r = parse_env_line(line, &key, &value, &why);
        if (r < 0) {
            err_set(e, 500, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
        if (r > 0) setenv(key, value, 0);
    }
    fclose(f);
    return rc;
}

int cfg_load(const char *service, err *e)
{
    const char *dir = getenv("ARTISTRY_CONFIG_DIR");
    if (!dir || !*dir) dir = ".";
    char path[4096];
    if (service) {
        snprintf(path, sizeof path, "%s/%s.env", dir, service);
        if (cfg_load_file(path, e) != 0) return -1;
    }
    snprintf(path, sizeof path, "%s/.env", dir);
    return cfg_load_file(path, e);
}

const char *cfg_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

const char *cfg_str_any(const char *const *names, const char *def)
{
    for (; *names; names++) {
        const char *v = getenv(*names);
        if (v && *v) return v;
    }
    return def;
}

static char *trimmed(const char *v, char *buf, size_t cap)
{
    while (isspace((unsigned char)*v)) v++;
    snprintf(buf, cap, "%s", v);
    char *end = buf + strlen(buf);
    while (end > buf && isspace((unsigned char)end[-1])) *--end = '\0';
    return buf;
}

int cfg_int(const char *name, long def, long min, long max, long *out, err *e)
{
    const char *raw = cfg_str(name, NULL);
    if (!raw) {
        *out = def;
        return 0;
    }
    char buf[128], *end;
    const char *v = trimmed(raw, buf, sizeof buf);
    errno = 0;
    long x = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno == ERANGE) {
        err_set(e, 500, "%s: '%s' is not an integer", name, raw);
        return -1;
    }
    if (x < min || x > max) {
        err_set(e, 500, "%s: %ld is outside %ld..%ld", name, x, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

int cfg_double(const char *name, double def, double min, double max, double *out, err *e)
{
    const char *raw = cfg_str(name, NULL);
    if (!raw) {
        *out = def;
        return 0;
    }
    char buf[128], *end;
    const char *v = trimmed(raw, buf, sizeof buf);
    errno = 0;
    double x = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || errno == ERANGE || !isfinite(x)) {
        err_set(e, 500, "%s: '%s' is not a number", name, raw);
        return -1;
    }
    if (x < min || x > max) {
        err_set(e, 500, "%s: %g is outside %g..%g", name, x, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on", "t", "y"};
    static const char *const no[] = {"false", "0", "no", "off", "f", "n"};
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

int cfg_bool(const char *name, bool def, bool *out, err *e)
{
    const char *raw = cfg_str(name, NULL);
    if (!raw) {
        *out = def;
        return 0;
    }
    char buf[64];
    if (!parse_bool(trimmed(raw, buf, sizeof buf), out)) {
        err_set(e, 500, "%s: '%s' is not a boolean (use true/false, 1/0, yes/no, on/off)", name,
                raw);
        return -1;
    }
    return 0;
}

int cfg_size(const char *name, size_t def, size_t min, size_t max, size_t *out, err *e)
{
    const char *raw = cfg_str(name, NULL);
    if (!raw) {
        *out = def;
        return 0;
    }
    char buf[128], *end;
    const char *v = trimmed(raw, buf, sizeof buf);
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    unsigned long long mul = 1;
    if (*end && end[1] == '\0') {
        switch (*end | 0x20) {
        case 'k':
            mul = 1ull << 10;
            end++;
            break;
        case 'm':
            mul = 1ull << 20;
            end++;
            break;
        case 'g':
            mul = 1ull << 30;
            end++;
            break;
        default:
            break;
        }
    }
    if (*v == '\0' || *v == '-' || *end != '\0' || errno == ERANGE || x > ULLONG_MAX / mul) {
        err_set(e, 500, "%s: '%s' is not a size (bytes, or a number with k, M or G)", name, raw);
        return -1;
    }
    x *= mul;
    if (x < min || x > max) {
        err_set(e, 500, "%s: %llu bytes is outside %zu..%zu", name, x, min, max);
        return -1;
    }
    *out = (size_t)x;
    return 0;
}
