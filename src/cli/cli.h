/*
 * cli — the subcommands of the `artistry` binary. Each is a thin layer over a library or
 * a service: it parses arguments, calls the module and prints. main.c dispatches here.
 *
 * Every command takes (argc, argv) with argv[0] the command's own name, prints its usage
 * for --help and returns a process exit status (0 ok, 1 failure, 2 usage error).
 */
#ifndef ARTISTRY_CLI_H
#define ARTISTRY_CLI_H

#include <stdbool.h>

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

/* True when argv holds -h or --help. */
bool cli_wants_help(int argc, char **argv);

int cli_version(int argc, char **argv);
int cli_nn(int argc, char **argv);

#endif
