/* serve_completions: POST /v1/chat/completions (evcat(1), SERVE): a stand-in
 * for an LLM API that streams its answer in OpenAI's chunk format, so that
 * `evcat bench` (streams as requests) and any OpenAI client have a target
 * whose timing is known:
 *
 *   data: {"id":"chatcmpl-evcat-N","object":"chat.completion.chunk",...,
 *          "choices":[{"index":0,"delta":{"role":"assistant","content":"evcat"},
 *          "finish_reason":null}]}          at --first-token
 *   data: {..."delta":{"content":" streams"}...}   every --token-interval
 *   ...                                            (--tokens, or the body's
 *                                                  max_tokens when fewer)
 *   data: {..."delta":{},"finish_reason":"stop"}]} one interval after the
 *   data: [DONE]                                   last token ("length"
 *                                                  when max_tokens cut it)
 *
 * A bad body is a 400 with OpenAI's error object. Chunks go out on the
 * connection's own timer, on a grid from the request (no drift; after a
 * stall, what became due goes out at once), in one HTTP chunk per wake-up.
 * HTTP/1.1: chunked, and the connection takes the next request afterwards
 * (keep-alive); HTTP/1.0: the response ends with the connection. A client
 * whose unread answer passes --max-queue is dropped like a slow subscriber.
 * Memory: per answer, its state and the chunks' common prefix (the model's
 * name is at most CHAT_MODEL_MAX bytes). */
#include "serve_internal.h"

