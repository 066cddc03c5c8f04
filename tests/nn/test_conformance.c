/* ONNX node conformance: every test case Debian's libonnx-testdata ships under
 * /usr/share/libonnx-testdata/data/node (model.onnx + test_data_set_N/{input,output}_K.pb)
 * is attributed to every operator its graph uses. For each operator in nn_claimed_ops
 * every attributed case must load, run and match its expected outputs (numpy allclose
 * with rtol 1e-3, atol 1e-5, NaN equal to NaN, integers exact), and no operator may be
 * claimed without cases. NN_CONFORMANCE_SURVEY=1 prints the tally of every operator,
 * claimed or not; NN_CONFORMANCE_VERBOSE=1 prints each failing case. */
#include "nn/nn_impl.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_CASES 2048
#define MAX_OPS   512

typedef struct tally {
    char op[64];
    int passed, total;
    char first_fail[160];
} tally;

static tally ops[MAX_OPS];
static int n_ops;

static tally *op_tally(const char *op)
{
    for (int i = 0; i < n_ops; i++)
        if (!strcmp(ops[i].op, op)) return &ops[i];
    cr_assert(n_ops < MAX_OPS);
    tally *t = &ops[n_ops++];
    memset(t, 0, sizeof *t);
    snprintf(t->op, sizeof t->op, "%s", op);
    return t;
}

static const char *data_dir(void)
{
    const char *d = getenv("NN_ONNX_TESTDATA");
    return d && *d ? d : "/usr/share/libonnx-testdata/data/node";
}

/* The operator types a case's graph uses, read with our own loader's parser. */
static int case_ops(const char *model, char names[][64], int cap)
{
    size_t len;
    err e = {0};
    char *buf = file_read(model, &len, &e);
    if (!buf) return -1;
    nn_loaded l;
    nn_mapping *maps = NULL;
    int n_maps = 0;
    int n = 0;
    /* parse even when some operators are unsupported: collect their names from the
     * error-free prefix by scanning node op_types directly */
    int rc =
        onnx_parse_model((const uint8_t *)buf, len, "model.onnx", NULL, &l, &maps, &n_maps, &e);
    if (rc == 0) {
        for (int i = 0; i < l.g.nn && n < cap; i++) {
            bool seen = false;
            for (int j = 0; j < n; j++) seen |= !strcmp(names[j], l.g.n[i].op_type);
            if (!seen) snprintf(names[n++], 64, "%s", l.g.n[i].op_type);
        }
        /* a graph of Constant nodes only still tests Constant */
        if (n == 0 && n < cap) snprintf(names[n++], 64, "Constant");
    } else {
        /* "unsupported operators: A (..), B (..)": the case uses ops we lack */
        const char *p = strstr(e.msg, "unsupported operator");
        if (p && (p = strchr(p, ':'))) {
            p++;
            while (*p && n < cap) {
                while (*p == ' ' || *p == ',') p++;
                const char *q = p;
                while (*q && *q != ' ') q++;
                snprintf(names[n++], 64, "%.*s", (int)(q - p), p);
                p = strstr(q, "), ");
                if (!p) break;
                p += 2;
            }
        }
    }
    if (l.g.a) {
        graph_free_data(&l.g, 0);
        free(l.g.v);
        free(l.g.n);
        arena_free(l.g.a);
    }
    free(maps);
    free(buf);
    return n;
}

