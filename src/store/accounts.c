/* Accounts: signup, login with failure limits, bearer tokens. Passwords are argon2id
 * strings from libsodium; tokens are 256 random bits handed out once and kept only as
 * their SHA-256. */
#include "store/store_impl.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { PASSWORD_MIN_CHARS = 8, PASSWORD_MAX_BYTES = 1024, NAME_MAX_CHARS = 256 };

void store_user_clear(store_user *u)
{
    if (!u) return;
    free(u->email);
    free(u->name);
    memset(u, 0, sizeof *u);
}

void store_auth_clear(store_auth *a)
{
    if (!a) return;
    store_user_clear(&a->user);
    sodium_memzero(a->token, sizeof a->token);
    a->expires_at = 0;
}

/* ---------------------------------------------------------------- validation */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static bool local_char(unsigned char c)
{
    return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+/=?^_`{|}~.-", c);
}

int store_email_normalize(const char *email, char out[255], err *e)
{
    const char *why = NULL;
    if (!email) email = "";
    while (isspace((unsigned char)*email)) email++;
    size_t n = strlen(email);
    while (n && isspace((unsigned char)email[n - 1])) n--;
    if (n > 254) {
        err_set(e, 422,
                "email: value is not a valid email address: it is longer than 254 characters");
        return -1;
    }
    for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)email[i]);
    out[n] = '\0';

    const char *at = strchr(out, '@');
    if (!at) {
        why = "an email address must have an @-sign";
    } else if (strchr(at + 1, '@')) {
        why = "an email address has only one @-sign";
    } else {
        size_t local = (size_t)(at - out);
        const char *dom = at + 1;
        if (local == 0)
            why = "there must be something before the @-sign";
        else if (local > 64)
            why = "the part before the @-sign is longer than 64 characters";
        else if (out[0] == '.' || at[-1] == '.' || strstr(out, ".."))
            why = "the part before the @-sign cannot start or end with a dot or have two in a row";
        for (size_t i = 0; !why && i < local; i++)
            if (!local_char((unsigned char)out[i]))
                why = "the part before the @-sign has a character that is not allowed";
        if (!why && !*dom) why = "there must be something after the @-sign";
        /* Domain: dot-separated labels of letters, digits and inner hyphens (UTF-8 letters
         * of internationalised names allowed), at least two of them. */
        size_t labels = 0;
        const char *p = dom;
        while (!why && *p) {
            const char *end = p + strcspn(p, ".");
            size_t len = (size_t)(end - p);
            if (len == 0 || len > 63)
                why = "the domain name has an empty or too long part";
            else if (*p == '-' || end[-1] == '-')
                why = "a part of the domain name cannot start or end with a hyphen";
            for (const char *q = p; !why && q < end; q++)
                if (!(isalnum((unsigned char)*q) || *q == '-' || (unsigned char)*q >= 0x80))
                    why = "the domain name has a character that is not allowed";
            labels++;
            p = *end ? end + 1 : end;
            if (!why && *end && !*p) why = "the domain name cannot end with a dot";
        }
        if (!why && labels < 2) why = "the domain name must have a dot in it";
    }
    if (why) {
        err_set(e, 422, "email: value is not a valid email address: %s", why);
        return -1;
    }
    return 0;
}

int store_password_check(const char *password, err *e)
{
    if (!password || utf8_chars(password) < PASSWORD_MIN_CHARS) {
        err_set(e, 422, "password: String should have at least %d characters", PASSWORD_MIN_CHARS);
        return -1;
    }
    if (strlen(password) > PASSWORD_MAX_BYTES) {
        err_set(e, 422, "password: String should have at most %d bytes", PASSWORD_MAX_BYTES);
        return -1;
    }
    return 0;
}

int store_name_check(const char *name, err *e)
{
    if (!name || !*name) {
        err_set(e, 422, "name: String should have at least 1 character");
        return -1;
    }
    if (utf8_chars(name) > NAME_MAX_CHARS) {
        err_set(e, 422, "name: String should have at most %d characters", NAME_MAX_CHARS);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- password hashing */

/* Argon2id takes memlimit bytes for its whole run: a bounded number run at once. */
static void hash_enter(store *s)
{
    pthread_mutex_lock(&s->hash_mu);
    while (s->hash_busy >= s->p.pwhash_concurrency) pthread_cond_wait(&s->hash_cv, &s->hash_mu);
    s->hash_busy++;
    pthread_mutex_unlock(&s->hash_mu);
}

static void hash_leave(store *s)
{
    pthread_mutex_lock(&s->hash_mu);
    s->hash_busy--;
    pthread_cond_signal(&s->hash_cv);
    pthread_mutex_unlock(&s->hash_mu);
}

static int hash_password(store *s, const char *pw, char out[crypto_pwhash_STRBYTES], err *e)
{
    hash_enter(s);
    int rc = crypto_pwhash_str_alg(out, pw, strlen(pw), s->p.pwhash_opslimit, s->p.pwhash_memlimit,
                                   crypto_pwhash_ALG_ARGON2ID13);
    hash_leave(s);
    if (rc != 0) {
        err_set(e, 503, "cannot hash the password now: out of memory (PASSWORD_HASH_MEMLIMIT)");
        return -1;
    }
    return 0;
}

/* The hash an unknown email is checked against, so that it costs what a known one does. */
static const char *dummy_hash(store *s)
{
    pthread_mutex_lock(&s->hash_mu);
    bool ready = s->dummy_hash[0] != '\0';
    pthread_mutex_unlock(&s->hash_mu);
    if (ready) return s->dummy_hash;
    unsigned char secret[32];
    char pw[65], h[crypto_pwhash_STRBYTES];
    random_bytes(secret, sizeof secret);
    sodium_bin2hex(pw, sizeof pw, secret, sizeof secret);
    if (hash_password(s, pw, h, NULL) != 0) return NULL;
    pthread_mutex_lock(&s->hash_mu);
    if (!s->dummy_hash[0]) memcpy(s->dummy_hash, h, sizeof h);
    pthread_mutex_unlock(&s->hash_mu);
    return s->dummy_hash;
}

static bool verify_password(store *s, const char *hash, const char *pw)
{
    if (!hash) return false;
    hash_enter(s);
    bool ok = crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
    hash_leave(s);
    return ok;
}

/* ---------------------------------------------------------------- users and tokens */

#define USER_COLUMNS "u.id, u.email, u.name, u.created_at, u.designs_count"

/* Fills u from the five USER_COLUMNS starting at column col. */
static void read_user(const store_rows *r, size_t row, size_t col, store_user *u)
{
    snprintf(u->id, sizeof u->id, "%s",
             store_rows_text(r, row, col) ? store_rows_text(r, row, col) : "");
    u->email = store_rows_dup(r, row, col + 1);
    u->name = store_rows_dup(r, row, col + 2);
    u->created_at = store_rows_int(r, row, col + 3);
    u->designs_count = store_rows_int(r, row, col + 4);
}

static bool token_well_formed(const char *t)
{
    if (!t || strlen(t) != STORE_TOKEN_LEN - 1) return false;
    for (; *t; t++)
        if (!(isalnum((unsigned char)*t) || *t == '-' || *t == '_')) return false;
    return true;
}

/* Creates a token for user_id at time now inside tx, dropping the user's expired ones. */
static int issue_token(store_tx *tx, const char *user_id, int64_t now, store_auth *out, err *e)
{
    store *s = store_tx_store(tx);
    unsigned char raw[32];
    random_bytes(raw, sizeof raw);
    sodium_bin2base64(out->token, sizeof out->token, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    char hash[65];
    store_sha256_hex(out->token, strlen(out->token), hash);
    out->expires_at = now + s->p.token_ttl_s * 1000000;
    if (store_tx_exec(tx, "DELETE FROM tokens WHERE user_id = $1 AND expires_at <= $2",
                      STORE_ARGS(store_text(user_id), store_int(now)), NULL, e) < 0)
        return -1;
    return store_tx_exec(tx,
                         "INSERT INTO tokens (hash, user_id, created_at, expires_at)"
                         " VALUES ($1, $2, $3, $4)",
                         STORE_ARGS(store_text(hash), store_text(user_id), store_int(now),
                                    store_int(out->expires_at)),
                         NULL, e) < 0
               ? -1
               : 0;
}

typedef struct signup_ctx {
    const char *email, *name, *hash;
    store_auth *out;
} signup_ctx;

static int signup_tx(store_tx *tx, void *ctx, err *e)
{
    signup_ctx *c = ctx;
    store_auth *a = c->out;
    store_user_clear(&a->user);
    uuid4(a->user.id);
    a->user.created_at = store_now_us(store_tx_store(tx));
    if (store_tx_exec(
            tx,
            "INSERT INTO users (id, email, name, password_hash, created_at, designs_count)"
            " VALUES ($1, $2, $3, $4, $5, 0)",
            STORE_ARGS(store_text(a->user.id), store_text(c->email), store_text(c->name),
                       store_text(c->hash), store_int(a->user.created_at)),
            NULL, e) < 0) {
        if (e && e->status == 409) err_set(e, 400, "Email already registered");
        return -1;
    }
    a->user.email = xstrdup(c->email);
    a->user.name = xstrdup(c->name);
    return issue_token(tx, a->user.id, a->user.created_at, a, e);
}

int store_user_signup(store *s, const char *email, const char *password, const char *name,
                      store_auth *out, err *e)
{
    memset(out, 0, sizeof *out);
    char norm[255];
    if (store_email_normalize(email, norm, e) != 0 || store_password_check(password, e) != 0 ||
        store_name_check(name, e) != 0)
        return -1;
    /* Refuse a taken email before spending a hash on it; the unique index decides races. */
    int64_t n = store_exec(s, "SELECT 1 FROM users WHERE email = $1", STORE_ARGS(store_text(norm)),
                           NULL, e);
    if (n < 0) return -1;
    if (n > 0) {
        err_set(e, 400, "Email already registered");
        return -1;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (hash_password(s, password, hash, e) != 0) return -1;
    signup_ctx c = {.email = norm, .name = name, .hash = hash, .out = out};
    int rc = store_transact(s, STORE_TX_WRITE, signup_tx, &c, e);
    if (rc != 0) store_auth_clear(out);
    return rc;
}

/* ---------------------------------------------------------------- login */

/* Seconds until the window of a subject over its limit ends; 0 when under it. */
static int64_t throttled(store *s, const store_rows *r, const char *subject, int limit, int64_t now)
{
    for (size_t i = 0; i < store_rows_count(r); i++) {
        if (strcmp(store_rows_text(r, i, 0), subject) != 0) continue;
        int64_t end = store_rows_int(r, i, 2) + s->p.login_window_s * 1000000;
        if (store_rows_int(r, i, 1) >= limit && end > now) return (end - now + 999999) / 1000000;
    }
    return 0;
}

static int record_failure(store *s, const char *subject, int64_t now, err *e)
{
    /* The window restarts with the first failure after the previous one ended. */
    return store_exec(
               s,
               "INSERT INTO login_failures (subject, failures, window_start) VALUES ($1, 1, $2)"
               " ON CONFLICT (subject) DO UPDATE SET"
               " failures = CASE WHEN login_failures.window_start <= $3 THEN 1"
               "   ELSE login_failures.failures + 1 END,"
               " window_start = CASE WHEN login_failures.window_start <= $3 THEN $2"
               "   ELSE login_failures.window_start END",
               STORE_ARGS(store_text(subject), store_int(now),
                          store_int(now - s->p.login_window_s * 1000000)),
               NULL, e) < 0
               ? -1
               : 0;
}

typedef struct login_ctx {
    const char *email_subject, *new_hash;
    store_auth *out;
} login_ctx;

static int login_tx(store_tx *tx, void *ctx, err *e)
{
    login_ctx *c = ctx;
    if (store_tx_exec(tx, "DELETE FROM login_failures WHERE subject = $1",
                      STORE_ARGS(store_text(c->email_subject)), NULL, e) < 0)
        return -1;
    if (c->new_hash &&
        store_tx_exec(tx, "UPDATE users SET password_hash = $1 WHERE id = $2",
                      STORE_ARGS(store_text(c->new_hash), store_text(c->out->user.id)), NULL,
                      e) < 0)
        return -1;
    return issue_token(tx, c->out->user.id, store_now_us(store_tx_store(tx)), c->out, e);
}

int store_user_login(store *s, const char *email, const char *password, const char *client,
                     store_auth *out, int64_t *retry_after_s, err *e)
{
    memset(out, 0, sizeof *out);
    if (retry_after_s) *retry_after_s = 0;
    if (!email || strlen(email) > 1024) {
        err_set(e, 422, "email: String should have at most 1024 characters");
        return -1;
    }
    if (!password || strlen(password) > PASSWORD_MAX_BYTES) {
        err_set(e, 422, "password: String should have at most %d bytes", PASSWORD_MAX_BYTES);
        return -1;
    }
    /* Throttle on the normalised form when there is one, so case and spaces do not make
     * new subjects; a malformed email can have no account but still counts. */
    char norm[255];
    if (store_email_normalize(email, norm, NULL) != 0) {
        size_t i = 0;
        for (; email[i] && i < sizeof norm - 1; i++)
            norm[i] = (char)tolower((unsigned char)email[i]);
        norm[i] = '\0';
    }
    char *esub = xasprintf("email:%s", norm);
    char *asub = client && *client ? xasprintf("addr:%.200s", client) : NULL;
    int64_t now = store_now_us(s);
    int rc = -1;
    store_rows *r = NULL, *u = NULL;
    if (store_exec(s,
                   "SELECT subject, failures, window_start FROM login_failures"
                   " WHERE subject = $1 OR subject = $2",
                   STORE_ARGS(store_text(esub), store_text(asub)), &r, e) < 0)
        goto out;
    int64_t wait = MAX(throttled(s, r, esub, s->p.login_max_per_email, now),
                       asub ? throttled(s, r, asub, s->p.login_max_per_addr, now) : 0);
    if (wait > 0) {
        if (retry_after_s) *retry_after_s = wait;
        err_set(e, 429, "Too many failed login attempts. Try again in %" PRId64 " seconds.", wait);
        goto out;
    }
    if (store_exec(s, "SELECT " USER_COLUMNS ", u.password_hash FROM users u WHERE u.email = $1",
                   STORE_ARGS(store_text(norm)), &u, e) < 0)
        goto out;
    bool found = store_rows_count(u) == 1;
    const char *hash = found ? store_rows_text(u, 0, 5) : dummy_hash(s);
    if (!verify_password(s, hash, password) || !found) {
        if (record_failure(s, esub, now, e) != 0 || (asub && record_failure(s, asub, now, e) != 0))
            goto out;
        err_set(e, 401, "Invalid email or password");
        goto out;
    }
    read_user(u, 0, 0, &out->user);
    /* Hashes made with weaker settings than today's are replaced while we have the
     * password; failing to rehash is no reason to refuse the login. */
    char fresh[crypto_pwhash_STRBYTES];
    bool rehash =
        crypto_pwhash_str_needs_rehash(hash, s->p.pwhash_opslimit, s->p.pwhash_memlimit) != 0 &&
        hash_password(s, password, fresh, NULL) == 0;
    login_ctx c = {.email_subject = esub, .new_hash = rehash ? fresh : NULL, .out = out};
    rc = store_transact(s, STORE_TX_WRITE, login_tx, &c, e);
    if (rehash) sodium_memzero(fresh, sizeof fresh);
out:
    if (rc != 0) store_auth_clear(out);
    store_rows_free(r);
    store_rows_free(u);
    free(esub);
    free(asub);
    return rc;
}

/* ---------------------------------------------------------------- lookups */

int store_token_verify(store *s, const char *token, store_user *out, err *e)
{
    memset(out, 0, sizeof *out);
    if (!token_well_formed(token)) {
        err_set(e, 401, "Invalid token");
        return -1;
    }
    char hash[65];
    store_sha256_hex(token, strlen(token), hash);
    store_rows *r = NULL;
    int64_t n = store_exec(s,
                           "SELECT " USER_COLUMNS ", t.expires_at FROM tokens t"
                           " LEFT JOIN users u ON u.id = t.user_id WHERE t.hash = $1",
                           STORE_ARGS(store_text(hash)), &r, e);
    int rc = -1;
    if (n < 0) {
        /* the error stands */
    } else if (n == 0) {
        err_set(e, 401, "Invalid token");
    } else if (store_rows_int(r, 0, 5) < store_now_us(s)) {
        err_set(e, 401, "Token expired");
    } else if (store_rows_is_null(r, 0, 0)) {
        err_set(e, 401, "User not found");
    } else {
        read_user(r, 0, 0, out);
        rc = 0;
    }
    store_rows_free(r);
    return rc;
}

int store_user_get(store *s, const char *user_id, store_user *out, err *e)
{
    memset(out, 0, sizeof *out);
    store_rows *r = NULL;
    int64_t n = store_exec(s, "SELECT " USER_COLUMNS " FROM users u WHERE u.id = $1",
                           STORE_ARGS(store_text(user_id)), &r, e);
    if (n == 1) read_user(r, 0, 0, out);
    if (n == 0) err_set(e, 404, "User not found");
    store_rows_free(r);
    return n == 1 ? 0 : -1;
}
