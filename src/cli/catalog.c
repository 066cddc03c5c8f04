/* artistry catalog import FILE... : checks product files (JSON or CSV) and adds them to
 * the commerce service's imports, which it loads at start-up after the shipped catalog. */
#include "cli/cli.h"

#include "commerce/commerce.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: artistry catalog import FILE...\n"
                 "       artistry catalog count\n\n"
                 "import checks each FILE (JSON: a list of products or {\"products\": [...]};\n"
                 "CSV: a header row naming the fields, then one product per row) and copies it\n"
                 "into $ARTISTRY_DATA_DIR/catalog/ (default ./var/catalog), where the commerce\n"
                 "service loads it at start-up, after the shipped catalog; a product whose id\n"
                 "exists replaces it. Restart commerce to serve the new products.\n"
                 "count prints how many products the service would load.\n");
}

static int mkdirs(const char *path)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) && errno != EEXIST) return -1;
            *s = '/';
        }
    return mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
}

int cli_catalog(int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc < 2) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    err e = {0};
    if (strcmp(argv[1], "count") == 0) {
        catalog *c = commerce_load_catalog(&e);
        if (!c) {
            fprintf(stderr, "artistry catalog: %s\n", e.msg);
            return 1;
        }
        printf("%zu\n", catalog_count(c));
        catalog_free(c);
        return 0;
    }
    if (strcmp(argv[1], "import") != 0 || argc < 3) {
        usage(stderr);
        return 2;
    }
    const char *dir = commerce_import_dir();
    if (mkdirs(dir)) {
        fprintf(stderr, "artistry catalog: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    for (int i = 2; i < argc; i++) {
        size_t len;
        char *text = file_read(argv[i], &len, &e);
        catalog *c = catalog_new();
        int n = text ? catalog_load_text(c, argv[i], text, len, &e) : -1;
        catalog_free(c);
        if (n < 0) {
            fprintf(stderr, "artistry catalog: %s\n", e.msg);
            free(text);
            return 1;
        }
        const char *base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        char dest[8400];
        snprintf(dest, sizeof dest, "%s/%s", dir, base);
        if (file_write(dest, text, len, &e)) {
            fprintf(stderr, "artistry catalog: %s\n", e.msg);
            free(text);
            return 1;
        }
        free(text);
        printf("imported %d products from %s into %s\n", n, argv[i], dest);
    }
    return 0;
}
