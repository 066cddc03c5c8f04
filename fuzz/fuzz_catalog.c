/* catalog: any bytes as a CSV and as a JSON product file never crash; a file that loads
 * gives products that answer a listing and a match. */
#include "catalog/catalog.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *names[] = {"fuzz.csv", "fuzz.json"};
    for (int k = 0; k < 2; k++) {
        catalog *c = catalog_new();
        err e = {0};
        int n = catalog_load_text(c, names[k], (const char *)data, size, &e);
        if (n < 0 && e.status != 400) abort();
        if (n >= 0 && catalog_count(c) > (size_t)n) abort();
        if (n > 0) {
            json_decref(catalog_products_json(c, "bed", NULL));
            catalog_query q = {"bed", "modern", "fabric", "beige", "medium"};
            catalog_hit h[3];
            size_t m = catalog_rank(c, &q, h, 3);
            for (size_t i = 0; i < m; i++)
                if (!(h[i].score >= 0 && h[i].score <= 1)) abort();
        }
        catalog_free(c);
    }
    return 0;
}
