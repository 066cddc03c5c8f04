/* Accounts on both backends: validation, signup, login and its failure limits, tokens,
 * and what the database holds (no password or token in clear). */
#include "helpers.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t fake_now = 1800000000000000;
static int64_t fake_clock(void)
{
    return fake_now;
}

static void signup_ok(store *s, const char *email, const char *pw, const char *name, store_auth *a)
{
    err e = {0};
    cr_assert_eq(store_user_signup(s, email, pw, name, a, &e), 0, "signup %s: %d %s", email,
                 e.status, e.msg);
}

Test(email, normalised_and_validated)
{
    char out[255];
    err e = {0};
    cr_assert_eq(store_email_normalize("  Ann.Lee+tag@Example.CO.uk \t", out, &e), 0, "%s", e.msg);
    cr_assert_str_eq(out, "ann.lee+tag@example.co.uk");
    const char *good[] = {"test_123@example.com", "a@b.cd", "o'brien@x-y.org", "x@xn--bcher-kva.de",
                          "ünï@例え.jp"};
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        cr_assert_eq(store_email_normalize(good[i], out, &e), 0, "%s: %s", good[i], e.msg);
    const char *bad[] = {"",
                         "plain",
                         "@example.com",
                         "a@",
                         "a@b",
                         "a@@b.com",
                         "a@b@c.com",
                         ".a@b.com",
                         "a.@b.com",
                         "a..b@c.com",
                         "a b@c.com",
                         "a@-b.com",
                         "a@b-.com",
                         "a@b..com",
                         "a@b.com.",
                         "a@b_c.com",
                         "a\"b@c.com",
                         "<a@b.com>",
                         "a@b.com; DROP TABLE users"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        cr_assert_eq(store_email_normalize(bad[i], out, &e), -1, "accepted '%s'", bad[i]);
        cr_assert_eq(e.status, 422);
        cr_assert(strncmp(e.msg, "email: value is not a valid email address: ", 43) == 0, "%s",
                  e.msg);
    }
    char long_local[80];
    memset(long_local, 'a', 65);
    strcpy(long_local + 65, "@b.com");
    cr_assert_eq(store_email_normalize(long_local, out, &e), -1);
    char *huge = xmalloc(1 << 20);
    memset(huge, 'a', (1 << 20) - 1);
    huge[(1 << 20) - 1] = '\0';
    cr_assert_eq(store_email_normalize(huge, out, &e), -1);
    cr_assert(strstr(e.msg, "longer than 254"), "%s", e.msg);
    free(huge);
}

