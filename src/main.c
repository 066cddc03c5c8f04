/* artistry — one binary: services, their supervisor and the tools around them. */
#include "cli/cli.h"
#include "nn/nn.h"

#include <stdio.h>
#include <string.h>

static const cli_command commands[] = {
    {"catalog", "import products into the commerce catalog", cli_catalog},
    {"serve", "run one service in the foreground", cli_serve},
    {"up", "start every service, wait for health, supervise them", cli_up},
    {"version", "print the version", cli_version},
    {"nn", "inspect, run and time ONNX models", cli_nn},
    {"models", "list the models and pull them into the model directory", cli_models},
    {"detect", "detect objects in photos with a YOLO model", cli_detect},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: artistry <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'artistry <command> --help' describes one command.\n");
}

int main(int argc, char **argv)
{
    nn_process_init(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) return cli_version(1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "artistry: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
