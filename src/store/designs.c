/* Saved designs: three request shapes in one table, images kept once by content hash and
 * counted by the designs that use them, view and share counters bumped in the database. */
#include "store/store_impl.h"

#include <stdlib.h>
#include <string.h>

enum { SLOTS = 3 }; /* original, generated, segmented */

static const char *const kind_names[] = {"script", "app", "legacy"};

const char *store_design_kind_name(store_design_kind k)
{
    return (unsigned)k < ARRAY_LEN(kind_names) ? kind_names[k] : "script";
}

static store_design_kind kind_parse(const char *s)
{
    for (size_t i = 0; s && i < ARRAY_LEN(kind_names); i++)
        if (strcmp(s, kind_names[i]) == 0) return (store_design_kind)i;
    return STORE_DESIGN_SCRIPT;
}

void store_design_clear(store_design *d)
{
    if (!d) return;
    char **fields[] = {&d->user_id, &d->original_image, &d->generated_image,  &d->segmented_image,
                       &d->budget,  &d->design_tips,    &d->detected_objects, &d->metadata,
                       &d->extra,   &d->created_by};
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) free(*fields[i]);
    memset(d, 0, sizeof *d);
}

void store_designs_free(store_design *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) store_design_clear(&list[i]);
    free(list);
}

/* ---------------------------------------------------------------- images */

void store_image_free(store_image *im)
{
    free(im->form);
    free(im->decoded);
    memset(im, 0, sizeof *im);
}

/* Whether t is base64 exactly as b64_encode writes it: standard alphabet, padded, no
 * whitespace, and zero bits where the last character holds fewer than six. Decoding such
 * text and encoding the bytes again gives the very same text, and nothing else does. */
static bool canonical_b64(const char *t, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n % 4) return false;
    size_t pad = n && t[n - 1] == '=' ? (n > 1 && t[n - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < n - pad; i++) {
        unsigned char c = (unsigned char)t[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    if (pad == 0) return true;
    unsigned last = (unsigned)(strchr(alphabet, t[n - pad - 1]) - alphabet);
    return (last & (pad == 1 ? 0x3u : 0xfu)) == 0;
}

/* Base64 (with an optional "data:...;base64," prefix) is kept decoded, which saves a
 * quarter of the space, but only when it is canonical (see above), so the client gets back
 * exactly what it sent. Anything else is kept as its own bytes. */
int store_image_prepare(const char *field, const char *str, size_t max_bytes, store_image *im,
                        err *e)
{
    memset(im, 0, sizeof *im);
    size_t n = strlen(str);
    if (n > max_bytes) {
        err_set(e, 413,
                "%s: the image is %zu bytes, more than the limit of %zu (DESIGN_IMAGE_MAX_BYTES)",
                field, n, max_bytes);
        return -1;
    }
    size_t plen = 0;
    if (strncmp(str, "data:", 5) == 0) {
        const char *comma = memchr(str, ',', MIN(n, 256));
        if (comma && comma - str >= 12 && strncmp(comma - 7, ";base64", 7) == 0)
            plen = (size_t)(comma - str) + 1;
    }
    size_t dlen = 0;
    unsigned char *dec =
        canonical_b64(str + plen, n - plen) ? b64_decode(str + plen, n - plen, &dlen, NULL) : NULL;
    if (dec) {
        im->decoded = dec;
        im->data = dec;
        im->len = dlen;
        im->form = xasprintf("base64:%.*s", (int)plen, str);
    } else {
        im->data = str;
        im->len = n;
        im->form = xstrdup("text");
    }
    store_sha256_hex(im->data, im->len, im->hash);
    return 0;
}

char *store_image_restore(const char *form, const void *data, size_t len)
{
    if (!form || !data) return NULL;
    if (strncmp(form, "base64:", 7) != 0) {
        char *t = xmalloc(len + 1);
        memcpy(t, data, len);
        t[len] = '\0';
        return t;
    }
    size_t plen = strlen(form + 7), elen = 0;
    char *enc = b64_encode(data, len, &elen);
    char *t = xmalloc(plen + elen + 1);
    memcpy(t, form + 7, plen);
    memcpy(t + plen, enc, elen + 1);
    free(enc);
    return t;
}

/* The distinct images of a design in hash order, with how many slots use each: every
 * transaction touches blob rows in this order, so PostgreSQL never deadlocks on them. */
typedef struct blob_ref {
    const store_image *im;
    int uses;
} blob_ref;

static size_t distinct_images(store_image *ims, size_t n, blob_ref out[SLOTS])
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ims[i].form) continue;
        size_t j = 0;
        while (j < k && strcmp(out[j].im->hash, ims[i].hash) != 0) j++;
        if (j == k) out[k++] = (blob_ref){.im = &ims[i], .uses = 0};
        out[j].uses++;
    }
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && strcmp(out[j - 1].im->hash, out[j].im->hash) > 0; j--) {
            blob_ref t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return k;
}

