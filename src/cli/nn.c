/* artistry nn info|run|bench: look inside a model, run it on .npy files, time it. */
#include "cli/cli.h"
#include "core/core.h"
#include "nn/nn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: artistry nn info MODEL [--shape NAME=1x3x640x640]... [--input NAME=FILE.npy]...\n"
        "       artistry nn run MODEL --input NAME=FILE.npy... --output DIR [--threads N]\n"
        "       artistry nn bench MODEL [--shape NAME=DIMS]... [--input NAME=FILE.npy]...\n"
        "                 [--threads N] [--runs N] [--warmup N] [--precision fp32|bf16] "
        "[--profile]\n"
        "\n"
        "info   inputs, outputs, metadata, operator histogram, parameters, FLOPs\n"
        "run    runs the model on NumPy inputs and writes DIR/<output>.npy for each output\n"
        "       (characters other than letters, digits, _ . - become _)\n"
        "bench  times runs after warm-up: p50, p90 (ms), GFLOP/s, peak RSS; --profile adds\n"
        "       the time per operator and per node\n"
        "\n"
        "Options common to all: --threads N (default $NN_THREADS or every core),\n"
        "--no-opt (no graph passes), --plain (no blocked layout), --isa scalar|avx2|avx512.\n"
        "Inputs not given get their declared shape; bench fills them with random values.\n");
}

typedef struct opts {
    const char *model;
    const char *out_dir;
    int threads, runs, warmup;
    bool profile, bf16, noopt, plain, serve;
    nn_isa isa;
    int n;
    char *names[32];
    nn_tensor *tensors[32];
    bool from_file[32];
} opts;

static int parse_dims(const char *s, nn_tensor *t)
{
    t->rank = 0;
    if (!strcmp(s, "scalar")) return 0;
    while (*s) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || errno || t->rank >= NN_MAX_RANK) return -1;
        t->shape[t->rank++] = v;
        s = end;
        if (*s == 'x' || *s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return 0;
}

static int add_named(opts *o, const char *arg, bool file, err *e)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || o->n >= 32) {
        err_set(e, 400, "expected NAME=%s, got '%s'", file ? "FILE.npy" : "DIMS", arg);
        return -1;
    }
    char *name = xstrndup(arg, (size_t)(eq - arg));
    nn_tensor *t;
    if (file) {
        t = nn_npy_read(eq + 1, e);
        if (!t) {
            free(name);
            return -1;
        }
    } else {
        t = xcalloc(1, sizeof *t);
        if (parse_dims(eq + 1, t) != 0) {
            err_set(e, 400, "bad shape '%s' (expected e.g. 1x3x640x640)", eq + 1);
            free(t);
            free(name);
            return -1;
        }
    }
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->names[i], name)) {
            err_set(e, 400, "input '%s' given twice", name);
            free(t);
            free(name);
            return -1;
        }
    o->names[o->n] = name;
    o->tensors[o->n] = t;
    o->from_file[o->n] = file;
    o->n++;
    return 0;
}

