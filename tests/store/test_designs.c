/* Designs and preferences on both backends: the three save shapes, images kept once and
 * returned as sent, counters, paging, ownership on delete, and writes from many threads. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t fake_now = 1800000000000000;
static int64_t fake_clock(void)
{
    return __atomic_add_fetch(&fake_now, 1, __ATOMIC_RELAXED); /* strictly increasing */
}

static void blob_stats(store *s, int64_t *count, int64_t *bytes)
{
    err e = {0};
    cr_assert_eq(store_blob_stats(s, count, bytes, &e), 0, "%s", e.msg);
}

static char *random_b64(size_t nbytes, const char *prefix)
{
    unsigned char *b = xmalloc(nbytes);
    random_bytes(b, nbytes);
    size_t n;
    char *enc = b64_encode(b, nbytes, &n);
    char *out = xasprintf("%s%s", prefix, enc);
    free(b);
    free(enc);
    return out;
}

static void save_ok(store *s, store_design *d, char id[STORE_ID_LEN])
{
    err e = {0};
    int64_t before = store_now_us(s);
    cr_assert_eq(store_design_save(s, d, &e), 0, "save: %d %s", e.status, e.msg);
    cr_assert_eq(strlen(d->id), 36);
    cr_assert_geq(d->created_at, before);
    memcpy(id, d->id, STORE_ID_LEN);
}

static char *user(store *s, const char *email)
{
    store_auth a;
    err e = {0};
    cr_assert_eq(store_user_signup(s, email, "a password", "Owner Name", &a, &e), 0, "%s", e.msg);
    char *id = xstrdup(a.user.id);
    store_auth_clear(&a);
    return id;
}

Test(designs, script_shape_round_trips_verbatim)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    char *uid = user(s, "ann@example.com");
    store_design d = {
        .kind = STORE_DESIGN_SCRIPT,
        .user_id = uid,
        .original_image = "base64_encoded_original_image_here",
        .generated_image = "base64_encoded_generated_image_here",
        .budget = "medium",
        .design_tips = "Modern minimalist with warm tones",
        .has_total_cost = true,
        .total_cost_inr = 25000,
        .detected_objects = "[\"bed\",\"curtains\",\"chair\"]",
        .metadata = "{\"room_type\":\"bedroom\",\"room_size_sqft\":150}",
    };
    char id[STORE_ID_LEN];
    save_ok(s, &d, id);
    store_design g;
    err e = {0};
    cr_assert_eq(store_design_get(s, id, &g, &e), 0, "%s", e.msg);
    cr_assert_str_eq(g.id, id);
    cr_assert_eq(g.kind, STORE_DESIGN_SCRIPT);
    cr_assert_str_eq(g.user_id, uid);
    cr_assert_str_eq(g.original_image, d.original_image);
    cr_assert_str_eq(g.generated_image, d.generated_image);
    cr_assert_null(g.segmented_image);
    cr_assert_str_eq(g.budget, "medium");
    cr_assert_str_eq(g.design_tips, d.design_tips);
    cr_assert(g.has_total_cost);
    cr_assert_eq(g.total_cost_inr, 25000);
    cr_assert_str_eq(g.detected_objects, d.detected_objects);
    cr_assert_str_eq(g.metadata, d.metadata);
    cr_assert_null(g.extra);
    cr_assert_str_eq(g.created_by, "Owner Name");
    cr_assert_eq(g.views, 0);
    cr_assert_eq(g.shares, 0);
    store_design_clear(&g);
    store_user u;
    cr_assert_eq(store_user_get(s, uid, &u, &e), 0);
    cr_assert_eq(u.designs_count, 1);
    store_user_clear(&u);
    free(uid);
    test_store_done(s);
}