/* ---------------------------------------------------------------- save */

typedef struct save_ctx {
    store_design *d;
    store_image ims[SLOTS];
} save_ctx;

static int save_tx(store_tx *tx, void *ctx, err *e)
{
    save_ctx *c = ctx;
    store_design *d = c->d;
    store *s = store_tx_store(tx);
    if (d->user_id) {
        int64_t n = store_tx_exec(tx, "SELECT 1 FROM users WHERE id = $1",
                                  STORE_ARGS(store_text(d->user_id)), NULL, e);
        if (n < 0) return -1;
        if (n == 0) {
            err_set(e, 404, "User not found");
            return -1;
        }
    }
    blob_ref refs[SLOTS];
    size_t nrefs = distinct_images(c->ims, SLOTS, refs);
    for (size_t i = 0; i < nrefs; i++)
        if (store_tx_exec(tx,
                          "INSERT INTO blobs (hash, size, refs, data) VALUES ($1, $2, $3, $4)"
                          " ON CONFLICT (hash) DO UPDATE SET refs = blobs.refs + excluded.refs",
                          STORE_ARGS(store_text(refs[i].im->hash),
                                     store_int((int64_t)refs[i].im->len), store_int(refs[i].uses),
                                     store_blob(refs[i].im->data, refs[i].im->len)),
                          NULL, e) < 0)
            return -1;
    const store_image *im = c->ims;
    uuid4(d->id);
    d->created_at = store_now_us(s);
    if (store_tx_exec(
            tx,
            "INSERT INTO designs (id, user_id, kind, original_blob, original_form, generated_blob,"
            " generated_form, segmented_blob, segmented_form, budget, design_tips, total_cost_inr,"
            " detected_objects, metadata, extra, created_at, views, shares)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, 0)",
            STORE_ARGS(store_text(d->id), store_text(d->user_id),
                       store_text(store_design_kind_name(d->kind)),
                       store_text(im[0].form ? im[0].hash : NULL), store_text(im[0].form),
                       store_text(im[1].form ? im[1].hash : NULL), store_text(im[1].form),
                       store_text(im[2].form ? im[2].hash : NULL), store_text(im[2].form),
                       store_text(d->budget), store_text(d->design_tips),
                       d->has_total_cost ? store_int(d->total_cost_inr) : store_null(),
                       store_text(d->detected_objects), store_text(d->metadata),
                       store_text(d->extra), store_int(d->created_at)),
            NULL, e) < 0)
        return -1;
    if (d->user_id &&
        store_tx_exec(tx, "UPDATE users SET designs_count = designs_count + 1 WHERE id = $1",
                      STORE_ARGS(store_text(d->user_id)), NULL, e) < 0)
        return -1;
    return 0;
}

int store_design_save(store *s, store_design *d, err *e)
{
    save_ctx c = {.d = d};
    const char *sent[SLOTS] = {d->original_image, d->generated_image, d->segmented_image};
    const char *names[SLOTS] = {"original_image", "generated_image", "segmented_image"};
    int rc = 0;
    for (size_t i = 0; i < SLOTS && rc == 0; i++)
        if (sent[i])
            rc = store_image_prepare(names[i], sent[i], s->p.image_max_bytes, &c.ims[i], e);
    if (rc == 0) rc = store_transact(s, STORE_TX_WRITE, save_tx, &c, e);
    for (size_t i = 0; i < SLOTS; i++) store_image_free(&c.ims[i]);
    if (rc != 0) d->id[0] = '\0';
    return rc;
}

/* ---------------------------------------------------------------- reads */

#define DESIGN_SELECT                                                                      \
    "SELECT d.id, d.kind, d.user_id, d.original_form, ob.data, d.generated_form, gb.data," \
    " d.segmented_form, sb.data, d.budget, d.design_tips, d.total_cost_inr,"               \
    " d.detected_objects, d.metadata, d.extra, d.created_at, d.views, d.shares, u.name"    \
    " FROM designs d LEFT JOIN users u ON u.id = d.user_id"                                \
    " LEFT JOIN blobs ob ON ob.hash = d.original_blob"                                     \
    " LEFT JOIN blobs gb ON gb.hash = d.generated_blob"                                    \
    " LEFT JOIN blobs sb ON sb.hash = d.segmented_blob"