static int parse(int argc, char **argv, opts *o, err *e)
{
    memset(o, 0, sizeof *o);
    o->runs = 20;
    o->warmup = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--profile"))
            o->profile = true;
        else if (!strcmp(a, "--serve"))
            o->serve = true;
        else if (!strcmp(a, "--no-opt"))
            o->noopt = true;
        else if (!strcmp(a, "--plain"))
            o->plain = true;
        else if (a[0] == '-' && a[1] == '-' && !v) {
            err_set(e, 400, "%s needs a value", a);
            return -1;
        } else if (!strcmp(a, "--input") || !strcmp(a, "--shape")) {
            if (add_named(o, v, a[2] == 'i', e) != 0) return -1;
            i++;
        } else if (!strcmp(a, "--output")) {
            o->out_dir = v;
            i++;
        } else if (!strcmp(a, "--threads") || !strcmp(a, "--runs") || !strcmp(a, "--warmup")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < (a[2] == 'w' ? 0 : 1) || n > 100000) {
                err_set(e, 400, "%s: '%s' is not a valid count", a, v);
                return -1;
            }
            if (a[2] == 't')
                o->threads = (int)n;
            else if (a[2] == 'r')
                o->runs = (int)n;
            else
                o->warmup = (int)n;
            i++;
        } else if (!strcmp(a, "--precision")) {
            if (strcmp(v, "fp32") && strcmp(v, "bf16")) {
                err_set(e, 400, "--precision must be fp32 or bf16");
                return -1;
            }
            o->bf16 = !strcmp(v, "bf16");
            i++;
        } else if (!strcmp(a, "--isa")) {
            o->isa = !strcmp(v, "scalar")   ? NN_ISA_SCALAR
                     : !strcmp(v, "avx2")   ? NN_ISA_AVX2
                     : !strcmp(v, "avx512") ? NN_ISA_AVX512
                                            : -1;
            if ((int)o->isa < 0) {
                err_set(e, 400, "--isa must be scalar, avx2 or avx512");
                return -1;
            }
            i++;
        } else if (a[0] == '-') {
            err_set(e, 400, "unknown option %s", a);
            return -1;
        } else if (!o->model) {
            o->model = a;
        } else {
            err_set(e, 400, "unexpected argument '%s'", a);
            return -1;
        }
    }
    if (!o->model) {
        err_set(e, 400, "no model given");
        return -1;
    }
    return 0;
}

static void opts_free(opts *o)
{
    for (int i = 0; i < o->n; i++) {
        free(o->names[i]);
        free(o->tensors[i]);
    }
}

static nn_model *load(const opts *o, err *e)
{
    nn_model_params p = nn_model_default_params();
    p.threads = o->threads;
    p.profile = o->profile;
    p.precision = o->bf16 ? NN_PRECISION_BF16 : NN_PRECISION_FP32;
    p.optimize = !o->noopt;
    p.blocked_layout = !o->plain;
    p.isa = o->isa;
    return nn_model_load(o->model, &p, e);
}

static void print_info(const char *what, const nn_value_info *vi)
{
    char dims[256] = "";
    size_t k = 0;
    for (int d = 0; d < vi->rank && k < sizeof dims; d++) {
        if (vi->shape[d] >= 0)
            k += (size_t)snprintf(dims + k, sizeof dims - k, "%s%lld", d ? "x" : "",
                                  (long long)vi->shape[d]);
        else
            k += (size_t)snprintf(dims + k, sizeof dims - k, "%s%s", d ? "x" : "",
                                  vi->dim_names[d] ? vi->dim_names[d] : "?");
    }
    printf("%s %s %s [%s]\n", what, vi->name, nn_dtype_name(vi->dtype),
           vi->rank < 0 ? "unknown" : dims);
}

/* Tensors for every model input: given files, else the given or declared shape filled with
 * values in [0, 1) (integers: 0/1). Returned data is malloc'ed per tensor. */
static int make_inputs(nn_model *m, opts *o, nn_tensor *in, void **bufs, err *e)
{
    unsigned seed = 12345;
    for (int i = 0; i < nn_model_input_count(m); i++) {
        const nn_value_info *vi = nn_model_input(m, i);
        const nn_tensor *given = NULL;
        for (int j = 0; j < o->n; j++)
            if (!strcmp(o->names[j], vi->name)) given = o->tensors[j];
        bufs[i] = NULL;
        if (given && given->data) {
            in[i] = *given;
            continue;
        }
        memset(&in[i], 0, sizeof in[i]);
        in[i].dtype = vi->dtype;
        if (given) {
            in[i].rank = given->rank;
            memcpy(in[i].shape, given->shape, sizeof in[i].shape);
        } else {
            if (vi->rank < 0) {
                err_set(e, 400, "input '%s' has no declared shape: give --shape", vi->name);
                return -1;
            }
            in[i].rank = vi->rank;
            for (int d = 0; d < vi->rank; d++) {
                if (vi->shape[d] < 0) {
                    err_set(e, 400, "input '%s' has a dynamic dimension: give --shape %s=...",
                            vi->name, vi->name);
                    return -1;
                }
                in[i].shape[d] = vi->shape[d];
            }
        }
        int64_t n = nn_tensor_count(&in[i]);
        size_t es = nn_dtype_size(vi->dtype);
        bufs[i] = xcalloc((size_t)n + 1, es ? es : 1);
        for (int64_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            double r = (double)(seed >> 8) / 16777216.0;
            if (vi->dtype == NN_F32)
                ((float *)bufs[i])[k] = (float)r;
            else if (vi->dtype == NN_I64)
                ((int64_t *)bufs[i])[k] = r < 0.5 ? 0 : 1;
            else if (vi->dtype == NN_I32)
                ((int32_t *)bufs[i])[k] = r < 0.5 ? 0 : 1;
            else if (es == 1)
                ((uint8_t *)bufs[i])[k] = r < 0.5 ? 0 : 1;
        }
        in[i].data = bufs[i];
    }
    return 0;
}

