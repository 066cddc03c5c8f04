/*
 * nn — our ONNX inference engine for the CPU.
 *
 *     err e = {0};
 *     nn_model_params mp = nn_model_default_params();
 *     mp.threads = 2;
 *     nn_model *m = nn_model_load("yolov8n.onnx", &mp, &e);      // once, shared by threads
 *     if (!m) { fprintf(stderr, "%s\n", e.msg); ... }
 *     const nn_value_info *in = nn_model_input(m, 0);           // "images" [1,3,640,640]
 *     const char *names = nn_model_meta(m, "names");             // Ultralytics class names
 *
 *     nn_session *s = nn_session_new(m, &e);                     // one per worker thread
 *     nn_tensor x = {.dtype = NN_F32, .rank = 4, .shape = {1, 3, 640, 640}, .data = pixels};
 *     if (nn_session_set_input(s, "images", &x, &e) != 0 || nn_session_run(s, &e) != 0) ...
 *     const nn_tensor *y = nn_session_output(s, "output0");      // [1,84,8400], owned by s
 *     nn_session_free(s);
 *     nn_model_free(m);
 *
 * Loading maps the file, parses the graph, reports every unsupported operator at once and
 * runs the shape-independent graph passes. The first run with a given set of input shapes
 * builds a plan (shape inference, shape-dependent folding, layouts, memory by liveness,
 * kernels with their oneDNN primitives) that the model caches for every session; later
 * runs with the same shapes allocate nothing.
 *
 * Threading: an nn_model is read-only after loading except for its plan cache, which is
 * locked; any number of threads may run their own sessions on one model at once. A
 * session belongs to one thread at a time. Kernels use OpenMP with the model's thread count.
 *
 * Errors name the model file and, where one is involved, the node and its operator:
 * "yolov8n.onnx: node '/model.0/conv/Conv' (Conv): input 'x' has rank 3, expected 4".
 */
#ifndef ARTISTRY_NN_H
#define ARTISTRY_NN_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NN_MAX_RANK 8

/* Element types, numbered as ONNX TensorProto.DataType numbers them. */
typedef enum nn_dtype {
    NN_UNDEFINED = 0,
    NN_F32 = 1,
    NN_U8 = 2,
    NN_I8 = 3,
    NN_U16 = 4,
    NN_I16 = 5,
    NN_I32 = 6,
    NN_I64 = 7,
    NN_STRING = 8,
    NN_BOOL = 9,
    NN_F16 = 10,
    NN_F64 = 11,
    NN_U32 = 12,
    NN_U64 = 13,
    NN_BF16 = 16,
} nn_dtype;

/* Bytes per element (0 for NN_UNDEFINED; sizeof(char *) for NN_STRING). */
size_t nn_dtype_size(nn_dtype t);
/* "float32", "int64", ...; "undefined" for unknown numbers. */
const char *nn_dtype_name(nn_dtype t);

/* A dense row-major tensor. As an input it is borrowed; as an output it points into the
 * session that produced it. NN_STRING data is an array of NUL-terminated char pointers. */
typedef struct nn_tensor {
    nn_dtype dtype;
    int rank;
    int64_t shape[NN_MAX_RANK];
    void *data;
} nn_tensor;

/* Number of elements of a tensor / of a shape (1 for rank 0). */
int64_t nn_tensor_count(const nn_tensor *t);
int64_t nn_shape_count(const int64_t *shape, int rank);
/* Formats a shape as "1x3x640x640" ("?" for a dynamic dimension, "scalar" for rank 0). */
void nn_shape_str(const int64_t *shape, int rank, char *out, size_t cap);

/* What the model declares about one graph input or output. */
typedef struct nn_value_info {
    const char *name;
    nn_dtype dtype;
    int rank;                           /* -1 when the model does not declare it */
    int64_t shape[NN_MAX_RANK];         /* -1 for a dynamic dimension */
    const char *dim_names[NN_MAX_RANK]; /* symbolic name of a dynamic dimension, or NULL */
} nn_value_info;

typedef enum nn_precision {
    NN_PRECISION_FP32 = 0,
    /* Convolutions in bfloat16 (inputs and weights rounded to bf16, f32 accumulation and
     * outputs; every other operator f32). Needs avx512_bf16: loading fails (400) without. */
    NN_PRECISION_BF16 = 1,
} nn_precision;

typedef enum nn_isa {
    NN_ISA_AUTO = 0, /* the best the CPU has */
    NN_ISA_SCALAR,
    NN_ISA_AVX2,
    NN_ISA_AVX512,
} nn_isa;

typedef struct nn_model_params {
    int threads;            /* 0: $NN_THREADS, else every core */
    nn_precision precision; /* default fp32 */
    nn_isa isa;             /* our own kernels; default: from CPU features */
    bool optimize;          /* graph passes and fusions (default true) */
    bool blocked_layout;    /* keep conv chains in oneDNN's blocked layout (default true) */
    bool profile;           /* time every step of every run (nn_session_profile) */
    size_t max_arena;       /* refuse plans needing a larger session arena (0: no limit) */
} nn_model_params;

nn_model_params nn_model_default_params(void);

typedef struct nn_model nn_model;
typedef struct nn_session nn_session;

