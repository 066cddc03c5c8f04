/* Session preferences of the enhanced workflow, and the key/value records other modules
 * keep in the store. */
#include "store/store_impl.h"

#include <stdlib.h>
#include <string.h>

void store_prefs_clear(store_prefs *p)
{
    if (!p) return;
    free(p->session_id);
    free(p->budget_range);
    free(p->design_tips);
    free(p->item_replacement);
    memset(p, 0, sizeof *p);
}

int store_prefs_put(store *s, const store_prefs *p, err *e)
{
    /* An id is a key: PostgreSQL cannot index a huge one, so both backends refuse it. */
    if (!p->session_id || strlen(p->session_id) > STORE_KEY_MAX) {
        err_set(e, 422, "session_id: String should have at most %d characters", STORE_KEY_MAX);
        return -1;
    }
    int64_t now = store_now_us(s);
    /* created_at survives a replacement; updated_at follows it. */
    return store_exec(s,
                      "INSERT INTO sessions (id, budget_range, design_tips, item_replacement,"
                      " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)"
                      " ON CONFLICT (id) DO UPDATE SET budget_range = excluded.budget_range,"
                      " design_tips = excluded.design_tips,"
                      " item_replacement = excluded.item_replacement,"
                      " updated_at = excluded.updated_at",
                      STORE_ARGS(store_text(p->session_id), store_text(p->budget_range),
                                 store_text(p->design_tips), store_text(p->item_replacement),
                                 store_int(now)),
                      NULL, e) < 0
               ? -1
               : 0;
}

int store_prefs_get(store *s, const char *session_id, store_prefs *out, err *e)
{
    memset(out, 0, sizeof *out);
    store_rows *r = NULL;
    int64_t n = store_exec(s,
                           "SELECT id, budget_range, design_tips, item_replacement, created_at,"
                           " updated_at FROM sessions WHERE id = $1",
                           STORE_ARGS(store_text(session_id)), &r, e);
    if (n == 1) {
        out->session_id = store_rows_dup(r, 0, 0);
        out->budget_range = store_rows_dup(r, 0, 1);
        out->design_tips = store_rows_dup(r, 0, 2);
        out->item_replacement = store_rows_dup(r, 0, 3);
        out->created_at = store_rows_int(r, 0, 4);
        out->updated_at = store_rows_int(r, 0, 5);
    }
    if (n == 0) err_set(e, 404, "Session not found");
    store_rows_free(r);
    return n == 1 ? 0 : -1;
}

int store_kv_put(store *s, const char *ns, const char *key, const void *value, size_t len,
                 int64_t ttl_s, err *e)
{
    if (strlen(ns) + strlen(key) > STORE_KEY_MAX) {
        err_set(e, 422, "key: String should have at most %d characters", STORE_KEY_MAX);
        return -1;
    }
    int64_t now = store_now_us(s);
    store_value expires = ttl_s > 0 ? store_int(now + ttl_s * 1000000) : store_null();
    return store_exec(s,
                      "INSERT INTO kv (ns, key, value, expires_at, updated_at)"
                      " VALUES ($1, $2, $3, $4, $5)"
                      " ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value,"
                      " expires_at = excluded.expires_at, updated_at = excluded.updated_at",
                      STORE_ARGS(store_text(ns), store_text(key), store_blob(value, len), expires,
                                 store_int(now)),
                      NULL, e) < 0
               ? -1
               : 0;
}

void *store_kv_get(store *s, const char *ns, const char *key, size_t *len, err *e)
{
    store_rows *r = NULL;
    int64_t n =
        store_exec(s,
                   "SELECT value FROM kv WHERE ns = $1 AND key = $2"
                   " AND (expires_at IS NULL OR expires_at > $3)",
                   STORE_ARGS(store_text(ns), store_text(key), store_int(store_now_us(s))), &r, e);
    void *out = NULL;
    if (n == 1) {
        size_t l = 0;
        const void *v = store_rows_blob(r, 0, 0, &l);
        out = xmalloc(l + 1);
        memcpy(out, v, l);
        ((char *)out)[l] = '\0';
        if (len) *len = l;
    } else if (n == 0) {
        err_set(e, 404, "%s/%s: no such record", ns, key);
    }
    store_rows_free(r);
    return out;
}

int store_kv_delete(store *s, const char *ns, const char *key, err *e)
{
    return store_exec(s, "DELETE FROM kv WHERE ns = $1 AND key = $2",
                      STORE_ARGS(store_text(ns), store_text(key)), NULL, e) < 0
               ? -1
               : 0;
}
