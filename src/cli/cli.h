/*
 * cli — the subcommands of the `artistry` binary. Each is a thin layer over a library or
 * a service: it parses arguments, calls the module and prints. main.c dispatches here.
 *
 * Every command takes (argc, argv) with argv[0] the command's own name, prints its usage
 * for --help and returns a process exit status (0 ok, 1 failure, 2 usage error).
 */
#ifndef ARTISTRY_CLI_H
#define ARTISTRY_CLI_H

#include "http/http.h"

#include <stdbool.h>

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

/* True when argv holds -h or --help. */
bool cli_wants_help(int argc, char **argv);

/* The services, NULL-terminated, in start order (services.c). */
extern const http_service *const cli_services[];
const http_service *cli_service_find(const char *name);

/* Parses a TCP port; false when s is not a number in 1..65535. */
bool cli_parse_port(const char *s, int *port);

int cli_version(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_up(int argc, char **argv);
int cli_catalog(int argc, char **argv);
int cli_nn(int argc, char **argv);
int cli_models(int argc, char **argv);
int cli_detect(int argc, char **argv);

#endif
