/* The services this binary can run, in the order `artistry up` starts them. */
#include "cli/cli.h"

#include "advise/advise.h"
#include "commerce/commerce.h"
#include "detect/detect.h"
#include "gateway/gateway.h"

#include <string.h>

const http_service *const cli_services[] = {
    &gateway_service, &detect_service, &advise_service, &commerce_service, NULL,
};

const http_service *cli_service_find(const char *name)
{
    for (const http_service *const *s = cli_services; *s; s++)
        if (strcmp((*s)->name, name) == 0) return *s;
    return NULL;
}