Test(designs, images_come_back_as_sent_and_are_kept_once)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    char *raw = random_b64(3000, "");
    char *url = random_b64(3001, "data:image/png;base64,");
    /* Not canonical base64 (a line break, no padding, url-safe alphabet): kept as text. */
    char *wrapped = xasprintf("%.40s\n%s", raw, raw + 40);
    const char *unpadded = "QUJDRA";
    const char *texts[] = {raw, url, wrapped, unpadded, "", "plain text ✓", "data:;base64,@@@"};
    char ids[ARRAY_LEN(texts)][STORE_ID_LEN];
    for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
        store_design d = {.kind = STORE_DESIGN_LEGACY,
                          .original_image = (char *)texts[i],
                          .segmented_image = (char *)texts[(i + 1) % ARRAY_LEN(texts)]};
        save_ok(s, &d, ids[i]);
    }
    for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
        store_design g;
        err e = {0};
        cr_assert_eq(store_design_get(s, ids[i], &g, &e), 0, "%s", e.msg);
        cr_assert_str_eq(g.original_image, texts[i], "image %zu", i);
        cr_assert_str_eq(g.segmented_image, texts[(i + 1) % ARRAY_LEN(texts)]);
        cr_assert_null(g.generated_image);
        cr_assert_null(g.user_id);
        cr_assert_null(g.created_by);
        cr_assert_eq(g.kind, STORE_DESIGN_LEGACY);
        store_design_clear(&g);
    }
    /* Seven distinct images, each used twice, stored once; base64 ones decoded. */
    int64_t count, bytes;
    blob_stats(s, &count, &bytes);
    cr_assert_eq(count, 7);
    int64_t expect = 3000 + 3001 + (int64_t)strlen(wrapped) + 6 /* "QUJDRA" as text */ + 0 +
                     (int64_t)strlen("plain text ✓") + (int64_t)strlen("data:;base64,@@@");
    cr_assert_eq(bytes, expect, "%lld != %lld", (long long)bytes, (long long)expect);
    free(raw);
    free(url);
    free(wrapped);
    test_store_done(s);
}

Test(designs, unknown_owner_and_oversized_images_write_nothing)
{
    store_params p = test_params();
    p.image_max_bytes = 4096;
    store *s = test_store_open(&p);
    err e = {0};
    store_design d = {.kind = STORE_DESIGN_SCRIPT,
                      .user_id = "9d3c0a4e-0000-4000-8000-000000000000",
                      .original_image = "abc"};
    cr_assert_eq(store_design_save(s, &d, &e), -1);
    cr_assert_eq(e.status, 404);
    cr_assert_str_eq(e.msg, "User not found");
    char *big = random_b64(4000, "");
    d = (store_design){.kind = STORE_DESIGN_APP, .original_image = "small", .generated_image = big};
    cr_assert_eq(store_design_save(s, &d, &e), -1);
    cr_assert_eq(e.status, 413);
    cr_assert(
        strstr(e.msg, "generated_image: the image is 5336 bytes, more than the limit of 4096"),
        "%s", e.msg);
    int64_t count, bytes;
    blob_stats(s, &count, &bytes);
    cr_assert_eq(count, 0);
    store_rows *r = NULL;
    cr_assert_eq(store_exec(s, "SELECT count(*) FROM designs", NULL, 0, &r, &e), 1);
    cr_assert_eq(store_rows_int(r, 0, 0), 0);
    store_rows_free(r);
    free(big);
    test_store_done(s);
}

Test(designs, metacharacters_and_megabyte_strings_are_data)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    char *mb = xmalloc((1 << 20) + 1);
    for (size_t i = 0; i < (1 << 20); i++) mb[i] = "';\"--\\%_$?\n"[i % 11];
    mb[1 << 20] = '\0';
    const char *evil = "'; DROP TABLE designs; --";
    store_design d = {.kind = STORE_DESIGN_APP,
                      .original_image = mb,
                      .generated_image = (char *)evil,
                      .budget = mb,
                      .design_tips = (char *)evil,
                      .detected_objects = mb,
                      .metadata = (char *)evil,
                      .extra = mb};
    char id[STORE_ID_LEN];
    save_ok(s, &d, id);
    store_design g;
    err e = {0};
    cr_assert_eq(store_design_get(s, id, &g, &e), 0, "%s", e.msg);
    cr_assert_str_eq(g.original_image, mb);
    cr_assert_str_eq(g.generated_image, evil);
    cr_assert_str_eq(g.budget, mb);
    cr_assert_str_eq(g.design_tips, evil);
    cr_assert_str_eq(g.detected_objects, mb);
    cr_assert_str_eq(g.metadata, evil);
    cr_assert_str_eq(g.extra, mb);
    cr_assert_eq(g.kind, STORE_DESIGN_APP);
    store_design_clear(&g);
    free(mb);
    test_store_done(s);
}