Test(password, length_rules)
{
    err e = {0};
    cr_assert_eq(store_password_check("1234567", &e), -1);
    cr_assert_str_eq(e.msg, "password: String should have at least 8 characters");
    cr_assert_eq(store_password_check("12345678", &e), 0);
    cr_assert_eq(store_password_check("ääääääää", &e), 0); /* 8 characters, 16 bytes */
    cr_assert_eq(store_password_check("äääääää", &e), -1);
    char big[1100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(store_password_check(big, &e), -1);
    cr_assert_eq(e.status, 422);
    cr_assert_eq(store_name_check("", &e), -1);
    cr_assert_eq(store_name_check("Test User", &e), 0);
    memset(big, 'n', 257);
    big[257] = '\0';
    cr_assert_eq(store_name_check(big, &e), -1);
    cr_assert_str_eq(e.msg, "name: String should have at most 256 characters");
}

Test(signup, creates_user_and_token)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    store_auth a;
    signup_ok(s, " Test_1@Example.com", "SecurePassword123", "Test User", &a);
    cr_assert_eq(strlen(a.token), 43);
    cr_assert_eq(
        strspn(a.token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    cr_assert_eq(strlen(a.user.id), 36);
    cr_assert_eq(a.user.id[14], '4');
    cr_assert_str_eq(a.user.email, "test_1@example.com");
    cr_assert_str_eq(a.user.name, "Test User");
    int64_t now = store_now_us(s);
    cr_assert(a.user.created_at > now - 60000000 && a.user.created_at <= now);
    cr_assert_eq(a.expires_at - a.user.created_at, (int64_t)30 * 24 * 3600 * 1000000);

    store_user u;
    err e = {0};
    cr_assert_eq(store_token_verify(s, a.token, &u, &e), 0, "%s", e.msg);
    cr_assert_str_eq(u.id, a.user.id);
    cr_assert_str_eq(u.email, "test_1@example.com");
    cr_assert_str_eq(u.name, "Test User");
    store_user_clear(&u);

    store_auth b;
    cr_assert_eq(store_user_signup(s, "TEST_1@example.COM", "OtherPassword1", "Other", &b, &e), -1);
    cr_assert_eq(e.status, 400);
    cr_assert_str_eq(e.msg, "Email already registered");
    cr_assert_eq(store_user_signup(s, "x@example.com", "short", "X", &b, &e), -1);
    cr_assert_eq(e.status, 422);
    cr_assert_eq(store_user_signup(s, "not-an-email", "long enough", "X", &b, &e), -1);
    cr_assert_eq(e.status, 422);
    store_auth_clear(&a);
    test_store_done(s);
}

Test(login, issues_new_tokens_and_refuses_alike)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    store_auth a, l1, l2;
    signup_ok(s, "ann@example.com", "correct horse", "Ann", &a);
    err e = {0};
    cr_assert_eq(
        store_user_login(s, "ANN@example.com ", "correct horse", "10.0.0.1", &l1, NULL, &e), 0,
        "%s", e.msg);
    cr_assert_eq(store_user_login(s, "ann@example.com", "correct horse", "10.0.0.1", &l2, NULL, &e),
                 0);
    cr_assert_str_eq(l1.user.id, a.user.id);
    cr_assert_str_eq(l1.user.name, "Ann");
    cr_assert_str_neq(l1.token, a.token);
    cr_assert_str_neq(l1.token, l2.token);
    const char *tokens[] = {a.token, l1.token, l2.token};
    for (size_t i = 0; i < 3; i++) {
        store_user u;
        cr_assert_eq(store_token_verify(s, tokens[i], &u, &e), 0, "%s", e.msg);
        store_user_clear(&u);
    }
    store_auth x;
    cr_assert_eq(store_user_login(s, "ann@example.com", "wrong horse", NULL, &x, NULL, &e), -1);
    cr_assert_eq(e.status, 401);
    cr_assert_str_eq(e.msg, "Invalid email or password");
    cr_assert_eq(store_user_login(s, "bob@example.com", "correct horse", NULL, &x, NULL, &e), -1);
    cr_assert_eq(e.status, 401);
    cr_assert_str_eq(e.msg, "Invalid email or password");
    cr_assert_eq(store_user_login(s, "garbage", "correct horse", NULL, &x, NULL, &e), -1);
    cr_assert_eq(e.status, 401);
    store_auth_clear(&a);
    store_auth_clear(&l1);
    store_auth_clear(&l2);
    test_store_done(s);
}

Test(login, failures_are_limited_per_email_and_address)
{
    store_params p = test_params();
    p.clock_us = fake_clock;
    p.login_max_per_email = 3;
    p.login_max_per_addr = 5;
    p.login_window_s = 600;
    store *s = test_store_open(&p);
    store_auth a, x;
    signup_ok(s, "ann@example.com", "correct horse", "Ann", &a);
    err e = {0};
    int64_t retry = 0;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(store_user_login(s, "Ann@example.com", "wrong", "10.0.0.1", &x, &retry, &e),
                     -1);
        cr_assert_eq(e.status, 401, "attempt %d: %d %s", i, e.status, e.msg);
        fake_now += 1000000;
    }
    /* Over the limit even the right password is refused, and the wait is the rest of the
     * window that began with the first failure. */
    cr_assert_eq(
        store_user_login(s, "ann@example.com", "correct horse", "10.0.0.9", &x, &retry, &e), -1);
    cr_assert_eq(e.status, 429);
    cr_assert_eq(retry, 600 - 3);
    cr_assert(strstr(e.msg, "Try again in 597 seconds"), "%s", e.msg);
    fake_now += 597 * 1000000;
    cr_assert_eq(
        store_user_login(s, "ann@example.com", "correct horse", "10.0.0.9", &x, &retry, &e), 0,
        "%d %s", e.status, e.msg);
    store_auth_clear(&x);

    /* Per address: failures for many emails from one address. The window of 10.0.0.1's
     * first three failures has ended (600 s passed), so these start a new one. */
    for (int i = 0; i < 5; i++) {
        char em[64];
        snprintf(em, sizeof em, "nobody%d@example.com", i);
        cr_assert_eq(store_user_login(s, em, "whatever1", "10.0.0.1", &x, &retry, &e), -1);
        cr_assert_eq(e.status, 401, "%d: %s", i, e.msg);
    }
    cr_assert_eq(
        store_user_login(s, "ann@example.com", "correct horse", "10.0.0.1", &x, &retry, &e), -1);
    cr_assert_eq(e.status, 429);
    cr_assert_eq(retry, 600);
    /* Another address is not affected, and a success clears the email's failures. */
    cr_assert_eq(store_user_login(s, "ann@example.com", "wrong", "10.0.0.2", &x, &retry, &e), -1);
    cr_assert_eq(
        store_user_login(s, "ann@example.com", "correct horse", "10.0.0.2", &x, &retry, &e), 0);
    store_auth_clear(&x);
    cr_assert_eq(store_user_login(s, "ann@example.com", "wrong", "10.0.0.2", &x, &retry, &e), -1);
    cr_assert_eq(store_user_login(s, "ann@example.com", "wrong", "10.0.0.2", &x, &retry, &e), -1);
    cr_assert_eq(
        store_user_login(s, "ann@example.com", "correct horse", "10.0.0.2", &x, &retry, &e), 0,
        "two failures after a success are under the limit of 3: %s", e.msg);
    store_auth_clear(&x);
    store_auth_clear(&a);
    test_store_done(s);
}

