/*
 * core — what every other module stands on: errors, logging, configuration,
 * arenas, base64, content hashing and an LRU cache.
 *
 *     err e = {0};
 *     if (cfg_load("detect", &e) != 0) { fprintf(stderr, "%s\n", e.msg); exit(2); }
 *     long port;
 *     if (cfg_int("PORT", 8001, 1, 65535, &port, &e) != 0) ...   // "PORT: 'abc' is not an integer"
 *     log_info("listening port=%ld", port);
 *
 *     arena *a = arena_new(0);
 *     char *s = arena_sprintf(a, "%s/%s", dir, name);   // lives until arena_free(a)
 *     arena_free(a);
 *
 * Conventions used across the project:
 * - A function that can fail on outside input takes an `err *` (may be NULL), fills it and
 *   returns -1 or NULL. `err.status` is an HTTP status (400, 413, 422, 500, 503...) so a
 *   service can answer with it directly; `err.msg` is a sentence meant for the user.
 * - Strings returned by `*_dup`/`*_encode` functions are malloc'ed: the caller frees them.
 */
#ifndef ARTISTRY_CORE_H
#define ARTISTRY_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)    ((a) < (b) ? (a) : (b))
#define MAX(a, b)    ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define AR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define AR_PRINTF(f, a)
#endif

/* ---------------------------------------------------------------- errors */

typedef struct err {
    int status;    /* HTTP-like status; 0 while no error was set */
    char msg[512]; /* one sentence for the user, no trailing newline */
} err;

/* Sets *e (when e is not NULL), replacing any previous error. */
void err_set(err *e, int status, const char *fmt, ...) AR_PRINTF(3, 4);
void err_vset(err *e, int status, const char *fmt, va_list ap) AR_PRINTF(3, 0);
/* Prefixes the current message with context: "file.onnx: " + old message. */
void err_prefix(err *e, const char *fmt, ...) AR_PRINTF(2, 3);
void err_clear(err *e);

/* Allocation that cannot fail quietly: aborts with a message when memory is exhausted
 * (that is our environment failing, not outside input). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) AR_PRINTF(1, 2);

/* ---------------------------------------------------------------- logging */

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF } log_level;

/* Logging writes one line per event to stderr:
 *   ts=2026-11-27T10:13:00.123Z level=info svc=detect rid=3f2a9c msg="listening" port=8001
 * or, with LOG_FORMAT=json, one JSON object per line. The message format string may end
 * with key=value pairs of its own; everything after the first " " that follows a
 * `key=` token is kept verbatim. */
void log_init(const char *service, log_level level, bool json);
log_level log_level_parse(const char *s, bool *ok);
void log_set_level(log_level level);
bool log_enabled(log_level level);
/* The request id of the calling thread, printed on every line; NULL clears it. */
void log_set_request_id(const char *rid);
const char *log_request_id(void);
void log_write(log_level level, const char *fmt, ...) AR_PRINTF(2, 3);
void log_vwrite(log_level level, const char *fmt, va_list ap) AR_PRINTF(2, 0);

#define log_debug(...)                                                 \
    do {                                                               \
        if (log_enabled(LOG_DEBUG)) log_write(LOG_DEBUG, __VA_ARGS__); \
    } while (0)
#define log_info(...)  log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

/* ---------------------------------------------------------------- configuration */

/* Loads configuration for one service into the process environment. Order of precedence,
 * highest first: the real environment, then `$ARTISTRY_CONFIG_DIR/<service>.env`, then
 * `$ARTISTRY_CONFIG_DIR/.env` (ARTISTRY_CONFIG_DIR defaults to the working directory).
 * Missing files are fine; a malformed line is an error naming the file and line.
 * `service` may be NULL to load only the global file. Returns 0 or -1. */
int cfg_load(const char *service, err *e);
/* Parses one .env file into the environment without overriding variables already set
 * by the environment itself. Returns 0, or -1 with e naming file and line. */
int cfg_load_file(const char *path, err *e);

/* Typed getters. Each looks `name` up; when unset or empty it stores `def`. A value that
 * does not parse or lies outside [min, max] is refused: -1 with e saying e.g.
 * "PORT: 'abc' is not an integer". */
const char *cfg_str(const char *name, const char *def);
/* The first of several names that is set (new name first, then the original's). */
const char *cfg_str_any(const char *const *names, const char *def);
int cfg_int(const char *name, long def, long min, long max, long *out, err *e);
int cfg_double(const char *name, double def, double min, double max, double *out, err *e);
int cfg_bool(const char *name, bool def, bool *out, err *e);
/* Parses a boolean as pydantic does: true/false/1/0/yes/no/on/off/t/f/y/n, any case. */
bool parse_bool(const char *s, bool *out);
/* Byte sizes: "1048576", "512k", "10M", "2G" (powers of 1024). */
int cfg_size(const char *name, size_t def, size_t min, size_t max, size_t *out, err *e);

