/* artistry catalog import FILE... | count : products into the commerce service's store. */
#include "cli/cli.h"

#include "commerce/commerce.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: artistry catalog import FILE...\n"
                 "       artistry catalog count\n\n"
                 "import checks each FILE (JSON: a list of products or {\"products\": [...]};\n"
                 "CSV: a header row naming the fields, then one product per row) and adds its\n"
                 "products to the store the commerce service reads (DATABASE_URL, default\n"
                 "sqlite://$ARTISTRY_DATA_DIR/artistry.db), all of a file or none; a product\n"
                 "whose id exists is replaced. Restart commerce to serve them.\n"
                 "count prints how many products the service would serve.\n");
}

int cli_catalog(int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc < 2) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    bool import = strcmp(argv[1], "import") == 0;
    if ((!import && strcmp(argv[1], "count") != 0) || (import && argc < 3)) {
        usage(stderr);
        return 2;
    }
    err e = {0};
    store *db;
    catalog *c = commerce_open_catalog(true, &db, &e);
    if (!c) {
        fprintf(stderr, "artistry catalog: %s\n", e.msg);
        return 1;
    }
    int status = 0;
    for (int i = 2; import && i < argc && status == 0; i++) {
        int n = catalog_load_file(c, argv[i], &e);
        if (n < 0) {
            fprintf(stderr, "artistry catalog: %s\n", e.msg);
            status = 1;
        } else {
            printf("imported %d products from %s into %s\n", n, argv[i], store_url_redacted(db));
        }
    }
    if (!import) printf("%zu\n", catalog_count(c));
    catalog_free(c);
    store_close(db);
    return status;
}
