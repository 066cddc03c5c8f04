/* Router: any method and path against a table like the services' never crashes, and the
 * answer is consistent: a found route's parameters lie inside the path, a redirect's
 * target itself matches. */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

static http_router *table;

static void build(void)
{
    static const char *const routes[][2] = {
        {"GET", "/"},
        {"GET", "/health"},
        {"POST", "/detect"},
        {"POST", "/detect/"},
        {"GET", "/rooms/{job_id}"},
        {"DELETE", "/designs/{design_id}"},
        {"GET", "/designs/user/{user_id}"},
        {"POST", "/generate/"},
        {"GET", "/a/{x}/b/{y}/c"},
        {"PUT", "/a/{x}/b/{y}/c"},
        {"GET", "/commerce/products/{category}"},
    };
    table = http_router_new();
    for (size_t i = 0; i < ARRAY_LEN(routes); i++)
        if (http_router_add(table, routes[i][0], routes[i][1]) != 0) abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!table) build();
    /* first byte picks the method, the rest is the path (NUL-terminated copy) */
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"};
    if (size < 1) return 0;
    const char *method = methods[data[0] % ARRAY_LEN(methods)];
    char *path = malloc(size);
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    http_match m;
    http_router_match(table, method, path, &m);
    size_t plen = strlen(path);
    switch (m.kind) {
    case HTTP_MATCH_FOUND:
        for (int i = 0; i < m.nparams; i++)
            if (m.params[i].value < path || m.params[i].value + m.params[i].len > path + plen ||
                m.params[i].len == 0 || memchr(m.params[i].value, '/', m.params[i].len))
                abort();
        break;
    case HTTP_MATCH_REDIRECT: {
        http_match again;
        http_router_match(table, "GET", m.redirect, &again);
        if (again.kind == HTTP_MATCH_NONE || again.kind == HTTP_MATCH_REDIRECT) abort();
        break;
    }
    case HTTP_MATCH_METHOD:
        if (!m.allow[0]) abort();
        break;
    case HTTP_MATCH_NONE:
        break;
    }
    free(path);
    return 0;
}
