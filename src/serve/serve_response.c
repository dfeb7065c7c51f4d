/* serve_response: what the server answers, in HTTP/1.1: a complete
 * response (status line, Date, CORS, Content-Length, Connection), an error
 * with its reason in the body, the head of an event stream, and the -v line
 * each request gets. */
#include "serve_internal.h"

#include "clock.h"
#include "diag.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The Date header's value, formatted once a second. */
static const char *http_date(serve_t *s)
{
    static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = (time_t)(real_ns() / 1000000000u);
    if (now != s->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        /* By hand: strftime's names follow the locale. */
        snprintf(s->date, sizeof(s->date), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        s->date_sec = now;
    }
    return s->date;
}

const char *serve_status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 417:
        return "Expectation Failed";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

void conn_log_request(struct conn *c, int status, const char *note)
{
    if (diag_level < 1)
        return;
    const http_request_info_t *in = c->req ? http_request_info(c->req) : NULL;
    diag_verbose("%s %s %s %d%s%s", c->peer, in ? in->method : "-", in ? in->target : "-", status,
                 note && note[0] ? " " : "", note ? note : "");
}

void conn_respond(struct conn *c, int status, const char *extra, const char *ctype,
                  const char *body, size_t blen, bool close)
{
    buf_t b;
    buf_init(&b);
    buf_printf(&b, "HTTP/1.1 %d %s\r\nDate: %s\r\nAccess-Control-Allow-Origin: *\r\n", status,
               serve_status_text(status), http_date(c->srv));
    if (extra)
        buf_puts(&b, extra);
    if (status != 204 && status >= 200) {
        if (ctype)
            buf_printf(&b, "Content-Type: %s\r\n", ctype);
        buf_printf(&b, "Content-Length: %zu\r\n", blen);
    }
    const http_request_info_t *in = c->req ? http_request_info(c->req) : NULL;
    if (close)
        buf_puts(&b, "Connection: close\r\n");
    else if (in && in->version_minor == 0)
        buf_puts(&b, "Connection: keep-alive\r\n");
    buf_puts(&b, "\r\n");
    bool head = in && strcmp(in->method, "HEAD") == 0;
    if (!head && status != 204 && blen)
        buf_append(&b, body, blen);
    conn_send(c, b.p, b.len);
    buf_free(&b);
    if (close)
        c->keep_alive = false;
}

void conn_respond_error(struct conn *c, int status, const char *why, const char *extra)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "%d %s%s%s\n", status, serve_status_text(status),
                     why && why[0] ? ": " : "", why ? why : "");
    if (n < 0 || (size_t)n >= sizeof(body))
        n = (int)strlen(body);
    conn_log_request(c, status, why);
    conn_respond(c, status, extra, "text/plain; charset=utf-8", body, (size_t)n, true);
    conn_finish(c);
}

void conn_event_stream_head(struct conn *c, bool retry)
{
    buf_t b;
    buf_init(&b);
    buf_printf(&b,
               "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: text/event-stream\r\n"
               "Cache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\n"
               "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n",
               http_date(c->srv));
    if (retry)
        buf_printf(&b, "retry: %llu\n\n", (unsigned long long)c->srv->cfg.retry_ms);
    conn_send(c, b.p, b.len);
    buf_free(&b);
}

void conn_stream_head(struct conn *c, bool chunked)
{
    buf_t b;
    buf_init(&b);
    buf_printf(&b,
               "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
               "Cache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\n"
               "X-Accel-Buffering: no\r\n%s%s\r\n",
               http_date(c->srv), chunked ? "Transfer-Encoding: chunked\r\n" : "",
               !chunked || !c->keep_alive ? "Connection: close\r\n" : "");
    conn_send(c, b.p, b.len);
    buf_free(&b);
}
