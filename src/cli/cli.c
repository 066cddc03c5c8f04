/* Helpers shared by the subcommands, and `artistry version`. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return true;
    }
    return false;
}

int cli_version(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: artistry version\n\nPrints the version of this build.\n");
        return 0;
    }
    printf("artistry %s\n", ARTISTRY_VERSION);
    return 0;
}
