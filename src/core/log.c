/* One line per event on stderr, logfmt by default or JSON with LOG_FORMAT=json.
 * A line is formatted into a stack buffer and written with one write(2), so lines from
 * different threads never interleave. */
#include "core/core.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static log_level g_level = LOG_INFO;
static bool g_json;
static char g_service[32] = "artistry";
static _Thread_local char t_rid[40];

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void log_init(const char *service, log_level level, bool json)
{
    if (service) snprintf(g_service, sizeof g_service, "%s", service);
    g_level = level;
    g_json = json;
}

log_level log_level_parse(const char *s, bool *ok)
{
    *ok = true;
    for (int i = 0; i < (int)ARRAY_LEN(level_names); i++)
        if (strcasecmp(s, level_names[i]) == 0) return (log_level)i;
    if (strcasecmp(s, "warning") == 0) return LOG_WARN;
    *ok = false;
    return LOG_INFO;
}

void log_set_level(log_level level)
{
    g_level = level;
}

bool log_enabled(log_level level)
{
    return level >= g_level && g_level != LOG_OFF;
}

void log_set_request_id(const char *rid)
{
    if (!rid)
        t_rid[0] = '\0';
    else
        snprintf(t_rid, sizeof t_rid, "%s", rid);
}

const char *log_request_id(void)
{
    return t_rid[0] ? t_rid : NULL;
}

/* Appends s to buf as a JSON string body (no quotes), escaping what JSON requires. */
static size_t json_escape(char *buf, size_t cap, size_t n, const char *s)
{
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    return n;
}

void log_vwrite(log_level level, const char *fmt, va_list ap)
{
    if (!log_enabled(level)) return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long)(tv.tv_usec / 1000));

    char line[4096];
    size_t n;
    if (g_json) {
        n = (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"svc\":\"%s\"",
                             ts, level_names[level], g_service);
        if (t_rid[0]) n += (size_t)snprintf(line + n, sizeof line - n, ",\"rid\":\"%s\"", t_rid);
        n += (size_t)snprintf(line + n, sizeof line - n, ",\"msg\":\"");
        n = json_escape(line, sizeof line, n, msg);
        n += (size_t)snprintf(line + n, sizeof line - n, "\"}\n");
    } else {
        n = (size_t)snprintf(line, sizeof line, "ts=%s level=%s svc=%s", ts, level_names[level],
                             g_service);
        if (t_rid[0]) n += (size_t)snprintf(line + n, sizeof line - n, " rid=%s", t_rid);
        /* The text up to the first key=value pair is the message; quote it. */
        const char *kv = NULL;
        for (const char *p = msg; *p; p++) {
            if (*p != ' ') continue;
            const char *w = p + 1, *q = w;
            while (*q && *q != ' ' && *q != '=') q++;
            if (*q == '=' && q > w) {
                kv = p;
                break;
            }
        }
        size_t mlen = kv ? (size_t)(kv - msg) : strlen(msg);
        if (mlen && n < sizeof line)
            n += (size_t)snprintf(line + n, sizeof line - n, " msg=\"%.*s\"", (int)mlen, msg);
        if (kv && n < sizeof line) n += (size_t)snprintf(line + n, sizeof line - n, "%s", kv);
        if (n >= sizeof line - 1) n = sizeof line - 2;
        line[n++] = '\n';
    }
    if (n > sizeof line) n = sizeof line;
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void log_write(log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}
