/* The gateway's upstream services. The original's *_URL settings hold a base URL with
 * or without a path ("http://localhost:8001/detect/", "http://detect:8001"); we keep only
 * scheme, host and port and add the documented paths ourselves (CONTRACT.md §10). */
#include "gateway/gateway_impl.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[UPSTREAM_COUNT] = {
    [UPSTREAM_DETECT] = "detect",     [UPSTREAM_SEGMENT] = "segment",
    [UPSTREAM_ADVISE] = "advise",     [UPSTREAM_GENERATE] = "generate",
    [UPSTREAM_COMMERCE] = "commerce",
};

static const struct {
    const char *var, *def;
} defaults[UPSTREAM_COUNT] = {
    [UPSTREAM_DETECT] = {"DETECT_URL", "http://localhost:8001"},
    [UPSTREAM_SEGMENT] = {"SEGMENT_URL", "http://localhost:8002"},
    [UPSTREAM_ADVISE] = {"ADVISE_URL", "http://localhost:8003"},
    [UPSTREAM_GENERATE] = {"GENERATE_URL", "http://localhost:8004"},
    [UPSTREAM_COMMERCE] = {"COMMERCE_URL", "http://localhost:8005"},
};

static http_client *clients[UPSTREAM_COUNT];

int gateway_base_url(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    if (!p || (strncmp(url, "http", 4) != 0)) return -1;
    p += 3;
    size_t host = strcspn(p, "/?#");
    if (host == 0) return -1;
    size_t n = (size_t)(p - url) + host;
    if (n + 1 > cap) return -1;
    memcpy(out, url, n);
    out[n] = '\0';
    return 0;
}

int gateway_upstreams_init(err *e)
{
    for (int i = 0; i < UPSTREAM_COUNT; i++) {
        const char *url = cfg_str(defaults[i].var, defaults[i].def);
        char base[512];
        if (gateway_base_url(url, base, sizeof base) != 0) {
            err_set(e, 500, "%s: '%s' is not an http:// or https:// URL", defaults[i].var, url);
            return -1;
        }
        http_client_params p = http_client_default_params();
        p.connect_timeout = 10;
        p.timeout = i == UPSTREAM_COMMERCE ? 30 : 120;
        clients[i] = http_client_new(base, &p);
    }
    return 0;
}

void gateway_upstreams_free(void)
{
    for (int i = 0; i < UPSTREAM_COUNT; i++) {
        http_client_free(clients[i]);
        clients[i] = NULL;
    }
}

http_client *gateway_upstream(upstream u)
{
    return clients[u];
}

json_t *gateway_call(upstream u, const char *path, json_t *body, err *e)
{
    json_t *out = NULL;
    long status = 0;
    err ce = {0};
    if (http_client_json(clients[u], "POST", path, body, &status, &out, &ce) != 0) {
        err_set(e, ce.status, "%s service error: %s", names[u], ce.msg);
        return NULL;
    }
    if (status == 200 && json_is_object(out)) return out;
    json_t *detail = json_object_get(out, "detail");
    char *text = json_is_string(detail) ? xstrdup(json_string_value(detail))
                 : detail               ? http_json_dumps(detail, NULL)
                                        : xstrdup("no explanation given");
    if (status == 200)
        err_set(e, 502, "%s service error: %s did not answer with a JSON object", names[u], path);
    else if (status >= 400 && status < 500)
        err_set(e, (int)status, "%s service (%s): %s", names[u], path, text);
    else
        err_set(e, 502, "%s service error: %s answered HTTP %ld: %s", names[u], path, status, text);
    free(text);
    json_decref(out);
    return NULL;
}