static void read_design(const store_rows *r, size_t row, store_design *d)
{
    memset(d, 0, sizeof *d);
    const char *id = store_rows_text(r, row, 0);
    snprintf(d->id, sizeof d->id, "%s", id ? id : "");
    d->kind = kind_parse(store_rows_text(r, row, 1));
    d->user_id = store_rows_dup(r, row, 2);
    char **images[SLOTS] = {&d->original_image, &d->generated_image, &d->segmented_image};
    for (size_t i = 0; i < SLOTS; i++) {
        size_t len = 0;
        const void *data = store_rows_blob(r, row, 4 + 2 * i, &len);
        *images[i] = store_image_restore(store_rows_text(r, row, 3 + 2 * i), data, len);
    }
    d->budget = store_rows_dup(r, row, 9);
    d->design_tips = store_rows_dup(r, row, 10);
    d->has_total_cost = !store_rows_is_null(r, row, 11);
    d->total_cost_inr = store_rows_int(r, row, 11);
    d->detected_objects = store_rows_dup(r, row, 12);
    d->metadata = store_rows_dup(r, row, 13);
    d->extra = store_rows_dup(r, row, 14);
    d->created_at = store_rows_int(r, row, 15);
    d->views = store_rows_int(r, row, 16);
    d->shares = store_rows_int(r, row, 17);
    d->created_by = store_rows_dup(r, row, 18);
}

static int get_one(store_tx *tx, store *s, const char *id, store_design *out, err *e)
{
    store_rows *r = NULL;
    int64_t n =
        tx ? store_tx_exec(tx, DESIGN_SELECT " WHERE d.id = $1", STORE_ARGS(store_text(id)), &r, e)
           : store_exec(s, DESIGN_SELECT " WHERE d.id = $1", STORE_ARGS(store_text(id)), &r, e);
    if (n == 1) read_design(r, 0, out);
    if (n == 0) err_set(e, 404, "Design not found");
    store_rows_free(r);
    return n == 1 ? 0 : -1;
}

int store_design_get(store *s, const char *id, store_design *out, err *e)
{
    memset(out, 0, sizeof *out);
    return get_one(NULL, s, id, out, e);
}

typedef struct view_ctx {
    const char *id;
    store_design *out;
} view_ctx;

static int view_tx(store_tx *tx, void *ctx, err *e)
{
    view_ctx *c = ctx;
    store_design_clear(c->out);
    int64_t n = store_tx_exec(tx, "UPDATE designs SET views = views + 1 WHERE id = $1",
                              STORE_ARGS(store_text(c->id)), NULL, e);
    if (n < 0) return -1;
    if (n == 0) {
        err_set(e, 404, "Design not found");
        return -1;
    }
    if (get_one(tx, NULL, c->id, c->out, e) != 0) return -1;
    c->out->views--; /* as it was before this view */
    return 0;
}

int store_design_view(store *s, const char *id, store_design *out, err *e)
{
    memset(out, 0, sizeof *out);
    view_ctx c = {.id = id, .out = out};
    int rc = store_transact(s, STORE_TX_WRITE, view_tx, &c, e);
    if (rc != 0) store_design_clear(out);
    return rc;
}

int store_design_share(store *s, const char *id, int64_t *shares, err *e)
{
    store_rows *r = NULL;
    int64_t n =
        store_exec(s, "UPDATE designs SET shares = shares + 1 WHERE id = $1 RETURNING shares",
                   STORE_ARGS(store_text(id)), &r, e);
    if (n == 1 && shares) *shares = store_rows_int(r, 0, 0);
    if (n == 0) err_set(e, 404, "Design not found");
    store_rows_free(r);
    return n == 1 ? 0 : -1;
}

typedef struct list_ctx {
    const char *user_id;
    int64_t limit, skip, total;
    store_design *out;
    size_t n;
} list_ctx;