static int cmd_info(opts *o)
{
    err e = {0};
    nn_model *m = load(o, &e);
    if (!m) {
        fprintf(stderr, "artistry nn info: %s\n", e.msg);
        return 1;
    }
    for (int i = 0; i < nn_model_input_count(m); i++) print_info("input ", nn_model_input(m, i));
    for (int i = 0; i < nn_model_output_count(m); i++) print_info("output", nn_model_output(m, i));
    for (int i = 0; i < nn_model_meta_count(m); i++) {
        const char *k, *v;
        nn_model_meta_at(m, i, &k, &v);
        printf("meta %s: %.200s%s\n", k, v, strlen(v) > 200 ? "..." : "");
    }
    nn_model_stats st;
    nn_model_stats_get(m, &st);
    printf("nodes %d\n", st.n_nodes);
    for (int i = 0; i < st.n_ops; i++) printf("op %-24s %d\n", st.ops[i].op, st.ops[i].count);
    printf("parameters %lld (%.1f MB of constants)\n", (long long)st.params,
           (double)st.weight_bytes / 1e6);
    int nin = nn_model_input_count(m);
    nn_tensor *in = xcalloc((size_t)nin + 1, sizeof *in);
    void **bufs = xcalloc((size_t)nin + 1, sizeof *bufs);
    const char **names = xcalloc((size_t)nin + 1, sizeof *names);
    int rc = 0;
    if (make_inputs(m, o, in, bufs, &e) == 0) {
        for (int i = 0; i < nin; i++) names[i] = nn_model_input(m, i)->name;
        double fl = nn_model_flops(m, in, names, nin, &e);
        if (fl >= 0)
            printf("flops %.3f G\n", fl / 1e9);
        else
            printf("flops unknown: %s\n", e.msg);
    } else {
        printf("flops unknown: %s\n", e.msg);
    }
    for (int i = 0; i < nin; i++) free(bufs[i]);
    free(bufs);
    free(in);
    free(names);
    nn_model_free(m);
    return rc;
}

static void safe_name(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        out[i] = ok ? c : '_';
    }
    out[i] = 0;
    if (!strcmp(out, ".") || !strcmp(out, "..") || !out[0])
        snprintf(out, cap, "_%s", s[0] ? "" : "output");
}

static int run_once(nn_model *m, nn_session *s, const nn_tensor *in, err *e)
{
    for (int i = 0; i < nn_model_input_count(m); i++)
        if (nn_session_set_input(s, nn_model_input(m, i)->name, &in[i], e) != 0) return -1;
    return nn_session_run(s, e);
}

