/* Helpers shared by the subcommands, and `artistry version`. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
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

bool cli_parse_port(const char *s, int *port)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 65535) return false;
    *port = (int)v;
    return true;
}