Test(token, expired_malformed_and_unknown)
{
    store_params p = test_params();
    p.clock_us = fake_clock;
    p.token_ttl_s = 10;
    store *s = test_store_open(&p);
    store_auth a;
    signup_ok(s, "ann@example.com", "correct horse", "Ann", &a);
    store_user u;
    err e = {0};
    fake_now += 9 * 1000000;
    cr_assert_eq(store_token_verify(s, a.token, &u, &e), 0);
    store_user_clear(&u);
    fake_now += 2 * 1000000;
    cr_assert_eq(store_token_verify(s, a.token, &u, &e), -1);
    cr_assert_eq(e.status, 401);
    cr_assert_str_eq(e.msg, "Token expired");
    const char *bad[] = {"",
                         "abc",
                         "' OR 1=1 --",
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!",
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                         NULL};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        cr_assert_eq(store_token_verify(s, bad[i], &u, &e), -1);
        cr_assert_eq(e.status, 401);
        cr_assert_str_eq(e.msg, "Invalid token");
    }
    char other[44];
    memcpy(other, a.token, 44);
    other[0] = other[0] == 'A' ? 'B' : 'A';
    cr_assert_eq(store_token_verify(s, other, &u, &e), -1);
    cr_assert_str_eq(e.msg, "Invalid token");
    /* A later login drops the expired token rows of that user. */
    store_auth l;
    cr_assert_eq(store_user_login(s, "ann@example.com", "correct horse", NULL, &l, NULL, &e), 0);
    store_rows *r = NULL;
    cr_assert_eq(store_exec(s, "SELECT count(*) FROM tokens", NULL, 0, &r, &e), 1);
    cr_assert_eq(store_rows_int(r, 0, 0), 1);
    store_rows_free(r);
    store_auth_clear(&l);
    store_auth_clear(&a);
    test_store_done(s);
}

/* memmem over a whole file; missing files count as empty. */
static bool file_contains(const char *path, const char *needle)
{
    size_t len = 0;
    char *data = file_read(path, &len, NULL);
    bool found = data && memmem(data, len, needle, strlen(needle)) != NULL;
    free(data);
    return found;
}