/* ---------------------------------------------------------------- arenas */

/* A bump allocator whose memory is all released at once. Not thread-safe: one arena
 * belongs to one request or one job. Allocations are 16-byte aligned (64 with
 * arena_alloc_aligned). */
typedef struct arena arena;

arena *arena_new(size_t first_block);
void arena_free(arena *a);
/* Forgets every allocation but keeps the largest block for reuse. */
void arena_reset(arena *a);
void *arena_alloc(arena *a, size_t n);
void *arena_alloc_aligned(arena *a, size_t n, size_t align);
void *arena_calloc(arena *a, size_t n, size_t size);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_sprintf(arena *a, const char *fmt, ...) AR_PRINTF(2, 3);
/* Bytes handed out so far (for accounting and tests). */
size_t arena_used(const arena *a);

/* ---------------------------------------------------------------- base64 */

/* Standard alphabet with padding. Returns a malloc'ed NUL-terminated string. */
char *b64_encode(const void *data, size_t len, size_t *out_len);
/* Decodes standard base64; padding is optional and ASCII whitespace is skipped. Anything
 * else (a "data:" prefix, URL-safe characters, a truncated quantum) is an error (400)
 * saying where the input stops being base64. Returns malloc'ed bytes (NUL-terminated for
 * convenience, the terminator is not counted in *out_len). */
unsigned char *b64_decode(const char *text, size_t len, size_t *out_len, err *e);
/* An upper bound of the decoded size, for limits before decoding. */
size_t b64_decoded_max(size_t text_len);

/* ---------------------------------------------------------------- hashing */

/* XXH3: fast non-cryptographic content hashes for caches. */
uint64_t hash64(const void *data, size_t len);
/* A keyed hash (SipHash-2-4, libsodium's crypto_shorthash) under a key drawn at random
 * once per process: for cache keys made from what clients send, so that no client can
 * make its input collide with another's (hash64 is not built for that). ~3 GB/s. */
uint64_t hash64_keyed(const void *data, size_t len);
/* 128-bit XXH3 as 32 lowercase hex characters + NUL into out[33]. */
void hash128_hex(const void *data, size_t len, char out[33]);

/* ---------------------------------------------------------------- LRU cache */

/* A thread-safe LRU cache from 64-bit keys (content hashes) to reference-counted values.
 * The cache holds one reference to each value it stores; lru_get hands the caller one
 * more, which the caller gives back with lru_release. A value is destroyed (free_fn)
 * when it has left the cache and its last reference is released, so eviction never
 * pulls data from under a reader. Capacity counts entries and, when max_bytes > 0,
 * the byte sizes given to lru_put. */
typedef struct lru lru;
typedef void (*lru_free_fn)(void *value);

lru *lru_new(size_t max_entries, size_t max_bytes, lru_free_fn free_fn);
void lru_free(lru *c);
/* Returns the value for key with a reference for the caller, or NULL. */
void *lru_get(lru *c, uint64_t key);
/* Stores value under key (replacing an older one) and returns it with a reference for
 * the caller, who must lru_release it. A value larger than max_bytes is not cached: it
 * is returned with the caller's reference only. */
void *lru_put(lru *c, uint64_t key, void *value, size_t bytes);
void lru_release(lru *c, void *value);
size_t lru_count(lru *c);
size_t lru_bytes(lru *c);
/* Hit/miss counters since creation. */
void lru_stats(lru *c, uint64_t *hits, uint64_t *misses);

/* ---------------------------------------------------------------- time and files */

/* Monotonic clock in seconds / nanoseconds. */
double now_s(void);
uint64_t now_ns(void);
/* Wall clock as naive ISO-8601 UTC with microseconds, Python style (fraction omitted when
 * zero): "2026-01-22T10:11:12.123000". out must hold 32 bytes. */
void iso8601_utc(double epoch_s, char out[32]);
double wall_s(void);

/* Reads a whole file into malloc'ed memory (NUL-terminated). Returns NULL with e set. */
char *file_read(const char *path, size_t *len, err *e);
/* Writes atomically (temporary file + rename). */
int file_write(const char *path, const void *data, size_t len, err *e);
/* Resident set size of this process now and at its peak, in bytes (0 when unknown). */
size_t proc_rss_bytes(void);
size_t proc_peak_rss_bytes(void);

/* Fills out with n random bytes from the OS (libsodium). */
void random_bytes(void *out, size_t n);
/* A random RFC 4122 version-4 UUID, lowercase with dashes, into out[37]. */
void uuid4(char out[37]);

#endif