static bool close_enough(const nn_tensor *got, const nn_tensor *want, char *why, size_t cap)
{
    if (got->dtype != want->dtype) {
        snprintf(why, cap, "type %s, expected %s", nn_dtype_name(got->dtype),
                 nn_dtype_name(want->dtype));
        return false;
    }
    if (got->rank != want->rank ||
        memcmp(got->shape, want->shape, sizeof(int64_t) * (size_t)got->rank)) {
        char a[96], b[96];
        nn_shape_str(got->shape, got->rank, a, sizeof a);
        nn_shape_str(want->shape, want->rank, b, sizeof b);
        snprintf(why, cap, "shape %s, expected %s", a, b);
        return false;
    }
    int64_t n = nn_tensor_count(want);
    if (want->dtype == NN_STRING) {
        for (int64_t i = 0; i < n; i++)
            if (strcmp(((char **)got->data)[i], ((char **)want->data)[i])) {
                snprintf(why, cap, "string %lld differs", (long long)i);
                return false;
            }
        return true;
    }
    bool fl = want->dtype == NN_F32 || want->dtype == NN_F64 || want->dtype == NN_F16 ||
              want->dtype == NN_BF16;
    for (int64_t i = 0; i < n; i++) {
        double a, b;
        nn_convert((const char *)got->data + (size_t)i * nn_dtype_size(got->dtype), got->dtype, &a,
                   NN_F64, 1);
        nn_convert((const char *)want->data + (size_t)i * nn_dtype_size(want->dtype), want->dtype,
                   &b, NN_F64, 1);
        if (want->dtype == NN_I64 || want->dtype == NN_U64) {
            int64_t x, y;
            memcpy(&x, (const char *)got->data + 8 * i, 8);
            memcpy(&y, (const char *)want->data + 8 * i, 8);
            if (x != y) {
                snprintf(why, cap, "element %lld is %lld, expected %lld", (long long)i,
                         (long long)x, (long long)y);
                return false;
            }
            continue;
        }
        if (isnan(a) && isnan(b)) continue;
        if (isinf(b) && a == b) continue;
        double tol = fl ? 1e-5 + 1e-3 * fabs(b) : 0;
        if (!(fabs(a - b) <= tol)) {
            snprintf(why, cap, "element %lld is %.9g, expected %.9g", (long long)i, a, b);
            return false;
        }
    }
    return true;
}

static nn_tensor *read_pb(const char *path, char **name)
{
    size_t len;
    err e = {0};
    char *buf = file_read(path, &len, &e);
    if (!buf) return NULL;
    nn_tensor *t = nn_tensor_proto_parse(buf, len, name, &e);
    free(buf);
    return t;
}

/* Runs every data set of one case. Returns true when all outputs match; `why` says what
 * went wrong otherwise. */
static bool run_case(const char *dir, char *why, size_t cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    err e = {0};
    nn_model_params p = nn_model_default_params();
    p.threads = 1;
    nn_model *m = nn_model_load(path, &p, &e);
    if (!m) {
        snprintf(why, cap, "load: %s", e.msg);
        return false;
    }
    bool ok = true;
    int sets = 0;
    for (int ds = 0; ok; ds++) {
        char set[1100];
        snprintf(set, sizeof set, "%s/test_data_set_%d", dir, ds);
        struct stat st;
        if (stat(set, &st) != 0) break;
        sets++;
        nn_session *s = nn_session_new(m, &e);
        nn_tensor *ins[64] = {0};
        int nin = nn_model_input_count(m);
        for (int i = 0; i < nin && i < 64 && ok; i++) {
            snprintf(path, sizeof path, "%s/input_%d.pb", set, i);
            char *nm = NULL;
            ins[i] = read_pb(path, &nm);
            free(nm);
            if (!ins[i]) {
                snprintf(why, cap, "cannot read %s", path);
                ok = false;
                break;
            }
            /* numpy has no bfloat16: the cases carry its bits as uint16 */
            if (ins[i]->dtype == NN_U16 && nn_model_input(m, i)->dtype == NN_BF16)
                ins[i]->dtype = NN_BF16;
            if (nn_session_set_input(s, nn_model_input(m, i)->name, ins[i], &e) != 0) {
                snprintf(why, cap, "input %d: %s", i, e.msg);
                ok = false;
            }
        }
        if (ok && nn_session_run(s, &e) != 0) {
            snprintf(why, cap, "run: %s", e.msg);
            ok = false;
        }
        for (int o = 0; ok && o < nn_model_output_count(m); o++) {
            snprintf(path, sizeof path, "%s/output_%d.pb", set, o);
            nn_tensor *want = read_pb(path, NULL);
            if (!want) {
                snprintf(why, cap, "cannot read %s", path);
                ok = false;
                break;
            }
            const nn_tensor *got = nn_session_output_at(s, o);
            if (want->dtype == NN_U16 && got->dtype == NN_BF16) want->dtype = NN_BF16;
            char w[200];
            if (!close_enough(got, want, w, sizeof w)) {
                snprintf(why, cap, "set %d output %d: %s", ds, o, w);
                ok = false;
            }
            free(want);
        }
        for (int i = 0; i < 64; i++) free(ins[i]);
        nn_session_free(s);
    }
    if (ok && sets == 0) {
        snprintf(why, cap, "no test data sets");
        ok = false;
    }
    nn_model_free(m);
    return ok;
}

