/* Route matching with FastAPI/Starlette semantics.
 *
 * A pattern is a list of segments, each literal or a parameter "{name}" that matches one
 * non-empty segment. Routes are tried in registration order: the first whose method and
 * path match wins. When the path matches but no method does, the answer is 405 and Allow
 * lists the methods of every route with that path. When nothing matches, the path with
 * its trailing slash toggled ("/a/" → "/a", "/a" → "/a/", "/a//" → "/a") is tried against
 * every route, any method, and a match means a 307 redirect. */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SEGS 16

typedef struct seg {
    char *text; /* literal text, or the parameter name */
    size_t len;
    bool param;
} seg;

typedef struct route {
    char method[12];
    char *pattern;
    seg segs[MAX_SEGS];
    int nsegs;
    bool trailing; /* pattern ends in '/' (and is not "/") */
} route;

struct http_router {
    route *routes;
    size_t n, cap;
};

http_router *http_router_new(void)
{
    return xcalloc(1, sizeof(http_router));
}

void http_router_free(http_router *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        for (int j = 0; j < r->routes[i].nsegs; j++) free(r->routes[i].segs[j].text);
        free(r->routes[i].pattern);
    }
    free(r->routes);
    free(r);
}

int http_router_add(http_router *r, const char *method, const char *pattern)
{
    if (!pattern || pattern[0] != '/' || strlen(method) >= sizeof r->routes->method) return -1;
    route rt = {0};
    snprintf(rt.method, sizeof rt.method, "%s", method);
    size_t plen = strlen(pattern);
    rt.trailing = plen > 1 && pattern[plen - 1] == '/';
    const char *p = pattern + 1;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 && end) goto bad; /* "//" inside a pattern */
        if (len == 0) break;
        if (rt.nsegs == MAX_SEGS) goto bad;
        seg *s = &rt.segs[rt.nsegs++];
        if (p[0] == '{') {
            if (len < 3 || p[len - 1] != '}') goto bad;
            s->param = true;
            s->text = xstrndup(p + 1, len - 2);
            s->len = len - 2;
        } else {
            if (memchr(p, '{', len) || memchr(p, '}', len)) goto bad;
            s->text = xstrndup(p, len);
            s->len = len;
        }
        p += len;
        if (*p == '/') p++;
    }
    rt.pattern = xstrdup(pattern);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->routes = xrealloc(r->routes, r->cap * sizeof *r->routes);
    }
    r->routes[r->n++] = rt;
    return 0;
bad:
    for (int j = 0; j < rt.nsegs; j++) free(rt.segs[j].text);
    return -1;
}

/* Matches path against one route's segments, filling params when m is given. */
static bool path_matches(const route *rt, const char *path, size_t plen, http_match *m)
{
    if (plen == 0 || path[0] != '/') return false;
    bool trailing = plen > 1 && path[plen - 1] == '/';
    if (trailing != rt->trailing) return false;
    size_t i = 1, end = trailing ? plen - 1 : plen;
    int k = 0, np = 0;
    if (end == 1) return rt->nsegs == 0; /* "/" */
    for (;;) {
        size_t j = i;
        while (j < end && path[j] != '/') j++;
        size_t len = j - i;
        if (k >= rt->nsegs || len == 0) return false; /* "//" never matches */
        const seg *s = &rt->segs[k++];
        if (s->param) {
            if (m && np < (int)ARRAY_LEN(m->params)) {
                m->params[np].name = s->text;
                m->params[np].value = path + i;
                m->params[np].len = len;
                np++;
            }
        } else if (s->len != len || memcmp(s->text, path + i, len) != 0) {
            return false;
        }
        if (j == end) break;
        i = j + 1;
    }
    if (k != rt->nsegs) return false;
    if (m) m->nparams = np;
    return true;
}

static void allow_add(char *allow, size_t cap, const char *method)
{
    /* keep the list free of duplicates */
    size_t mlen = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += mlen)
        if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0')) return;
    size_t n = strlen(allow);
    snprintf(allow + n, cap - n, "%s%s", n ? ", " : "", method);
}

void http_router_match(const http_router *r, const char *method, const char *path, http_match *m)
{
    memset(m, 0, sizeof *m);
    m->route = -1;
    size_t plen = strlen(path);
    bool path_seen = false;
    for (size_t i = 0; i < r->n; i++) {
        const route *rt = &r->routes[i];
        if (!path_matches(rt, path, plen, NULL)) continue;
        if (strcmp(rt->method, method) == 0) {
            path_matches(rt, path, plen, m);
            m->kind = HTTP_MATCH_FOUND;
            m->route = (int)i;
            return;
        }
        path_seen = true;
        allow_add(m->allow, sizeof m->allow, rt->method);
    }
    if (path_seen) {
        m->kind = HTTP_MATCH_METHOD;
        return;
    }
    m->allow[0] = '\0';
    /* Toggle the trailing slash, as Starlette's redirect_slashes does. */
    if (plen > 1 && plen < sizeof m->redirect - 2) {
        size_t n = plen;
        if (path[plen - 1] == '/') {
            while (n > 1 && path[n - 1] == '/') n--;
            memcpy(m->redirect, path, n);
            m->redirect[n] = '\0';
        } else {
            memcpy(m->redirect, path, n);
            m->redirect[n] = '/';
            m->redirect[n + 1] = '\0';
        }
        size_t rlen = strlen(m->redirect);
        for (size_t i = 0; i < r->n; i++)
            if (path_matches(&r->routes[i], m->redirect, rlen, NULL)) {
                m->kind = HTTP_MATCH_REDIRECT;
                return;
            }
    }
    m->redirect[0] = '\0';
    m->kind = HTTP_MATCH_NONE;
}

size_t http_router_count(const http_router *r)
{
    return r->n;
}

const char *http_router_method(const http_router *r, size_t i)
{
    return i < r->n ? r->routes[i].method : NULL;
}

const char *http_router_pattern(const http_router *r, size_t i)
{
    return i < r->n ? r->routes[i].pattern : NULL;
}