static int cmd_run(opts *o)
{
    err e = {0};
    if (!o->out_dir) {
        fprintf(stderr, "artistry nn run: --output DIR is required\n");
        return 2;
    }
    nn_model *m = load(o, &e);
    if (!m) {
        fprintf(stderr, "artistry nn run: %s\n", e.msg);
        return 1;
    }
    int nin = nn_model_input_count(m), rc = 1;
    nn_tensor *in = xcalloc((size_t)nin + 1, sizeof *in);
    void **bufs = xcalloc((size_t)nin + 1, sizeof *bufs);
    nn_session *s = NULL;
    for (int j = 0; j < o->n; j++) {
        bool known = false;
        for (int i = 0; i < nin; i++) known |= !strcmp(nn_model_input(m, i)->name, o->names[j]);
        if (!known) {
            fprintf(stderr, "artistry nn run: the model has no input named '%s'\n", o->names[j]);
            goto out;
        }
    }
    for (int i = 0; i < nin; i++) {
        bool given = false;
        for (int j = 0; j < o->n; j++)
            given |= !strcmp(o->names[j], nn_model_input(m, i)->name) && o->from_file[j];
        if (!given) {
            fprintf(stderr, "artistry nn run: input '%s' needs --input %s=FILE.npy\n",
                    nn_model_input(m, i)->name, nn_model_input(m, i)->name);
            goto out;
        }
    }
    if (make_inputs(m, o, in, bufs, &e) != 0 || !(s = nn_session_new(m, &e)) ||
        run_once(m, s, in, &e) != 0) {
        fprintf(stderr, "artistry nn run: %s\n", e.msg);
        goto out;
    }
    if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "artistry nn run: %s: %s\n", o->out_dir, strerror(errno));
        goto out;
    }
    rc = 0;
    for (int i = 0; i < nn_model_output_count(m); i++) {
        const char *name = nn_model_output(m, i)->name;
        char fn[256];
        safe_name(name, fn, sizeof fn);
        char *path = xasprintf("%s/%s.npy", o->out_dir, fn);
        const nn_tensor *t = nn_session_output_at(s, i);
        if (nn_npy_write(path, t, &e) != 0) {
            fprintf(stderr, "artistry nn run: %s\n", e.msg);
            rc = 1;
        } else {
            char dims[128];
            nn_shape_str(t->shape, t->rank, dims, sizeof dims);
            printf("%s %s %s -> %s\n", name, nn_dtype_name(t->dtype), dims, path);
        }
        free(path);
    }
out:
    nn_session_free(s);
    for (int i = 0; i < nin; i++) free(bufs[i]);
    free(bufs);
    free(in);
    nn_model_free(m);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct agg {
    const char *key;
    double ms;
    int count;
} agg;

static int cmp_agg(const void *a, const void *b)
{
    double x = ((const agg *)a)->ms, y = ((const agg *)b)->ms;
    return x > y ? -1 : x < y;
}

static void print_profile(nn_session *s, int runs, double total_ms)
{
    const nn_profile_entry *pe;
    int n = nn_session_profile(s, &pe);
    agg *ops = xcalloc((size_t)n + 1, sizeof *ops);
    int nops = 0;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        sum += pe[i].ms;
        int k;
        for (k = 0; k < nops; k++)
            if (!strcmp(ops[k].key, pe[i].op)) break;
        if (k == nops) ops[nops++] = (agg){pe[i].op, 0, 0};
        ops[k].ms += pe[i].ms;
        ops[k].count++;
    }
    qsort(ops, (size_t)nops, sizeof *ops, cmp_agg);
    printf("\nprofile: %.2f ms per run in steps (%.2f ms wall)\n", sum / runs, total_ms);
    printf("%-28s %6s %10s %7s\n", "op", "nodes", "ms/run", "share");
    for (int k = 0; k < nops; k++)
        printf("%-28s %6d %10.3f %6.1f%%\n", ops[k].key, ops[k].count, ops[k].ms / runs,
               100 * ops[k].ms / (sum ? sum : 1));
    agg *nodes = xcalloc((size_t)n + 1, sizeof *nodes);
    for (int i = 0; i < n; i++) nodes[i] = (agg){pe[i].node, pe[i].ms, 1};
    qsort(nodes, (size_t)n, sizeof *nodes, cmp_agg);
    printf("\nslowest nodes:\n");
    for (int i = 0; i < n && i < 25; i++) {
        const char *op = "";
        for (int j = 0; j < n; j++)
            if (pe[j].node == nodes[i].key) op = pe[j].op;
        printf("%10.3f ms  %-20s %s\n", nodes[i].ms / runs, op, nodes[i].key);
    }
    free(ops);
    free(nodes);
}

