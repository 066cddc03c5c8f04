#include "core/core.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>

Test(log, logfmt_line_with_request_id, .init = cr_redirect_stderr)
{
    log_init("detect", LOG_INFO, false);
    log_set_request_id("r-1");
    log_info("request done status=200 ms=1.5");
    log_debug("hidden");
    log_set_request_id(NULL);
    log_warn("plain message");
    fflush(stderr);
    FILE *f = cr_get_redirected_stderr();
    char line[512];
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert(
        strstr(line, "level=info svc=detect rid=r-1 msg=\"request done\" status=200 ms=1.5\n"),
        "%s", line);
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert(strstr(line, "level=warn svc=detect msg=\"plain message\"\n"), "%s", line);
    cr_assert_null(fgets(line, sizeof line, f));
}

Test(log, json_lines_escape_quotes, .init = cr_redirect_stderr)
{
    log_init("gw", LOG_DEBUG, true);
    log_debug("say \"hi\"");
    fflush(stderr);
    FILE *f = cr_get_redirected_stderr();
    char line[512];
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert(strstr(line, "\"level\":\"debug\",\"svc\":\"gw\",\"msg\":\"say \\\"hi\\\"\"}"), "%s",
              line);
}

Test(log, levels_parse)
{
    bool ok;
    cr_assert_eq(log_level_parse("WARNING", &ok), LOG_WARN);
    cr_assert(ok);
    log_level_parse("loud", &ok);
    cr_assert_not(ok);
}