Test(security, no_password_or_token_in_clear)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    const char *pw = "Unmistakable-Passw0rd-7f3a";
    store_auth a, l;
    signup_ok(s, "ann@example.com", pw, "Ann", &a);
    err e = {0};
    cr_assert_eq(store_user_login(s, "ann@example.com", pw, NULL, &l, NULL, &e), 0);
    store_rows *r = NULL;
    cr_assert_eq(store_exec(s, "SELECT password_hash FROM users", NULL, 0, &r, &e), 1);
    cr_assert(strncmp(store_rows_text(r, 0, 0), "$argon2id$v=19$", 15) == 0, "%s",
              store_rows_text(r, 0, 0));
    store_rows_free(r);
    const char *secrets[] = {pw, a.token, l.token};
    if (test_sqlite_path()) {
        char wal[320], shm[320];
        snprintf(wal, sizeof wal, "%s-wal", test_sqlite_path());
        snprintf(shm, sizeof shm, "%s-shm", test_sqlite_path());
        cr_assert(file_contains(test_sqlite_path(), "ann@example.com") ||
                      file_contains(wal, "ann@example.com"),
                  "the search itself must see what is stored");
        for (size_t i = 0; i < 3; i++)
            cr_assert(!file_contains(test_sqlite_path(), secrets[i]) &&
                          !file_contains(wal, secrets[i]) && !file_contains(shm, secrets[i]),
                      "secret %zu is in the database files", i);
    } else {
        /* Every row of every table, as PostgreSQL prints it. */
        const char *tables[] = {"users", "tokens", "login_failures"};
        for (size_t t = 0; t < 3; t++) {
            char sql[80];
            snprintf(sql, sizeof sql, "SELECT x::text FROM %s x", tables[t]);
            cr_assert_geq(store_exec(s, sql, NULL, 0, &r, &e), 0, "%s", e.msg);
            for (size_t i = 0; i < store_rows_count(r); i++)
                for (size_t k = 0; k < 3; k++)
                    cr_assert_null(strstr(store_rows_text(r, i, 0), secrets[k]),
                                   "%s holds secret %zu", tables[t], k);
            store_rows_free(r);
        }
    }
    store_auth_clear(&a);
    store_auth_clear(&l);
    test_store_done(s);
}

Test(login, rehashes_weaker_hashes)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    store_auth a, l;
    signup_ok(s, "ann@example.com", "correct horse", "Ann", &a);
    store_close(s);
    p.pwhash_opslimit = 2;
    s = test_store_reopen(&p);
    err e = {0};
    cr_assert_eq(store_user_login(s, "ann@example.com", "correct horse", NULL, &l, NULL, &e), 0,
                 "%s", e.msg);
    store_rows *r = NULL;
    store_exec(s, "SELECT password_hash FROM users", NULL, 0, &r, &e);
    cr_assert(strstr(store_rows_text(r, 0, 0), ",t=2,"), "%s", store_rows_text(r, 0, 0));
    store_rows_free(r);
    store_auth_clear(&l);
    cr_assert_eq(store_user_login(s, "ann@example.com", "correct horse", NULL, &l, NULL, &e), 0);
    store_auth_clear(&l);
    store_auth_clear(&a);
    test_store_done(s);
}

typedef struct race {
    store *s;
    int index;
    int status;
} race;

static void *signup_thread(void *arg)
{
    race *r = arg;
    char email[64];
    /* Half race for one email; the others each sign up their own. */
    if (r->index % 2)
        snprintf(email, sizeof email, "same@example.com");
    else
        snprintf(email, sizeof email, "user%d@example.com", r->index);
    store_auth a;
    err e = {0};
    r->status = store_user_signup(r->s, email, "a password", "Racer", &a, &e) == 0 ? 200 : e.status;
    store_auth_clear(&a);
    return NULL;
}

Test(signup, concurrent_signups_keep_emails_unique, .timeout = 120)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    enum { N = 20 };
    pthread_t th[N];
    race rs[N];
    for (int i = 0; i < N; i++) {
        rs[i] = (race){.s = s, .index = i};
        pthread_create(&th[i], NULL, signup_thread, &rs[i]);
    }
    int same_ok = 0, same_400 = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (i % 2 == 0) {
            cr_assert_eq(rs[i].status, 200, "user%d: %d", i, rs[i].status);
        } else if (rs[i].status == 200) {
            same_ok++;
        } else {
            cr_assert_eq(rs[i].status, 400);
            same_400++;
        }
    }
    cr_assert_eq(same_ok, 1);
    cr_assert_eq(same_400, N / 2 - 1);
    store_rows *r = NULL;
    err e = {0};
    store_exec(s, "SELECT count(*) FROM users", NULL, 0, &r, &e);
    cr_assert_eq(store_rows_int(r, 0, 0), N / 2 + 1);
    store_rows_free(r);
    test_store_done(s);
}
