#include "core/core.h"

#include <criterion/criterion.h>
#include <string.h>

Test(arena, aligned_distinct_and_growing)
{
    arena *a = arena_new(64);
    char *prev = NULL;
    for (int i = 0; i < 1000; i++) {
        char *p = arena_alloc(a, (size_t)(i % 50) + 1);
        cr_assert_eq((uintptr_t)p % 16, 0);
        memset(p, i & 0xff, (size_t)(i % 50) + 1);
        cr_assert_neq(p, prev);
        prev = p;
    }
    void *big = arena_alloc_aligned(a, 1 << 20, 64);
    cr_assert_eq((uintptr_t)big % 64, 0);
    memset(big, 0, 1 << 20);
    cr_assert_geq(arena_used(a), (size_t)(1 << 20));
    arena_reset(a);
    cr_assert_eq(arena_used(a), 0);
    cr_assert_str_eq(arena_sprintf(a, "%s-%d", "x", 42), "x-42");
    cr_assert_str_eq(arena_strndup(a, "abcdef", 3), "abc");
    arena_free(a);
}
