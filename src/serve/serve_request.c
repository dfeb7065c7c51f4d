/* serve_request: a request from its first byte to its handler: the head
 * (bounded by --max-head, within --header-timeout), the body (Content-Length
 * or chunked, bounded by --max-message), the route table and its 404, 405
 * and OPTIONS answers (evcat(1), SERVE), keep-alive between requests. HEAD
 * takes a GET row: its handler answers as to GET, and conn_respond leaves
 * the body out. In playback mode every GET goes to the source
 * (serve_source.h) instead. */
#include "serve_internal.h"

#include "buf.h"

#include <stdio.h>
#include <string.h>

typedef void (*route_fn)(struct conn *c);

static void route_options(struct conn *c);

/* The dispatch table: a path with a method per row. A known path with
 * another method gets 405 with Allow built from its rows. takes_body: the
 * request body is read (bounded by --max-message) before the handler runs;
 * otherwise a request with a body is answered and the connection closed. */
static const struct route {
    const char *method;
    const char *path;
    route_fn fn;
    bool takes_body;
} routes[] = {
    {"GET", "/", serve_page_route, false},
    {"GET", "/sse", serve_sse_route_stream, false},
    {"OPTIONS", "/sse", route_options, false},
    {"POST", "/publish", serve_sse_route_publish, true},
    {"OPTIONS", "/publish", route_options, false},
    {"GET", "/ws", serve_ws_route_channel, false},
    {"GET", "/echo", serve_ws_route_echo, false},
    {"POST", "/v1/chat/completions", serve_completions_route, true},
    {"OPTIONS", "/v1/chat/completions", route_options, false},
};

/* Playback mode: any GET, whatever its path, is the source's. */
static void route_source(struct conn *c)
{
    serve_source_t *src = c->srv->source;
    src->request(src, c);
}

static const struct route source_route = {"GET", "*", route_source, false};

/* The route for method and path; NULL with *allow filled when the path is
 * known under other methods, NULL with allow empty when it is not. */
static const struct route *route_find(const char *method, const char *path, char *allow,
                                      size_t allow_len)
{
    allow[0] = '\0';
    bool head = strcmp(method, "HEAD") == 0;
    for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
        if (strcmp(routes[i].path, path) != 0)
            continue;
        bool get = strcmp(routes[i].method, "GET") == 0;
        if (strcmp(routes[i].method, method) == 0 || (head && get))
            return &routes[i];
        size_t used = strlen(allow);
        snprintf(allow + used, allow_len - used, "%s%s%s", used ? ", " : "", routes[i].method,
                 get ? ", HEAD" : "");
    }
    return NULL;
}

static void route_options(struct conn *c)
{
    const http_request_info_t *in = http_request_info(c->req);
    char allow[64];
    route_find("", in->path, allow, sizeof(allow));
    size_t hlen;
    const char *req_headers = http_request_header(in, "access-control-request-headers", &hlen);
    buf_t extra;
    buf_init(&extra);
    buf_printf(&extra,
               "Allow: %s\r\nAccess-Control-Allow-Methods: %s\r\n"
               "Access-Control-Allow-Headers: %s\r\nAccess-Control-Max-Age: 86400\r\n",
               allow, allow, req_headers && hlen ? req_headers : "Content-Type, Last-Event-ID");
    conn_log_request(c, 204, NULL);
    conn_respond(c, 204, extra.p, NULL, NULL, 0, !c->keep_alive);
    buf_free(&extra);
}

/* ---- request flow ---- */

/* The request is answered: the next one, or the end. */
void conn_next_request(struct conn *c)
{
    if (c->state == CS_DEAD || c->state == CS_CLOSING || c->state == CS_LINGER)
        return;
    if (!c->keep_alive || c->srv->stopping) {
        conn_finish(c);
        return;
    }
    http_request_reset(c->req);
    buf_reset(&c->body);
    buf_shrink(&c->body, 64 * 1024);
    buf_shrink(&c->in, 4096);
    c->state = CS_HEAD;
    c->waiting = c->in.len == 0;
    loop_timer_arm_ms(c->srv->loop, &c->timer,
                      c->waiting ? c->srv->cfg.idle_timeout_ms : c->srv->cfg.header_timeout_ms);
}

/* The request (and its body) is complete: its handler answers it. */
static void dispatch(struct conn *c)
{
    c->srv->stats.requests++;
    c->route->fn(c);
    if (c->state == CS_HEAD || c->state == CS_BODY)
        conn_next_request(c);
}

