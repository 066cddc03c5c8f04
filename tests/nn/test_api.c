/* The public API: loading and its errors, model queries, sessions and their errors,
 * dynamic shapes, external data, fp16 weights, threads, no allocation per run, .npy. */
#include "nn/nn.h"
#include "onnx_build.h"

#include <criterion/criterion.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static nn_model *load_ob(ob *m, err *e)
{
    nn_model_params p = nn_model_default_params();
    p.threads = 1;
    nn_model *model = nn_model_load_memory(m->buf, m->len, "t.onnx", &p, e);
    free(m->buf);
    memset(m, 0, sizeof *m);
    return model;
}

/* y = Relu(x) + w, x [N, 4] with a symbolic N, w a constant [4] */
static void small_model(ob *m, const float *w)
{
    ob g = {0};
    int64_t xd[2] = {-1, 4}, wd = 4;
    ob_input(&g, "x", NN_F32, xd, 2);
    ob_output(&g, "y", NN_F32, xd, 2);
    ob_initializer(&g, "w", NN_F32, &wd, 1, w);
    ob_node(&g, "Relu", "relu", (const char *[]){"x"}, 1, (const char *[]){"r"}, 1, NULL);
    ob_node(&g, "Add", "add", (const char *[]){"r", "w"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_meta(m, "names", "{0: 'cat', 1: 'dog'}");
    ob_meta(m, "stride", "32");
    ob_model(m, &g, 17);
}

static const float small_w[4] = {1, 2, 3, 4};

static nn_model *load_small(void)
{
    ob m = {0};
    small_model(&m, small_w);
    err e = {0};
    nn_model *model = load_ob(&m, &e);
    cr_assert_not_null(model, "%s", e.msg);
    return model;
}

Test(api, queries_inputs_outputs_and_metadata)
{
    nn_model *model = load_small();
    cr_assert_eq(nn_model_input_count(model), 1);
    cr_assert_eq(nn_model_output_count(model), 1);
    const nn_value_info *in = nn_model_input(model, 0);
    cr_assert_str_eq(in->name, "x");
    cr_assert_eq(in->dtype, NN_F32);
    cr_assert_eq(in->rank, 2);
    cr_assert_eq(in->shape[0], -1, "a symbolic dimension is reported as dynamic");
    cr_assert_str_eq(in->dim_names[0], "N");
    cr_assert_eq(in->shape[1], 4);
    cr_assert_str_eq(nn_model_meta(model, "names"), "{0: 'cat', 1: 'dog'}");
    cr_assert_str_eq(nn_model_meta(model, "stride"), "32");
    cr_assert_null(nn_model_meta(model, "missing"));
    cr_assert_eq(nn_model_meta_count(model), 2);
    cr_assert_null(nn_model_input(model, 1));
    nn_model_free(model);
}

Test(api, runs_with_dynamic_batch_and_caches_plans)
{
    const float *w = small_w;
    err e = {0};
    nn_model *model = load_small();
    nn_session *s = nn_session_new(model, &e);
    for (int n = 1; n <= 3; n++) {
        float x[12];
        for (int i = 0; i < 4 * n; i++) x[i] = (float)(i % 3) - 1.0f;
        nn_tensor t = {.dtype = NN_F32, .rank = 2, .shape = {n, 4}, .data = x};
        cr_assert_eq(nn_session_set_input(s, "x", &t, &e), 0, "%s", e.msg);
        cr_assert_eq(nn_session_run(s, &e), 0, "%s", e.msg);
        const nn_tensor *y = nn_session_output(s, "y");
        cr_assert_not_null(y);
        cr_assert_eq(y->shape[0], n);
        for (int i = 0; i < 4 * n; i++)
            cr_assert_float_eq(((float *)y->data)[i], fmaxf(x[i], 0) + w[i % 4], 0);
    }
    nn_session_free(s);
    nn_model_free(model);
}

Test(api, input_errors_name_the_problem)
{
    err e = {0};
    nn_model *model = load_small();
    nn_session *s = nn_session_new(model, &e);
    float x[8] = {0};
    nn_tensor t = {.dtype = NN_F32, .rank = 2, .shape = {2, 5}, .data = x};
    cr_assert_eq(nn_session_set_input(s, "x", &t, &e), -1);
    cr_assert_eq(e.status, 400);
    cr_assert(strstr(e.msg, "'x'") && strstr(e.msg, "?x4") && strstr(e.msg, "2x5"), "%s", e.msg);
    t.shape[1] = 4;
    t.dtype = NN_I64;
    cr_assert_eq(nn_session_set_input(s, "x", &t, &e), -1);
    cr_assert(strstr(e.msg, "float32") && strstr(e.msg, "int64"), "%s", e.msg);
    t.dtype = NN_F32;
    cr_assert_eq(nn_session_set_input(s, "nope", &t, &e), -1);
    cr_assert(strstr(e.msg, "no input named 'nope'"), "%s", e.msg);
    cr_assert_eq(nn_session_run(s, &e), -1, "running without inputs fails");
    cr_assert(strstr(e.msg, "'x' was not given"), "%s", e.msg);
    nn_session_free(s);
    nn_model_free(model);
}

Test(api, load_errors)
{
    err e = {0};
    cr_assert_null(nn_model_load("/nonexistent/model.onnx", NULL, &e));
    cr_assert_eq(e.status, 404);
    const char junk[] = "this is not a protobuf \xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
    cr_assert_null(nn_model_load_memory(junk, sizeof junk, "junk.onnx", NULL, &e));
    cr_assert_eq(e.status, 400);
    cr_assert(strstr(e.msg, "junk.onnx") && strstr(e.msg, "not an ONNX model"), "%s", e.msg);

    /* every unsupported operator is reported at once, with counts */
    ob g = {0}, m = {0};
    int64_t d = 4;
    ob_input(&g, "x", NN_F32, &d, 1);
    ob_output(&g, "z", NN_F32, NULL, -1);
    ob_node(&g, "FancyOp", "f1", (const char *[]){"x"}, 1, (const char *[]){"a"}, 1, NULL);
    ob_node(&g, "FancyOp", "f2", (const char *[]){"a"}, 1, (const char *[]){"b"}, 1, NULL);
    ob_node(&g, "OtherOp", "o1", (const char *[]){"b"}, 1, (const char *[]){"z"}, 1, NULL);
    ob_model(&m, &g, 17);
    cr_assert_null(load_ob(&m, &e));
    cr_assert(strstr(e.msg, "FancyOp (2 nodes") && strstr(e.msg, "OtherOp (1 node"), "%s", e.msg);

    /* a dangling input names the node, its operator and the value */
    ob g2 = {0}, m2 = {0};
    ob_input(&g2, "x", NN_F32, &d, 1);
    ob_output(&g2, "y", NN_F32, NULL, -1);
    ob_node(&g2, "Add", "adder", (const char *[]){"x", "ghost"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m2, &g2, 17);
    cr_assert_null(load_ob(&m2, &e));
    cr_assert(strstr(e.msg, "node 'adder' (Add)") && strstr(e.msg, "'ghost'"), "%s", e.msg);

    /* shape errors found while loading name node and operator too */
    ob g3 = {0}, m3 = {0};
    int64_t a = 3, b = 5;
    ob_input(&g3, "x", NN_F32, &a, 1);
    ob_initializer(&g3, "c", NN_F32, &b, 1, NULL);
    ob_output(&g3, "y", NN_F32, NULL, -1);
    ob_node(&g3, "Add", "bad", (const char *[]){"x", "c"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m3, &g3, 17);
    cr_assert_null(load_ob(&m3, &e));
    cr_assert(strstr(e.msg, "node 'bad' (Add)") && strstr(e.msg, "do not broadcast"), "%s", e.msg);
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/nn_test_XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

Test(api, external_data_loads_and_escapes_are_refused)
{
    char *dir = tmpdir();
    float w[4] = {0.5f, -1, 2, 8};
    char path[512];
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    FILE *f = fopen(path, "wb");
    fwrite("PAD!", 1, 4, f);
    fwrite(w, 4, 4, f);
    fclose(f);
    for (int bad = 0; bad < 2; bad++) {
        ob g = {0}, m = {0}, t = {0};
        int64_t d = 4;
        ob_input(&g, "x", NN_F32, &d, 1);
        ob_output(&g, "y", NN_F32, NULL, -1);
        ob_int(&t, 1, 4);
        ob_int(&t, 2, NN_F32);
        ob_str(&t, 8, "w");
        const char *kv[3][2] = {{"location", bad ? "../weights.bin" : "weights.bin"},
                                {"offset", "4"},
                                {"length", "16"}};
        for (int i = 0; i < 3; i++) {
            ob ent = {0};
            ob_str(&ent, 1, kv[i][0]);
            ob_str(&ent, 2, kv[i][1]);
            ob_msg(&t, 13, &ent);
        }
        ob_int(&t, 14, 1);
        ob_msg(&g, 5, &t);
        ob_node(&g, "Mul", "m", (const char *[]){"x", "w"}, 2, (const char *[]){"y"}, 1, NULL);
        ob_model(&m, &g, 17);
        snprintf(path, sizeof path, "%s/model.onnx", dir);
        f = fopen(path, "wb");
        fwrite(m.buf, 1, m.len, f);
        fclose(f);
        free(m.buf);
        err e = {0};
        nn_model *model = nn_model_load(path, NULL, &e);
        if (bad) {
            cr_assert_null(model);
            cr_assert(strstr(e.msg, "relative path inside"), "%s", e.msg);
            continue;
        }
        cr_assert_not_null(model, "%s", e.msg);
        nn_session *s = nn_session_new(model, &e);
        float x[4] = {2, 2, 2, 2};
        nn_tensor in = {.dtype = NN_F32, .rank = 1, .shape = {4}, .data = x};
        cr_assert(nn_session_set_input(s, "x", &in, &e) == 0 && nn_session_run(s, &e) == 0, "%s",
                  e.msg);
        const float *y = nn_session_output_at(s, 0)->data;
        for (int i = 0; i < 4; i++) cr_assert_float_eq(y[i], 2 * w[i], 0);
        nn_session_free(s);
        nn_model_free(model);
    }
    snprintf(path, sizeof path, "rm -rf %s", dir);
    cr_assert_eq(system(path), 0);
    free(dir);
}

Test(api, fp16_weights_are_widened_once)
{
    ob g = {0}, m = {0};
    int64_t d = 3;
    uint16_t h[3] = {0x3c00, 0xc000, 0x3555}; /* 1, -2, 0.333 */
    ob_input(&g, "x", NN_F32, &d, 1);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "w", NN_F16, &d, 1, h);
    ob at = {0};
    ob_attr_i(&at, "to", NN_F32);
    ob_node(&g, "Cast", "c", (const char *[]){"w"}, 1, (const char *[]){"wf"}, 1, &at);
    ob_node(&g, "Add", "a", (const char *[]){"x", "wf"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m, &g, 17);
    err e = {0};
    nn_model *model = load_ob(&m, &e);
    cr_assert_not_null(model, "%s", e.msg);
    nn_session *s = nn_session_new(model, &e);
    float x[3] = {0, 0, 0};
    nn_tensor in = {.dtype = NN_F32, .rank = 1, .shape = {3}, .data = x};
    cr_assert(nn_session_set_input(s, "x", &in, &e) == 0 && nn_session_run(s, &e) == 0, "%s",
              e.msg);
    const float *y = nn_session_output_at(s, 0)->data;
    cr_assert_float_eq(y[0], 1.0f, 0);
    cr_assert_float_eq(y[1], -2.0f, 0);
    cr_assert_float_eq(y[2], 0.333251953125f, 0);
    nn_session_free(s);
    nn_model_free(model);
}

/* a small conv net, for the run-time properties */
static nn_model *conv_net(int threads)
{
    ob g = {0}, m = {0}, at = {0}, at2 = {0};
    int64_t xd[4] = {1, 3, 32, 32}, wd[4] = {16, 3, 3, 3}, w2d[4] = {16, 16, 3, 3};
    float *w = malloc(16 * 3 * 9 * 4), *w2 = malloc(16 * 16 * 9 * 4);
    for (int i = 0; i < 16 * 27; i++) w[i] = (float)((i * 7) % 11) / 11.0f - 0.5f;
    for (int i = 0; i < 16 * 144; i++) w2[i] = (float)((i * 5) % 13) / 13.0f - 0.5f;
    ob_input(&g, "x", NN_F32, xd, 4);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "w", NN_F32, wd, 4, w);
    ob_initializer(&g, "w2", NN_F32, w2d, 4, w2);
    ob_attr_ints(&at, "pads", (const int64_t[]){1, 1, 1, 1}, 4);
    ob_node(&g, "Conv", "c1", (const char *[]){"x", "w"}, 2, (const char *[]){"a"}, 1, &at);
    ob_node(&g, "Sigmoid", "s", (const char *[]){"a"}, 1, (const char *[]){"sa"}, 1, NULL);
    ob_node(&g, "Mul", "silu", (const char *[]){"a", "sa"}, 2, (const char *[]){"b"}, 1, NULL);
    ob_attr_ints(&at2, "pads", (const int64_t[]){1, 1, 1, 1}, 4);
    ob_node(&g, "Conv", "c2", (const char *[]){"b", "w2"}, 2, (const char *[]){"c"}, 1, &at2);
    ob_node(&g, "Add", "res", (const char *[]){"c", "b"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m, &g, 17);
    free(w);
    free(w2);
    nn_model_params p = nn_model_default_params();
    p.threads = threads;
    err e = {0};
    nn_model *model = nn_model_load_memory(m.buf, m.len, "conv.onnx", &p, &e);
    free(m.buf);
    cr_assert_not_null(model, "%s", e.msg);
    return model;
}

static float conv_input[3 * 32 * 32];

static void run_conv(nn_session *s, float *out)
{
    err e = {0};
    nn_tensor in = {.dtype = NN_F32, .rank = 4, .shape = {1, 3, 32, 32}, .data = conv_input};
    cr_assert(nn_session_set_input(s, "x", &in, &e) == 0 && nn_session_run(s, &e) == 0, "%s",
              e.msg);
    if (out) memcpy(out, nn_session_output_at(s, 0)->data, 16 * 32 * 32 * 4);
}

Test(api, running_a_plan_allocates_nothing)
{
    for (int i = 0; i < 3 * 32 * 32; i++) conv_input[i] = (float)(i % 17) / 17.0f;
    nn_model *model = conv_net(1);
    err e = {0};
    nn_session *s = nn_session_new(model, &e);
    run_conv(s, NULL);
    run_conv(s, NULL);
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 5; i++) run_conv(s, NULL);
    struct mallinfo2 after = mallinfo2();
    cr_assert_eq(after.uordblks, before.uordblks, "heap in use went from %zu to %zu bytes",
                 before.uordblks, after.uordblks);
    nn_session_free(s);
    nn_model_free(model);
}

typedef struct worker {
    nn_model *m;
    const float *want;
    int ok;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    err e = {0};
    nn_session *s = nn_session_new(w->m, &e);
    float *out = malloc(16 * 32 * 32 * 4);
    w->ok = 1;
    for (int i = 0; i < 20; i++) {
        run_conv(s, out);
        if (memcmp(out, w->want, 16 * 32 * 32 * 4)) w->ok = 0;
    }
    free(out);
    nn_session_free(s);
    return NULL;
}

Test(api, sessions_on_one_model_run_in_parallel_threads)
{
    for (int i = 0; i < 3 * 32 * 32; i++) conv_input[i] = (float)(i % 19) / 19.0f;
    nn_model *model = conv_net(1);
    err e = {0};
    nn_session *s = nn_session_new(model, &e);
    float *want = malloc(16 * 32 * 32 * 4);
    run_conv(s, want);
    nn_session_free(s);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){model, want, 0};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert(w[i].ok, "thread %d saw different outputs", i);
    }
    free(want);
    nn_model_free(model);
}

Test(api, npy_round_trip_and_errors)
{
    char *dir = tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/a.npy", dir);
    int64_t data[6] = {1, -2, 3, 4, 5, 1LL << 40};
    nn_tensor t = {.dtype = NN_I64, .rank = 2, .shape = {2, 3}, .data = data};
    err e = {0};
    cr_assert_eq(nn_npy_write(path, &t, &e), 0, "%s", e.msg);
    nn_tensor *r = nn_npy_read(path, &e);
    cr_assert_not_null(r, "%s", e.msg);
    cr_assert_eq(r->dtype, NN_I64);
    cr_assert_eq(r->rank, 2);
    cr_assert_eq(r->shape[1], 3);
    cr_assert_arr_eq(r->data, data, sizeof data);
    free(r);
    float s = 2.5f;
    nn_tensor sc = {.dtype = NN_F32, .rank = 0, .data = &s};
    cr_assert_eq(nn_npy_write(path, &sc, &e), 0);
    r = nn_npy_read(path, &e);
    cr_assert(r && r->rank == 0 && *(float *)r->data == 2.5f);
    free(r);
    static const char *headers[] = {"{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                                    "{'descr': '<f4', 'fortran_order': False, 'shape': (100,), }",
                                    "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }"};
    static const char *why[] = {"not supported", "truncated", "Fortran"};
    for (int i = 0; i < 3; i++) {
        char buf[256] = "\x93NUMPY\x01\x00";
        size_t hl = strlen(headers[i]);
        buf[8] = (char)hl;
        buf[9] = 0;
        memcpy(buf + 10, headers[i], hl);
        memset(buf + 10 + hl, 0, 8); /* 8 bytes of data: too few for 100 floats */
        cr_assert_null(nn_npy_parse(buf, 10 + hl + 8, &e));
        cr_assert(strstr(e.msg, why[i]), "%s", e.msg);
    }
    cr_assert_null(nn_npy_parse("hello", 5, &e));
    snprintf(path, sizeof path, "rm -rf %s", dir);
    cr_assert_eq(system(path), 0);
    free(dir);
}

/* Tensors without elements run (oneDNN, which divides by the extents while it chooses a
 * blocking, never sees them): Gemm and Conv on an empty batch, and a MatMul over K = 0,
 * whose [2, 3] output is all zeros. */
Test(api, empty_tensors_run)
{
    ob g = {0}, m = {0}, tb = {0};
    float w[4 * 3], b[3] = {1, 2, 3}, cw[16 * 16];
    for (int i = 0; i < 12; i++) w[i] = (float)i;
    for (int i = 0; i < 256; i++) cw[i] = (float)(i % 5);
    ob_input(&g, "x", NN_F32, (const int64_t[]){-1, 4}, 2);
    ob_input(&g, "c", NN_F32, (const int64_t[]){-1, 16, 5, 5}, 4);
    ob_input(&g, "p", NN_F32, (const int64_t[]){2, -1}, 2);
    ob_input(&g, "q", NN_F32, (const int64_t[]){-1, 3}, 2);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_output(&g, "z", NN_F32, NULL, -1);
    ob_output(&g, "u", NN_F32, NULL, -1);
    ob_initializer(&g, "w", NN_F32, (const int64_t[]){3, 4}, 2, w);
    ob_initializer(&g, "b", NN_F32, (const int64_t[]){3}, 1, b);
    ob_initializer(&g, "cw", NN_F32, (const int64_t[]){16, 16, 1, 1}, 4, cw);
    ob_attr_i(&tb, "transB", 1);
    ob_node(&g, "Gemm", "gemm", (const char *[]){"x", "w", "b"}, 3, (const char *[]){"y"}, 1, &tb);
    ob_node(&g, "Conv", "conv", (const char *[]){"c", "cw"}, 2, (const char *[]){"z"}, 1, NULL);
    ob_node(&g, "MatMul", "mm", (const char *[]){"p", "q"}, 2, (const char *[]){"u"}, 1, NULL);
    ob_model(&m, &g, 17);
    err e = {0};
    nn_model *model = load_ob(&m, &e);
    cr_assert_not_null(model, "%s", e.msg);
    nn_session *s = nn_session_new(model, &e);
    cr_assert_not_null(s, "%s", e.msg);
    float none[1] = {0};
    nn_tensor x = {.dtype = NN_F32, .rank = 2, .shape = {0, 4}, .data = none},
              c = {.dtype = NN_F32, .rank = 4, .shape = {0, 16, 5, 5}, .data = none},
              p = {.dtype = NN_F32, .rank = 2, .shape = {2, 0}, .data = none},
              q = {.dtype = NN_F32, .rank = 2, .shape = {0, 3}, .data = none};
    cr_assert(
        nn_session_set_input(s, "x", &x, &e) == 0 && nn_session_set_input(s, "c", &c, &e) == 0 &&
            nn_session_set_input(s, "p", &p, &e) == 0 && nn_session_set_input(s, "q", &q, &e) == 0,
        "%s", e.msg);
    cr_assert(nn_session_run(s, &e) == 0, "%s", e.msg);
    const nn_tensor *y = nn_session_output(s, "y"), *z = nn_session_output(s, "z"),
                    *u = nn_session_output(s, "u");
    cr_assert(y->rank == 2 && y->shape[0] == 0 && y->shape[1] == 3);
    cr_assert(z->rank == 4 && z->shape[0] == 0 && z->shape[1] == 16 && z->shape[2] == 5);
    cr_assert(u->rank == 2 && u->shape[0] == 2 && u->shape[1] == 3);
    const float *ud = u->data;
    for (int i = 0; i < 6; i++) cr_assert_eq(ud[i], 0.0f, "u[%d] = %g", i, ud[i]);
    nn_session_free(s);
    nn_model_free(model);
}

/* Split sizes whose sum overflows are refused like any that do not add up. */
/* Loads m and runs it on the n tensors (x [2, 4] of ones when n is 0); returns the error
 * status, 0 when it ran. */
static int load_and_run(ob *m, err *e, const char *const *names, const nn_tensor *ts, int n)
{
    float ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    const nn_tensor x = {.dtype = NN_F32, .rank = 2, .shape = {2, 4}, .data = ones};
    const char *xn = "x";
    if (n == 0) names = &xn, ts = &x, n = 1;
    nn_model *model = load_ob(m, e);
    if (!model) return e->status;
    nn_session *s = nn_session_new(model, e);
    bool ok = s != NULL;
    for (int i = 0; ok && i < n; i++) ok = nn_session_set_input(s, names[i], &ts[i], e) == 0;
    ok = ok && nn_session_run(s, e) == 0;
    nn_session_free(s);
    nn_model_free(model);
    return ok ? 0 : e->status;
}

Test(api, split_sizes_that_overflow_are_refused)
{
    ob g = {0}, m = {0}, ax = {0};
    const int64_t sizes[2] = {INT64_MAX - 1, 5};
    ob_input(&g, "x", NN_F32, (const int64_t[]){4}, 1);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_output(&g, "z", NN_F32, NULL, -1);
    ob_initializer(&g, "s", NN_I64, (const int64_t[]){2}, 1, sizes);
    ob_attr_i(&ax, "axis", 0);
    ob_node(&g, "Split", "sp", (const char *[]){"x", "s"}, 2, (const char *[]){"y", "z"}, 2, &ax);
    ob_model(&m, &g, 17);
    float x[4] = {1, 2, 3, 4};
    nn_tensor t = {.dtype = NN_F32, .rank = 1, .shape = {4}, .data = x};
    err e = {0};
    load_and_run(&m, &e, (const char *[]){"x"}, &t, 1);
    cr_assert_eq(e.status, 400, "%d %s", e.status, e.msg);
    cr_assert(strstr(e.msg, "split sizes do not add up"), "%s", e.msg);
}

/* An ints attribute longer than any rank is refused, never read past its end (fuzz_onnx:
 * ReduceMean with nine axes read axes[8] of an 8-entry array). */
Test(api, attribute_lists_longer_than_any_rank_are_refused)
{
    ob g = {0}, m = {0}, ax = {0};
    const int64_t axes[9] = {0, 1, 0, 1, 0, 1, 0, 1, 0};
    ob_input(&g, "x", NN_F32, (const int64_t[]){2, 3}, 2);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_attr_ints(&ax, "axes", axes, 9);
    ob_node(&g, "ReduceMean", "rm", (const char *[]){"x"}, 1, (const char *[]){"y"}, 1, &ax);
    ob_model(&m, &g, 13);
    float x[6] = {1, 2, 3, 4, 5, 6};
    nn_tensor t = {.dtype = NN_F32, .rank = 2, .shape = {2, 3}, .data = x};
    err e = {0};
    load_and_run(&m, &e, (const char *[]){"x"}, &t, 1);
    cr_assert_eq(e.status, 400, "%d %s", e.status, e.msg);
    cr_assert(strstr(e.msg, "axes must be a list of at most 8 integers"), "%s", e.msg);
}

/* The load passes match patterns before any operator has checked its inputs: a node with
 * fewer inputs than its op takes, inside a LayerNorm, GELU or Conv + BatchNormalization
 * pattern, is a 400 naming the node, never a read past its input list (fuzz_onnx: a Pow
 * with one input in a LayerNorm pattern). A node without outputs is refused at load. */
Test(api, short_nodes_in_patterns_are_refused)
{
    int64_t ax = -1;
    float c[4] = {1, 1, 1, 1};
    for (int k = 0; k < 3; k++) {
        ob g = {0}, m = {0}, a = {0};
        ob_input(&g, "x", NN_F32, (const int64_t[]){2, 4}, 2);
        ob_output(&g, "y", NN_F32, NULL, -1);
        ob_initializer(&g, "c", NN_F32, (const int64_t[]){4}, 1, c);
        const char *bad = NULL;
        if (k == 0) { /* LayerNorm with a one-input Pow */
            ob_attr_ints(&a, "axes", &ax, 1);
            ob_node(&g, "ReduceMean", "m", (const char *[]){"x"}, 1, (const char *[]){"mu"}, 1, &a);
            ob_node(&g, "Sub", "s", (const char *[]){"x", "mu"}, 2, (const char *[]){"d"}, 1, NULL);
            ob_node(&g, "Pow", "p", (const char *[]){"d"}, 1, (const char *[]){"d2"}, 1, NULL);
            ob_node(&g, "Div", "n", (const char *[]){"d", "d2"}, 2, (const char *[]){"y"}, 1, NULL);
            bad = "'p' (Pow)";
        } else if (k == 1) { /* GELU with a one-input Div */
            ob_node(&g, "Div", "t", (const char *[]){"x"}, 1, (const char *[]){"t"}, 1, NULL);
            ob_node(&g, "Erf", "u", (const char *[]){"t"}, 1, (const char *[]){"u"}, 1, NULL);
            ob_node(&g, "Add", "v", (const char *[]){"u", "c"}, 2, (const char *[]){"y"}, 1, NULL);
            bad = "'t' (Div)";
        } else { /* a Mul without outputs */
            ob_node(&g, "Relu", "r", (const char *[]){"x"}, 1, (const char *[]){"y"}, 1, NULL);
            ob_node(&g, "Mul", "nothing", (const char *[]){"x", "c"}, 2, NULL, 0, NULL);
            bad = "'nothing' (Mul): has no output";
        }
        ob_model(&m, &g, 17);
        err e = {0};
        cr_assert_eq(load_and_run(&m, &e, NULL, NULL, 0), 400, "case %d: %d %s", k, e.status,
                     e.msg);
        cr_assert(strstr(e.msg, bad), "case %d: %s", k, e.msg);
    }
}

/* Parameters of another type or size than the kernels read are a 400 naming the node
 * (fuzz_onnx: a Conv with an fp16 bias on fp32 input read 4-byte values from a 2-byte
 * buffer). */
Test(api, parameters_of_another_type_or_size_are_refused)
{
    const char *want[3] = {"'c' (Conv): input, weights and bias must have one type",
                           "'g' (Gemm): needs 2-D A and B and a C of one float type",
                           "'i' (InstanceNormalization): scale and bias must be one float type"};
    float w[4 * 4] = {0}, s[3] = {1, 1, 1};
    for (int k = 0; k < 3; k++) {
        ob g = {0}, m = {0};
        ob_input(&g, "x", NN_F32, (const int64_t[]){2, 4}, 2);
        ob_output(&g, "y", NN_F32, NULL, -1);
        ob_input(&g, "h", NN_F16, (const int64_t[]){4}, 1);
        ob_initializer(&g, "s", NN_F32, (const int64_t[]){3}, 1, s);
        if (k == 0) {
            ob_initializer(&g, "w", NN_F32, (const int64_t[]){4, 4, 1}, 3, w);
            ob_initializer(&g, "sh", NN_I64, (const int64_t[]){3}, 1, (const int64_t[]){2, 4, 1});
            ob_node(&g, "Reshape", "r", (const char *[]){"x", "sh"}, 2, (const char *[]){"x3"}, 1,
                    NULL);
            ob_node(&g, "Conv", "c", (const char *[]){"x3", "w", "h"}, 3, (const char *[]){"y"}, 1,
                    NULL);
        } else if (k == 1) {
            ob_initializer(&g, "w", NN_F32, (const int64_t[]){4, 4}, 2, w);
            ob_node(&g, "Gemm", "g", (const char *[]){"x", "w", "h"}, 3, (const char *[]){"y"}, 1,
                    NULL);
        } else {
            ob_initializer(&g, "sh", NN_I64, (const int64_t[]){3}, 1, (const int64_t[]){2, 4, 1});
            ob_node(&g, "Reshape", "r", (const char *[]){"x", "sh"}, 2, (const char *[]){"x3"}, 1,
                    NULL);
            ob_node(&g, "InstanceNormalization", "i", (const char *[]){"x3", "s", "s"}, 3,
                    (const char *[]){"y"}, 1, NULL);
        }
        ob_model(&m, &g, 17);
        float x[8] = {0};
        uint16_t h[4] = {0};
        const nn_tensor ts[2] = {{.dtype = NN_F32, .rank = 2, .shape = {2, 4}, .data = x},
                                 {.dtype = NN_F16, .rank = 1, .shape = {4}, .data = h}};
        err e = {0};
        load_and_run(&m, &e, (const char *[]){"x", "h"}, ts, 2);
        cr_assert_eq(e.status, 400, "case %d: %d %s", k, e.status, e.msg);
        cr_assert(strstr(e.msg, want[k]), "case %d: %s", k, e.msg);
    }
}

/* Scalars and zero points the kernels read at index 0 (or per channel) must be there:
 * an empty Clip min, a CumSum axis of two values, a Range with an int32 delta on int64
 * bounds, a ConvInteger weight zero point of 2 values for 4 channels: each a 400. */
Test(api, missing_or_mistyped_scalars_are_refused)
{
    const char *want[4] = {"'k' (Clip): min must be a single number",
                           "'k' (CumSum): axis must be a single int32 or int64",
                           "'k' (Range): start, limit and delta must have one type",
                           "'k' (ConvInteger): zero points must have their tensor's type"};
    for (int k = 0; k < 4; k++) {
        ob g = {0}, m = {0}, to = {0};
        ob_attr_i(&to, "to", k == 2 ? 1 : 2); /* float, uint8 */
        ob_input(&g, "x", NN_F32, (const int64_t[]){2, 4}, 2);
        ob_output(&g, "y", NN_F32, NULL, -1);
        const int64_t two[2] = {0, 1}, one = 1, zero = 0;
        const int32_t d32 = 1;
        const uint8_t w8[4 * 4] = {0}, wz[2] = {0, 0};
        if (k == 0) {
            ob_initializer(&g, "lo", NN_F32, (const int64_t[]){0}, 1, NULL);
            ob_node(&g, "Clip", "k", (const char *[]){"x", "lo"}, 2, (const char *[]){"y"}, 1,
                    NULL);
        } else if (k == 1) {
            ob_initializer(&g, "a", NN_I64, (const int64_t[]){2}, 1, two);
            ob_node(&g, "CumSum", "k", (const char *[]){"x", "a"}, 2, (const char *[]){"y"}, 1,
                    NULL);
        } else if (k == 2) {
            ob_initializer(&g, "s", NN_I64, NULL, 0, &zero);
            ob_initializer(&g, "l", NN_I64, NULL, 0, &one);
            ob_initializer(&g, "d", NN_I32, NULL, 0, &d32);
            ob_node(&g, "Range", "k", (const char *[]){"s", "l", "d"}, 3, (const char *[]){"r"}, 1,
                    NULL);
            ob_node(&g, "Cast", "c", (const char *[]){"r"}, 1, (const char *[]){"rf"}, 1, &to);
            ob_node(&g, "Add", "y", (const char *[]){"x", "rf"}, 2, (const char *[]){"y"}, 1, NULL);
        } else {
            ob_initializer(&g, "w", NN_U8, (const int64_t[]){4, 4, 1, 1}, 4, w8);
            ob_initializer(&g, "wz", NN_U8, (const int64_t[]){2}, 1, wz);
            ob_initializer(&g, "sh", NN_I64, (const int64_t[]){4}, 1,
                           (const int64_t[]){2, 4, 1, 1});
            ob_node(&g, "Reshape", "r", (const char *[]){"x", "sh"}, 2, (const char *[]){"x4"}, 1,
                    NULL);
            ob_node(&g, "Cast", "c", (const char *[]){"x4"}, 1, (const char *[]){"xq"}, 1, &to);
            ob_node(&g, "ConvInteger", "k", (const char *[]){"xq", "w", "", "wz"}, 4,
                    (const char *[]){"y"}, 1, NULL);
        }
        ob_model(&m, &g, 17);
        err e = {0};
        cr_assert_eq(load_and_run(&m, &e, NULL, NULL, 0), 400, "case %d: %d %s", k, e.status,
                     e.msg);
        cr_assert(strstr(e.msg, want[k]), "case %d: %s", k, e.msg);
    }
}

/* An integer Pow whose result no int64 holds (10^400) is computed without undefined
 * behaviour (fuzz_onnx: converting inf to int64); the sanitizer build stops on it. */
Test(api, integer_results_beyond_int64_are_defined)
{
    ob g = {0}, m = {0};
    const int32_t big = 400;
    ob_input(&g, "x", NN_I32, (const int64_t[]){2}, 1);
    ob_output(&g, "y", NN_I32, NULL, -1);
    ob_initializer(&g, "e", NN_I32, (const int64_t[]){1}, 1, &big);
    ob_node(&g, "Pow", "p", (const char *[]){"x", "e"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m, &g, 17);
    err e = {0};
    nn_model *model = load_ob(&m, &e);
    cr_assert_not_null(model, "%s", e.msg);
    nn_session *s = nn_session_new(model, &e);
    int32_t x[2] = {10, 2};
    nn_tensor t = {.dtype = NN_I32, .rank = 1, .shape = {2}, .data = x};
    cr_assert(nn_session_set_input(s, "x", &t, &e) == 0 && nn_session_run(s, &e) == 0, "%s", e.msg);
    const int32_t *y = nn_session_output(s, "y")->data;
    cr_assert_eq(y[0], y[1]); /* both saturate to the same bits */
    nn_session_free(s);
    nn_model_free(model);
}
