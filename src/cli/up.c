/* artistry up: start every service as a child process, wait for each to answer /health,
 * print where they are, restart crashed ones with back-off, stop all on SIGINT/SIGTERM. */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct child {
    const http_service *svc;
    int port;
    pid_t pid;
    const char *status;
    double started, restart_at, backoff;
    int restarts;
} child;

static char self_path[4096];

static void usage(FILE *out)
{
    fprintf(out, "usage: artistry up [--only NAME,NAME...] [--health-timeout SECONDS]\n\n"
                 "Starts every service as its own process, in this order:");
    for (const http_service *const *s = cli_services; *s; s++) fprintf(out, " %s", (*s)->name);
    fprintf(out, ".\nWaits until each answers GET /health, prints a table of services, ports and\n"
                 "status, then supervises: a service that exits is restarted with back-off\n"
                 "(1 s doubling to 30 s). Ctrl-C or SIGTERM stops them all gracefully.\n"
                 "Ports: <SERVICE>_PORT from the environment or $ARTISTRY_CONFIG_DIR/.env.\n");
}

static pid_t spawn(child *c, const sigset_t *oldmask)
{
    char port[16];
    snprintf(port, sizeof port, "%d", c->port);
    pid_t pid = fork();
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, oldmask, NULL);
        char *args[] = {"artistry", "serve", (char *)c->svc->name, "--port", port, NULL};
        execv(self_path, args);
        fprintf(stderr, "artistry up: cannot run %s: %s\n", self_path, strerror(errno));
        _exit(127);
    }
    c->pid = pid;
    c->started = now_s();
    return pid;
}

/* Polls GET /health until it answers 200, the child dies or the time runs out. */
static bool wait_healthy(child *c, double timeout)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", c->port);
    http_client_params cp = http_client_default_params();
    cp.connect_timeout = 1;
    cp.timeout = 5;
    cp.retries = 0;
    http_client *hc = http_client_new(base, &cp);
    double until = now_s() + timeout;
    bool ok = false;
    while (now_s() < until) {
        int st;
        if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
            c->pid = 0;
            break;
        }
        http_response r;
        err e = {0};
        if (http_client_request(hc, "GET", "/health", NULL, NULL, NULL, 0, &r, &e) == 0) {
            ok = r.status == 200;
            http_response_free(&r);
            if (ok) break;
        }
        usleep(100000);
    }
    http_client_free(hc);
    return ok;
}

static void print_table(child *cs, int n)
{
    printf("\n  %-10s %-6s %-8s %-10s %s\n", "SERVICE", "PORT", "PID", "STATUS", "URL");
    for (int i = 0; i < n; i++)
        printf("  %-10s %-6d %-8d %-10s http://localhost:%d/docs\n", cs[i].svc->name, cs[i].port,
               (int)cs[i].pid, cs[i].status, cs[i].port);
    printf("\n");
    fflush(stdout);
}

static void stop_all(child *cs, int n, double grace)
{
    for (int i = 0; i < n; i++)
        if (cs[i].pid > 0) kill(cs[i].pid, SIGTERM);
    double until = now_s() + grace;
    int alive = n;
    while (alive && now_s() < until) {
        alive = 0;
        for (int i = 0; i < n; i++) {
            if (cs[i].pid <= 0) continue;
            int st;
            if (waitpid(cs[i].pid, &st, WNOHANG) == cs[i].pid)
                cs[i].pid = 0;
            else
                alive++;
        }
        if (alive) usleep(50000);
    }
    for (int i = 0; i < n; i++)
        if (cs[i].pid > 0) {
            fprintf(stderr, "artistry up: %s did not stop in %.0f s; killing it\n", cs[i].svc->name,
                    grace);
            kill(cs[i].pid, SIGKILL);
            waitpid(cs[i].pid, NULL, 0);
        }
}

