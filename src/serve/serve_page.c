/* serve_page: GET / (evcat(1), SERVE), one self-contained page that is a
 * client of this server in a browser: EventSource on /sse, WebSocket on /ws
 * with a box to publish, the latency of ticks. Its source is
 * page/index.html; the build turns it into the array serve_page_html
 * (page/embed.cmake), so it is served from memory, never read at run time.
 *
 * The Content-Security-Policy allows nothing but the page's own inline
 * style and script, by their SHA-256 (taken from the embedded bytes, once),
 * and connections to its own origin: a received event that somehow became
 * markup could run nothing. */
#include "serve_internal.h"

#include "text.h"

#include <openssl/sha.h>
#include <string.h>

extern const unsigned char serve_page_html[]; /* generated */
extern const size_t serve_page_html_len;

/* 'sha256-BASE64' of what lies between open and close in the page; empty
 * when the page has no such element. */
static void csp_hash(buf_t *b, const char *open, const char *close)
{
    const char *page = (const char *)serve_page_html;
    const char *start = strstr(page, open);
    const char *end = start ? strstr(start + strlen(open), close) : NULL;
    if (!end)
        return;
    start += strlen(open);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)start, (size_t)(end - start), md);
    buf_puts(b, " 'sha256-");
    base64_append(b, md, sizeof(md));
    buf_puts(b, "'");
}

const char *serve_page_headers(void)
{
    /* Built once from constant bytes: two hashes and a few fixed lines. */
    static char headers[640];
    if (headers[0])
        return headers;
    buf_t b;
    buf_init(&b);
    buf_puts(&b, "Cache-Control: no-store\r\n"
                 "X-Content-Type-Options: nosniff\r\n"
                 "Referrer-Policy: no-referrer\r\n"
                 "Content-Security-Policy: default-src 'none'; style-src");
    csp_hash(&b, "<style>", "</style>");
    buf_puts(&b, "; script-src");
    csp_hash(&b, "<script>", "</script>");
    buf_puts(&b, "; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                 "frame-ancestors 'none'\r\n");
    if (b.len < sizeof(headers))
        memcpy(headers, b.p, b.len + 1);
    buf_free(&b);
    return headers;
}

void serve_page_route(struct conn *c)
{
    conn_log_request(c, 200, NULL);
    conn_respond(c, 200, serve_page_headers(), "text/html; charset=utf-8",
                 (const char *)serve_page_html, serve_page_html_len, !c->keep_alive);
}