Test(designs, views_and_shares_count)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    store_design d = {.kind = STORE_DESIGN_SCRIPT, .budget = "low"};
    char id[STORE_ID_LEN];
    save_ok(s, &d, id);
    err e = {0};
    for (int i = 0; i < 3; i++) {
        store_design g;
        cr_assert_eq(store_design_view(s, id, &g, &e), 0, "%s", e.msg);
        cr_assert_eq(g.views, i, "a view returns the count before it");
        cr_assert_str_eq(g.budget, "low");
        store_design_clear(&g);
    }
    int64_t shares = 0;
    cr_assert_eq(store_design_share(s, id, &shares, &e), 0);
    cr_assert_eq(shares, 1);
    cr_assert_eq(store_design_share(s, id, &shares, &e), 0);
    cr_assert_eq(shares, 2);
    store_design g;
    cr_assert_eq(store_design_get(s, id, &g, &e), 0);
    cr_assert_eq(g.views, 3);
    cr_assert_eq(g.shares, 2);
    store_design_clear(&g);
    cr_assert_eq(store_design_view(s, "no-such-id", &g, &e), -1);
    cr_assert_eq(e.status, 404);
    cr_assert_str_eq(e.msg, "Design not found");
    cr_assert_eq(store_design_share(s, "no-such-id", &shares, &e), -1);
    cr_assert_eq(e.status, 404);
    cr_assert_eq(store_design_get(s, "' OR '1'='1", &g, &e), -1);
    cr_assert_eq(e.status, 404);
    test_store_done(s);
}