static int list_tx(store_tx *tx, void *ctx, err *e)
{
    list_ctx *c = ctx;
    store_designs_free(c->out, c->n);
    c->out = NULL;
    c->n = 0;
    store_rows *r = NULL;
    if (store_tx_exec(tx, "SELECT count(*) FROM designs WHERE user_id = $1",
                      STORE_ARGS(store_text(c->user_id)), &r, e) < 0)
        return -1;
    c->total = store_rows_int(r, 0, 0);
    store_rows_free(r);
    int64_t n = store_tx_exec(
        tx,
        DESIGN_SELECT " WHERE d.user_id = $1"
                      " ORDER BY d.created_at DESC, d.id DESC LIMIT $2 OFFSET $3",
        STORE_ARGS(store_text(c->user_id), store_int(c->limit), store_int(c->skip)), &r, e);
    if (n < 0) return -1;
    c->out = xcalloc((size_t)n + 1, sizeof *c->out);
    for (size_t i = 0; i < (size_t)n; i++) read_design(r, i, &c->out[i]);
    c->n = (size_t)n;
    store_rows_free(r);
    return 0;
}

int store_design_list(store *s, const char *user_id, int64_t limit, int64_t skip,
                      store_design **out, size_t *n, int64_t *total, err *e)
{
    *out = NULL;
    *n = 0;
    if (total) *total = 0;
    if (limit < 1 || limit > 100) {
        err_set(e, 422, "limit: Input should be %s",
                limit < 1 ? "greater than or equal to 1" : "less than or equal to 100");
        return -1;
    }
    if (skip < 0) {
        err_set(e, 422, "skip: Input should be greater than or equal to 0");
        return -1;
    }
    list_ctx c = {.user_id = user_id, .limit = limit, .skip = skip};
    if (store_transact(s, STORE_TX_READONLY, list_tx, &c, e) != 0) {
        store_designs_free(c.out, c.n);
        return -1;
    }
    *out = c.out;
    *n = c.n;
    if (total) *total = c.total;
    return 0;
}

/* ---------------------------------------------------------------- delete */

typedef struct delete_ctx {
    const char *id, *user_id;
} delete_ctx;

static int delete_tx(store_tx *tx, void *ctx, err *e)
{
    delete_ctx *c = ctx;
    store_rows *r = NULL;
    int64_t n = store_tx_exec(tx,
                              "DELETE FROM designs WHERE id = $1 AND user_id = $2"
                              " RETURNING original_blob, generated_blob, segmented_blob",
                              STORE_ARGS(store_text(c->id), store_text(c->user_id)), &r, e);
    if (n < 0) return -1;
    if (n == 0) {
        store_rows_free(r);
        n = store_tx_exec(tx, "SELECT 1 FROM designs WHERE id = $1", STORE_ARGS(store_text(c->id)),
                          NULL, e);
        if (n < 0) return -1;
        if (n == 0)
            err_set(e, 404, "Design not found");
        else
            err_set(e, 403, "Not authorized to delete this design");
        return -1;
    }
    /* Release the images in hash order (see distinct_images). */
    store_image ims[SLOTS] = {{0}};
    for (size_t i = 0; i < SLOTS; i++) {
        const char *h = store_rows_text(r, 0, i);
        if (!h) continue;
        ims[i].form = (char *)""; /* marks the slot as used; never freed here */
        snprintf(ims[i].hash, sizeof ims[i].hash, "%s", h);
    }
    blob_ref refs[SLOTS];
    size_t nrefs = distinct_images(ims, SLOTS, refs);
    int rc = 0;
    for (size_t i = 0; i < nrefs && rc == 0; i++) {
        const char *h = refs[i].im->hash;
        if (store_tx_exec(tx, "UPDATE blobs SET refs = refs - $2 WHERE hash = $1",
                          STORE_ARGS(store_text(h), store_int(refs[i].uses)), NULL, e) < 0 ||
            store_tx_exec(tx, "DELETE FROM blobs WHERE hash = $1 AND refs = 0",
                          STORE_ARGS(store_text(h)), NULL, e) < 0)
            rc = -1;
    }
    store_rows_free(r);
    if (rc == 0 &&
        store_tx_exec(tx, "UPDATE users SET designs_count = designs_count - 1 WHERE id = $1",
                      STORE_ARGS(store_text(c->user_id)), NULL, e) < 0)
        rc = -1;
    return rc;
}

int store_design_delete(store *s, const char *id, const char *user_id, err *e)
{
    delete_ctx c = {.id = id, .user_id = user_id};
    return store_transact(s, STORE_TX_WRITE, delete_tx, &c, e);
}

int store_blob_stats(store *s, int64_t *count, int64_t *bytes, err *e)
{
    store_rows *r = NULL;
    if (store_exec(s, "SELECT count(*), coalesce(sum(size), 0) FROM blobs", NULL, 0, &r, e) < 0)
        return -1;
    if (count) *count = store_rows_int(r, 0, 0);
    if (bytes) *bytes = store_rows_int(r, 0, 1);
    store_rows_free(r);
    return 0;
}
