/* artistry serve <service> [--port N] [--host ADDR] */
#include "cli/cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: artistry serve <service> [--port N] [--host ADDR]\n\n"
                 "Runs one service in the foreground until SIGTERM or Ctrl-C, then finishes the\n"
                 "requests in flight (up to HTTP_SHUTDOWN_TIMEOUT seconds).\n\nservices:\n");
    for (const http_service *const *s = cli_services; *s; s++)
        fprintf(out, "  %-10s port %d  %s\n", (*s)->name, (*s)->port, (*s)->title);
    fprintf(out,
            "\nConfiguration comes from the environment, then $ARTISTRY_CONFIG_DIR/<service>.env,\n"
            "then $ARTISTRY_CONFIG_DIR/.env. The port is --port, else <SERVICE>_PORT, else the\n"
            "default above; the address is --host, else HOST, else 127.0.0.1.\n"
            "LOG_LEVEL (debug|info|warn|error) and LOG_FORMAT (text|json) set logging.\n");
}

int cli_serve(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *name = NULL, *host = NULL;
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            if (!cli_parse_port(argv[++i], &port)) {
                fprintf(stderr, "artistry serve: --port: '%s' is not a port (1..65535)\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "artistry serve: unknown option '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!name) {
            name = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!name) {
        usage(stderr);
        return 2;
    }
    const http_service *svc = cli_service_find(name);
    if (!svc) {
        fprintf(stderr, "artistry serve: no service named '%s'\n\n", name);
        usage(stderr);
        return 2;
    }

    err e = {0};
    if (cfg_load(svc->name, &e) != 0) {
        fprintf(stderr, "artistry serve %s: %s\n", name, e.msg);
        return 1;
    }
    bool ok;
    log_level level = log_level_parse(cfg_str("LOG_LEVEL", "info"), &ok);
    if (!ok) {
        fprintf(stderr, "artistry serve %s: LOG_LEVEL: '%s' is not debug, info, warn or error\n",
                name, cfg_str("LOG_LEVEL", ""));
        return 1;
    }
    const char *fmt = cfg_str("LOG_FORMAT", "text");
    if (strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0) {
        fprintf(stderr, "artistry serve %s: LOG_FORMAT: '%s' is not text or json\n", name, fmt);
        return 1;
    }
    log_init(svc->name, level, strcmp(fmt, "json") == 0);

    http_server_params p = http_server_default_params();
    p.service = svc->name;
    p.title = svc->title;
    p.port = svc->port;
    p.host = "127.0.0.1";
    if (http_server_params_from_env(&p, &e) != 0) goto fail;
    char var[64];
    snprintf(var, sizeof var, "%s_PORT", svc->name);
    for (char *c = var; *c; c++)
        if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 32);
    long envport;
    if (cfg_int(var, p.port, 1, 65535, &envport, &e) != 0) goto fail;
    p.port = port ? port : (int)envport;
    p.host = host ? host : cfg_str("HOST", p.host);

    /* SIGTERM/SIGINT are taken by http_server_run's wait alone: block them before init, so
     * threads a service starts there (workers, OpenMP) inherit the mask and a signal can
     * never land on one of them and kill the process without the graceful drain. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    http_server *s = http_server_new(&p, &e);
    if (!s) goto fail;
    if (svc->init(s, &e) != 0) {
        http_server_free(s);
        goto fail;
    }
    int rc = http_server_run(s, &e);
    http_server_free(s);
    if (svc->fini) svc->fini();
    if (rc != 0) goto fail;
    return 0;
fail:
    log_error("cannot start service=%s error=\"%s\"", svc->name, e.msg);
    fprintf(stderr, "artistry serve %s: %s\n", name, e.msg);
    return 1;
}
