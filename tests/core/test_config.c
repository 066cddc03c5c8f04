#include "core/core.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/artistry-cfg-XXXXXX";

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    setenv("ARTISTRY_CONFIG_DIR", dir, 1);
}

TestSuite(config, .init = setup);

Test(config, service_file_beats_global_and_env_beats_both)
{
    write_file(".env", "A_GLOBAL=1\nA_BOTH=global\nA_ENV=file\n");
    write_file("detect.env", "A_BOTH=detect\n");
    setenv("A_ENV", "env", 1);
    err e = {0};
    cr_assert_eq(cfg_load("detect", &e), 0, "%s", e.msg);
    cr_assert_str_eq(cfg_str("A_GLOBAL", NULL), "1");
    cr_assert_str_eq(cfg_str("A_BOTH", NULL), "detect");
    cr_assert_str_eq(cfg_str("A_ENV", NULL), "env");
}

Test(config, quoting_comments_and_export)
{
    write_file(".env", "# comment\n\nexport B_X = plain value # trailing\n"
                       "B_Q=\"quoted # not a comment\"\nB_S='single \\n raw'\nB_E=\"a\\nb\"\n"
                       "B_EMPTY=\n");
    err e = {0};
    cr_assert_eq(cfg_load(NULL, &e), 0, "%s", e.msg);
    cr_assert_str_eq(getenv("B_X"), "plain value");
    cr_assert_str_eq(getenv("B_Q"), "quoted # not a comment");
    cr_assert_str_eq(getenv("B_S"), "single \\n raw");
    cr_assert_str_eq(getenv("B_E"), "a\nb");
    cr_assert_str_eq(cfg_str("B_EMPTY", "dflt"), "dflt");
}

Test(config, malformed_line_names_file_and_line)
{
    write_file("bad.env", "OK=1\nthis is not an assignment\n");
    err e = {0};
    cr_assert_eq(cfg_load("bad", &e), -1);
    cr_assert(strstr(e.msg, "bad.env:2:") != NULL, "%s", e.msg);
}

Test(config, unterminated_quote_is_refused)
{
    write_file("q.env", "X=\"open\n");
    err e = {0};
    cr_assert_eq(cfg_load("q", &e), -1);
    cr_assert(strstr(e.msg, "unterminated") != NULL, "%s", e.msg);
}

Test(config, typed_getters_refuse_bad_values_naming_the_variable)
{
    err e = {0};
    long port;
    setenv("C_PORT", "abc", 1);
    cr_assert_eq(cfg_int("C_PORT", 8000, 1, 65535, &port, &e), -1);
    cr_assert_str_eq(e.msg, "C_PORT: 'abc' is not an integer");
    setenv("C_PORT", "70000", 1);
    cr_assert_eq(cfg_int("C_PORT", 8000, 1, 65535, &port, &e), -1);
    cr_assert(strstr(e.msg, "C_PORT: 70000 is outside 1..65535") != NULL, "%s", e.msg);
    setenv("C_PORT", " 8080 ", 1);
    cr_assert_eq(cfg_int("C_PORT", 8000, 1, 65535, &port, &e), 0);
    cr_assert_eq(port, 8080);
    unsetenv("C_PORT");
    cr_assert_eq(cfg_int("C_PORT", 8000, 1, 65535, &port, &e), 0);
    cr_assert_eq(port, 8000);

    double d;
    setenv("C_CONF", "0.25", 1);
    cr_assert_eq(cfg_double("C_CONF", 0.5, 0, 1, &d, &e), 0);
    cr_assert_float_eq(d, 0.25, 1e-12);
    setenv("C_CONF", "nan", 1);
    cr_assert_eq(cfg_double("C_CONF", 0.5, 0, 1, &d, &e), -1);
    cr_assert(strstr(e.msg, "C_CONF") == e.msg);

    bool b;
    setenv("C_B", "Yes", 1);
    cr_assert_eq(cfg_bool("C_B", false, &b, &e), 0);
    cr_assert(b);
    setenv("C_B", "maybe", 1);
    cr_assert_eq(cfg_bool("C_B", false, &b, &e), -1);
    cr_assert(strstr(e.msg, "C_B: 'maybe' is not a boolean") == e.msg, "%s", e.msg);

    size_t sz;
    setenv("C_SZ", "10M", 1);
    cr_assert_eq(cfg_size("C_SZ", 0, 0, SIZE_MAX, &sz, &e), 0);
    cr_assert_eq(sz, 10u << 20);
    setenv("C_SZ", "-1", 1);
    cr_assert_eq(cfg_size("C_SZ", 0, 0, SIZE_MAX, &sz, &e), -1);
}

Test(config, first_set_name_wins)
{
    const char *names[] = {"D_NEW", "D_OLD", NULL};
    unsetenv("D_NEW");
    setenv("D_OLD", "legacy", 1);
    cr_assert_str_eq(cfg_str_any(names, "x"), "legacy");
    setenv("D_NEW", "new", 1);
    cr_assert_str_eq(cfg_str_any(names, "x"), "new");
}

Test(config, pydantic_bools)
{
    const char *t[] = {"true", "TRUE", "1", "yes", "on", "t", "Y"};
    const char *f[] = {"false", "0", "No", "off", "f", "n"};
    bool b;
    for (size_t i = 0; i < ARRAY_LEN(t); i++) cr_assert(parse_bool(t[i], &b) && b, "%s", t[i]);
    for (size_t i = 0; i < ARRAY_LEN(f); i++) cr_assert(parse_bool(f[i], &b) && !b, "%s", f[i]);
    cr_assert_not(parse_bool("2", &b));
    cr_assert_not(parse_bool("", &b));
}
