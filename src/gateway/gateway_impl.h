/* Private to src/gateway: the route groups and the upstream clients they share. */
#ifndef ARTISTRY_GATEWAY_IMPL_H
#define ARTISTRY_GATEWAY_IMPL_H

#include "gateway/gateway.h"

typedef enum upstream {
    UPSTREAM_DETECT,
    UPSTREAM_SEGMENT,
    UPSTREAM_ADVISE,
    UPSTREAM_GENERATE,
    UPSTREAM_COMMERCE,
    UPSTREAM_COUNT
} upstream;

/* scheme://host[:port] of url into out; -1 when url is not http(s). */
int gateway_base_url(const char *url, char *out, size_t cap);
int gateway_upstreams_init(err *e);
void gateway_upstreams_free(void);
http_client *gateway_upstream(upstream u);

/* Route groups, each registered by gateway_init. */
void gateway_proxy_routes(http_server *s);

#endif