Test(designs, list_pages_newest_first)
{
    store_params p = test_params();
    p.clock_us = fake_clock;
    store *s = test_store_open(&p);
    char *ann = user(s, "ann@example.com"), *bob = user(s, "bob@example.com");
    char ids[25][STORE_ID_LEN], other[STORE_ID_LEN];
    for (int i = 0; i < 25; i++) {
        char tips[16];
        snprintf(tips, sizeof tips, "n%d", i);
        store_design d = {.kind = STORE_DESIGN_SCRIPT, .user_id = ann, .design_tips = tips};
        save_ok(s, &d, ids[i]);
        if (i == 3) {
            store_design o = {.kind = STORE_DESIGN_SCRIPT, .user_id = bob};
            save_ok(s, &o, other);
        }
    }
    store_design *list;
    size_t n;
    int64_t total;
    err e = {0};
    cr_assert_eq(store_design_list(s, ann, 10, 0, &list, &n, &total, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 10);
    cr_assert_eq(total, 25);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(list[i].id, ids[24 - i]);
        if (i) cr_assert_gt(list[i - 1].created_at, list[i].created_at);
    }
    store_designs_free(list, n);
    cr_assert_eq(store_design_list(s, ann, 10, 20, &list, &n, &total, &e), 0);
    cr_assert_eq(n, 5);
    cr_assert_str_eq(list[4].id, ids[0]);
    cr_assert_str_eq(list[4].design_tips, "n0");
    store_designs_free(list, n);
    cr_assert_eq(store_design_list(s, ann, 100, 25, &list, &n, &total, &e), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(total, 25);
    store_designs_free(list, n);
    cr_assert_eq(store_design_list(s, bob, 100, 0, &list, &n, &total, &e), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(list[0].id, other);
    store_designs_free(list, n);
    cr_assert_eq(store_design_list(s, ann, 0, 0, &list, &n, &total, &e), -1);
    cr_assert_eq(e.status, 422);
    cr_assert_str_eq(e.msg, "limit: Input should be greater than or equal to 1");
    cr_assert_eq(store_design_list(s, ann, 101, 0, &list, &n, &total, &e), -1);
    cr_assert_str_eq(e.msg, "limit: Input should be less than or equal to 100");
    cr_assert_eq(store_design_list(s, ann, 10, -1, &list, &n, &total, &e), -1);
    cr_assert_str_eq(e.msg, "skip: Input should be greater than or equal to 0");
    free(ann);
    free(bob);
    test_store_done(s);
}

Test(designs, delete_checks_the_owner_and_releases_images)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    char *ann = user(s, "ann@example.com"), *bob = user(s, "bob@example.com");
    char *shared = random_b64(2000, ""), *mine = random_b64(2000, "data:image/jpeg;base64,");
    store_design d1 = {.kind = STORE_DESIGN_SCRIPT,
                       .user_id = ann,
                       .original_image = shared,
                       .generated_image = mine};
    store_design d2 = {.kind = STORE_DESIGN_APP,
                       .user_id = bob,
                       .original_image = shared,
                       .generated_image = shared};
    store_design guest = {.kind = STORE_DESIGN_LEGACY, .original_image = shared};
    char id1[STORE_ID_LEN], id2[STORE_ID_LEN], id3[STORE_ID_LEN];
    save_ok(s, &d1, id1);
    save_ok(s, &d2, id2);
    save_ok(s, &guest, id3);
    int64_t count, bytes;
    blob_stats(s, &count, &bytes);
    cr_assert_eq(count, 2);
    err e = {0};
    cr_assert_eq(store_design_delete(s, id1, bob, &e), -1);
    cr_assert_eq(e.status, 403);
    cr_assert_str_eq(e.msg, "Not authorized to delete this design");
    cr_assert_eq(store_design_delete(s, id3, ann, &e), -1);
    cr_assert_eq(e.status, 403, "guest designs belong to no one");
    cr_assert_eq(store_design_delete(s, id3, NULL, &e), -1);
    cr_assert_eq(e.status, 403);
    cr_assert_eq(store_design_delete(s, "missing", ann, &e), -1);
    cr_assert_eq(e.status, 404);
    cr_assert_str_eq(e.msg, "Design not found");
    cr_assert_eq(store_design_delete(s, id1, ann, &e), 0, "%s", e.msg);
    store_design g;
    cr_assert_eq(store_design_get(s, id1, &g, &e), -1);
    cr_assert_eq(e.status, 404);
    blob_stats(s, &count, &bytes);
    cr_assert_eq(count, 1, "ann's own image is gone, the shared one stays");
    cr_assert_eq(store_design_delete(s, id1, ann, &e), -1);
    cr_assert_eq(e.status, 404);
    cr_assert_eq(store_design_delete(s, id2, bob, &e), 0, "%s", e.msg);
    blob_stats(s, &count, &bytes);
    cr_assert_eq(count, 1, "the guest design still uses it");
    cr_assert_eq(store_design_get(s, id3, &g, &e), 0);
    cr_assert_str_eq(g.original_image, shared);
    store_design_clear(&g);
    store_user u;
    cr_assert_eq(store_user_get(s, ann, &u, &e), 0);
    cr_assert_eq(u.designs_count, 0);
    store_user_clear(&u);
    free(ann);
    free(bob);
    free(shared);
    free(mine);
    test_store_done(s);
}

typedef struct job {
    store *s;
    const char *id, *user;
    const char *image;
    int n, failures;
} job;

static void *viewer(void *arg)
{
    job *j = arg;
    for (int i = 0; i < j->n; i++) {
        store_design g;
        err e = {0};
        int64_t sh;
        if (store_design_view(j->s, j->id, &g, &e) != 0) j->failures++;
        store_design_clear(&g);
        if (store_design_share(j->s, j->id, &sh, &e) != 0) j->failures++;
    }
    return NULL;
}

static void *saver(void *arg)
{
    job *j = arg;
    for (int i = 0; i < j->n; i++) {
        store_design d = {.kind = STORE_DESIGN_SCRIPT,
                          .user_id = (char *)j->user,
                          .original_image = (char *)j->image,
                          .generated_image = (char *)j->image};
        err e = {0};
        if (store_design_save(j->s, &d, &e) != 0) {
            fprintf(stderr, "save failed: %d %s\n", e.status, e.msg);
            j->failures++;
        }
    }
    return NULL;
}

Test(designs, parallel_counters_and_saves_are_exact, .timeout = 120)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    char *ann = user(s, "ann@example.com");
    store_design d = {.kind = STORE_DESIGN_SCRIPT};
    char id[STORE_ID_LEN];
    save_ok(s, &d, id);
    char *image = random_b64(20000, "");
    enum { T = 8, N = 25 };
    pthread_t th[2 * T];
    job jobs[2 * T];
    for (int i = 0; i < T; i++) {
        jobs[i] = (job){.s = s, .id = id, .n = N};
        jobs[T + i] = (job){.s = s, .user = ann, .image = image, .n = N};
        pthread_create(&th[i], NULL, viewer, &jobs[i]);
        pthread_create(&th[T + i], NULL, saver, &jobs[T + i]);
    }
    for (int i = 0; i < 2 * T; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(jobs[i].failures, 0, "thread %d", i);
    }
    store_design g;
    err e = {0};
    cr_assert_eq(store_design_get(s, id, &g, &e), 0);
    cr_assert_eq(g.views, T * N);
    cr_assert_eq(g.shares, T * N);
    store_design_clear(&g);
    store_user u;
    cr_assert_eq(store_user_get(s, ann, &u, &e), 0);
    cr_assert_eq(u.designs_count, T * N);
    store_user_clear(&u);
    store_rows *r = NULL;
    cr_assert_eq(store_exec(s, "SELECT refs FROM blobs", NULL, 0, &r, &e), 1);
    cr_assert_eq(store_rows_int(r, 0, 0), 2 * T * N, "one image, two slots per save");
    store_rows_free(r);
    free(image);
    free(ann);
    test_store_done(s);
}