#include "chat_request.h"
#include "clock.h"
#include "diag.h"
#include "text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The answer, a word per token, over and over. */
static const char *const words[] = {
    "evcat", "streams", "this", "answer",   "one",   "token",  "at",    "a",    "time,",
    "the",   "way",     "a",    "language", "model", "would,", "so",    "that", "a",
    "load",  "test",    "can",  "measure",  "what",  "its",    "users", "wait", "for.",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

struct completion {
    uint64_t start_ns; /* mono_ns() at the request: the grid's origin */
    uint64_t ntokens;  /* content tokens */
    uint64_t next;     /* the next chunk: 0..ntokens-1 a token, ntokens the final one */
    bool chunked;      /* HTTP/1.1 framing (else the answer ends with the connection) */
    bool cut;          /* max_tokens stopped it: finish_reason "length" */
    buf_t prefix;      /* owned: each chunk's JSON up to "delta": */
};

static void completion_timer(struct conn *c);
static void completion_closed(struct conn *c);
static const struct serve_streamer completion_ops = {completion_timer, completion_closed};

static void completion_free(struct conn *c)
{
    struct completion *st = c->streamer_ud;
    c->streamer = NULL;
    c->streamer_ud = NULL;
    if (!st)
        return;
    buf_free(&st->prefix);
    free(st);
}

static void completion_closed(struct conn *c)
{
    completion_free(c);
}

static uint64_t chunk_due(const serve_t *s, const struct completion *st, uint64_t k)
{
    return st->start_ns + s->cfg.first_token_ns + k * s->cfg.token_interval_ns;
}

/* Chunk k as an event: a token, or the final chunk and [DONE]. */
static void append_chunk(buf_t *b, const struct completion *st, uint64_t k)
{
    buf_puts(b, "data: ");
    buf_append(b, st->prefix.p, st->prefix.len);
    if (k == st->ntokens) {
        buf_printf(b, "{},\"finish_reason\":\"%s\"}]}\n\ndata: [DONE]\n\n",
                   st->cut ? "length" : "stop");
        return;
    }
    const char *w = words[k % NWORDS];
    buf_printf(b, "{%s\"content\":\"%s%s\"},\"finish_reason\":null}]}\n\n",
               k == 0 ? "\"role\":\"assistant\"," : "", k == 0 ? "" : " ", w);
}

/* The answer is over: the next request (keep-alive) or the end. */
static void completion_end(struct conn *c)
{
    struct completion *st = c->streamer_ud;
    bool chunked = st->chunked;
    completion_free(c);
    if (chunked)
        conn_send(c, "0\r\n\r\n", 5);
    if (!chunked || !c->keep_alive || c->srv->stopping) {
        conn_finish(c);
        return;
    }
    conn_next_request(c);
    if (c->state == CS_HEAD && c->in.len > 0)
        conn_process(c);
}

/* Queues every chunk that is due, then waits for the next one. */
static void completion_pump(struct conn *c)
{
    serve_t *s = c->srv;
    struct completion *st = c->streamer_ud;
    if (!st || c->state != CS_STREAM)
        return;
    if (sendq_pending(&c->out) > s->cfg.max_queue) {
        diag_verbose("%s dropped: %zu bytes of an answer unread (over --max-queue)", c->peer,
                     sendq_pending(&c->out));
        conn_close(c, NULL);
        serve_note_drop(s);
        return;
    }
    uint64_t now = mono_ns();
    buf_t b;
    buf_init(&b);
    while (st->next <= st->ntokens && chunk_due(s, st, st->next) <= now)
        append_chunk(&b, st, st->next++);
    if (b.len) {
        if (st->chunked) {
            char head[24];
            int n = snprintf(head, sizeof(head), "%zx\r\n", b.len);
            conn_send(c, head, (size_t)n);
            buf_puts(&b, "\r\n");
        }
        conn_send(c, b.p, b.len);
    }
    buf_free(&b);
    if (st->next > st->ntokens)
        completion_end(c);
    else
        loop_timer_arm_at(s->loop, &c->timer, chunk_due(s, st, st->next));
}

static void completion_timer(struct conn *c)
{
    completion_pump(c);
}

/* OpenAI's error object, 400. */
static void completion_refuse(struct conn *c, const char *msg, const char *param)
{
    buf_t b;
    buf_init(&b);
    buf_puts(&b, "{\"error\":{\"message\":");
    json_quote(&b, msg, strlen(msg));
    buf_puts(&b, ",\"type\":\"invalid_request_error\",\"param\":");
    if (param[0])
        json_quote(&b, param, strlen(param));
    else
        buf_puts(&b, "null");
    buf_puts(&b, ",\"code\":null}}\n");
    conn_log_request(c, 400, msg);
    conn_respond(c, 400, NULL, "application/json", b.p, b.len, !c->keep_alive);
    buf_free(&b);
}

void serve_completions_route(struct conn *c)
{
    serve_t *s = c->srv;
    chat_request_t req;
    char msg[200];
    const char *param = "";
    if (chat_request_parse(c->body.p ? c->body.p : "", c->body.len, &req, msg, sizeof(msg),
                           &param) < 0) {
        completion_refuse(c, msg, param);
        return;
    }
    struct completion *st = xcalloc(1, sizeof(*st));
    st->start_ns = mono_ns();
    st->ntokens = s->cfg.tokens;
    if (req.max_tokens && req.max_tokens < st->ntokens) {
        st->ntokens = req.max_tokens;
        st->cut = true;
    }
    st->chunked = http_request_info(c->req)->version_minor > 0;
    uint64_t seq = ++s->stats.completions;
    buf_init(&st->prefix);
    buf_printf(&st->prefix,
               "{\"id\":\"chatcmpl-evcat-%" PRIu64 "\",\"object\":\"chat.completion.chunk\","
               "\"created\":%" PRIu64 ",\"model\":",
               seq, real_ns() / 1000000000u);
    const char *model = req.model[0] ? req.model : "evcat";
    json_quote(&st->prefix, model, strlen(model));
    buf_puts(&st->prefix, ",\"choices\":[{\"index\":0,\"delta\":");

    char note[64];
    snprintf(note, sizeof(note), "tokens=%" PRIu64 "%s", st->ntokens,
             st->cut ? " (max_tokens)" : "");
    conn_log_request(c, 200, note);
    if (!st->chunked)
        c->keep_alive = false;
    conn_stream_head(c, st->chunked);
    /* A stream of its own: the request is kept for the next one, the body
     * is not needed any more; the connection's timer is the answer's. */
    c->state = CS_STREAM;
    buf_free(&c->body);
    c->streamer = &completion_ops;
    c->streamer_ud = st;
    /* From the timer even when the first chunk is due now: the answer may
     * end, and the next request start, only outside this request's
     * dispatch. */
    loop_timer_arm_at(s->loop, &c->timer, chunk_due(s, st, 0));
}