int cli_up(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *only = NULL;
    double health_timeout = 180;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--health-timeout") == 0 && i + 1 < argc) {
            health_timeout = atof(argv[++i]);
            if (health_timeout <= 0) {
                fprintf(stderr, "artistry up: --health-timeout must be a positive number\n");
                return 2;
            }
        } else {
            fprintf(stderr, "artistry up: unknown argument '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0) {
        fprintf(stderr, "artistry up: cannot find my own executable\n");
        return 1;
    }
    self_path[n] = '\0';
    err e = {0};
    if (cfg_load(NULL, &e) != 0) {
        fprintf(stderr, "artistry up: %s\n", e.msg);
        return 1;
    }
    log_init("up", LOG_INFO, false);

    child cs[16];
    int nc = 0;
    for (const http_service *const *s = cli_services; *s && nc < 16; s++) {
        if (only) {
            bool wanted = false;
            size_t len = strlen((*s)->name);
            for (const char *p = only; (p = strstr(p, (*s)->name)) != NULL; p += len)
                if ((p == only || p[-1] == ',') && (p[len] == ',' || p[len] == '\0')) wanted = true;
            if (!wanted) continue;
        }
        char var[64];
        snprintf(var, sizeof var, "%s_PORT", (*s)->name);
        for (char *c = var; *c; c++)
            if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 32);
        long port;
        if (cfg_int(var, (*s)->port, 1, 65535, &port, &e) != 0) {
            fprintf(stderr, "artistry up: %s\n", e.msg);
            return 1;
        }
        cs[nc++] = (child){.svc = *s, .port = (int)port, .status = "starting", .backoff = 1};
    }
    if (!nc) {
        fprintf(stderr, "artistry up: --only %s names no service\n", only);
        return 2;
    }

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);

    int failed = 0;
    for (int i = 0; i < nc; i++) {
        spawn(&cs[i], &old);
        bool ok = wait_healthy(&cs[i], health_timeout);
        cs[i].status = ok ? "up" : cs[i].pid ? "unhealthy" : "exited";
        if (!ok) {
            failed++;
            log_error("service did not become healthy service=%s port=%d", cs[i].svc->name,
                      cs[i].port);
            if (!cs[i].pid) cs[i].restart_at = now_s() + cs[i].backoff;
        }
    }
    print_table(cs, nc);
    if (failed == nc) {
        fprintf(stderr, "artistry up: no service came up; see the log lines above\n");
        stop_all(cs, nc, 5);
        return 1;
    }

    double grace = 15;
    for (;;) {
        struct timespec ts = {0, 250 * 1000000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            log_info("stopping all services signal=%s", sig == SIGINT ? "INT" : "TERM");
            stop_all(cs, nc, grace);
            return 0;
        }
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            for (int i = 0; i < nc; i++) {
                if (cs[i].pid != pid) continue;
                double ran = now_s() - cs[i].started;
                if (ran > 60) cs[i].backoff = 1;
                log_warn("service exited service=%s pid=%d %s=%d ran_s=%.1f restart_in_s=%.0f",
                         cs[i].svc->name, (int)pid, WIFSIGNALED(st) ? "signal" : "status",
                         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), ran, cs[i].backoff);
                cs[i].pid = 0;
                cs[i].status = "restarting";
                cs[i].restart_at = now_s() + cs[i].backoff;
            }
        }
        for (int i = 0; i < nc; i++) {
            if (cs[i].pid || cs[i].restart_at == 0 || now_s() < cs[i].restart_at) continue;
            cs[i].restarts++;
            cs[i].restart_at = 0;
            spawn(&cs[i], &old);
            cs[i].backoff = cs[i].backoff * 2 > 30 ? 30 : cs[i].backoff * 2;
            cs[i].status = "up";
            log_info("restarted service=%s pid=%d restarts=%d", cs[i].svc->name, (int)cs[i].pid,
                     cs[i].restarts);
        }
    }
}