Test(prefs, put_replace_get)
{
    store_params p = test_params();
    p.clock_us = fake_clock;
    store *s = test_store_open(&p);
    err e = {0};
    store_prefs in = {.session_id = "s-1",
                      .budget_range = "high",
                      .design_tips = "warm",
                      .item_replacement = "[\"bed\",\"sofa\"]"};
    cr_assert_eq(store_prefs_put(s, &in, &e), 0, "%s", e.msg);
    store_prefs out;
    cr_assert_eq(store_prefs_get(s, "s-1", &out, &e), 0);
    cr_assert_str_eq(out.budget_range, "high");
    cr_assert_str_eq(out.item_replacement, "[\"bed\",\"sofa\"]");
    int64_t created = out.created_at;
    store_prefs_clear(&out);
    in.budget_range = "low";
    in.item_replacement = "[]";
    cr_assert_eq(store_prefs_put(s, &in, &e), 0);
    cr_assert_eq(store_prefs_get(s, "s-1", &out, &e), 0);
    cr_assert_str_eq(out.session_id, "s-1");
    cr_assert_str_eq(out.budget_range, "low");
    cr_assert_str_eq(out.design_tips, "warm");
    cr_assert_str_eq(out.item_replacement, "[]");
    cr_assert_eq(out.created_at, created);
    cr_assert_gt(out.updated_at, created);
    store_prefs_clear(&out);
    cr_assert_eq(store_prefs_get(s, "s-2", &out, &e), -1);
    cr_assert_eq(e.status, 404);
    cr_assert_str_eq(e.msg, "Session not found");
    test_store_done(s);
}
