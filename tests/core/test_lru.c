#include "core/core.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>

static int freed;
static void count_free(void *v)
{
    freed++;
    free(v);
}

static int *box(int x)
{
    int *p = malloc(sizeof *p);
    *p = x;
    return p;
}

Test(lru, evicts_least_recently_used)
{
    freed = 0;
    lru *c = lru_new(2, 0, count_free);
    lru_release(c, lru_put(c, 1, box(1), 4));
    lru_release(c, lru_put(c, 2, box(2), 4));
    int *v = lru_get(c, 1); /* 1 becomes most recent */
    cr_assert_eq(*v, 1);
    lru_release(c, v);
    lru_release(c, lru_put(c, 3, box(3), 4)); /* evicts 2 */
    cr_assert_null(lru_get(c, 2));
    cr_assert_eq(freed, 1);
    v = lru_get(c, 1);
    cr_assert_not_null(v);
    lru_release(c, v);
    v = lru_get(c, 3);
    cr_assert_not_null(v);
    lru_release(c, v);
    cr_assert_eq(lru_count(c), 2);
    uint64_t hits, misses;
    lru_stats(c, &hits, &misses);
    cr_assert_eq(hits, 3);
    cr_assert_eq(misses, 1);
    lru_free(c);
    cr_assert_eq(freed, 3);
}

Test(lru, held_value_survives_eviction_until_released)
{
    freed = 0;
    lru *c = lru_new(1, 0, count_free);
    int *held = lru_put(c, 1, box(10), 4);     /* keep the caller's reference */
    lru_release(c, lru_put(c, 2, box(20), 4)); /* evicts key 1 */
    cr_assert_null(lru_get(c, 1));
    cr_assert_eq(freed, 0, "an evicted value was freed while referenced");
    cr_assert_eq(*held, 10);
    lru_release(c, held);
    cr_assert_eq(freed, 1);
    lru_free(c);
    cr_assert_eq(freed, 2);
}

Test(lru, byte_budget_and_oversized_values)
{
    freed = 0;
    lru *c = lru_new(100, 10, count_free);
    lru_release(c, lru_put(c, 1, box(1), 6));
    lru_release(c, lru_put(c, 2, box(2), 6)); /* 12 > 10: evicts 1 */
    cr_assert_null(lru_get(c, 1));
    cr_assert_eq(lru_bytes(c), 6);
    int *big = lru_put(c, 3, box(3), 11); /* larger than the whole cache: not stored */
    cr_assert_eq(*big, 3);
    cr_assert_null(lru_get(c, 3));
    lru_release(c, big);
    cr_assert_eq(freed, 2);
    lru_free(c);
}

Test(lru, replacing_a_key_frees_the_old_value)
{
    freed = 0;
    lru *c = lru_new(4, 0, count_free);
    lru_release(c, lru_put(c, 7, box(1), 1));
    lru_release(c, lru_put(c, 7, box(2), 1));
    cr_assert_eq(freed, 1);
    int *v = lru_get(c, 7);
    cr_assert_eq(*v, 2);
    lru_release(c, v);
    cr_assert_eq(lru_count(c), 1);
    lru_free(c);
}

static lru *shared;
static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < 20000; i++) {
        uint64_t k = (uint64_t)(rand_r(&seed) % 64);
        int *v = lru_get(shared, k);
        if (v) {
            cr_assert_eq(*v, (int)k);
            lru_release(shared, v);
        } else {
            lru_release(shared, lru_put(shared, k, box((int)k), 1));
        }
    }
    return NULL;
}

Test(lru, concurrent_readers_and_writers)
{
    freed = 0;
    shared = lru_new(16, 0, free);
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    cr_assert_leq(lru_count(shared), 16);
    lru_free(shared);
}
