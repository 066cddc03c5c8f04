/* Getting bytes onto disk and hashing them: local copies, libcurl downloads, child
 * processes (npm, tar). */
#include "models/models_impl.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int sink_open(models_sink *s, const char *path, uint64_t limit, err *e)
{
    memset(s, 0, sizeof *s);
    s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (s->fd < 0) {
        err_set(e, 500, "%s: %s", path, strerror(errno));
        return -1;
    }
    s->limit = limit;
    return 0;
}

/* Returns false when the data goes past the limit or cannot be written. */
static bool sink_write(models_sink *s, const void *data, size_t n)
{
    if (s->limit && s->bytes + n > s->limit) return false;
    const unsigned char *p = data;
    s->bytes += n;
    while (n) {
        ssize_t w = write(s->fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static int sink_close(models_sink *s, const char *path, err *e)
{
    if (fsync(s->fd) != 0 || close(s->fd) != 0) {
        err_set(e, 500, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Calls fn on each chunk of a file (a symbolic link only when follow is set); fn returns
 * false to stop (its error already set). -1 with e on failure. */
static int read_chunks(const char *path, bool follow,
                       bool (*fn)(void *ud, const unsigned char *p, size_t n), void *ud, err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        err_set(e, errno == ENOENT ? 404 : 500, "%s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char *buf = xmalloc(1 << 20);
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, buf, 1 << 20);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) err_set(e, 500, "%s: %s", path, strerror(errno));
        if (r < 0 || (r > 0 && !fn(ud, buf, (size_t)r))) rc = -1;
        if (r <= 0 || rc) break;
    }
    free(buf);
    close(fd);
    return rc;
}

typedef struct hashing {
    crypto_hash_sha256_state s256;
    crypto_hash_sha512_state s512;
    bool sha512;
    uint64_t total;
} hashing;

static bool hash_chunk(void *ud, const unsigned char *p, size_t n)
{
    hashing *h = ud;
    crypto_hash_sha256_update(&h->s256, p, n);
    if (h->sha512) crypto_hash_sha512_update(&h->s512, p, n);
    h->total += n;
    return true;
}

int models_hash_file(const char *path, char sha256_hex[65], char *sha512_b64, uint64_t *size,
                     err *e)
{
    hashing h = {.sha512 = sha512_b64 != NULL};
    crypto_hash_sha256_init(&h.s256);
    crypto_hash_sha512_init(&h.s512);
    if (read_chunks(path, false, hash_chunk, &h, e) != 0) return -1;
    unsigned char d256[crypto_hash_sha256_BYTES], d512[crypto_hash_sha512_BYTES];
    crypto_hash_sha256_final(&h.s256, d256);
    sodium_bin2hex(sha256_hex, 65, d256, sizeof d256);
    if (sha512_b64) {
        crypto_hash_sha512_final(&h.s512, d512);
        sodium_bin2base64(sha512_b64, 96, d512, sizeof d512, sodium_base64_VARIANT_ORIGINAL);
    }
    if (size) *size = h.total;
    return 0;
}

int models_sha256_file(const char *path, char hex[65], uint64_t *size, err *e)
{
    return models_hash_file(path, hex, NULL, size, e);
}

typedef struct copying {
    models_sink sink;
    const char *src, *dst;
    err *e;
} copying;

static bool copy_chunk(void *ud, const unsigned char *p, size_t n)
{
    copying *c = ud;
    if (sink_write(&c->sink, p, n)) return true;
    if (c->sink.limit && c->sink.bytes + n > c->sink.limit)
        err_set(c->e, 422, "%s is larger than the %llu bytes expected", c->src,
                (unsigned long long)c->sink.limit);
    else
        err_set(c->e, 500, "%s: %s", c->dst, strerror(errno));
    return false;
}

int models_copy(const char *src, const char *dst, uint64_t limit, err *e)
{
    copying c = {.src = src, .dst = dst, .e = e};
    if (sink_open(&c.sink, dst, limit, e) != 0) return -1;
    if (read_chunks(src, true, copy_chunk, &c, e) != 0) {
        close(c.sink.fd);
        return -1;
    }
    return sink_close(&c.sink, dst, e);
}

/* ---------------------------------------------------------------- downloads */

typedef struct dl {
    models_sink sink;
    bool over_limit, write_failed;
} dl;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    dl *d = ud;
    size_t len = size * n;
    if (!sink_write(&d->sink, p, len)) {
        if (d->sink.limit && d->sink.bytes + len > d->sink.limit)
            d->over_limit = true;
        else
            d->write_failed = true;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    return len;
}

static int on_progress(void *ud, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un)
{
    (void)ud;
    (void)ut;
    (void)un;
    if (total > 0) fprintf(stderr, "\r  %6.1f / %.1f MB", (double)now / 1e6, (double)total / 1e6);
    return 0;
}

int models_download(const char *url, const char *path, uint64_t limit, bool progress, err *e)
{
    static bool curl_ready;
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = true;
    }
    dl d = {0};
    if (sink_open(&d.sink, path, limit, e) != 0) return -1;
    CURL *c = curl_easy_init();
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 8L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
    /* A stalled transfer (under 1 kB/s for a minute) is given up; a slow one is not. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "artistry/" ARTISTRY_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (progress) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    }
    CURLcode rc = curl_easy_perform(c);
    if (progress) fprintf(stderr, "\n");
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        close(d.sink.fd);
        if (d.over_limit)
            err_set(e, 422, "%s: more than the %llu bytes expected", url,
                    (unsigned long long)limit);
        else if (d.write_failed)
            err_set(e, 500, "%s: %s", path, strerror(errno));
        else
            err_set(e, 502, "%s: %s", url, curl_err[0] ? curl_err : curl_easy_strerror(rc));
        return -1;
    }
    return sink_close(&d.sink, path, e);
}

/* ---------------------------------------------------------------- child processes */

int models_run(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return 127;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return 127;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