/* A complete head: route it, and read a body when one comes. */
static void on_head(struct conn *c)
{
    const http_request_info_t *in = http_request_info(c->req);
    bool has_body = in->chunked || in->content_length > 0;
    c->keep_alive = in->keep_alive;

    if (in->expect_other) {
        conn_respond_error(c, 417, "only 100-continue is supported", NULL);
        return;
    }
    char allow[64];
    const struct route *r;
    if (c->srv->source) { /* every path is the source's */
        bool get = strcmp(in->method, "GET") == 0 || strcmp(in->method, "HEAD") == 0;
        r = get ? &source_route : NULL;
        snprintf(allow, sizeof(allow), "GET, HEAD");
    } else {
        r = route_find(in->method, in->path, allow, sizeof(allow));
    }
    if (!r && !has_body && !c->srv->source && strcmp(in->path, "*") == 0) { /* OPTIONS * */
        c->srv->stats.requests++;
        conn_log_request(c, 204, NULL);
        conn_respond(c, 204, "Allow: GET, HEAD, POST, OPTIONS\r\n", NULL, NULL, 0, !c->keep_alive);
        conn_next_request(c);
        return;
    }
    if (!r) {
        char extra[96] = "";
        int status = 404;
        if (allow[0]) {
            status = 405;
            snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
        }
        if (has_body) {
            /* Not read: the connection cannot carry another request. */
            conn_respond_error(c, status, NULL, extra);
            return;
        }
        char body[64];
        int n = snprintf(body, sizeof(body), "%d %s\n", status, serve_status_text(status));
        c->srv->stats.requests++;
        conn_log_request(c, status, NULL);
        conn_respond(c, status, extra, "text/plain; charset=utf-8", body, (size_t)n,
                     !c->keep_alive);
        conn_next_request(c);
        return;
    }
    c->route = r;
    if (has_body && !r->takes_body) {
        conn_respond_error(c, 400, "unexpected request body", NULL);
        return;
    }
    if (!has_body) {
        dispatch(c);
        return;
    }
    if (in->content_length > (int64_t)c->srv->cfg.max_message) {
        conn_respond_error(c, 413, "body larger than --max-message", NULL);
        return;
    }
    if (in->chunked) {
        http_request_chunked_init(&c->chunk, c->srv->cfg.max_message);
        c->body_left = -1;
    } else {
        c->body_left = in->content_length;
    }
    buf_reset(&c->body);
    c->state = CS_BODY;
    loop_timer_arm_ms(c->srv->loop, &c->timer, c->srv->cfg.header_timeout_ms);
    if (in->expect_continue && c->in.len == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        conn_send(c, cont, sizeof(cont) - 1);
    }
}

/* Parses what c->in holds, as far as the state allows. */
void conn_process(struct conn *c)
{
    serve_t *s = c->srv;
    while (c->state != CS_DEAD) {
        if (c->state == CS_HEAD) {
            if (c->in.len == 0)
                return;
            if (sendq_pending(&c->out) > PIPELINE_OUT_MAX) {
                c->read_paused = true; /* resumed by conn_flush */
                return;
            }
            if (c->waiting) {
                c->waiting = false;
                loop_timer_arm_ms(s->loop, &c->timer, s->cfg.header_timeout_ms);
            }
            size_t used = 0;
            int rc = http_request_feed(c->req, c->in.p, c->in.len, &used);
            buf_consume(&c->in, used);
            if (rc == HTTP_REQUEST_AGAIN)
                return;
            if (rc < 0) {
                conn_respond_error(c, http_request_status(rc), http_request_error(c->req), NULL);
                return;
            }
            on_head(c);
        } else if (c->state == CS_BODY) {
            if (c->in.len == 0)
                return;
            loop_timer_arm_ms(s->loop, &c->timer, s->cfg.header_timeout_ms);
            if (c->body_left >= 0) {
                size_t take = c->in.len < (uint64_t)c->body_left ? c->in.len : (size_t)c->body_left;
                buf_append(&c->body, c->in.p, take);
                buf_consume(&c->in, take);
                c->body_left -= (int64_t)take;
                if (c->body_left > 0)
                    return;
            } else {
                size_t used = 0;
                int rc = http_request_chunked_feed(&c->chunk, c->in.p, c->in.len, &c->body, &used);
                buf_consume(&c->in, used);
                if (rc == HTTP_REQUEST_AGAIN)
                    return;
                if (rc < 0) {
                    conn_respond_error(c, http_request_status(rc),
                                       http_request_chunked_error(&c->chunk), NULL);
                    return;
                }
            }
            dispatch(c);
        } else if (c->state == CS_UPGRADED) {
            if (c->in.len) {
                int rc = c->upgrade->on_data(c, c->in.p, c->in.len);
                buf_reset(&c->in);
                if (rc < 0)
                    conn_close(c, "upgrade handler");
            }
            return;
        } else {
            /* A stream, or closing: what the client sends is ignored. */
            buf_reset(&c->in);
            return;
        }
    }
}