/* Loads an ONNX file. The file is memory-mapped for the life of the model; external
 * data files (`location` relative to the model's folder) are mapped too. Returns NULL
 * with e set (400 for a malformed or unsupported model, 404 for a missing file). */
nn_model *nn_model_load(const char *path, const nn_model_params *p, err *e);
/* The same from bytes in memory, copied; `name` stands for the file in messages. */
nn_model *nn_model_load_memory(const void *data, size_t len, const char *name,
                               const nn_model_params *p, err *e);
void nn_model_free(nn_model *m);

int nn_model_input_count(const nn_model *m);
int nn_model_output_count(const nn_model *m);
/* Index i in [0, count); the result lives as long as the model. */
const nn_value_info *nn_model_input(const nn_model *m, int i);
const nn_value_info *nn_model_output(const nn_model *m, int i);
/* The value of metadata_props[key], or NULL; lives as long as the model. */
const char *nn_model_meta(const nn_model *m, const char *key);
int nn_model_meta_count(const nn_model *m);
void nn_model_meta_at(const nn_model *m, int i, const char **key, const char **value);
/* Threads the model's kernels use. */
int nn_model_threads(const nn_model *m);

/* Statistics for `artistry nn info`: nodes per operator (after loading, before passes),
 * parameter count (elements of float initializers), and FLOPs of one run with the given
 * input shapes (multiply-adds of Conv/ConvTranspose/MatMul/Gemm count 2). */
typedef struct nn_op_count {
    const char *op;
    int count;
} nn_op_count;
typedef struct nn_model_stats {
    int n_nodes;
    int n_ops;
    nn_op_count ops[128];
    int64_t params;
    int64_t weight_bytes;
} nn_model_stats;
void nn_model_stats_get(const nn_model *m, nn_model_stats *st);
/* FLOPs for inputs of the given shapes (NULL: the declared ones). Returns -1 with e set
 * when the shapes do not fit the model. */
double nn_model_flops(nn_model *m, const nn_tensor *inputs, const char *const *names, int n,
                      err *e);

/* A session: the arena, oneDNN stream and output views of one run at a time. */
nn_session *nn_session_new(nn_model *m, err *e);
void nn_session_free(nn_session *s);

/* Binds an input by name. The data is borrowed until nn_session_run returns; dtype and
 * rank must be what the model declares, and fixed dimensions must match (400 otherwise,
 * naming the input and both shapes). */
int nn_session_set_input(nn_session *s, const char *name, const nn_tensor *t, err *e);
/* Runs the model on the bound inputs. Returns 0, or -1 with e set (400 for inputs that do
 * not fit the model, 422 for a model that cannot be planned for these shapes). */
int nn_session_run(nn_session *s, err *e);
/* An output of the last run, by name or index; NULL when there is none. Its data belongs
 * to the session and is valid until the next run or nn_session_free. */
const nn_tensor *nn_session_output(nn_session *s, const char *name);
const nn_tensor *nn_session_output_at(nn_session *s, int i);

/* Per-step timings of the runs since the last reset (params.profile must be set). */
typedef struct nn_profile_entry {
    const char *node; /* node name (fused nodes carry the name of their main node) */
    const char *op;   /* operator, with a "+..." suffix for fused post-operations */
    double ms;        /* total over the runs */
    int runs;
} nn_profile_entry;
/* Returns the number of entries and points *out at them (owned by the session). */
int nn_session_profile(nn_session *s, const nn_profile_entry **out);
void nn_session_profile_reset(nn_session *s);
/* Bytes of the session's arena for its current plan. */
size_t nn_session_arena_bytes(const nn_session *s);

/* Call first thing in main(). OpenMP threads that wait at a barrier spin for about 8 ms
 * by default, which on a machine shared with other work burns a core after every run;
 * sleeping at once instead makes runs after an idle moment up to 50% slower (each of the
 * many wake-ups lands the thread beside the running one). The policy is read once when
 * the OpenMP runtime loads, before main. So unless the environment already sets
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT, this re-executes the program (argv as given to main)
 * with GOMP_SPINCOUNT set for a spin of about 1 ms. Returns when nothing needs doing or
 * the re-execution failed. */
void nn_process_init(char **argv);

/* ---------------------------------------------------------------- NumPy files */

/* Reads a .npy file (version 1-3, little-endian, C order; f32, f64, f16, i8..i64, u8..u64,
 * bool) into a malloc'ed tensor whose data follows the struct (free with free()).
 * Returns NULL with e set (400 naming the problem). */
nn_tensor *nn_npy_read(const char *path, err *e);
nn_tensor *nn_npy_parse(const void *buf, size_t len, err *e);
/* Writes t as a version-1 .npy file. Returns 0 or -1 with e set. */
int nn_npy_write(const char *path, const nn_tensor *t, err *e);

/* ---------------------------------------------------------------- ONNX tensors */

/* Parses a serialized TensorProto (as the ONNX test cases store them) into a malloc'ed
 * tensor like nn_npy_read; *name (may be NULL) receives a malloc'ed copy of its name. */
nn_tensor *nn_tensor_proto_parse(const void *buf, size_t len, char **name, err *e);

#endif