static int cmd_bench(opts *o)
{
    err e = {0};
    nn_model *m = load(o, &e);
    if (!m) {
        fprintf(stderr, "artistry nn bench: %s\n", e.msg);
        return 1;
    }
    int nin = nn_model_input_count(m), rc = 1;
    nn_tensor *in = xcalloc((size_t)nin + 1, sizeof *in);
    void **bufs = xcalloc((size_t)nin + 1, sizeof *bufs);
    const char **names = xcalloc((size_t)nin + 1, sizeof *names);
    double *t = xcalloc((size_t)o->runs + 1, sizeof *t);
    nn_session *s = NULL;
    double t_load = now_s();
    if (make_inputs(m, o, in, bufs, &e) != 0 || !(s = nn_session_new(m, &e))) {
        fprintf(stderr, "artistry nn bench: %s\n", e.msg);
        goto out;
    }
    if (o->serve) {
        for (int i = 0; i < o->warmup; i++)
            if (run_once(m, s, in, &e) != 0) {
                fprintf(stderr, "artistry nn bench: %s\n", e.msg);
                goto out;
            }
        printf("ready\n");
        fflush(stdout);
        char line[64];
        while (fgets(line, sizeof line, stdin)) {
            if (strncmp(line, "run", 3)) continue;
            double t0 = now_s();
            if (run_once(m, s, in, &e) != 0) {
                fprintf(stderr, "artistry nn bench: %s\n", e.msg);
                goto out;
            }
            printf("ms %.3f\n", (now_s() - t0) * 1e3);
            fflush(stdout);
        }
        printf("rss %zu\n", proc_peak_rss_bytes());
        rc = 0;
        goto out;
    }
    for (int i = 0; i < o->warmup + o->runs; i++) {
        if (i == o->warmup) nn_session_profile_reset(s);
        double t0 = now_s();
        if (run_once(m, s, in, &e) != 0) {
            fprintf(stderr, "artistry nn bench: %s\n", e.msg);
            goto out;
        }
        if (i == 0) t_load = now_s() - t0;
        if (i >= o->warmup) t[i - o->warmup] = (now_s() - t0) * 1e3;
    }
    for (int i = 0; i < nin; i++) names[i] = nn_model_input(m, i)->name;
    double total = 0;
    for (int i = 0; i < o->runs; i++) total += t[i];
    qsort(t, (size_t)o->runs, sizeof *t, cmp_double);
    double p50 = t[(o->runs - 1) / 2], p90 = t[(int)ceil(0.9 * o->runs) - 1];
    double fl = nn_model_flops(m, in, names, nin, &e);
    printf("p50 %.2f ms\n", p50);
    printf("p90 %.2f ms\n", p90);
    printf("min %.2f ms\n", t[0]);
    if (fl > 0) printf("GFLOP/s %.1f (%.2f GFLOP per run)\n", fl / (p50 * 1e-3) / 1e9, fl / 1e9);
    printf("first run %.1f ms (plan build included)\n", t_load * 1e3);
    printf("threads %d\n", nn_model_threads(m));
    printf("arena %.1f MB\n", (double)nn_session_arena_bytes(s) / 1e6);
    printf("peak RSS %.1f MB\n", (double)proc_peak_rss_bytes() / 1e6);
    if (o->profile) print_profile(s, o->runs, total / o->runs);
    rc = 0;
out:
    nn_session_free(s);
    for (int i = 0; i < nin; i++) free(bufs[i]);
    free(bufs);
    free(in);
    free(names);
    free(t);
    nn_model_free(m);
    return rc;
}

int cli_nn(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (cli_wants_help(argc - 1, argv + 1)) {
        usage(stdout);
        return 0;
    }
    if (strcmp(sub, "info") && strcmp(sub, "run") && strcmp(sub, "bench")) {
        fprintf(stderr, "artistry nn: unknown subcommand '%s'\n\n", sub);
        usage(stderr);
        return 2;
    }
    opts o;
    err e = {0};
    if (parse(argc - 1, argv + 1, &o, &e) != 0) {
        fprintf(stderr, "artistry nn %s: %s\n", sub, e.msg);
        opts_free(&o);
        return 2;
    }
    int rc = !strcmp(sub, "info")  ? cmd_info(&o)
             : !strcmp(sub, "run") ? cmd_run(&o)
                                   : cmd_bench(&o);
    opts_free(&o);
    return rc;
}