/* Cases whose data contradict their own model; listed with the reason, not run. */
static const struct {
    const char *name, *why;
} excluded[] = {
    {"test_castlike_BFLOAT16_to_FLOAT", "input 'like' is [1] in the data, [3,4] in the model"},
    {"test_castlike_BFLOAT16_to_FLOAT_expanded",
     "input 'like' is [1] in the data, [3,4] in the model"},
    {"test_castlike_FLOAT_to_BFLOAT16", "input 'like' is [1] in the data, [3,4] in the model"},
    {"test_castlike_FLOAT_to_BFLOAT16_expanded",
     "input 'like' is [1] in the data, [3,4] in the model"},
};

static const char *excluded_why(const char *name)
{
    for (size_t i = 0; i < sizeof excluded / sizeof excluded[0]; i++)
        if (!strcmp(excluded[i].name, name)) return excluded[i].why;
    return NULL;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(conformance, claimed_ops_pass_every_case, .timeout = 1800)
{
    log_init("test", LOG_WARN, false);
    DIR *d = opendir(data_dir());
    cr_assert_not_null(d, "cannot open %s (Debian libonnx-testdata)", data_dir());
    char **cases = calloc(MAX_CASES, sizeof *cases);
    int n_cases = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n_cases < MAX_CASES)
        if (!strncmp(de->d_name, "test_", 5)) cases[n_cases++] = strdup(de->d_name);
    closedir(d);
    qsort(cases, (size_t)n_cases, sizeof *cases, cmp_name);
    cr_assert_gt(n_cases, 100, "only %d cases in %s", n_cases, data_dir());
    bool verbose = getenv("NN_CONFORMANCE_VERBOSE") != NULL;
    bool survey = getenv("NN_CONFORMANCE_SURVEY") != NULL;
    for (int c = 0; c < n_cases; c++) {
        const char *ex = excluded_why(cases[c]);
        if (ex) {
            printf("excluded %s: %s\n", cases[c], ex);
            continue;
        }
        char dir[1024], model[1100];
        snprintf(dir, sizeof dir, "%s/%s", data_dir(), cases[c]);
        snprintf(model, sizeof model, "%s/model.onnx", dir);
        char names[32][64];
        int k = case_ops(model, names, 32);
        if (k <= 0) continue;
        bool claimed = false;
        for (int i = 0; i < k; i++)
            for (const char *const *op = nn_claimed_ops; *op; op++)
                claimed |= !strcmp(*op, names[i]);
        if (!claimed && !survey) continue;
        char why[400] = "";
        bool ok = run_case(dir, why, sizeof why);
        if (!ok && verbose) printf("FAIL %s: %s\n", cases[c], why);
        for (int i = 0; i < k; i++) {
            tally *t = op_tally(names[i]);
            t->total++;
            t->passed += ok;
            if (!ok && !t->first_fail[0])
                snprintf(t->first_fail, sizeof t->first_fail, "%s: %.100s", cases[c] + 5, why);
        }
    }
    int claimed_pass = 0, claimed_total = 0, n_claimed = 0;
    bool all_ok = true;
    printf("ONNX node conformance (%s), claimed operators:\n", data_dir());
    for (const char *const *op = nn_claimed_ops; *op; op++) {
        tally *t = op_tally(*op);
        n_claimed++;
        claimed_pass += t->passed;
        claimed_total += t->total;
        bool ok = t->total > 0 && t->passed == t->total;
        all_ok &= ok;
        printf("  %-28s %3d/%-3d%s%s\n", *op, t->passed, t->total,
               t->total == 0 ? "  NO CASES" : "", ok ? "" : "  FAIL");
        if (t->first_fail[0] && !ok) printf("      first failure: %s\n", t->first_fail);
    }
    printf("claimed operators: %d; their cases: %d/%d passed\n", n_claimed, claimed_pass,
           claimed_total);
    if (survey) {
        printf("\nsurvey of every operator in the cases:\n");
        for (int i = 0; i < n_ops; i++) {
            bool cl = false;
            for (const char *const *op = nn_claimed_ops; *op; op++) cl |= !strcmp(*op, ops[i].op);
            if (cl) continue;
            printf("  %-28s %3d/%-3d %s\n", ops[i].op, ops[i].passed, ops[i].total,
                   ops[i].passed == ops[i].total ? "all pass" : ops[i].first_fail);
        }
    }
    for (int c = 0; c < n_cases; c++) free(cases[c]);
    free(cases);
    fflush(stdout);
    cr_assert(all_ok, "a claimed operator has failing cases or none (see the table above)");
}
