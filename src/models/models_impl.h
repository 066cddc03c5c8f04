/* Private to src/models: the compiled-in manifest and the fetching helpers. */
#ifndef ARTISTRY_MODELS_IMPL_H
#define ARTISTRY_MODELS_IMPL_H

#include "models/models.h"

#include <sodium.h>
#include <stddef.h>

/* data/models.json, generated into the build tree by embed_text.py. */
extern const char models_manifest_json[];
extern const size_t models_manifest_json_len;

/* A file being written, with a limit on its size. */
typedef struct models_sink {
    int fd;
    uint64_t bytes;
    uint64_t limit; /* more than this is refused (0: no limit) */
} models_sink;

/* Downloads url into path (created, 0644), following redirects, HTTP(S) only; at most
 * limit bytes (0: any; more is 422). 502 when no good answer came. */
int models_download(const char *url, const char *path, uint64_t limit, bool progress, err *e);
/* SHA-256 (hex) and, when sha512_b64 is not NULL (96 bytes), SHA-512 (base64) of a file
 * that is not a symbolic link. -1 with e (404/500). */
int models_hash_file(const char *path, char sha256_hex[65], char *sha512_b64, uint64_t *size,
                     err *e);
/* Copies src to dst the same way. */
int models_copy(const char *src, const char *dst, uint64_t limit, err *e);
/* Runs argv (argv[0] looked up in PATH) with stdout to /dev/null, waits. Returns its exit
 * status, 127 when it could not be started. */
int models_run(char *const argv[]);

#endif
